"""The ``egov-qa`` command: build the index, ask questions, run the evals.

The commands are thin: they call the library and turn its errors into one-line
messages on stderr (exit status 1; 2 for a bad command line).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from egov_qa.errors import EgovQAError, Terminated
from egov_qa.text import counted

log = logging.getLogger("egov_qa")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--corpus",
        type=Path,
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="folder of decks (.md, .pdf, .pptx, .txt); default: $EGOV_QA_CORPUS or the shipped corpus/",
    )
    parser.add_argument(
        "--index",
        type=Path,
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="folder of the built index; default: $EGOV_QA_INDEX or the project's index/",
    )
    parser.add_argument(
        "--store",
        metavar="STORE",
        default=argparse.SUPPRESS,
        help="keep the index in Milvus: PATH.db (Milvus Lite) or http://HOST:PORT (a Milvus server); "
        "default: $EGOV_QA_STORE, else the --index folder (docs/scale.md)",
    )
    parser.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        default=argparse.SUPPRESS,
        help="sentence-transformers model (default: $EGOV_QA_MODEL, else all-MiniLM-L6-v2 with the shipped tuning)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print only results and errors"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="egov-qa",
        description="Answer questions about a slide deck by quoting it, with the slide cited.",
    )
    _common(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    index = commands.add_parser("index", help="build the index (only if missing or stale, unless --force)")
    _common(index)
    index.add_argument("--force", action="store_true", help="rebuild even if the index is current")
    index.set_defaults(func=cmd_index)

    ask = commands.add_parser("ask", help="answer one question")
    _common(ask)
    ask.add_argument(
        "question",
        nargs="?",
        default=None,
        help="the question (default: an example question about the corpus, from its eval set or its first slide)",
    )
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--top-k", type=int, default=3, metavar="K", help="slides to cite (default 3)")
    ask.add_argument(
        "--previous",
        metavar="QUESTION",
        default=None,
        help='the question asked before, so that a follow-up ("and in 2011?") is read with its context',
    )
    ask.add_argument(
        "--deck", metavar="NAME", default=None, help="answer from this deck only (its file name in the corpus folder)"
    )
    ask.set_defaults(func=cmd_ask)

    feedback = commands.add_parser("feedback", help="work with the chat's thumbs up/down log")
    feedback_commands = feedback.add_subparsers(dest="feedback_command", metavar="ACTION")
    feedback_commands.required = True
    export = feedback_commands.add_parser("export", help="print thumbs-down entries as eval lines to complete")
    export.add_argument(
        "--data", type=Path, metavar="DIR", default=None, help="feedback folder (default: $EGOV_QA_DATA or data/)"
    )
    export.add_argument("--out", type=Path, metavar="FILE", default=None, help="write to FILE, not stdout")
    export.set_defaults(func=cmd_feedback_export)

    fit = commands.add_parser(
        "train", help="fit the reader on every eval set and measure it on each deck left out of its fit"
    )
    _common(fit)
    fit.add_argument("--evals", type=Path, metavar="DIR", default=None, help="the eval folder (default: evals/)")
    fit.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        default=None,
        help="where to save the reader (default: the package's models/reader.json)",
    )
    fit.add_argument(
        "--encoder",
        type=Path,
        metavar="FILE",
        default=None,
        help="where to save the encoder tuning (default: beside --out, else the shipped one)",
    )
    fit.add_argument("--report", type=Path, metavar="DIR", default=None, help="report folder (default: evals/reports/)")
    fit.add_argument("--folds", type=int, default=5, help="folds for cross-validation within one set (default 5)")
    fit.add_argument(
        "--scorer",
        action="store_true",
        help="fit the reader to rerank with the answer scorer in data/scorer/ (make train-scorer first)",
    )
    fit.add_argument(
        "--scorer-from",
        type=Path,
        metavar="DIR",
        default=None,
        help="the answer scorer to read with (default: data/scorer/); implies --scorer",
    )
    fit.add_argument(
        "--tune-scorer",
        action="store_true",
        help="train the answer scorer further on the eval sets, each fold's decks read by one trained "
        "without them (needs its float weights: make train-scorer); implies --scorer",
    )
    fit.add_argument(
        "--no-tuning",
        action="store_true",
        help="fit the reader through the embedding model as published: no encoder tuning, nor its check",
    )
    fit.add_argument(
        "--no-copies",
        action="store_true",
        help="measure without image-only copies of the PDF decks (no OCR: faster, but no figures of how "
        "the reader does on decks that are pictures)",
    )
    fit.add_argument(
        "--squad",
        action="store_true",
        help="fit on the questions of half the SQuAD articles the scorer never saw too, read with the scorer "
        "(needs one: --scorer, --scorer-from or --tune-scorer; docs/reader.md, 'SQuAD questions in the "
        "reader's fit')",
    )
    fit.add_argument(
        "--replace",
        action="store_true",
        help="install the refit even where it does worse on the decks left out than the installed reader "
        "(by default it is then written to INDEX/candidate/ and the installed reader kept)",
    )
    fit.set_defaults(func=cmd_train)

    scorer = commands.add_parser(
        "train-scorer", help="train the answer scorer on the SQuAD pool (public data; about an hour on 2 cores)"
    )
    scorer.add_argument(
        "--out", type=Path, metavar="DIR", default=None, help="where to write it (default: data/scorer/)"
    )
    scorer.add_argument(
        "--questions", type=int, default=None, help="train on at most this many questions (a smoke run)"
    )
    scorer.add_argument(
        "--device", default="cpu", help="torch device to train on: cpu (default), or cuda where there is a GPU"
    )
    scorer.add_argument(
        "--search",
        action="store_true",
        help="first choose the settings: train each candidate on part of the training articles and read "
        "it on the rest (docs/scorer.md; hours on 2 cores, minutes on a GPU)",
    )
    scorer.set_defaults(func=cmd_train_scorer)

    squad = commands.add_parser(
        "squad",
        help="SQuAD 2.0 exact match and F1 on the SQuAD articles neither the answer scorer nor the reader "
        "trained on, as decks",
    )
    _common(squad)
    squad.add_argument("--out", type=Path, metavar="DIR", default=None, help="report folder (default: evals/reports/)")
    squad.set_defaults(func=cmd_squad)

    evaluate = commands.add_parser("eval", help="run the eval set and write a report")
    _common(evaluate)
    evaluate.add_argument(
        "--set",
        type=Path,
        dest="eval_set",
        metavar="FILE",
        default=None,
        help="eval set JSONL (default: evals/known_facts.jsonl)",
    )
    evaluate.add_argument(
        "--all",
        action="store_true",
        dest="all_sets",
        help="run every eval set with its own decks (known_facts.jsonl on the corpus, sets/NAME.jsonl "
        "on decks/NAME/) and write an overview report",
    )
    evaluate.add_argument(
        "--evals", type=Path, metavar="DIR", default=None, help="with --all: the eval folder (default: evals/)"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument(
        "--out", type=Path, metavar="DIR", default=None, help="report folder (default: evals/reports/)"
    )
    evaluate.add_argument("--no-baseline", action="store_true", help="skip the baseline row")
    evaluate.set_defaults(func=cmd_eval)
    return parser


def _assistant(args: argparse.Namespace, **kwargs):
    from egov_qa.assistant import Assistant

    return Assistant(
        getattr(args, "corpus", None),
        getattr(args, "index", None),
        model=getattr(args, "model", None),
        progress=lambda m: log.warning("%s", m),
        store=_store(args),
        **kwargs,
    )


def _store(args: argparse.Namespace):
    """The store --store or $EGOV_QA_STORE names, or None (the --index folder)."""
    from egov_qa.index.stores import open_store, store_spec

    spec = store_spec(getattr(args, "store", None))
    return open_store(spec) if spec else None


def cmd_index(args: argparse.Namespace) -> int:
    from egov_qa.errors import IndexInvalidError
    from egov_qa.index import embedder
    from egov_qa.index.opener import build_index
    from egov_qa.index.store import IndexBuilder, not_a_file
    from egov_qa.index.stores import LocalStore
    from egov_qa.paths import default_corpus_dir, index_dir_for

    corpus = getattr(args, "corpus", None) or default_corpus_dir()
    store = _store(args)
    if store is None:
        index_dir = getattr(args, "index", None) or index_dir_for(corpus)
        not_a_file(index_dir)
        store = LocalStore(index_dir)
    builder = IndexBuilder(embedder.load_embedder(getattr(args, "model", None)))
    expected = builder.fingerprint(corpus)
    if not args.force:
        try:
            index = store.load(expected)
            print(f"index in {store.location} is current: {_size(index)}")
            return 0
        except IndexInvalidError as exc:
            log.warning("%s; building it", exc)
    index = build_index(builder, corpus, store, None, show_progress=_bars(args))
    # What the build skipped or cut was said as it was read; the count says how many it read.
    found, read = len(expected["corpus"]["files"]), len({slide.source for slide in index.slides})
    files = counted(found, "file") if read == found else f"{read} of {counted(found, 'file')} ({found - read} skipped)"
    print(f"built index in {store.location}: {_size(index)} from {files}, model {index.manifest['model']}")
    return 0


def _size(index) -> str:
    return f"{counted(len(index.slides), 'slide')}, {counted(len(index.units), 'unit')}"


def cmd_ask(args: argparse.Namespace) -> int:
    from egov_qa.app.render import answer_text
    from egov_qa.assistant import validate_question

    if args.top_k < 1:
        raise EgovQAError(f"--top-k must be at least 1, not {args.top_k}")
    assistant = _assistant(args)
    question = validate_question(_demo_question(assistant) if args.question is None else args.question)
    answer = assistant.ask(question, top_k=args.top_k, deck=args.deck, previous=args.previous)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        if args.question is None:
            print(f"Q: {question}")
        print(answer_text(answer))
    return 0


def _demo_question(assistant) -> str:
    """The first example question of the corpus's eval set, else one made from its first slide."""
    from egov_qa.evaluation.examples import eval_set_for, example_questions
    from egov_qa.paths import default_corpus_dir, evals_dir

    examples = example_questions(eval_set_for(assistant.corpus_dir, evals_dir(), default_corpus_dir()))
    return examples[0] if examples else assistant.sample_question()


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from egov_qa.evaluation.feedback import export_candidates

    lines = [json.dumps(c, ensure_ascii=False) for c in export_candidates(args.data)]
    text = "".join(line + "\n" for line in lines)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {len(lines)} candidate eval line(s) to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from egov_qa.evaluation import report
    from egov_qa.evaluation import runner as eval_run
    from egov_qa.evaluation import scoring as evaluate
    from egov_qa.paths import evals_dir

    if args.all_sets:
        if args.eval_set:
            raise EgovQAError("--all runs every eval set with its own decks: leave out --set")
        return _eval_all(args)
    eval_set = args.eval_set or evals_dir() / "known_facts.jsonl"
    items = evaluate.load_eval_set(eval_set)
    out = _report_folder(args)
    assistant = _assistant(args)
    summary = eval_run.summarize_set(assistant, items, eval_set, not args.no_baseline, _bars(args))
    paths = report.write_reports(summary, out)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(report.render_table(summary))
        print(f"\nreport: {paths['md']} (and {paths['json'].name}, {paths['png'].name})")
    return 0


def _bars(args: argparse.Namespace) -> bool | None:
    """Progress bars: none with --quiet, else on a terminal only."""
    return False if getattr(args, "quiet", False) else None


def _report_folder(args: argparse.Namespace) -> Path:
    """The folder reports go to (``--out``, else ``evals/reports/``), made before anything is asked,
    so that a path that cannot hold them is said at once, not after the questions."""
    from egov_qa.paths import evals_dir

    return _folder(Path(args.out or evals_dir() / "reports"), "--out", "the reports")


def _folder(path: Path, option: str, what: str) -> Path:
    """``path`` made as a folder for ``what``; a file there, or a folder that cannot be made, is an
    error naming ``option``."""
    from egov_qa.paths import option_folder

    option_folder(path, option, what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EgovQAError(f"cannot make the folder {path} for {what} ({exc.strerror}): pass {option} DIR") from exc
    return path


def _suite_index(index_root: Path, suite) -> Path:
    """Where a suite's index lives: the shipped corpus's own, or ``index/evals/NAME/``."""
    from egov_qa.evaluation.scoring import SHIPPED

    return index_root if suite.name == SHIPPED else index_root / "evals" / suite.name


def cmd_train(args: argparse.Namespace) -> int:
    from egov_qa.evaluation import report
    from egov_qa.evaluation import scoring as evaluate
    from egov_qa.files import write_atomic
    from egov_qa.index import embedder
    from egov_qa.paths import (
        READER_FILE,
        README,
        TUNING_FILE,
        default_corpus_dir,
        default_reader_path,
        default_tuning_path,
        evals_dir,
        index_dir_for,
        option_folder,
        scorer_dir_for,
        squad_scorer_dir,
    )
    from egov_qa.training import keep
    from egov_qa.training.crossfit import ask_through_tuned
    from egov_qa.training.fit import eval_set_hashes, train

    if args.folds < 2:
        raise EgovQAError(f"--folds must be at least 2, not {args.folds}")
    if args.squad and not (args.scorer or args.scorer_from or args.tune_scorer):
        raise EgovQAError("--squad reads the SQuAD questions with the answer scorer: add --tune-scorer or --scorer")
    # Said now, not after the hours of training that would end in writing there.
    if args.out is not None and args.out.is_dir():
        raise EgovQAError(f"{args.out} is a folder: pass --out FILE, the reader's file (its scorer goes beside it)")
    if args.encoder is not None and args.encoder.is_dir():
        raise EgovQAError(f"{args.encoder} is a folder: pass --encoder FILE, the encoder tuning's file")
    if args.report is not None:
        option_folder(args.report, "--report", "the reports")
    evals = args.evals or evals_dir()
    suites = evaluate.find_suites(evals, getattr(args, "corpus", None) or default_corpus_dir())
    # The shipped set's index sits at the root: another corpus's root is its own (as for ask).
    index_root = getattr(args, "index", None) or index_dir_for(getattr(args, "corpus", None))
    name = getattr(args, "model", None)

    def say(message: str) -> None:
        log.warning("%s", message)

    def encoder(tuning):
        return embedder.load_embedder(name, tuning=tuning)

    scorer = None
    scorer_dir = args.scorer_from or squad_scorer_dir()
    reader_path = args.out or default_reader_path()
    if args.scorer or args.scorer_from or args.tune_scorer:
        # Off by default: it needs the scorer `train-scorer` makes (an hour). `make train` fits the
        # shipped reader with it (docs/reader.md, "The answer scorer").
        from egov_qa.answer.scorer import AnswerScorer

        scorer = AnswerScorer(scorer_dir)

    def check(published, tuned):
        # Retrieval on the SQuAD articles the tuning never saw: a tuning that costs there is not shipped.
        from egov_qa.evaluation import squad
        from egov_qa.training import unseen

        articles = squad.load_articles()
        kept_out = {t: articles[t] for t in sorted(squad.held_out(list(articles)))}
        root = Path(index_root) / "unseen"
        say("measuring retrieval on articles nobody tuned on, as published and as tuned")
        return unseen.record(
            unseen.retrieval(published, kept_out, root / "published", say),
            unseen.retrieval(tuned, kept_out, root / "tuned", say),
        )

    asked_suites = suites
    if not args.no_copies:
        from egov_qa.training.copies import image_copies

        asked_suites = suites + image_copies(suites, Path(index_root) / "copies", say)
    tuned = ask_through_tuned(asked_suites, index_root, encoder, say, check=check, tuning=not args.no_tuning)
    asked = tuned.asked
    if args.tune_scorer:
        from egov_qa.training.scorer_tuning import fold_scored, trained_further

        work = Path(index_root) / "scorers"
        asked = fold_scored(asked, tuned.folds, scorer_dir, work, progress=say)
        scorer_dir = trained_further(scorer_dir, work / "every-set", asked, progress=say)
    elif scorer is not None:
        from egov_qa.training.fit import scored

        say("reading every candidate with the answer scorer")
        asked = scored(asked, scorer)
    tuning = tuned.tuning
    if args.squad:
        from egov_qa.training.squad_questions import squad_asked

        # Read by the scorer that serves (the one trained further on every set never saw them).
        asked += squad_asked(encoder(tuning), scorer_dir, Path(index_root) / "squad-fit", say)
    encoder_path = args.encoder or (args.out.parent / TUNING_FILE if args.out else default_tuning_path())
    embedding_model = tuning.model_name if tuning else encoder(None).name
    model = train(suites, asked, embedding_model, evals.parent, args.folds, say)
    report_dir = args.report or evals / "reports"
    readme = args.out is None and README.is_file()
    if scorer is not None:
        from egov_qa.answer.scorer import SCORER_MODEL, SCORER_RECORD
        from egov_qa.files import file_sha256

        scorer_record = json.loads((scorer_dir / SCORER_RECORD).read_text(encoding="utf-8"))
        model.meta["scorer"] = {
            "sha256": file_sha256(scorer_dir / SCORER_MODEL),
            "trained_on_eval_sets": args.tune_scorer,
            "created": scorer_record.get("created"),
            "reranks": model.reranker is not None,
            # The same recipe trained on another CPU gives other weights: a comparison says where.
            "device": (scorer_record.get("fine_tuned") or scorer_record).get("device"),
        }
    # A refit that loses on the decks left out does not replace the reader it was meant to improve.
    kept = keep.compare(model.meta, keep.installed_record(reader_path))
    demoted = kept is not None and kept.refit_is_worse and not args.replace
    if demoted:
        candidate = Path(index_root) / "candidate"
        say(f"the refit does worse ({kept}): kept the installed reader; the refit is written to {candidate}")
        reader_path, encoder_path, report_dir, readme = (
            candidate / READER_FILE,
            candidate / TUNING_FILE,
            candidate / "reports",
            False,
        )
    model.meta["encoder"] = {
        "model": embedding_model,
        "tuned": tuning is not None,
        "tuning_tried": not args.no_tuning,
        "file": encoder_path.name if tuning else None,
        "folds": tuned.folds,
        "unseen_retrieval": tuned.check,
    }
    if tuning is not None:
        tuning.meta.update(
            {"eval_sets": eval_set_hashes(suites, evals.parent), "folds": tuned.folds, "unseen_retrieval": tuned.check}
        )
        saved_encoder = str(tuning.save(encoder_path))
    else:
        # No tuning ships: the model is used as published (a stale tuning file would be applied).
        encoder_path.unlink(missing_ok=True)
        saved_encoder = "none (the model as published)"
    if scorer is not None:
        from egov_qa.answer.scorer import install

        install(scorer_dir, scorer_dir_for(reader_path))
    saved = model.save(reader_path)
    paths = report.write_reader_report(model.meta, report_dir)
    print(report.render_reader(model.meta, model.threshold))
    print(f"\nreader: {saved}; encoder: {saved_encoder}; report: {paths['md']}")
    if demoted:
        tried = f"EGOV_QA_READER={saved}" + (f" EGOV_QA_ENCODER={encoder_path}" if tuning is not None else "")
        print(f"kept the installed reader: {kept}")
        print(f"to try the refit: {tried}; to install it: train again with --replace")
    elif kept is not None:
        print(f"installed the refit: {kept}")
    if readme:
        # The shipped reader's figures are the README's: written from its record, never by hand.
        write_atomic(
            README, report.with_readme_figures(README.read_text(encoding="utf-8"), model.meta, model.threshold)
        )
        print(f"README: {README}")
    return 0


def cmd_train_scorer(args: argparse.Namespace) -> int:
    from egov_qa.paths import option_folder, squad_scorer_dir
    from egov_qa.training.scorer import ScorerSettings, train_scorer

    if args.questions is not None and args.questions < 1:
        raise EgovQAError(f"--questions must be at least 1, not {args.questions}")
    # Said now, not after the hour of training that would end in writing there.
    out = option_folder(args.out or squad_scorer_dir(), "--out", "the scorer")
    _check_device(args.device)

    def say(message: str) -> None:
        log.warning("%s", message)

    settings, chosen_by = ScorerSettings(questions=args.questions), None
    if args.search:
        from dataclasses import replace

        from egov_qa.training.scorer_search import CANDIDATES, search

        candidates = {name: replace(s, questions=args.questions) for name, s in CANDIDATES.items()}
        chosen_by = search(args.device, candidates, progress=say)
        best = chosen_by["candidates"][0]["candidate"]
        settings = candidates[best]
        say(f"chosen: {best}")
    record = train_scorer(out, settings, progress=say, device=args.device, chosen_by=chosen_by)
    print(json.dumps(record["held_out"], indent=1))
    print(f"scorer: {out} ({record['train_seconds']} s of training)")
    return 0


def _check_device(device: str) -> None:
    """Refuse a torch device this machine lacks before anything is trained."""
    import torch

    try:
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as exc:
        raise EgovQAError(f"cannot train on device {device!r} ({exc}): use --device cpu") from exc


def cmd_squad(args: argparse.Namespace) -> int:
    """The assistant on SQuAD articles it never trained on, each article a deck of one slide per paragraph."""
    from egov_qa.assistant import Assistant
    from egov_qa.evaluation import squad
    from egov_qa.evaluation.runner import one_by_one
    from egov_qa.files import write_atomic
    from egov_qa.paths import default_index_dir, default_reader_path

    # Its decks are the SQuAD articles, indexed in a folder of their own: nothing else is read.
    for option in ("corpus", "store"):
        if getattr(args, option, None) is not None:
            raise EgovQAError(
                f"squad makes its decks from the SQuAD articles and indexes them itself: leave out --{option}"
            )
    articles = squad.load_articles()
    # The articles neither the scorer nor the reader trained on (a reader fit with `train --squad`
    # names the ones it fit on in its record).
    kept_out = {t: articles[t] for t in sorted(squad.held_out(list(articles)) - squad.fit_on(default_reader_path()))}
    out = _report_folder(args)
    root = getattr(args, "index", None) or default_index_dir() / "squad"
    corpus = squad.write_decks(kept_out, Path(root) / "decks")
    assistant = Assistant(
        corpus, Path(root) / "index", model=getattr(args, "model", None), progress=lambda m: log.warning("%s", m)
    )
    asked = squad.asked_questions(kept_out)

    def ask(assistant, pairs):
        answers = [assistant.ask(q.text) for _, q in pairs]
        return [("" if a.abstained else (a.span.text if a.span else a.answer or ""), a.confidence) for a in answers]

    predictions = one_by_one(ask, lambda: assistant, asked, "SQuAD questions asked", _bars(args))
    figures = squad.score_answers(asked, predictions)
    figures["articles"] = sorted(kept_out)
    write_atomic(out / "squad.json", json.dumps(figures, indent=1) + "\n")
    print(json.dumps({k: v for k, v in figures.items() if k != "articles"}, indent=1))
    print(f"report: {out / 'squad.json'}")
    return 0


def _eval_all(args: argparse.Namespace) -> int:
    """Every eval set with its own decks: a report each, and an overview with a pooled row."""
    from egov_qa.assistant import Assistant
    from egov_qa.evaluation import report
    from egov_qa.evaluation import runner as eval_run
    from egov_qa.evaluation import scoring as evaluate
    from egov_qa.index import embedder
    from egov_qa.paths import default_corpus_dir, evals_dir, index_dir_for

    evals = args.evals or evals_dir()
    suites = evaluate.find_suites(evals, getattr(args, "corpus", None) or default_corpus_dir())
    # The shipped set's index sits at the root: another corpus's root is its own (as for ask).
    index_root = getattr(args, "index", None) or index_dir_for(getattr(args, "corpus", None))
    store = _store(args)
    out = _report_folder(args)
    shared = embedder.load_embedder(getattr(args, "model", None))
    rows = []
    for suite in suites:
        assistant = Assistant(
            suite.corpus,
            _suite_index(index_root, suite),
            embedder=shared,
            progress=lambda m: log.warning("%s", m),
            store=None if store is None else store if suite.name == evaluate.SHIPPED else store.child(suite.name),
        )
        items = evaluate.load_eval_set(suite.eval_set)
        summary = eval_run.summarize_set(assistant, items, suite.eval_set, not args.no_baseline, _bars(args))
        report.write_reports(summary, eval_run.report_dir(out, suite))
        rows.append((suite, summary))
    overview = report.overview(rows, evaluate.SHIPPED)
    paths = report.write_overview(overview, out)
    if args.json:
        print(json.dumps(overview, ensure_ascii=False))
    else:
        print(report.render_overview(overview))
        print(f"\nreport: {paths['md']} (and {paths['json'].name}; one report per deck beside it)")
    return 0


def setup_logging(quiet: bool = False) -> None:
    """egov-qa's own messages on stderr; the libraries' chatter (bm25s, faiss, transformers) hidden."""
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.WARNING, format="egov-qa: %(message)s", stream=sys.stderr
    )
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.ERROR)
    # A build's progress bars, written as lines where stderr is no terminal (index/progress.py).
    logging.getLogger("egov_qa.index.progress").setLevel(logging.ERROR if quiet else logging.INFO)
    # bm25s sets its own logger to DEBUG when it is imported, which may be later:
    # the handlers drop the libraries' chatter whatever their loggers' levels.
    for handler in logging.getLogger().handlers:
        handler.addFilter(_quiet_libraries)


_NOISY = ("faiss", "bm25s", "sentence_transformers", "transformers", "httpx", "pypdf", "onnxruntime")


def _quiet_libraries(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR or _library(record) not in _NOISY


def _library(record: logging.LogRecord) -> str:
    """The package a record comes from: its logger's, or, for a library that logs on the root
    logger (onnxruntime's quantization advises so once per scorer `make train` exports), the
    noisy package holding the file that logged it."""
    if record.name != logging.getLogger().name:
        return record.name.split(".")[0]
    return next((part for part in Path(record.pathname).parts if part in _NOISY), "")


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Inside, SIGTERM stops the process as Ctrl+C does: :class:`Terminated` (a KeyboardInterrupt) is
    raised where it is, so ``finally`` blocks and exit handlers run. Python's own SIGTERM ends the
    process on the spot, leaving what they would remove (an index build's model export, some 90 MB
    in the temporary folder, each time a chat server is stopped). Only the main thread can set it;
    elsewhere this does nothing. The previous handler is put back on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def until_stopped(work: Callable[[], int]) -> int:
    """``work()``'s exit status, or, stopped by Ctrl+C or SIGTERM (:func:`terminate_as_interrupt`),
    one line saying so and 130 or 143: the command's and the chat's way of ending early."""
    try:
        with terminate_as_interrupt():
            return work()
    except Terminated:
        print("egov-qa: stopped (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("egov-qa: interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet = getattr(args, "quiet", False)
    setup_logging(quiet)
    try:
        return until_stopped(lambda: args.func(args))
    except EgovQAError as exc:
        print(f"egov-qa: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader of the output went away (`egov-qa ask … | head`): nothing is wrong here.
        # Python's advice: point stdout at devnull so the exit flush does not fail again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass  # stdout is no file (output captured): there is nothing left to flush
        return 0
    except OSError as exc:
        # A folder that cannot be written or read (a file where a folder should be, no permission).
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"egov-qa: error: {exc.strerror or exc}{where}: check the path and its permissions", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

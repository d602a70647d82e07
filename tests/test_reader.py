"""The reader on its own (a hand-made model, candidates without an index), its file, and its training."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, FakeEmbedder

from egov_qa import cli
from egov_qa.answer.features import FEATURES, Candidate
from egov_qa.answer.question import analyze
from egov_qa.answer.reader import (
    CONFIDENCE_FEATURES,
    RERANK_FEATURES,
    Linear,
    Reader,
    ReaderModel,
    load_reader_model,
)
from egov_qa.documents import Unit
from egov_qa.errors import ReaderModelError
from egov_qa.evaluation.scoring import find_suites
from egov_qa.index import embedder
from egov_qa.index.tuning import Tuning
from egov_qa.paths import default_reader_path, default_tuning_path
from egov_qa.training import crossfit, unseen
from egov_qa.training.fit import eval_set_hashes


def linear(weights: dict[str, float], names: tuple[str, ...], intercept: float = 0.0) -> Linear:
    return Linear((0.0,) * len(names), (1.0,) * len(names), tuple(weights.get(n, 0.0) for n in names), intercept)


def model(threshold: float = 0.5, **meta) -> ReaderModel:
    """Ranks by the dense feature; confident in proportion to the best score's margin."""
    return ReaderModel(
        FEATURES,
        linear({"dense": 10.0}, FEATURES),
        CONFIDENCE_FEATURES,
        linear({"margin": 2.0}, CONFIDENCE_FEATURES),
        threshold,
        meta,
    )


def candidate(pos: int, dense: float) -> Candidate:
    return Candidate(pos, tuple(dense if name == "dense" else 0.0 for name in FEATURES))


UNITS = [
    Unit("a", "d.md", 1, 0, 30, "Renewal takes 3 days online.", "bullet"),
    Unit("b", "d.md", 1, 31, 60, "Tax filing moved online in 2008.", "bullet"),
]


class TestReader:
    def test_invalid_construction_names_the_value(self):
        with pytest.raises(ValueError, match="0"):
            Reader(model(), top_k=0)

    def test_ranks_by_the_model_with_spans_and_confidences(self):
        question = analyze("When did tax filing move online?")
        answers = Reader(model()).run(question, [candidate(0, 0.2), candidate(1, 0.9)], UNITS, top_k=2)
        assert [a.unit.id for a in answers] == ["b", "a"]
        best = answers[0]
        assert best.unit.text[best.span[0] : best.span[1]] == "2008"
        # margin 10 * (0.9 - 0.2) = 7 logits, weighted 2: nearly sure; the runner-up is not.
        assert best.confidence > 0.99 and answers[1].confidence < 0.01

    def test_no_candidates_no_answers(self):
        assert Reader(model()).run(analyze("Anything?"), [], UNITS) == []


class TestReaderModelFile:
    def test_round_trip(self, tmp_path):
        saved = model(0.4, embedding_model="m1", eval_sets={"x": "1"}).save(tmp_path / "r.json")
        loaded = load_reader_model(saved, "m1")
        assert loaded == model(0.4) and loaded.meta["eval_sets"] == {"x": "1"}

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("{", "cannot be read"),
            ("[]", "not a JSON object"),
            ('{"format": 2}', "not valid"),
            ('{"format": 0}', "format"),
        ],
    )
    def test_a_bad_file_is_a_clear_error(self, tmp_path, content, message):
        (tmp_path / "r.json").write_text(content)
        with pytest.raises(ReaderModelError, match=message):
            load_reader_model(tmp_path / "r.json")

    def test_a_missing_file_says_how_to_make_one(self, tmp_path):
        with pytest.raises(ReaderModelError, match="egov-qa train"):
            load_reader_model(tmp_path / "none.json")

    def test_other_features_are_refused(self, tmp_path):
        data = model().to_dict()
        data["features"] = [*data["features"][:-1], "something_else"]
        (tmp_path / "r.json").write_text(json.dumps(data))
        with pytest.raises(ReaderModelError, match="other features"):
            load_reader_model(tmp_path / "r.json")

    def test_another_embedding_model_loads_with_a_warning(self, tmp_path, caplog):
        path = model(embedding_model="m1").save(tmp_path / "r.json")
        with caplog.at_level(logging.WARNING):
            load_reader_model(path, "m2")
        assert "trained with embedding model m1, not m2" in caplog.text


def test_the_committed_reader_and_encoder_were_trained_on_the_committed_eval_sets():
    """A changed eval set makes the shipped reader and encoder stale: retrain with `make train`."""
    shipped = load_reader_model(default_reader_path())
    suites = find_suites(ROOT / "evals", ROOT / "corpus")
    hashes = eval_set_hashes(suites, ROOT)
    assert shipped.meta["eval_sets"] == hashes, "the shipped reader is stale: run make train"
    encoder = shipped.meta["encoder"]
    check = encoder["unseen_retrieval"]
    if not encoder["tuned"]:
        # No tuning ships (it cost retrieval it was not tuned for, or none was tried): the model as published.
        assert not encoder["tuning_tried"] or check["cost"]
        assert not default_tuning_path().exists()
        assert shipped.meta["embedding_model"] == embedder.DEFAULT_MODEL == embedder.load_embedder().name
        return
    tuning = Tuning.load(default_tuning_path())
    assert set(check) >= {"published", "tuned", "cost"}, "the record lacks the check on unseen retrieval"
    assert check["cost"] is None and tuning.meta["unseen_retrieval"] == check
    assert tuning.meta["eval_sets"] == hashes, "the shipped encoder tuning is stale: run make train"
    assert tuning.base_model == embedder.DEFAULT_MODEL
    # The reader was trained with the encoder it ships with, and the app loads that encoder.
    assert shipped.meta["embedding_model"] == tuning.model_name == embedder.load_embedder().name


DECKS = {
    "alpha": "# Parks\n\nThe city has 12 parks.\n\nThe largest park opened in 1998.\n\n---\n\n"
    "# Libraries\n\nThere are 4 public libraries.\n\nThe main library holds 90,000 books.\n",
    "beta": "# Buses\n\nThe bus fleet has 300 buses.\n\nNight buses started in 2015.\n\n---\n\n"
    "# Trains\n\nThe metro has 3 lines.\n\nA ride costs 2 dollars.\n",
}
QUESTIONS = {
    "alpha": [
        ("How many parks does the city have?", "12", "12 parks"),
        ("When did the largest park open?", "1998", "largest park opened"),
        ("How many public libraries are there?", "4", "4 public libraries"),
        ("How many books does the main library hold?", "90,000", "90,000 books"),
        ("What is the city's population?", None, None),
        ("Who is the mayor?", None, None),
    ],
    "beta": [
        ("How many buses are in the fleet?", "300", "300 buses"),
        ("When did night buses start?", "2015", "Night buses started"),
        ("How many metro lines are there?", "3", "metro has 3 lines"),
        ("How much does a ride cost?", "2 dollars", "ride costs"),
        ("How many taxis are there?", None, None),
        ("When was the airport built?", None, None),
    ],
}


def write_evals(root):
    for name, deck in DECKS.items():
        (root / "decks" / name).mkdir(parents=True)
        (root / "decks" / name / "deck.md").write_text(deck)
        lines = []
        for i, (q, a, e) in enumerate(QUESTIONS[name]):
            row = {"id": f"{name}{i}", "question": q, "answers": [a] if a else [], "evidence": e or ""}
            lines.append(json.dumps({**row, "answerable": a is not None}))
        (root / "sets").mkdir(exist_ok=True)
        (root / "sets" / f"{name}.jsonl").write_text("\n".join(lines))


def fake_tune(base_model, path, found, settings=None):
    """A tuning whose one bias records how many examples it was given."""
    return Tuning(base_model, {"bias": np.full(2, len(found), dtype=np.float32)}, {"examples": len(found)})


def unseen_recall(tuned_recall: float):
    """Stands in for the retrieval check: the published model finds 0.80 of the unseen questions' slides first."""

    def retrieval(embedding, articles, folder, progress=None):
        recall = tuned_recall if Path(folder).name == "tuned" else 0.80
        return unseen.Retrieval(recall, 0.95, 100)

    return retrieval


def faked_training(tmp_path, monkeypatch) -> tuple[list, list[str], Path]:
    """``egov-qa train`` on the sets of :func:`write_evals` with a fake encoder and tuning: the
    tunings the encoder was loaded with (as the command runs), its arguments, and the reader's path."""
    given: list = []

    def load_embedder(name=None, tuning=None):
        given.append(tuning)
        return FakeEmbedder()

    monkeypatch.setattr(embedder, "load_embedder", load_embedder)
    monkeypatch.setattr(crossfit, "tune", fake_tune)
    evals = tmp_path / "evals"
    write_evals(evals)
    out = tmp_path / "reader.json"
    argv = ["--index", str(tmp_path / "i"), "train", "--evals", str(evals), "--out", str(out)]
    return given, [*argv, "--report", str(tmp_path / "reports")], out


def test_train_command_fits_a_reader_and_measures_each_deck_left_out(tmp_path, monkeypatch, capsys):
    given, argv, out = faked_training(tmp_path, monkeypatch)
    monkeypatch.setattr(unseen, "retrieval", unseen_recall(0.81))
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "alpha (left out)" in printed and "real decks, pooled (each left out)" in printed

    # The encoder tuned on all eight answerable questions (one line answers each, against three
    # others) was checked, then each deck was asked through an encoder tuned on the other deck's four.
    assert [t.meta["examples"] for t in given if t is not None] == [24, 12, 12]
    tuning = Tuning.load(tmp_path / "encoder.json")
    assert tuning.meta["examples"] == 24 and tuning.meta["folds"] == {"alpha": 0, "beta": 1}
    assert tuning.meta["unseen_retrieval"]["cost"] is None
    assert set(tuning.meta["eval_sets"]) == {"evals/sets/alpha.jsonl", "evals/sets/beta.jsonl"}
    trained = load_reader_model(out, tuning.model_name)
    assert trained.meta["embedding_model"] == tuning.model_name
    assert trained.meta["encoder"]["model"] == tuning.model_name
    assert set(trained.meta["eval_sets"]) == {"evals/sets/alpha.jsonl", "evals/sets/beta.jsonl"}
    assert set(trained.meta["leave_one_deck_out"]["sets"]) == {"alpha", "beta"}
    assert trained.meta["trained_on"]["questions"] == 12
    assert 0.0 <= trained.threshold <= 1.0
    assert np.isfinite(trained.ranker.coef).all()
    assert (tmp_path / "reports" / "reader.md").is_file() and (tmp_path / "reports" / "reader.png").is_file()
    described = (tmp_path / "reports" / "reader.md").read_text()
    assert f"encoder: `{tuning.model_name}`" in described and "without its fold (alpha; beta)" in described


def test_a_tuning_that_costs_unseen_retrieval_is_not_shipped_and_no_fold_is_tuned(tmp_path, monkeypatch, capsys):
    given, argv, out = faked_training(tmp_path, monkeypatch)
    monkeypatch.setattr(unseen, "retrieval", unseen_recall(0.75))
    stale = tmp_path / "encoder.json"
    fake_tune("m", None, [1]).save(stale)
    assert cli.main(argv) == 0
    assert "encoder: none (the model as published)" in capsys.readouterr().out
    # Only the tuning on every set was made (to be checked); the folds were asked as published.
    assert [t.meta["examples"] for t in given if t is not None] == [24]
    assert not stale.exists()
    trained = load_reader_model(out, FakeEmbedder.name)
    assert trained.meta["embedding_model"] == FakeEmbedder.name
    assert trained.meta["encoder"]["tuned"] is False
    assert trained.meta["encoder"]["unseen_retrieval"]["cost"] == "recall@1 0.750 against 0.800 as published"


class TestUnseenRetrievalCheck:
    def test_a_loss_within_the_tolerance_costs_nothing(self):
        published = unseen.Retrieval(0.800, 0.950, 1000)
        assert unseen.cost(published, unseen.Retrieval(0.797, 0.951, 1000)) is None
        assert unseen.cost(published, unseen.Retrieval(0.820, 0.960, 1000)) is None

    def test_a_loss_beyond_it_is_named_in_each_measure(self):
        published = unseen.Retrieval(0.800, 0.950, 1000)
        said = unseen.cost(published, unseen.Retrieval(0.750, 0.900, 1000))
        assert said == "recall@1 0.750 against 0.800 as published; recall@5 0.900 against 0.950 as published"

    def test_retrieval_ranks_each_question_against_its_paragraphs_slide(self, tmp_path):
        from egov_qa.evaluation.squad import Paragraph, Question

        def paragraph(title, text, question):
            return Paragraph(title, text, (Question(question, question, ("x",), (0,)),))

        articles = {
            "Lakes": [
                paragraph("Lakes", "Lake Baikal is the deepest lake on Earth.", "Which lake is the deepest?"),
                paragraph("Lakes", "Tea grows on terraced hills in Darjeeling.", "Where does tea grow on hills?"),
            ]
        }
        found = unseen.retrieval(FakeEmbedder(), articles, tmp_path)
        assert found == unseen.Retrieval(1.0, 1.0, 2)


def test_train_without_tuning_asks_every_set_through_the_model_as_published(tmp_path, monkeypatch, capsys):
    given, argv, out = faked_training(tmp_path, monkeypatch)
    assert cli.main([*argv, "--no-tuning"]) == 0
    assert not [t for t in given if t is not None] and not (tmp_path / "encoder.json").exists()
    encoder = load_reader_model(out, FakeEmbedder.name).meta["encoder"]
    assert encoder["tuned"] is False and encoder["tuning_tried"] is False and encoder["unseen_retrieval"] is None


def write_pdf_evals(root):
    """The sets of :func:`write_evals` with each deck a PDF, a page a slide, in type OCR reads well."""
    from pdf_maker import Placed, write_pdf

    write_evals(root)
    for name, deck in DECKS.items():
        pages = []
        for slide in deck.split("\n---\n"):
            lines = [line.lstrip("# ") for line in slide.splitlines() if line.strip()]
            pages.append([Placed(text, 60, 700 - 60 * at, size=20) for at, text in enumerate(lines)])
        (root / "decks" / name / "deck.md").unlink()
        write_pdf(root / "decks" / name / "deck.pdf", pages)


def test_train_fits_on_image_only_copies_held_out_with_their_decks(tmp_path, monkeypatch, capsys):
    from pypdf import PdfReader

    monkeypatch.setattr(embedder, "load_embedder", lambda name=None, tuning=None: FakeEmbedder())
    evals = tmp_path / "evals"
    write_pdf_evals(evals)
    out = tmp_path / "reader.json"
    argv = ["--index", str(tmp_path / "i"), "train", "--evals", str(evals), "--out", str(out), "--no-tuning"]
    assert cli.main([*argv, "--report", str(tmp_path / "reports")]) == 0
    printed = capsys.readouterr().out
    copy = tmp_path / "i" / "copies" / "alpha" / "deck.pdf"
    assert not PdfReader(copy).pages[0].extract_text().strip(), "a copy keeps no text layer"
    meta = load_reader_model(out, FakeEmbedder.name).meta
    # Each set asked of its deck and of the copy; the copies are scored apart and never fit on.
    assert meta["trained_on"]["questions"] == 12
    assert set(meta["leave_one_deck_out"]["sets"]) == set(meta["in_sample"]) == {"alpha", "beta"}
    copies = meta["image_copies"]
    assert {name: row["copy"] for name, row in copies["sets"].items()} == {
        "alpha": "alpha (image-only copy)",
        "beta": "beta (image-only copy)",
    }
    assert copies["sets"]["alpha"]["image"]["n"] == 6 and copies["pooled"]["image"]["n"] == 12
    assert all("answer_ratio_band" in row for row in [*copies["sets"].values(), copies["pooled"]])
    assert "copy / deck, band" in printed
    assert "Image-only copies" in printed and "Image-only copies" in (tmp_path / "reports" / "reader.md").read_text()

    # A second fit reads the same copies (no new file, so no new OCR).
    made = copy.stat().st_mtime_ns
    assert cli.main([*argv, "--report", str(tmp_path / "reports")]) == 0
    assert copy.stat().st_mtime_ns == made
    assert "making an image-only copy" not in capsys.readouterr().err


def test_the_encoder_is_never_tuned_on_a_copys_lines(tmp_path, monkeypatch):
    from egov_qa.errors import EvalSetError
    from egov_qa.evaluation.scoring import Suite

    paired = []

    def suite_examples(suite, builder, base):
        paired.append(suite.name)
        return []

    monkeypatch.setattr(crossfit, "suite_examples", suite_examples)
    sets = [Suite("a", tmp_path / "a.jsonl", tmp_path / "a"), Suite("a copy", tmp_path / "a.jsonl", tmp_path, "a")]
    with pytest.raises(EvalSetError, match="nothing to tune on"):
        crossfit.ask_through_tuned(sets, tmp_path / "i", lambda tuning: FakeEmbedder())
    assert paired == ["a"]


def test_a_copy_is_scored_by_the_reader_that_left_its_deck_out_and_never_fit_on(monkeypatch):
    from egov_qa.evaluation.scoring import EvalItem
    from egov_qa.training import fit

    def asked(suite, copy_of=None):
        item = EvalItem(id=f"{suite}-q", question="q?", answers=("1",), evidence="1", answerable=True)
        rows = np.zeros((1, len(FEATURES)))
        return fit.Asked(suite, item, rows, np.array([True]), np.array([True]), True, None, copy_of)

    every = [asked("a"), asked("a copy", "a"), asked("b"), asked("b copy", "b"), asked("c")]
    seen = []

    def fit_reader(train, folds=5):
        seen.append({a.suite for a in train})
        return fit.Fitted(fit.fit_ranker(train), fit.fit_ranker(train), 0.5)

    monkeypatch.setattr(fit, "fit_reader", fit_reader)
    monkeypatch.setattr(fit, "score", lambda outcomes, fitted: {"n": len(outcomes)})
    figures = fit.leave_one_deck_out(every)
    assert seen == [{"b", "c"}, {"a", "c"}, {"a", "b"}]
    assert set(figures) == {"a", "a copy", "b", "b copy", "c"}
    groups = fit._groups(every, 5, lambda a: a.deck, lambda a: a.item.id)
    assert [[a.suite for a in group] for group in groups] == [["a", "a copy"], ["b", "b copy"], ["c"]]


def test_train_command_says_so_when_no_line_answers_any_question(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(embedder, "load_embedder", lambda name=None, tuning=None: FakeEmbedder())
    evals = tmp_path / "evals"
    write_evals(evals)
    for name in DECKS:
        path = evals / "sets" / f"{name}.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        path.write_text("\n".join(json.dumps({**r, "answers": ["zeppelin"] if r["answerable"] else []}) for r in rows))
    out = tmp_path / "reader.json"
    argv = ["--index", str(tmp_path / "i"), "train", "--evals", str(evals), "--out", str(out)]
    assert cli.main(argv) == 1
    assert "nothing to tune on" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "encoder.json").exists()


FEATURE_DECK = """\
# Meetings

What is the next meeting?

Our next meeting will be on:

Thursday, April 4, 2024 at 12p ET.

Email the team at team@example.org

---

# Spending

Spending by year (Unit: USD 1 million)

| | 2009 | 2010 |
| --- | --- | --- |
| Budget | 100 | 120 |
"""


class TestFeatureMaker:
    """Features of candidate units over a tiny index (fake embedder)."""

    @pytest.fixture
    def made(self, tmp_path, fake_embedder):
        from egov_qa.answer.features import FeatureMaker
        from egov_qa.answer.retriever import HybridRetriever
        from egov_qa.index.opener import build_index
        from egov_qa.index.store import IndexBuilder

        corpus = tmp_path / "corpus"
        corpus.mkdir()
        (corpus / "deck.md").write_text(FEATURE_DECK, encoding="utf-8")
        index = build_index(IndexBuilder(fake_embedder), corpus, tmp_path / "index")
        retriever = HybridRetriever(index, fake_embedder)
        maker = FeatureMaker(index, fake_embedder)

        def features(question: str) -> dict[str, dict[str, float]]:
            asked = analyze(question)
            found = maker.candidates(asked, retriever.retrieve(question))
            return {index.units[c.unit_pos].text: dict(zip(FEATURES, c.features, strict=True)) for c in found}

        features.index = index  # type: ignore[attr-defined]
        return features

    def test_a_question_line_a_lead_in_and_the_line_after_an_echo(self, made):
        by_text = made("When is the next meeting?")
        assert by_text["What is the next meeting?"]["asks_back"] == 1.0
        assert by_text["Our next meeting will be on:"]["lead_in"] == 1.0
        date_line = by_text["Thursday, April 4, 2024 at 12p ET."]
        assert date_line["asks_back"] == date_line["lead_in"] == 0.0
        assert date_line["after_match"] > 0.5

    def test_a_detail_held_on_one_line_and_missing_from_the_others(self, made):
        by_text = made("What email address reaches the team?")
        assert by_text["Email the team at team@example.org"]["detail_missing"] == 0.0
        assert by_text["Our next meeting will be on:"]["detail_missing"] == 1.0
        assert all(f["asks_detail"] == 1.0 and f["detail_nowhere"] == 0.0 for f in by_text.values())
        phone = made("What phone number reaches the team?")
        assert all(f["detail_nowhere"] == 1.0 and f["detail_off_slide"] == 1.0 for f in phone.values())

    def test_a_table_row_takes_the_unit_its_slide_states(self, made):
        by_text = made("What was the budget in 2010?")
        row = next(f for text, f in by_text.items() if text.startswith("Budget"))
        assert row["asks_detail"] == 1.0 and row["detail_missing"] == 0.0
        assert by_text["Email the team at team@example.org"]["detail_missing"] == 1.0

    def test_a_line_alone_in_meaning_and_against_the_other_candidates(self, made, fake_embedder):
        from egov_qa.answer.features import RELATIVE

        question = "When is the next meeting?"
        by_text = made(question)
        asked = fake_embedder.embed([question])[0]
        for text, f in by_text.items():
            assert f["text_dense"] == pytest.approx(float(fake_embedder.embed([text])[0] @ asked), abs=1e-5)
            assert f["text_dense_slide_gap"] <= 1e-9
        assert max(f["text_dense_gap"] for f in by_text.values()) == pytest.approx(0.0)
        for name in RELATIVE:
            column = np.array([f[f"z_{name}"] for f in by_text.values()])
            assert abs(column.mean()) < 1e-9
            assert column.std() == pytest.approx(1.0) or not column.any()

    def test_words_the_corpus_never_uses(self, made):
        features = next(iter(made("What was the meeting budget of Acme in 1999?").values()))
        assert features["number_unknown"] == 1.0
        assert features["name_unknown"] == 1.0
        assert features["topic_unknown"] >= 1.0
        assert features["slide_missing"] == 1.0  # "budget" is nowhere: the most specific word missing

    def test_how_near_in_meaning_the_corpus_comes_to_the_words_it_never_uses(self, made, fake_embedder):
        known = next(iter(made("When is the next meeting?").values()))
        assert known["unseen_word_fit"] == known["unseen_word_fit_mean"] == 1.0
        vocabulary = made.index.vocabulary
        assert "meeting" in vocabulary and "nurses" not in vocabulary
        corpus = fake_embedder.embed(vocabulary)
        nearest = {w: float((fake_embedder.embed([w]) @ corpus.T).max()) for w in ("nurses", "hospitals")}
        features = next(iter(made("How many nurses are in the hospitals of the meeting?").values()))
        assert features["unseen_word_fit"] == pytest.approx(min(nearest.values()), abs=1e-5)
        assert features["unseen_word_fit_mean"] == pytest.approx(sum(nearest.values()) / 2, abs=1e-5)


def test_a_name_split_in_terms_is_found_on_the_slide_that_holds_each(tmp_path, fake_embedder):
    from egov_qa.answer.features import FeatureMaker
    from egov_qa.index.opener import build_index
    from egov_qa.index.store import IndexBuilder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    deck = "# Controls\n\n- CM-6 has 4 parameters\n\n---\n\n# Other\n\n- AC has 2 parts\n"
    (corpus / "deck.md").write_text(deck, encoding="utf-8")
    maker = FeatureMaker(build_index(IndexBuilder(fake_embedder), corpus, tmp_path / "index"), fake_embedder)
    assert maker.unknown(analyze("How many parameters does CM-6 have?")) == []
    assert maker.unknown(analyze("How many parameters does QQ-7 have?")) == ["7", "QQ-7"]
    # "AC" and "6" are both in the deck, but on no one slide together.
    assert maker.unknown(analyze("How many parameters does AC-6 have?")) == ["AC-6"]


class TestThreshold:
    """The abstention threshold: the best utility on held-out outcomes."""

    @staticmethod
    def outcomes(*cases: tuple[bool, bool]) -> list:
        from egov_qa.evaluation.scoring import EvalItem
        from egov_qa.training.fit import Asked, Outcome

        found = []
        for i, (answerable, right) in enumerate(cases):
            item = EvalItem(f"q{i}", "q?", ("a",) if answerable else (), "a" if answerable else "", answerable)
            ok = np.array([right])
            asked = Asked("s", item, np.zeros((1, len(FEATURES))), ok, ok, right)
            found.append(Outcome(asked, None, right, right))
        return found

    def test_a_costly_wrong_answer_raises_the_threshold(self, monkeypatch):
        from egov_qa.training import fit as train

        # At 0.6: one right answer and three wrong ones; at 0.2, a question the deck does not answer.
        held_out = self.outcomes((True, True), (True, False), (True, False), (True, False), (False, False))
        confidence = [0.6, 0.6, 0.6, 0.6, 0.2]
        monkeypatch.setattr(train, "WRONG_ANSWER_COST", 0.0)
        assert 0.2 < train.choose_threshold(held_out, confidence) <= 0.6
        monkeypatch.setattr(train, "WRONG_ANSWER_COST", 0.5)
        assert train.choose_threshold(held_out, confidence) > 0.6

    def test_the_curve_counts_what_each_threshold_does_and_pools_by_adding(self):
        from egov_qa.evaluation.report import curve_markdown, pool
        from egov_qa.training.fit import threshold_curve

        held_out = self.outcomes((True, True), (True, False), (False, False))
        curve = threshold_curve(held_out, [0.9, 0.5, 0.3], steps=2)
        assert curve == [
            {"threshold": 0.0, "right": 1, "answered": 2, "abstained_unanswerable": 0},
            {"threshold": 0.5, "right": 1, "answered": 2, "abstained_unanswerable": 1},
            {"threshold": 1.0, "right": 0, "answered": 0, "abstained_unanswerable": 1},
        ]
        figures = {"n": 3, "n_answerable": 2, "n_unanswerable": 1, "curve": curve}
        pooled = pool([figures, figures])
        assert pooled["curve"][1] == {"threshold": 0.5, "right": 2, "answered": 4, "abstained_unanswerable": 2}
        assert "| 0.50 | 0.500 | 1.000 | 0.000 |" in curve_markdown(pooled)


class TestCalibration:
    def test_confidences_that_match_how_often_answers_are_right(self):
        from egov_qa.training.fit import calibration, reliability

        # Ten answers at 0.8 of which eight are right: calibrated, though each is off by 0.2 or 0.8.
        points = [(0.8, True)] * 8 + [(0.8, False)] * 2
        figures = calibration(points, reliability(points))
        assert figures["calibration_error"] == pytest.approx(0.0, abs=1e-12)
        assert figures["brier"] == pytest.approx((8 * 0.2**2 + 2 * 0.8**2) / 10)

    def test_overconfidence_is_the_gap_in_each_bin_weighted_by_its_questions(self):
        from egov_qa.training.fit import calibration, reliability

        # Bin 0.9: two answers, one right (gap 0.4); bin 0.1: two answers, none right (gap 0.1).
        points = [(0.9, True), (0.9, False), (0.1, False), (0.1, False)]
        assert calibration(points, reliability(points))["calibration_error"] == pytest.approx((2 * 0.4 + 2 * 0.1) / 4)
        assert calibration([], []) == {"brier": 0.0, "calibration_error": 0.0}

    def test_pooled_over_all_questions_and_a_dash_where_an_older_report_lacks_them(self):
        from egov_qa.evaluation.report import _reader_table, pool

        base = {"answer_accuracy": 1.0, "citation_accuracy": 1.0, "abstention_accuracy": 1.0}
        one = {**base, "n": 1, "n_answerable": 1, "n_unanswerable": 0, "false_abstention_rate": 0.0, "brier": 0.4}
        two = {**base, "n": 3, "n_answerable": 0, "n_unanswerable": 3, "false_abstention_rate": 0.0, "brier": 0.0}
        assert pool([one, two])["brier"] == pytest.approx(0.1)
        row = _reader_table([("old", {k: v for k, v in one.items() if k != "brier"})], "scored on")[-1]
        assert row.endswith("| 0.000 | - | - |")


class TestIntervals:
    def test_the_wilson_interval_is_the_published_one(self):
        from egov_qa.evaluation.report import wilson

        # scipy.stats.binomtest(k, n).proportion_ci(method="wilson"), to the digits shown.
        assert wilson(5, 10) == pytest.approx((0.236593, 0.763407), abs=1e-6)
        assert wilson(0, 10) == pytest.approx((0.0, 0.277533), abs=1e-6)
        assert wilson(341, 583) == pytest.approx((0.544480, 0.624220), abs=1e-6)
        assert wilson(0, 0) == (0.0, 1.0)

    def test_the_headline_rows_get_intervals_over_their_own_questions(self):
        from egov_qa.evaluation.report import interval_markdown

        # 341 of 583 answerable right, 146 of 164 unanswerable abstained: each over its own count.
        pooled = {"n_answerable": 583, "n_unanswerable": 164, "answer_accuracy": 341 / 583}
        pooled |= {"abstention_accuracy": 146 / 164, "false_abstention_rate": 0.0, "citation_accuracy": 1.0}
        older = {"n": 4, "answer_accuracy": 0.5}  # a record from before the counts: no row
        meta = {"leave_one_deck_out": {"real_decks_pooled": pooled, "sets": {"shipped": older}}}
        lines = interval_markdown(meta)
        assert lines[-1] == (
            "| real decks, pooled (each left out) | 0.544 to 0.624 | 0.993 to 1.000 | 0.833 to 0.929 | 0.000 to 0.007 |"
        )
        assert not any("shipped" in line for line in lines)
        assert interval_markdown({"leave_one_deck_out": {"sets": {"shipped": older}}}) == []


class TestBoundedFit:
    """Weights of evidence against an answer are kept at or below zero."""

    def test_a_bound_that_does_not_bind_changes_nothing(self):
        from egov_qa.training.fit import fit_linear

        rng = np.random.default_rng(0)
        rows = rng.normal(size=(400, 3))
        labels = (rows @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=400)) > 0
        free = fit_linear(rows, labels)
        bounded = fit_linear(rows, labels, (False, True, False))
        np.testing.assert_allclose(bounded.coef, free.coef, atol=1e-3)
        assert bounded.intercept == pytest.approx(free.intercept, abs=1e-3)

    def test_a_bound_that_binds_holds_the_weight_at_zero(self):
        from egov_qa.training.fit import fit_linear

        rng = np.random.default_rng(1)
        rows = rng.normal(size=(400, 2))
        labels = (rows @ np.array([1.5, -1.0]) + rng.normal(size=400)) > 0
        assert fit_linear(rows, labels).coef[0] > 0.5
        bounded = fit_linear(rows, labels, (True, False))
        assert bounded.coef[0] == 0.0 and bounded.coef[1] < -0.5

    def test_the_confidence_keeps_missing_evidence_at_or_below_zero(self):
        from egov_qa.answer.reader import CONFIDENCE_FEATURES
        from egov_qa.training.fit import evidence_against

        against = {
            n for n, bounded in zip(CONFIDENCE_FEATURES, evidence_against(CONFIDENCE_FEATURES), strict=True) if bounded
        }
        assert {"best_name_missing", "name_unknown", "number_unknown", "best_detail_missing"} <= against
        assert not against & {"best_score", "margin", "best_dense", "best_lexical"}


def test_a_rows_label_is_its_first_cell_and_a_line_has_none():
    from egov_qa.answer.features import row_label
    from egov_qa.documents import Cell

    text = "Budget | 2002: 12,155 | 2005: 20,272"
    row = Unit("u1", "deck.md", 8, 40, 40 + len(text), text, "row", (Cell("", 40, 46), Cell("2005", 69, 75)))
    assert row_label(row) == {"budget"}
    staged = "Stages: Launch | Period: 2001~2002"
    labelled = Unit("u2", "deck.md", 6, 0, len(staged), staged, "row", (Cell("Stages", 8, 14), Cell("Period", 25, 34)))
    assert row_label(labelled) == {"launch"}
    assert row_label(Unit("u3", "deck.md", 8, 0, 12, "Budget rose.", "bullet")) == frozenset()


class FakeScorer:
    """Reads the line that says 2008 as the answer: its logit is high there, low elsewhere."""

    def __init__(self) -> None:
        self.record = {"created": "test"}
        self.seen: list[list[tuple[str, ...]]] = []

    def score(self, question, pairs):
        from egov_qa.answer.scorer import Scored

        self.seen.append(list(pairs))
        # Its span: the line's first two words.
        return [Scored(5.0, (0, 10)) if "2008" in read[1] else Scored(-5.0, None) for read in pairs]


def reranking_model(threshold: float = 0.5) -> ReaderModel:
    from egov_qa.answer.reader import RERANK_FEATURES, confidence_features

    names = confidence_features(True)
    return ReaderModel(
        FEATURES,
        linear({"dense": 10.0}, FEATURES),
        names,
        linear({"best_scorer": 1.0}, names),
        threshold,
        {},
        linear({"scorer_score": 1.0}, RERANK_FEATURES),
    )


class TestReranking:
    def test_a_reranking_model_needs_a_scorer(self):
        with pytest.raises(ValueError, match="scorer"):
            Reader(reranking_model())

    def test_the_scorer_reorders_the_rankers_first_candidates_and_sets_the_confidence(self):
        from egov_qa.answer.scorer import Reading

        scorer = FakeScorer()
        question = analyze("When did tax filing move online?")
        readings = [Reading("T", UNITS[0].text), Reading("T", UNITS[1].text, UNITS[0].text)]
        # The ranker prefers line a (dense 0.9); the scorer reads line b as the answer.
        answers = Reader(reranking_model(), scorer=scorer).run(
            question, [candidate(0, 0.9), candidate(1, 0.2)], UNITS, top_k=2, readings=readings
        )
        assert [a.unit.id for a in answers] == ["b", "a"]
        assert scorer.seen == [readings]
        # Without readings, the scorer reads each line alone.
        Reader(reranking_model(), scorer=scorer).run(question, [candidate(0, 0.9)], UNITS)
        assert scorer.seen[-1] == [Reading("", UNITS[0].text)]
        assert answers[0].confidence == pytest.approx(1 / (1 + np.exp(-5.0)))

    def test_the_key_span_is_the_rules_typed_value_else_the_scorers(self):
        def best(text):
            return Reader(reranking_model(), scorer=FakeScorer()).run(analyze(text), [candidate(1, 0.9)], UNITS)[0]

        # A date the rules find stays their exact slice; with none asked for, the scorer's span.
        assert best("When did tax filing move online?").span == (27, 31)
        assert best("What moved online?").span == (0, 10)

    def test_a_name_is_the_scorers_span_where_the_rules_find_one_too_but_a_year_stays_theirs(self):
        from egov_qa.answer.scorer import Scored
        from egov_qa.answer.spans import key_span

        line = "NIA and the Ministry of the Interior ran it from 2008"
        units = [Unit("n", "d.md", 1, 0, len(line), line, "bullet")]
        ministry = (line.index("the Ministry"), line.index(" ran"))

        class ReadsTheMinistry:
            def score(self, question, pairs):
                return [Scored(5.0, ministry) for _ in pairs]

        def span(text):
            reader = Reader(reranking_model(), scorer=ReadsTheMinistry())
            return reader.run(analyze(text), [candidate(0, 0.9)], units)[0].span

        # The rules find a name of their own, wider than the scorer's reading: the scorer's wins.
        assert key_span(analyze("Which ministry ran it?"), line) not in (None, ministry)
        assert span("Which ministry ran it?") == ministry
        assert span("When was it run?") == (line.index("2008"), len(line))

    def test_a_names_span_read_from_its_last_part_is_the_whole_name(self):
        from egov_qa.answer.scorer import Scored

        line = "1975: digitization began under President Park Jung-Hee's order"
        units = [Unit("n", "d.md", 1, 0, len(line), line, "bullet")]

        class ReadsTheLastPart:
            def score(self, question, pairs):
                return [Scored(5.0, (line.index("Jung"), line.index("'s"))) for _ in pairs]

        reader = Reader(reranking_model(), scorer=ReadsTheLastPart())
        found = reader.run(analyze("Who ordered the digitization?"), [candidate(0, 0.9)], units)[0].span
        assert line[found[0] : found[1]] == "President Park Jung-Hee"
        # Only a name's span is widened: a question of no kind of value keeps the scorer's reading.
        found = reader.run(analyze("What began in 1975?"), [candidate(0, 0.9)], units)[0].span
        assert line[found[0] : found[1]] == "Jung-Hee"

    def test_a_numbers_span_is_the_rules_where_the_scorers_overlaps_it_else_the_scorers(self):
        from egov_qa.answer.scorer import Scored
        from egov_qa.answer.spans import key_span

        line = "In 2009, 70% of the 122 billion USD of public procurement went through KONEPS"
        units = [Unit("p", "d.md", 1, 0, len(line), line, "bullet")]
        share, amount = (line.index("70%"), line.index(" of the")), (line.index("122"), line.index(" of public"))

        def span(text, read):
            class Reads:
                def score(self, question, pairs):
                    return [Scored(5.0, read) for _ in pairs]

            return Reader(reranking_model(), scorer=Reads()).run(analyze(text), [candidate(0, 0.9)], units)[0].span

        # The rules take the share for a number asked for; the scorer points at the amount: the scorer's.
        assert key_span(analyze("How big was the public procurement in 2009?"), line) == share
        assert span("How big was the public procurement in 2009?", amount) == amount
        # Where the scorer's span holds the rules' value, the rules' exact slice stands.
        assert span("How big was the public procurement in 2009?", (share[0], amount[1])) == share
        # A share the rules find stays theirs wherever the scorer points.
        assert span("What share of the procurement went through KONEPS?", amount) == share
        # Without a scorer's span, the rules'.
        assert span("How big was the public procurement in 2009?", None) == share

    def test_a_scorers_span_over_several_cells_of_a_row_takes_them_whole(self):
        from egov_qa.answer.scorer import Scored
        from egov_qa.documents import Cell

        # As a table row is written: "label | header: value | header: value", cells at their values.
        line = "Budget | 2002: 12,155 | 2005: 20,272 | 2011: 21,948"
        cells = tuple(
            Cell(header, line.index(value), line.index(value) + len(value))
            for header, value in (("2002", "12,155"), ("2005", "20,272"), ("2011", "21,948"))
        )
        units = [Unit("r", "d.md", 1, 0, len(line), line, "row", cells)]

        def key(question, read):
            class Reads:
                def score(self, question, pairs):
                    return [Scored(5.0, read) for _ in pairs]

            span = Reader(reranking_model(), scorer=Reads()).run(analyze(question), [candidate(0, 0.9)], units)[0].span
            return line[span[0] : span[1]]

        # From the 2005 value to the 2011 one: the 2005 cell whole, with its header.
        assert key("budget", (line.index("20,272"), len(line))) == "2005: 20,272 | 2011: 21,948"
        # Inside one cell, or over the label and one cell, as read.
        assert key("budget", (line.index("20,272"), line.index(" | 2011"))) == "20,272"
        assert key("budget", (0, line.index(" | 2005"))) == "Budget | 2002: 12,155"
        # A question naming several cells gets them all, whatever the scorer read; one named cell, its value.
        one_cell = (line.index("12,155"), line.index(" | 2005"))
        assert key("What was the budget in 2005 and 2011?", one_cell) == "2005: 20,272 | 2011: 21,948"
        assert key("What was the budget in 2002 and in 2005?", one_cell) == "2002: 12,155 | 2005: 20,272"
        assert key("What was the budget in 2011?", one_cell) == "21,948"
        # Unless the scorer reads the question as asking for the row's label: then not widened.
        assert "|" not in key("Which line has figures for 2005 and 2011?", (0, len("Budget")))

    def test_the_scorers_span_is_whole_words_without_the_commas_and_spaces_around(self):
        from egov_qa.answer.scorer import whole_words

        line = "Tax filing, online since 2008"
        assert whole_words(line, (1, 6)) == (0, 10)
        assert whole_words(line, (4, 11)) == (4, 10)
        assert whole_words(line, (10, 12)) is None

    def test_the_scorers_span_is_a_whole_address_or_path(self):
        from egov_qa.answer.scorer import whole_words

        def widened(line: str, cut: str) -> str | None:
            start = line.index(cut)
            found = whole_words(line, (start, start + len(cut)))
            return line[found[0] : found[1]] if found else None

        line = "Current repo: https://github.com/GSA/fedramp-automation."
        assert widened(line, "github.com") == "https://github.com/GSA/fedramp-automation"
        assert widened(line, "https") == "https://github.com/GSA/fedramp-automation"
        assert widened("Write to info@fedramp.gov, or call", "fedramp") == "info@fedramp.gov"
        assert widened("Assessment: Q4/2018", "2018") == "Q4/2018"
        # A colon joins only before "//", brackets and the ends' punctuation never.
        assert widened("Users:191,000 businesses", "191") == "191,000"
        assert widened("After: 1 rank(2010 & 2012)", "rank") == "rank"
        assert widened("It ends here.", "here") == "here"
        assert widened("a - b", "-") is None

    def test_the_file_keeps_the_reranker(self, tmp_path):
        path = reranking_model().save(tmp_path / "r.json")
        loaded = load_reader_model(path)
        assert loaded.reranker == reranking_model().reranker
        assert loaded.confidence_features[-2:] == ("best_scorer", "scorer_margin")

    def test_the_reranker_reads_how_clearly_each_line_holds_a_span(self):
        from dataclasses import replace

        from egov_qa.answer.scorer import Scored

        class SameLogitOtherSpans:
            def score(self, question, pairs):
                # One answer logit for both lines; the line that says 2008 holds the clearer span.
                return [Scored(1.0, (0, 3), 6.0 if "2008" in read[1] else -2.0) for read in pairs]

        model = replace(reranking_model(), reranker=linear({"span_score": 1.0}, RERANK_FEATURES))
        question = analyze("When did tax filing move online?")
        answers = Reader(model, scorer=SameLogitOtherSpans()).run(
            question, [candidate(0, 0.9), candidate(1, 0.2)], UNITS, top_k=2
        )
        assert [a.unit.id for a in answers] == ["b", "a"]

    def test_a_reader_file_from_before_the_span_features_reranks_with_the_first_four(self, tmp_path):
        from dataclasses import replace

        from egov_qa.answer.reader import RERANK_FEATURES_BEFORE_SPANS

        today = reranking_model()
        older = replace(
            today,
            reranker=linear({"scorer_score": 1.0}, RERANK_FEATURES_BEFORE_SPANS),
            rerank_features=RERANK_FEATURES_BEFORE_SPANS,
        )
        data = json.loads(older.save(tmp_path / "r.json").read_text())
        del data["rerank_features"]  # as files written before it
        (tmp_path / "r.json").write_text(json.dumps(data))
        loaded = load_reader_model(tmp_path / "r.json")
        assert loaded.rerank_features == RERANK_FEATURES_BEFORE_SPANS
        answers = Reader(loaded, scorer=FakeScorer()).run(
            analyze("When did tax filing move online?"), [candidate(0, 0.9), candidate(1, 0.2)], UNITS, top_k=2
        )
        assert [a.unit.id for a in answers] == ["b", "a"]
        # A model without a reranker names none and loads as one of today.
        plain = load_reader_model(model().save(tmp_path / "plain.json"))
        assert plain == model() and plain.rerank_features == RERANK_FEATURES

    def test_a_reader_file_naming_unknown_rerank_features_is_a_clear_error(self, tmp_path):
        data = reranking_model().to_dict()
        data["rerank_features"] = [*RERANK_FEATURES[:5], "mystery"]
        (tmp_path / "r.json").write_text(json.dumps(data))
        with pytest.raises(ReaderModelError, match="mystery"):
            load_reader_model(tmp_path / "r.json")

    def test_fitting_learns_a_reranker_only_from_scorer_logits(self):
        from egov_qa.training.fit import Asked, fit_reader

        asked = told_apart("scores")
        with_scores = fit_reader(asked, rerank=True)
        without = fit_reader([Asked(a.suite, a.item, a.rows, a.answer_ok, a.cite_ok, True) for a in asked])
        assert with_scores.reranker is not None and without.reranker is None
        # The scorer's logit is what tells the right candidate here: its weight is the largest.
        coef = dict(zip(RERANK_FEATURES, with_scores.reranker.coef, strict=True))
        assert max(coef, key=lambda k: abs(coef[k])) in {"scorer_score", "scorer_gap"}


def told_apart(by: str) -> list:
    """Three sets of 30 questions of six candidates, every fifth unanswerable, where the scorer's
    logit (``by="scores"``) or its span logit (``by="spans"``) tells the right candidate, the other noise."""
    from egov_qa.evaluation.scoring import EvalItem
    from egov_qa.training.fit import Asked

    rng = np.random.default_rng(0)
    asked = []
    for suite in ("s1", "s2", "s3"):
        for q in range(30):
            right = int(rng.integers(0, 6))
            rows = rng.normal(size=(6, len(FEATURES)))
            telling = np.where(np.arange(6) == right, 3.0, -3.0) + rng.normal(scale=0.5, size=6)
            noise = rng.normal(size=6)
            scores, spans = (telling, noise) if by == "scores" else (noise, telling)
            item = EvalItem(f"{suite}-{q}", "q?", ("a",), "a", q % 5 != 0, "other", False)
            labels = np.arange(6) == right if item.answerable else np.zeros(6, dtype=bool)
            asked.append(Asked(suite, item, rows, labels, labels | True, True, scores, span_logits=spans))
    return asked


def test_fitting_learns_the_span_logits_where_they_tell_the_right_candidate():
    from egov_qa.training.fit import fit_reader

    coef = dict(zip(RERANK_FEATURES, fit_reader(told_apart("spans"), rerank=True).reranker.coef, strict=True))
    assert max(coef, key=lambda k: abs(coef[k])) in {"span_score", "span_gap"}


def test_a_copys_band_ratio_sums_right_answers_over_the_band_on_both_curves():
    from egov_qa.training import fit

    def figures(rights):
        return {"curve": [{"threshold": t / 20, "right": r} for t, r in enumerate(rights)]}

    # Thresholds 0.00, 0.05, ..., 0.30: the band (0.10, 0.20) holds the third to the fifth.
    deck, copy = figures([9, 9, 8, 6, 4, 2, 1]), figures([9, 8, 6, 5, 4, 1, 0])
    assert fit.band_ratio(copy, deck, band=(0.10, 0.20)) == pytest.approx((6 + 5 + 4) / (8 + 6 + 4))
    assert fit.band_ratio(copy, figures([0] * 7), band=(0.10, 0.20)) is None
    assert fit.band_ratio({}, deck, band=(0.10, 0.20)) == 0.0  # a copy without a curve answers nothing

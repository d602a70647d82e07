"""The eval sets asked through encoders that never saw them, and the encoder tuned on all.

The reader learns how far to trust the embedding model's scores. Scores from a
model tuned on the very questions it is asked would teach it to trust them more
than a new deck deserves, so the reader is trained on features from encoders
tuned without the deck asked: the eval sets (sorted by name) are dealt into at
most :data:`ENCODER_FOLDS` folds, and each fold's decks are indexed and asked
through an encoder tuned on the other folds' sets. What a deck left out scores is
then what a deck nobody tuned on would. The encoder shipped is tuned on every set,
and only when it costs nothing on retrieval it was never tuned for (``check``, see
:mod:`egov_qa.training.unseen`); otherwise no encoder is tuned, in the folds either,
and the reader is fit through the model as published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from egov_qa.answer.pipeline import build_pipeline
from egov_qa.errors import EvalSetError
from egov_qa.evaluation.scoring import Suite, holds_evidence, load_eval_set, plain, quotes_an_answer
from egov_qa.index.embedder import Embedder, resolve_model
from egov_qa.index.opener import open_index, query_embedder
from egov_qa.index.store import IndexBuilder
from egov_qa.index.tuning import Tuning
from egov_qa.training.encoder import Example, Settings, examples, tune
from egov_qa.training.fit import Asked, ask_all

ENCODER_FOLDS = 3


@dataclass(frozen=True)
class Tuned:
    """The questions asked through out-of-fold encoders, and the encoder tuned on every set
    (None when the check turned it down), with the check's record."""

    asked: list[Asked]
    tuning: Tuning | None
    folds: dict[str, int]
    check: dict | None = None


def folds_of(names: list[str], folds: int = ENCODER_FOLDS) -> dict[str, int]:
    """Each set's fold: sorted names dealt in turn, so a rerun splits alike."""
    return {name: at % max(1, min(folds, len(names))) for at, name in enumerate(sorted(names))}


def suite_examples(suite: Suite, builder: IndexBuilder, base: Embedder) -> list[Example]:
    """One set's tuning examples: its questions against its decks' lines, as the untuned model sees them."""
    loaded = builder.loader.load(suite.corpus)
    units = [(u, slide.text) for slide in loaded.slides for u in builder.splitter.split(slide)]
    lines = [u.text for u, _ in units]
    questions = []
    for item in (i for i in plain(load_eval_set(suite.eval_set)) if i.answerable):
        right = [i for i, (u, on) in enumerate(units) if quotes_an_answer(item, u.text) and holds_evidence(item, on)]
        questions.append((item.question, right))
    questions = [(q, right) for q, right in questions if right]
    if not questions or len(lines) < 2:
        return []
    return examples(questions, lines, base.embed([q for q, _ in questions]), base.embed(lines))


def ask_through_tuned(
    suites: list[Suite],
    index_root: Path,
    encoder: Callable[[Tuning | None], Embedder],
    progress: Callable[[str], None] = lambda message: None,
    settings: Settings | None = None,
    check: Callable[[Embedder, Embedder], dict] | None = None,
    tuning: bool = True,
) -> Tuned:
    """Tune on every set; if ``check`` passes it, ask each set through an encoder tuned on the other
    folds (indexes in ``index_root/folds``), else through the model as published. With ``tuning``
    False nothing is tuned or checked: every set is asked through the model as published.

    ``encoder`` gives the embedding model with a tuning applied (None: as published); ``check``
    compares the published and the tuned encoder and returns a record whose ``cost`` is None when
    the tuning may ship.
    """
    base = encoder(None)
    base_model = getattr(base, "base", base.name)
    builder = IndexBuilder(base)
    path = resolve_model(base_model)
    found: dict[str, list[Example]] = {}
    # An image-only copy is asked and scored, never fit on: the encoder is tuned on the decks' own lines.
    for suite in [s for s in suites if s.copy_of is None] if tuning else []:
        progress(f"tuning the encoder: pairing {suite.name}'s questions with the lines that answer them")
        found[suite.name] = suite_examples(suite, builder, base)
    if tuning and not any(found.values()):
        raise EvalSetError(
            "no answerable question of the eval sets has a line of its decks that quotes an accepted answer "
            "on the slide holding its evidence: nothing to tune on (check the sets' answers and evidence)"
        )
    shipped: Tuning | None = None
    verdict = None
    if tuning:
        everything = [e for got in found.values() for e in got]
        progress(f"tuning the encoder on every set ({len(everything)} examples)")
        shipped = tune(base_model, path, everything, settings)
        verdict = check(base, encoder(shipped)) if check else None
        if verdict and verdict.get("cost"):
            progress(
                f"the tuning costs retrieval it was not tuned for ({verdict['cost']}): using the model as published"
            )
            shipped = None
    # A copy of a deck (see egov_qa.training.copies) goes in its deck's fold.
    fold = folds_of(sorted({s.deck for s in suites}))
    deck_of = {s.name: s.deck for s in suites}
    asked: list[Asked] = []
    for number in sorted(set(fold.values())):
        inside = [s for s in suites if fold[s.deck] == number]
        others = [e for name, got in found.items() if fold[deck_of[name]] != number for e in got]
        if shipped is not None and others:
            progress(f"tuning an encoder without {', '.join(s.name for s in inside)} ({len(others)} examples)")
            tuned = encoder(tune(base_model, path, others, settings))
        else:
            tuned = base
        fold_builder = IndexBuilder(tuned, builder.loader, builder.splitter)
        for suite in inside:
            progress(
                f"asking {suite.name} through the encoder {'tuned without it' if tuned is not base else 'as published'}"
            )
            folder = index_root / "folds" / suite.name
            index = open_index(fold_builder, suite.corpus, folder, progress)
            items = load_eval_set(suite.eval_set)
            # Questions are embedded as the assistant embeds them: by the index's ONNX export
            # of the encoder (its float rounding differs from torch's in near ties).
            asker = query_embedder(index, folder) or tuned
            asked += ask_all(suite.name, items, build_pipeline(index, asker), suite.copy_of)
    return Tuned(asked, shipped, fold, verdict)

"""The answer scorer trained further on the eval sets, fold by fold.

Trained on Wikipedia prose, the scorer learned which sentence of a paragraph answers a
question; slides say things otherwise (headings that repeat the question, lead-ins, table
rows, fragments). So it is trained further on the eval sets: each question against the
candidates the reader's ranker found for it, a candidate being right when it quotes an
accepted answer from the slide holding the evidence (the questions the decks do not answer
give only wrong ones). Image-only copies are never trained on, as the reader is never fit
on them.

Measured as the encoder's tuning is (:mod:`egov_qa.training.crossfit`): each fold's decks,
and their copies, are read by a scorer trained without that fold's sets, so what the reader
learns of its logits is what a deck nobody trained on would give. The scorer shipped is
trained on every set.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

from egov_qa.answer.features import FEATURES
from egov_qa.answer.scorer import SCORER_RECORD, AnswerScorer, Reading
from egov_qa.evaluation.scoring import EvalItem
from egov_qa.training.fit import Asked, scored
from egov_qa.training.scorer import (
    QUANTIZATION,
    Pair,
    ScorerSettings,
    continued,
    export_again,
    fine_tune,
    fine_tune_digest,
    finished,
    quantization,
)

# Fewer passes at a lower rate than on the SQuAD pool: a few thousand pairs, starting from a
# scorer that already reads questions and lines together. Two runs averaged: a single run's
# held-out figures move with its seed about as much as the changes measured against them, and
# the mean of two was at least as good as the better run on most figures (docs/scorer.md).
SETTINGS = ScorerSettings(epochs=2, learning_rate=3e-5, soup=2)
# Wrong candidates kept per question: a question has dozens, and training on all of them would
# take hours on two cores. Kept first: the wrong lines of the slide that holds the evidence, then
# the lines of the slides retrieval ranks highest (those the reader must tell apart).
NEGATIVES = 7


def answer_span(item: EvalItem, line: str) -> tuple[int, int] | None:
    """Where the first accepted answer found in ``line`` lies in it (case aside), or None."""
    lower = line.lower()
    for accepted in item.answers:
        at = lower.find(accepted.lower())
        if accepted and at >= 0:
            return at, at + len(accepted)
    return None


def hardest_wrong(asked: Asked, count: int = NEGATIVES) -> list[int]:
    """The ``count`` wrong candidates of a question nearest to being right: on the slide holding
    its evidence first, then on the slides and in the lines retrieval ranks highest."""
    slide, unit = FEATURES.index("slide_rank"), FEATURES.index("unit_rank")
    wrong = [i for i in range(len(asked.texts)) if not asked.right[i]]
    wrong.sort(key=lambda i: (not asked.cite_ok[i], -asked.rows[i, slide], -asked.rows[i, unit], i))
    return wrong[:count]


def eval_pairs(asked: list[Asked], seed: int = 0, negatives: int = NEGATIVES) -> list[Pair]:
    """The training pairs of ``asked`` (questions asked of decks, never of copies): each right
    candidate with its answer's span, and the ``negatives`` hardest wrong ones; shuffled with ``seed``."""
    made = []
    for a in (a for a in asked if a.copy_of is None):
        for i in [i for i in range(len(a.texts)) if a.right[i]] + hardest_wrong(a, negatives):
            read = Reading(*a.texts[i])
            span = answer_span(a.item, read.line) if a.right[i] else None
            made.append(Pair(a.question, read.title, read.line, bool(a.right[i]), span, read.before))
    random.Random(seed).shuffle(made)
    return made


def fold_scored(
    asked: list[Asked],
    folds: dict[str, int],
    base: Path,
    work: Path,
    settings: ScorerSettings = SETTINGS,
    progress: Callable[[str], None] = lambda message: None,
) -> list[Asked]:
    """``asked`` with each candidate read by a scorer trained further (from the one in ``base``) on
    the sets of the other folds; ``folds`` gives each deck's fold; the scorers are kept in ``work``
    (and kept as they are by a rerun on the same pairs)."""
    found: list[Asked] = []
    for number in sorted(set(folds.values())):
        inside = [a for a in asked if folds[a.deck] == number]
        others = eval_pairs([a for a in asked if folds[a.deck] != number], settings.seed)
        if not others:
            progress(f"no other fold to train the answer scorer on: fold {number} read by the scorer as trained")
            found += scored(inside, AnswerScorer(base))
            continue
        about = {"eval_sets_left_out": held(inside)}
        what = f"{len(others)} pairs of the sets outside fold {number}"
        folder = _trained(base, work / f"fold-{number}", others, settings, about, what, progress)
        found += scored(inside, AnswerScorer(folder))
    return found


def held(asked: list[Asked]) -> list[str]:
    """The decks ``asked`` was asked of (a copy's deck for a copy)."""
    return sorted({a.deck for a in asked})


def trained_further(
    base: Path,
    folder: Path,
    asked: list[Asked],
    settings: ScorerSettings = SETTINGS,
    progress: Callable[[str], None] = lambda message: None,
) -> Path:
    """The scorer in ``base`` trained further on every set of ``asked`` into ``folder``: the one a
    reader fit on :func:`fold_scored` logits reads with. Returns ``folder``."""
    found = eval_pairs(asked, settings.seed)
    what = f"{len(found)} pairs of every set (the scorer the reader will read with)"
    return _trained(base, folder, found, settings, {"eval_sets": held(asked)}, what, progress)


def _trained(
    base: Path,
    folder: Path,
    found: list[Pair],
    settings: ScorerSettings,
    about: dict,
    what: str,
    progress: Callable[[str], None],
) -> Path:
    """``folder`` holding ``base`` trained further on ``found`` (``what`` they are, for ``progress``):
    kept as it is when a scorer trained from the same scorer, settings and pairs is already there
    (its record's digest of them), else trained."""
    # The settings as training uses them, so that the digest names what a scorer was trained with.
    try:
        settings = continued(settings, json.loads((Path(base) / SCORER_RECORD).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # fine_tune says what is wrong with the base
    digest = fine_tune_digest(base, settings, found)
    record = finished(folder, digest)
    if record is not None:
        progress(f"the answer scorer trained further on {what} is kept: {folder} has the same base, settings and pairs")
        # Outside the record's reading: an export that fails says why, rather than training hours again.
        if quantization(record) != QUANTIZATION:
            progress(f"exporting {folder} again from its float weights, quantized {QUANTIZATION}")
            export_again(folder)
        return folder
    runs = f", {settings.soup} runs averaged" if settings.soup > 1 else ""
    progress(f"training the answer scorer further on {what}{runs}, into {folder}")
    fine_tune(base, folder, found, settings, {**about, "inputs_sha256": digest})
    return folder

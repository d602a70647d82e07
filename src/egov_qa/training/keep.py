"""Which reader to keep: a refit replaces the installed one only when it does no worse on decks left out.

A refit is not always a better reader: the answer scorer's training moves with its
recipe, its seed and the CPU it runs on, and a reader fit on other scorers can lose on the
very figures it is quoted by (docs/log.md has refits that lost 20 in utility). ``egov-qa train`` so
compares the two records before it writes anything: when both were fit on the same eval
sets with the same feature code and embedding model, their leave-one-deck-out figures
measure the same questions, and the one with the higher utility on the decks left out
(the fit's own objective, :data:`egov_qa.training.fit.OBJECTIVE`) is kept. Otherwise (a set, the
feature code or the model changed, no reader installed) the figures do not compare and
the refit replaces it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from egov_qa.training.fit import WRONG_ANSWER_COST


def held_out_utility(figures: dict, cost: float = WRONG_ANSWER_COST) -> float:
    """The fit's utility on one set's questions left out of it (its record's figures): +1 for each
    right answer and right abstention, ``-cost`` for each wrong answer, 0 for abstaining on an
    answerable question."""
    answerable, unanswerable = figures["n_answerable"], figures["n_unanswerable"]
    answered = answerable * (1.0 - figures["false_abstention_rate"])
    right = answerable * figures["answer_accuracy"]
    abstained = unanswerable * figures["abstention_accuracy"]
    return right + abstained - cost * ((answered - right) + (unanswerable - abstained))


@dataclass(frozen=True)
class Comparison:
    """The refit's and the installed reader's utility on every deck left out, summed."""

    refit: float
    installed: float
    # The CPUs each reader's answer scorer was trained on, as their records name them (None: not
    # recorded, or no scorer).
    refit_device: str | None = None
    installed_device: str | None = None

    @property
    def refit_is_worse(self) -> bool:
        # Counts of questions, summed as floats: a tie is a tie.
        return self.refit < self.installed - 1e-6

    def __str__(self) -> str:
        before = f"{self.installed:.0f} for the reader installed before"
        said = f"utility on the decks left out {self.refit:.0f} against {before}"
        if self.refit_device == self.installed_device:
            return said
        # The same recipe trained on another CPU has other weights: part of the difference may be that.
        where = [device or "a CPU not recorded" for device in (self.refit_device, self.installed_device)]
        return f"{said}; the refit's scorer was trained on {where[0]}, the installed one's on {where[1]}"


def installed_record(path: Path) -> dict | None:
    """The record of the reader installed at ``path``, or None (none there, or not readable as one)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    # The file holds the record's fields beside the model's (ReaderModel.to_dict).
    return data if isinstance(data, dict) else None


def compare(refit: dict, installed: dict | None) -> Comparison | None:
    """The two readers' held-out utility when their records measure the same questions with the same
    features through the same embedding model (the same eval sets, feature code and decks left out);
    else None. A reader for another embedding model is no alternative: the index asked with decides
    the model, and a reader is calibrated for its own."""
    if installed is None:
        return None
    same = ("eval_sets", "feature_code", "embedding_model")
    if any(refit.get(key) is None or refit.get(key) != installed.get(key) for key in same):
        return None
    ours, theirs = (record.get("leave_one_deck_out", {}).get("sets") or {} for record in (refit, installed))
    if not ours or set(ours) != set(theirs):
        return None
    try:
        return Comparison(
            sum(held_out_utility(f) for f in ours.values()),
            sum(held_out_utility(f) for f in theirs.values()),
            _scorer_device(refit),
            _scorer_device(installed),
        )
    except (KeyError, TypeError):
        return None  # an older record without these figures


def _scorer_device(record: dict) -> str | None:
    """Where the reader's answer scorer was trained, as its record names it (None: not recorded)."""
    scorer = record.get("scorer")
    return scorer.get("device") if isinstance(scorer, dict) else None

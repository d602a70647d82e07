"""Example questions for a corpus: taken from the eval set that asks about it, when it has one."""

from __future__ import annotations

import logging
from pathlib import Path

from egov_qa.errors import EgovQAError
from egov_qa.evaluation.scoring import find_suites, load_eval_set

log = logging.getLogger(__name__)

EXAMPLE_COUNT = 6


def eval_set_for(corpus_dir: Path, evals_dir: Path, shipped_corpus: Path) -> Path | None:
    """The eval set that asks about ``corpus_dir``, or None when it has none."""
    try:
        suites = find_suites(evals_dir, shipped_corpus)
    except EgovQAError:
        return None
    target = Path(corpus_dir).resolve()
    return next((s.eval_set for s in suites if Path(s.corpus).resolve() == target), None)


def example_questions(eval_set: Path | None, count: int = EXAMPLE_COUNT) -> tuple[str, ...]:
    """Up to ``count`` questions of ``eval_set``: answerable ones spread over the set, and one
    the deck cannot answer (to show an abstention). None without a readable set."""
    if eval_set is None:
        return ()
    try:
        items = load_eval_set(eval_set)
    except EgovQAError as exc:
        log.warning("no example questions: %s", exc)
        return ()
    plain = [item for item in items if item.form is None]
    answerable = [item.question for item in plain if item.answerable]
    unanswerable = [item.question for item in plain if not item.answerable]
    wanted = count - (1 if unanswerable else 0)
    picked = [answerable[i * len(answerable) // wanted] for i in range(min(wanted, len(answerable)))]
    return tuple(dict.fromkeys(picked + unanswerable[:1]))

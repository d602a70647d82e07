"""Running one eval set and writing its reports: what ``egov-qa eval`` and the app's Evals tab share.

The questions are asked one at a time under a progress bar (tqdm, on a terminal
only; the app shows the same bar in the page), so a long set shows how far it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from egov_qa.evaluation import report
from egov_qa.evaluation import scoring as evaluate
from egov_qa.evaluation.scoring import SHIPPED, EvalItem, Suite
from egov_qa.index.store import bar_disabled
from egov_qa.paths import shown_path


@dataclass(frozen=True)
class EvalRun:
    """A finished run: the report's summary and the files written."""

    summary: dict
    paths: dict[str, Path]


def report_dir(reports: Path, suite: Suite) -> Path:
    """Where a suite's reports go: ``reports/`` for the shipped set, ``reports/decks/NAME/`` for the others."""
    return Path(reports) if suite.name == SHIPPED else Path(reports) / "decks" / suite.name


def one_by_one(run, make_asker, items: list, desc: str, show_progress: bool | None) -> list:
    """``run(asker, [item])`` for each item in turn under a progress bar, the asker made once the
    bar shows (the baseline embeds its chunks first); the results in order."""
    from tqdm import tqdm

    results = []
    with tqdm(total=len(items), desc=desc, unit="question", disable=bar_disabled(show_progress)) as bar:
        asker = make_asker()
        for item in items:
            results += run(asker, [item])
            bar.update(1)
    return results


def summarize_set(
    assistant, items: list[EvalItem], eval_set: Path, baseline: bool, show_progress: bool | None = None
) -> dict:
    """Ask every question of ``items`` and return the report's summary.

    The headline figures are those of the plain questions; the conversational ones
    (follow-ups, misspellings, two-part questions) are scored apart, a row per form.

    Args:
        baseline: also score the baseline (dense-only, fixed-size chunks) for its row.
        show_progress: a progress bar per question on stderr; None shows it on a terminal only.
    """
    from egov_qa.evaluation.baseline import ChunkBaseline

    asked = evaluate.plain(items)
    results = one_by_one(evaluate.run_eval, lambda: assistant, asked, "questions asked", show_progress)
    summary = evaluate.summarize(results, assistant.threshold)
    talked = evaluate.run_conversational(assistant, [i for i in items if i.form is not None])
    summary.update(
        created=time.strftime("%Y-%m-%d %H:%M:%S"),
        eval_set=shown_path(eval_set),
        corpus=shown_path(assistant.corpus_dir),
        model=assistant.index.manifest["model"],
        reader=assistant.extractor.reader.model.meta.get("created"),
        baseline=None,
        conversational=len(talked),
        forms=evaluate.form_rows(talked),
        conversational_questions=evaluate.per_form_question(talked),
    )
    if baseline:
        baseline_results = one_by_one(
            evaluate.run_baseline,
            lambda: ChunkBaseline(assistant.index.slides, assistant.embedder),
            asked,
            "baseline asked",
            show_progress,
        )
        summary["baseline"] = evaluate.metrics(baseline_results)
    return summary


def run_eval_set(
    assistant, eval_set: Path, out_dir: Path, baseline: bool = True, show_progress: bool | None = None
) -> EvalRun:
    """Run ``eval_set`` on ``assistant`` and write its reports (``latest.*`` and timestamped) into ``out_dir``.

    Raises:
        EvalSetError: the eval set is missing or breaks the schema.
    """
    items = evaluate.load_eval_set(eval_set)
    summary = summarize_set(assistant, items, eval_set, baseline, show_progress)
    return EvalRun(summary, report.write_reports(summary, out_dir))

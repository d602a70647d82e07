"""What the app's Evals tab shows: each eval set's latest report, its failures linked to their
slides, the reader's reliability, a run of the served corpus's set, and the thumbs-down answers
that a person can complete into eval questions.

Reports are read from the same files ``egov-qa eval`` writes (``reports/latest.*`` for
the shipped set, ``reports/decks/NAME/latest.*`` for the others), so the tab and the
command line always show the same figures. Everything from a report or a deck is
escaped before it is put into Markdown.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from egov_qa.app.render import md_text
from egov_qa.documents import Slide
from egov_qa.errors import EgovQAError
from egov_qa.evaluation import report
from egov_qa.evaluation.feedback import Downvote, EvalLine, add_to_eval_set, thumbs_down
from egov_qa.evaluation.runner import report_dir, run_eval_set
from egov_qa.evaluation.scoring import EvalItem, Suite, find_suites, load_eval_set
from egov_qa.paths import default_reader_path, shown_path

log = logging.getLogger(__name__)

# Offered for a new question; the set's own types are added to them.
ANSWER_TYPES = ("other", "name", "number", "year", "date", "percent", "definition", "list", "near-miss", "off-topic")
# A link to a failure's cited slide in the served corpus (``?deck=FILE&slide=N``), or None when it is not there.
Locate = Callable[[str, int], str | None]


def _md(text: object) -> str:
    return md_text(str(text))


@dataclass(frozen=True)
class SetReport:
    """An eval set, where its reports are, and its latest summary (None before its first run)."""

    suite: Suite
    folder: Path
    summary: dict | None

    @property
    def plot(self) -> Path | None:
        """The accuracy-against-coverage plot of the latest run, if there is one."""
        path = self.folder / "latest.png"
        return path if self.summary is not None and path.is_file() else None


class EvalBoard:
    """Reads and renders the eval sets' reports, and runs one set.

    Args:
        evals_dir: the eval folder (``known_facts.jsonl``, ``sets/``, ``decks/``).
        shipped_corpus: the corpus ``known_facts.jsonl`` asks about.
        reports_dir: where the committed reports are read (default: ``evals_dir/reports``).
        reader_path: the reader whose held-out figures are shown (default: the one the assistant loads).
        runs_dir: where a run from the tab writes its reports (the app's data folder, so that
            the committed reports are never rewritten); a report there is shown in place of the
            committed one. Default: ``reports_dir``.
    """

    def __init__(
        self,
        evals_dir: Path,
        shipped_corpus: Path,
        reports_dir: Path | None = None,
        reader_path: Path | None = None,
        runs_dir: Path | None = None,
    ) -> None:
        self.evals_dir = Path(evals_dir)
        self.shipped_corpus = Path(shipped_corpus)
        self.reports_dir = Path(reports_dir) if reports_dir else self.evals_dir / "reports"
        self.reader_path = Path(reader_path) if reader_path else default_reader_path()
        self.runs_dir = Path(runs_dir) if runs_dir else self.reports_dir

    def suites(self) -> list[Suite]:
        """Every eval set with its corpus; none when the folder holds none (or a set has no decks)."""
        try:
            return find_suites(self.evals_dir, self.shipped_corpus)
        except EgovQAError as exc:
            log.warning("no eval sets to show: %s", exc)
            return []

    def suite(self, name: str | None) -> Suite | None:
        return next((s for s in self.suites() if s.name == name), None)

    def served(self, corpus_dir: Path) -> Suite | None:
        """The eval set that asks about ``corpus_dir``, or None."""
        target = Path(corpus_dir).resolve()
        return next((s for s in self.suites() if Path(s.corpus).resolve() == target), None)

    def latest(self, suite: Suite) -> SetReport:
        """``suite``'s latest report: a run from the tab, else the one ``egov-qa eval`` wrote (no summary
        when it was never run)."""
        folder = report_dir(self.runs_dir, suite)
        if not (folder / "latest.json").is_file():
            folder = report_dir(self.reports_dir, suite)
        try:
            summary = json.loads((folder / "latest.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            summary = None
        except (OSError, ValueError) as exc:
            log.warning("cannot read the report in %s: %s", folder, exc)
            summary = None
        return SetReport(suite, folder, summary if isinstance(summary, dict) else None)

    def reader_plot(self) -> Path | None:
        """The reader's reliability plot (``egov-qa train`` draws it), if there is one."""
        path = self.reports_dir / "reader.png"
        return path if path.is_file() else None

    def run(self, assistant, suite: Suite, baseline: bool = True) -> SetReport:
        """Run ``suite``'s questions on ``assistant`` and write its reports as ``egov-qa eval`` does.

        Raises:
            EgovQAError: ``assistant`` does not serve the suite's corpus, or the set breaks the schema.
        """
        if Path(assistant.corpus_dir).resolve() != Path(suite.corpus).resolve():
            raise EgovQAError(f"the eval set {suite.name} asks about {shown_path(suite.corpus)}, not the served corpus")
        run_eval_set(assistant, suite.eval_set, report_dir(self.runs_dir, suite), baseline)
        return self.latest(suite)

    @staticmethod
    def headline(latest: SetReport | None) -> str:
        """The latest figures in plain words: how often it is right, and how often it says it does not know
        when the deck does not say."""
        if latest is None:
            return "No eval set measures the decks served here."
        summary = latest.summary
        name = _md(latest.suite.name)
        if summary is None:
            return f"**{name}** has not been run yet."
        answerable, unanswerable = summary.get("n_answerable", 0), summary.get("n_unanswerable", 0)
        words = [f"Right on {summary.get('answer_accuracy', 0.0):.0%} of the {answerable} questions the decks answer"]
        if unanswerable:
            words.append(
                f"says “I don't know” on {summary.get('abstention_accuracy', 0.0):.0%} of the {unanswerable} "
                "questions they do not answer"
            )
        return f"### {'; '.join(words)}.\n\n**{name}**, run {_md(summary.get('created', ''))}."

    def served_note(self, corpus_dir: Path) -> str:
        """What the tab says about the served corpus: its eval set, or how to add one."""
        suite = self.served(corpus_dir)
        if suite is not None:
            return (
                f"The served corpus is measured by {_md(shown_path(suite.eval_set))}. "
                "Running it asks every question here and writes the same reports as `egov-qa eval`, "
                f"in {_md(shown_path(self.runs_dir))} (the committed reports stay as they are)."
            )
        return (
            f"The served corpus ({_md(shown_path(corpus_dir))}) has no eval set, so it cannot be run here. "
            "To measure it, put its decks in `evals/decks/NAME/` and write its questions in "
            "`evals/sets/NAME.jsonl`, one JSON object a line "
            '(`{"id": "q1", "question": "…", "answers": ["…"], "evidence": "…", "answerable": true}`, '
            "the evidence copied from the slide); then start the app with `--corpus evals/decks/NAME`, "
            "or run `egov-qa eval --all`."
        )

    def overview(self, served: Suite | None = None) -> str:
        """A Markdown table: each set's latest figures, or that it was not run yet."""
        suites = self.suites()
        if not suites:
            return f"No eval sets in {_md(shown_path(self.evals_dir))}."
        lines = [
            "| eval set | when | questions | answer | citation | abstention | false abstention |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for suite in suites:
            summary = self.latest(suite).summary
            name = _md(suite.name) + (" (served)" if served is not None and suite.name == served.name else "")
            if summary is None:
                lines.append(f"| {name} | not run yet | | | | | |")
                continue
            figures = [
                f"{summary.get(key, 0.0):.3f}"
                for key in ("answer_accuracy", "citation_accuracy", "abstention_accuracy", "false_abstention_rate")
            ]
            lines.append(
                f"| {name} | {_md(summary.get('created', ''))} | {summary.get('n', 0)} | {' | '.join(figures)} |"
            )
        return "\n".join([*lines, "", self.held_out()])

    def held_out(self) -> str:
        """What the figures above are, and the reader's figures on decks it never saw (from its file)."""
        note = (
            "These runs use the committed reader, which was fitted on these eval sets: the figures above are in-sample."
        )
        try:
            meta = json.loads(self.reader_path.read_text(encoding="utf-8"))
            table = report.held_out_markdown(meta)
            # Every other row: the tab stays short; evals/reports/reader.md has them all.
            curve = "\n".join(report.curve_section(meta, every=2)).replace(
                "## Over the threshold", "**Over the threshold**"
            )
        except (OSError, ValueError, KeyError, TypeError):
            return note
        return f"{note} On decks it never saw (each scored by a reader fitted without it):\n\n{table}\n\n{curve}"

    @staticmethod
    def metrics(latest: SetReport) -> str:
        """The latest report's metrics table (egov-qa beside the baseline), as Markdown."""
        summary = latest.summary
        if summary is None:
            return (
                f"**{_md(latest.suite.name)}** has no report yet: run it here when the app serves its decks, "
                "or run `egov-qa eval --all`."
            )
        lines = [
            f"**{_md(latest.suite.name)}**: {_md(summary['eval_set'])} on {_md(summary['corpus'])}, "
            f"{summary['n']} questions ({summary['n_answerable']} answerable), threshold {summary['threshold']:.2f}, "
            f"run {_md(summary['created'])}",
            "",
            "| metric | egov-qa | 95% interval | baseline |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {label} | {ours} | {span} | {base} |" for label, ours, span, base in report.metrics_rows(summary)]
        lines.append(f"| latency p50 / p95 (ms) | {summary['p50_ms']:.1f} / {summary['p95_ms']:.1f} | - | - |")
        if summary.get("conversational"):
            lines += ["", f"{summary['conversational']} conversational questions are scored apart from these figures."]
        return "\n".join(lines)

    @staticmethod
    def failures(latest: SetReport, locate: Locate | None = None) -> str:
        """The latest report's failures as Markdown, each cited slide linked (``?slide=N``) when
        ``locate`` finds it in the served corpus."""
        summary = latest.summary
        if summary is None:
            return ""
        failed = report.failures(summary)
        if not failed:
            return "No failures: every question was answered (or abstained on) correctly, with the right slide."
        lines = [f"**Failures ({len(failed)})**", ""]
        for q in failed:
            wrong = "wrong answer" if not q["correct"] else "wrong slide"
            expected = " / ".join(q["expected"]) if q["answerable"] else "(abstain)"
            got = f"(abstained: {q['reason']})" if q["abstained"] else q["answer"]
            lines.append(f"- {_md(q['id'])} {wrong}: {_md(q['question'])}")
            lines.append(f"  expected: {_md(expected)} · got: {_md(got)} · cited: {_cited(q, locate)}")
        return "\n".join(lines)

    def downvotes(self, data_dir: Path | None, decks: Sequence[str]) -> list[Downvote]:
        """The thumbs-down answers given on the decks in ``decks`` (an abstention citing none included)."""
        served = set(decks)
        return [vote for vote in thumbs_down(data_dir) if set(vote.sources) <= served]

    @staticmethod
    def downvote_table(votes: Sequence[Downvote], suite: Suite | None) -> str:
        """The thumbs-down answers as a Markdown table, each marked when it is in ``suite``'s set already."""
        if not votes:
            return "No thumbs-down answers on these decks yet: a thumb down on an answer in the chat lists it here."
        known = _known(suite)
        lines = ["| question | answered | cited | in the eval set |", "| --- | --- | --- | --- |"]
        for vote in votes:
            answered = "(abstained)" if vote.abstained else vote.answer or ""
            present = "yes" if vote.id in known or vote.question in known else "no"
            lines.append(f"| {_md(vote.question)} | {_md(answered)} | {_md(vote.cited or '-')} | {present} |")
        return "\n".join(lines)

    @staticmethod
    def pending(votes: Sequence[Downvote], suite: Suite | None) -> list[Downvote]:
        """The thumbs-down questions not in ``suite``'s set yet."""
        known = _known(suite)
        return [vote for vote in votes if vote.id not in known and vote.question not in known]

    @staticmethod
    def answer_types(suite: Suite | None) -> list[str]:
        """The answer types to offer: the usual ones and those ``suite``'s set uses."""
        used: list[str] = []
        if suite is not None:
            try:
                used = [item.type for item in load_eval_set(suite.eval_set)]
            except EgovQAError:
                used = []
        return list(dict.fromkeys([*ANSWER_TYPES, *used]))

    @staticmethod
    def add(suite: Suite | None, line: EvalLine, slides: Sequence[Slide]) -> str:
        """Add ``line`` to ``suite``'s set; returns what to tell the person.

        Raises:
            EgovQAError: there is no set, or the line breaks its rules (nothing written).
        """
        if suite is None:
            raise EgovQAError("the served corpus has no eval set to add to: see above how to add one")
        item: EvalItem = add_to_eval_set(suite.eval_set, line, slides)
        count = len(load_eval_set(suite.eval_set))
        return (
            f"Added {_md(item.id)} to {_md(shown_path(suite.eval_set))} ({count} questions now). "
            "The reader is fit on the eval sets, so the set changed under it: retrain it with `make train` "
            "(`egov-qa train`) before quoting new figures."
        )


def _known(suite: Suite | None) -> set[str]:
    """The ids and questions of ``suite``'s set (none when it cannot be read)."""
    if suite is None:
        return set()
    try:
        items = load_eval_set(suite.eval_set)
    except EgovQAError:
        return set()
    return {item.id for item in items} | {item.question for item in items}


def _cited(q: dict, locate: Locate | None) -> str:
    cited = q["citations"][0] if q["citations"] else None
    if cited is None:
        return "-"
    label = _md(f"Slide {cited['slide']}: {cited['title']}")
    link = locate(cited["source"], cited["slide"]) if locate else None
    return f"[{label}]({link})" if link else label

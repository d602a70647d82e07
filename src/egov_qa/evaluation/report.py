"""Rendering eval results: the terminal table, the Markdown and JSON reports, the plot."""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

HEADLINE = (
    ("answer_accuracy", "answer accuracy"),
    ("citation_accuracy", "citation accuracy"),
    ("abstention_accuracy", "abstention accuracy"),
    ("false_abstention_rate", "false abstention rate"),
    ("recall@1", "slide recall@1"),
    ("recall@3", "slide recall@3"),
    ("recall@5", "slide recall@5"),
    ("mrr", "slide MRR"),
)


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def metrics_rows(summary: dict) -> list[tuple[str, str, str, str]]:
    """Each headline metric: its label, egov-qa's figure, that figure's 95% interval (a share of
    counted questions; "-" for the rest) and the baseline's figure."""
    baseline = summary.get("baseline") or {}
    return [
        (label, _fmt(summary[key]), interval(summary, key), _fmt(baseline[key]) if key in baseline else "-")
        for key, label in HEADLINE
    ]


def failures(summary: dict) -> list[dict]:
    return [q for q in summary["per_question"] if not q["correct"] or (q["answerable"] and not q["cited_correct"])]


def _describe(q: dict) -> tuple[str, str, str]:
    expected = " / ".join(q["expected"]) if q["answerable"] else "(abstain)"
    got = "(abstained: " + q["reason"] + ")" if q["abstained"] else q["answer"]
    cited = q["citations"][0] if q["citations"] else None
    slide = f"Slide {cited['slide']}: {cited['title']}" if cited else "-"
    return expected, got, slide


def render_table(summary: dict) -> str:
    """The plain-text report ``egov-qa eval`` prints."""
    lines = [
        f"egov-qa eval: {summary['n']} questions ({summary['n_answerable']} answerable, "
        f"{summary['n_unanswerable']} unanswerable), threshold {summary['threshold']:.2f}",
        "",
        f"{'metric':<24}{'egov-qa':>10}{'95% interval':>18}{'baseline':>10}",
    ]
    lines += [f"{label:<24}{ours:>10}{span:>18}{base:>10}" for label, ours, span, base in metrics_rows(summary)]
    lines += ["", f"latency per question: p50 {summary['p50_ms']:.1f} ms, p95 {summary['p95_ms']:.1f} ms", ""]
    lines.append(f"{'group':<24}{'n':>5}{'accuracy':>10}")
    lines += [f"{g['group']:<24}{g['n']:>5}{g['accuracy']:>10.3f}" for g in summary["breakdown"]]
    failed = failures(summary)
    lines += ["", f"failures ({len(failed)}):"]
    for q in failed:
        expected, got, slide = _describe(q)
        wrong = "answer" if not q["correct"] else "citation"
        lines += [
            f"- {q['id']} [{wrong}] {q['question']}",
            f"    expected: {expected}",
            f"    got:      {got}",
            f"    cited:    {slide}",
        ]
    if summary.get("forms"):
        lines += ["", CONVERSATIONAL_NOTE, f"{'form':<24}{'n':>5}{'answer':>10}{'citation':>10}{'parts right':>13}"]
        lines += [
            f"{r['form']:<24}{r['n']:>5}{r['answer_accuracy']:>10.3f}{r['citation_accuracy']:>10.3f}{_parts(r):>13}"
            for r in summary["forms"]
        ]
        missed = [q for q in summary.get("conversational_questions", []) if not q["correct"] or not q["cited_correct"]]
        lines += ["", f"conversational failures ({len(missed)}):"]
        for q in missed:
            lines += [f"- {q['id']} [{q['form']}] {q['question']}"]
            if q["previous"]:
                lines.append(f"    after:    {q['previous']}")
            if q["read_as"]:
                lines.append(f"    read as:  {q['read_as']}")
            for expected, got, cited in _form_parts(q):
                lines += [f"    expected: {expected}", f"    got:      {got}", f"    cited:    {cited}"]
    return "\n".join(lines)


CONVERSATIONAL_NOTE = (
    "conversational questions (asked as a person would: a follow-up after its previous question; "
    "not in the figures above):"
)


def _parts(row: dict) -> str:
    """The share of parts right, for the forms with more than one part a question."""
    return f"{row['parts_right']:.3f}" if row["parts"] > row["n"] else "-"


def _form_parts(q: dict) -> list[tuple[str, str, str]]:
    """Expected, got and cited, part by part (a part not answered on its own says so)."""
    rows = []
    for i, expected in enumerate(q["expected"]):
        if i < len(q["answers"]):
            got = "(abstained)" if q["abstained"][i] else str(q["answers"][i])
            cited = q["cited"][i] or "-"
        else:
            got, cited = "(not answered on its own)", "-"
        rows.append((" / ".join(expected), got, cited))
    return rows


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(summary: dict, plot_name: str | None) -> str:
    lines = [
        "# egov-qa eval report",
        "",
        f"- when: {summary['created']}",
        f"- eval set: `{summary['eval_set']}` ({summary['n']} questions: {summary['n_answerable']} answerable, "
        f"{summary['n_unanswerable']} unanswerable)",
        f"- corpus: `{summary['corpus']}`; model: `{summary['model']}`; threshold: {summary['threshold']:.2f}",
        "",
        "| metric | egov-qa | 95% interval | baseline: dense-only, fixed-size chunks, best sentence |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {label} | {ours} | {span} | {base} |" for label, ours, span, base in metrics_rows(summary)]
    lines += [
        f"| latency p50 / p95 (ms) | {summary['p50_ms']:.1f} / {summary['p95_ms']:.1f} | - | - |",
        "",
        "## By answer type",
        "",
        "| group | n | accuracy |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {g['group']} | {g['n']} | {g['accuracy']:.3f} |" for g in summary["breakdown"]]
    if plot_name:
        lines += ["", "## Accuracy against coverage", "", f"![accuracy against coverage]({plot_name})"]
    failed = failures(summary)
    lines += [
        "",
        f"## Failures ({len(failed)})",
        "",
        "| id | question | expected | got | cited |",
        "| --- | --- | --- | --- | --- |",
    ]
    for q in failed:
        expected, got, slide = _describe(q)
        cells = [q["id"], q["question"], expected, got, slide]
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    if summary.get("forms"):
        lines += _forms_markdown(summary)
    return "\n".join(lines) + "\n"


def _forms_markdown(summary: dict) -> list[str]:
    lines = [
        "",
        "## Conversational questions",
        "",
        "Asked as a person would (a follow-up after its previous question), scored part by part, "
        "and kept out of the figures above.",
        "",
        "| form | n | answer accuracy | citation accuracy | parts right |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['form']} | {r['n']} | {r['answer_accuracy']:.3f} | {r['citation_accuracy']:.3f} | {_parts(r)} |"
        for r in summary["forms"]
    ]
    lines += [
        "",
        "| id | form | question | read as | expected | got | cited |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for q in summary.get("conversational_questions", []):
        question = q["question"] if not q["previous"] else f"{q['question']} (after: {q['previous']})"
        mark = "" if q["correct"] and q["cited_correct"] else " ✗"
        for i, (expected, got, cited) in enumerate(_form_parts(q)):
            cells = [q["id"] + mark if i == 0 else "", q["form"] if i == 0 else "", question if i == 0 else ""]
            cells += [(q["read_as"] or "") if i == 0 else "", expected, got, cited]
            lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    return lines


def plot_curve(summary: dict, path: Path) -> None:
    """Accuracy against coverage as the threshold moves, with the chosen point marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = summary["curve"]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot([p["coverage"] for p in curve], [p["accuracy"] for p in curve], marker=".", label="egov-qa")
    chosen = min(curve, key=lambda p: abs(p["threshold"] - summary["threshold"]))
    ax.scatter(
        [chosen["coverage"]],
        [chosen["accuracy"]],
        color="red",
        zorder=3,
        label=f"threshold {summary['threshold']:.2f}",
    )
    baseline = summary.get("baseline")
    if baseline:
        n_answerable = summary["n_answerable"]
        acc = baseline["answer_accuracy"] * n_answerable / summary["n"]
        ax.scatter([1.0], [acc], marker="x", color="gray", label="baseline (never abstains)")
    ax.set_xlabel("coverage (share of questions answered)")
    ax.set_ylabel("accuracy of the answers given")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_reports(summary: dict, out_dir: Path) -> dict[str, Path]:
    """Write the JSON, Markdown and PNG reports, timestamped and as ``latest.*``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    paths = {kind: out_dir / f"report-{stamp}.{kind}" for kind in ("json", "md", "png")}
    plot_curve(summary, paths["png"])
    paths["json"].write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    paths["md"].write_text(render_markdown(summary, paths["png"].name), encoding="utf-8")
    latest = {}
    for kind, path in paths.items():
        target = out_dir / f"latest.{kind}"
        if kind == "md":
            target.write_text(render_markdown(summary, "latest.png"), encoding="utf-8")
        else:
            shutil.copyfile(path, target)
        latest[kind] = target
    return {**{f"run_{k}": v for k, v in paths.items()}, **latest}


OVERVIEW_COLUMNS = (
    ("answer_accuracy", "answer"),
    ("citation_accuracy", "citation"),
    ("abstention_accuracy", "abstention"),
    ("false_abstention_rate", "false abst."),
    ("recall@1", "recall@1"),
)
READER_COLUMNS = (
    ("answer_accuracy", "answer"),
    ("citation_accuracy", "citation"),
    ("abstention_accuracy", "abstention"),
    ("false_abstention_rate", "false abst."),
    ("calibration_error", "calib. error"),
    ("brier", "Brier"),
)
# Which questions each figure is over, when not the answerable ones: the unanswerable, or all.
_WEIGHT = {"abstention_accuracy": "n_unanswerable", "brier": "n", "calibration_error": "n"}


# The normal quantile of a two-sided 95% interval.
Z_95 = 1.959963984540054
# The figures given an interval: shares of counted questions (the rest are not counts).
INTERVAL_COLUMNS = READER_COLUMNS[:4]
SHARES = frozenset(key for key, _ in INTERVAL_COLUMNS) | {"recall@1", "recall@3", "recall@5"}


def wilson(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of ``k`` successes in ``n`` trials (95% by default): it stays inside
    [0, 1] and holds for the small counts of one deck, where the normal approximation does not.
    One formula, not :func:`scipy.stats.binomtest`, whose import alone takes over a second."""
    if n <= 0:
        return 0.0, 1.0
    share, spread = k / n, z * z / n
    centre = (share + spread / 2) / (1 + spread)
    half = z / (1 + spread) * math.sqrt(share * (1 - share) / n + spread / (4 * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def interval(figures: dict, key: str) -> str:
    """The 95% interval of the share ``figures[key]`` over its own questions (the unanswerable ones
    for abstention, else the answerable ones), as "0.544 to 0.624"; "-" for a figure that is no
    share, or a record without the counts (an older one)."""
    n = figures.get(_WEIGHT.get(key, "n_answerable"))
    if key not in SHARES or key not in figures or not n:
        return "-"
    return " to ".join(f"{end:.3f}" for end in wilson(round(figures[key] * n), n))


def interval_markdown(meta: dict) -> list[str]:
    """The 95% intervals of the headline held-out figures (the real decks pooled, the shipped deck),
    each question counted as one draw: how far the figures could move on as many new questions.
    Lines to put under a table, a blank one first; none for a record without the counts."""
    lodo = meta.get("leave_one_deck_out") or {}
    rows = []
    for name, figures in (
        ("real decks, pooled (each left out)", lodo.get("real_decks_pooled") or {}),
        ("shipped deck, left out", (lodo.get("sets") or {}).get("shipped") or {}),
    ):
        cells = [interval(figures, key) for key, _ in INTERVAL_COLUMNS]
        if any(cell != "-" for cell in cells):
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    return [
        "",
        "95% intervals (Wilson), each question counted as an independent draw, which the questions "
        "of one deck are not: read them as the least uncertainty of these figures.",
        "",
        "| scored on | " + " | ".join(label for _, label in INTERVAL_COLUMNS) + " |",
        "| --- | " + " | ".join("---" for _ in INTERVAL_COLUMNS) + " |",
        *rows,
    ]


def pool(figures: list[dict]) -> dict:
    """Metrics over several eval sets at once: each share weighted by its questions."""
    pooled: dict = {
        "n": sum(f["n"] for f in figures),
        "n_answerable": sum(f["n_answerable"] for f in figures),
        "n_unanswerable": sum(f["n_unanswerable"] for f in figures),
    }
    for key in dict(OVERVIEW_COLUMNS) | dict(READER_COLUMNS):
        if not all(key in f for f in figures):
            continue
        weight = _WEIGHT.get(key, "n_answerable")
        total = sum(f[weight] for f in figures)
        pooled[key] = sum(f[key] * f[weight] for f in figures) / total if total else 0.0
    if figures and all(f.get("curve") for f in figures):
        pooled["curve"] = [
            {key: (rows[0][key] if key == "threshold" else sum(r[key] for r in rows)) for key in rows[0]}
            for rows in zip(*(f["curve"] for f in figures), strict=True)
        ]
    return pooled


def curve_markdown(figures: dict, every: int = 1) -> list[str]:
    """A threshold curve (counts, see ``training.fit.threshold_curve``) as a table of shares; ``every``
    keeps one row in that many."""
    rows = (figures.get("curve") or [])[::every]
    answerable, unanswerable = figures.get("n_answerable", 0), figures.get("n_unanswerable", 0)
    lines = ["| threshold | answer | abstention | false abst. |", "| --- | --- | --- | --- |"]
    for row in rows:
        lines.append(
            f"| {row['threshold']:.2f} | {_fmt(row['right'] / answerable if answerable else 0.0)} | "
            f"{_fmt(row['abstained_unanswerable'] / unanswerable if unanswerable else 0.0)} | "
            f"{_fmt(1 - row['answered'] / answerable if answerable else 0.0)} |"
        )
    return lines if rows else []


def overview(rows: list, shipped: str) -> dict:
    """One row per eval set and a pooled row over every set but the shipped deck's."""
    sets = []
    for suite, summary in rows:
        ours = {k: summary[k] for k in ("n", "n_answerable", "n_unanswerable", *(c for c, _ in OVERVIEW_COLUMNS))}
        sets.append(
            {
                "name": suite.name,
                "eval_set": summary["eval_set"],
                "corpus": summary["corpus"],
                "threshold": summary["threshold"],
                "conversational": summary.get("conversational", 0),
                "forms": summary.get("forms") or [],
                "egov_qa": ours,
                "baseline": summary.get("baseline"),
            }
        )
    real = [s for s in sets if s["name"] != shipped]
    pooled = None
    if real:
        baselines = [s["baseline"] for s in real if s["baseline"]]
        pooled = {
            "name": "real decks, pooled",
            "egov_qa": pool([s["egov_qa"] for s in real]),
            "baseline": pool(baselines) if len(baselines) == len(real) else None,
            "forms": pool_forms([s["forms"] for s in real]),
        }
    return {"created": time.strftime("%Y-%m-%d %H:%M:%S"), "sets": sets, "pooled": pooled}


def pool_forms(rows: list[list[dict]]) -> list[dict]:
    """The conversational rows of several eval sets pooled, form by form (each set weighted by its items)."""
    pooled = []
    forms = list(dict.fromkeys(r["form"] for set_rows in rows for r in set_rows))
    for form in forms:
        group = [r for set_rows in rows for r in set_rows if r["form"] == form]
        n, parts = sum(r["n"] for r in group), sum(r["parts"] for r in group)
        pooled.append(
            {
                "form": form,
                "n": n,
                "answer_accuracy": sum(r["answer_accuracy"] * r["n"] for r in group) / n if n else 0.0,
                "citation_accuracy": sum(r["citation_accuracy"] * r["n"] for r in group) / n if n else 0.0,
                "parts": parts,
                "parts_right": sum(r["parts_right"] * r["parts"] for r in group) / parts if parts else 0.0,
            }
        )
    return pooled


def _forms_lines(view: dict, cell, separator: str | None) -> list[str]:
    """The conversational rows: one per eval set and form, and the real decks pooled per form."""
    head = ["eval set", "form", "n", "answer", "citation", "parts right"]
    lines = [cell(head)]
    if separator:
        lines.append(cell([separator] * len(head)))
    entries = [*view["sets"], *([view["pooled"]] if view["pooled"] else [])]
    for entry in entries:
        for r in entry.get("forms") or []:
            values = [entry["name"], r["form"], str(r["n"]), f"{r['answer_accuracy']:.3f}"]
            lines.append(cell([*values, f"{r['citation_accuracy']:.3f}", _parts(r)]))
    return lines


def _overview_lines(view: dict, cell, separator: str | None) -> list[str]:
    head = ["eval set", "n", *[label for _, label in OVERVIEW_COLUMNS], "baseline answer", "baseline citation"]
    lines = [cell(head)]
    if separator:
        lines.append(cell([separator] * len(head)))
    entries = [*view["sets"], *([view["pooled"]] if view["pooled"] else [])]
    for entry in entries:
        ours, base = entry["egov_qa"], entry["baseline"] or {}
        lines.append(
            cell(
                [
                    entry["name"],
                    str(ours["n"]),
                    *[f"{ours[key]:.3f}" for key, _ in OVERVIEW_COLUMNS],
                    _fmt(base.get("answer_accuracy", "-")),
                    _fmt(base.get("citation_accuracy", "-")),
                ]
            )
        )
    return lines


def render_overview(view: dict) -> str:
    """The plain-text table ``egov-qa eval --all`` prints."""
    widths = [40, 5, 8, 9, 11, 12, 9, 16, 18]

    def cell(values: list[str]) -> str:
        return "".join(
            f"{v:<{w}}" if i == 0 else f"{v:>{w}}" for i, (v, w) in enumerate(zip(values, widths, strict=False))
        )

    lines = _overview_lines(view, cell, None)
    if any(entry.get("forms") for entry in view["sets"]):
        widths_forms = [40, 11, 5, 8, 9, 12]

        def form_cell(values: list[str]) -> str:
            return "".join(
                f"{v:<{w}}" if i < 2 else f"{v:>{w}}"
                for i, (v, w) in enumerate(zip(values, widths_forms, strict=False))
            )

        lines += ["", CONVERSATIONAL_NOTE, *_forms_lines(view, form_cell, None)]
    return "\n".join(lines)


def render_overview_markdown(view: dict) -> str:
    lines = [
        "# egov-qa eval: every eval set",
        "",
        f"- when: {view['created']}",
        "- each eval set is asked of its own decks; the pooled row weights each deck by its questions",
        "- conversational items (follow-ups, misspellings, two-part questions) are not in these figures: "
        "they have rows of their own below",
        "",
    ]
    row = lambda values: "| " + " | ".join(_md_escape(v) for v in values) + " |"  # noqa: E731
    lines += _overview_lines(view, row, "---")
    if any(entry.get("forms") for entry in view["sets"]):
        lines += [
            "",
            "## Conversational questions",
            "",
            "Asked as a person would (a follow-up after its previous question); a two-part question is "
            "right when each part is answered right by its own answer.",
            "",
            *_forms_lines(view, row, "---"),
        ]
    return "\n".join(lines) + "\n"


def write_overview(view: dict, out_dir: Path) -> dict[str, Path]:
    """Write ``all.md`` and ``all.json`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "all.json", "md": out_dir / "all.md"}
    paths["json"].write_text(json.dumps(view, indent=1, ensure_ascii=False), encoding="utf-8")
    paths["md"].write_text(render_overview_markdown(view), encoding="utf-8")
    return paths


def _reader_rows(meta: dict) -> list[tuple[str, dict]]:
    lodo = meta.get("leave_one_deck_out") or {}
    rows = [(f"{name} (left out)", figures) for name, figures in (lodo.get("sets") or {}).items()]
    if lodo.get("real_decks_pooled"):
        rows.append(("real decks, pooled (each left out)", lodo["real_decks_pooled"]))
    if meta.get("shipped_within_set_cv"):
        rows.append(("shipped, 5-fold within its set", meta["shipped_within_set_cv"]))
    return rows


def copies_markdown(meta: dict) -> list[str]:
    """Each image-only copy beside its deck, both left out of the reader's fit."""
    copies = meta.get("image_copies")
    if not copies:
        return []
    low, high = copies.get("band") or (0.0, 0.0)
    lines = [
        "## Image-only copies",
        "",
        "Each PDF deck's pages rendered as pictures (no text layer, read by OCR), asked the deck's "
        "questions and scored by the reader fit without that deck (copies are never fit on). "
        "Copy / deck is right answers at the reader's held-out threshold; the band column sums "
        f"right answers over the thresholds {low:.2f} to {high:.2f} on both curves, a figure that "
        "does not move with one deck's held-out threshold.",
        "",
        "| eval set | n | answer (deck) | answer (copy) | copy / deck | copy / deck, band "
        "| citation (copy) | abstention (copy) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    sets = (meta.get("leave_one_deck_out") or {}).get("sets") or {}
    rows = [(name, sets[name], row["image"], row) for name, row in copies["sets"].items()]
    pooled = copies["pooled"]
    rows.append(("pooled", pooled["text"], pooled["image"], pooled))
    for name, text, image, record in rows:
        share, band = (record.get(key) for key in ("answer_ratio", "answer_ratio_band"))
        lines.append(
            f"| {_md_escape(name)} | {image['n']} | {_fmt(text['answer_accuracy'])} | {_fmt(image['answer_accuracy'])} "
            f"| {'-' if share is None else f'{share:.3f}'} | {'-' if band is None else f'{band:.3f}'} "
            f"| {_fmt(image['citation_accuracy'])} | {_fmt(image['abstention_accuracy'])} |"
        )
    return [*lines, ""]


def render_reader(meta: dict, threshold: float) -> str:
    """The table ``egov-qa train`` prints: figures on decks the reader was not fit on."""
    lines = [
        f"reader trained on {meta['trained_on']['questions']} questions "
        f"({meta['trained_on']['candidates']} candidates); threshold {threshold:.2f}",
        "",
        f"{'scored on':<52}{'n':>5}" + "".join(f"{label:>14}" for _, label in READER_COLUMNS),
    ]
    for name, figures in _reader_rows(meta):
        lines.append(
            f"{name:<52}{figures['n']:>5}" + "".join(f"{_fmt(figures.get(key, '-')):>14}" for key, _ in READER_COLUMNS)
        )
    copies = copies_markdown(meta)
    return "\n".join([*lines, *(["", *copies] if copies else [])])


def plot_reliability(meta: dict, path: Path) -> None:
    """Predicted confidence against observed accuracy on decks left out of the fit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", label="perfectly calibrated")
    sets = ((meta.get("leave_one_deck_out") or {}).get("sets")) or {}
    pooled: dict[tuple, list[float]] = {}
    for name, figures in sets.items():
        bins = figures.get("reliability") or []
        if bins:
            confidence = [b["confidence"] for b in bins]
            ax.plot(confidence, [b["accuracy"] for b in bins], marker=".", linewidth=0.6, alpha=0.45, label=name)
        for b in bins if name != "shipped" else []:
            total = pooled.setdefault(tuple(b["bin"]), [0.0, 0.0, 0.0])
            total[0] += b["n"]
            total[1] += b["n"] * b["confidence"]
            total[2] += b["n"] * b["accuracy"]
    if pooled:
        ordered = [pooled[k] for k in sorted(pooled)]
        ax.plot(
            [c / n for n, c, _ in ordered],
            [a / n for n, _, a in ordered],
            color="black",
            marker="o",
            linewidth=2,
            label="real decks, pooled",
        )
    ax.set_xlabel("predicted confidence")
    ax.set_ylabel("observed accuracy")
    ax.set_title("Reliability on decks left out of the fit")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=6)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _reader_table(rows: list[tuple[str, dict]], first: str) -> list[str]:
    lines = [f"| {first} | n | " + " | ".join(label for _, label in READER_COLUMNS) + " |"]
    lines.append("| --- | --- | " + " | ".join("---" for _ in READER_COLUMNS) + " |")
    for name, figures in rows:
        # A report of an older model lacks the later figures: a dash.
        values = " | ".join(_fmt(figures.get(key, "-")) for key, _ in READER_COLUMNS)
        lines.append(f"| {_md_escape(name)} | {figures['n']} | {values} |")
    return lines


def held_out_markdown(meta: dict) -> str:
    """The reader's figures on decks (and folds) it never saw, as a Markdown table, with the
    intervals of the headline ones."""
    return "\n".join([*_reader_table(_reader_rows(meta), "scored on"), *interval_markdown(meta)])


def _encoder_lines(encoder: dict | None) -> list[str]:
    """How the features were made: each set asked through an encoder tuned without its fold."""
    if not encoder:
        return []
    folds: dict[int, list[str]] = {}
    for name, fold in (encoder.get("folds") or {}).items():
        folds.setdefault(fold, []).append(name)
    dealt = "; ".join(", ".join(names) for _, names in sorted(folds.items()))
    return [
        f"- encoder: `{encoder['model']}` (`{encoder['file']}`), tuned on every set; the features a deck is "
        f"scored on come from an encoder tuned without its fold ({dealt})"
    ]


def render_reader_markdown(meta: dict) -> str:
    lines = [
        "# egov-qa reader",
        "",
        f"- when: {meta['created']}; embedding model: `{meta['embedding_model']}`",
        f"- model: {meta['model']}",
        f"- threshold objective: {meta['objective']}",
        f"- trained on {meta['trained_on']['questions']} questions, {meta['trained_on']['candidates']} candidates",
        *_encoder_lines(meta.get("encoder")),
        "",
        "Each row is scored by a reader that never saw that deck (or that fold):",
        "",
        held_out_markdown(meta),
        "",
        "In-sample (the shipped reader on the questions it was fit on), for comparison only:",
        "",
        *_reader_table(list((meta.get("in_sample") or {}).items()), "eval set"),
        "",
        *copies_markdown(meta),
        "## Reliability",
        "",
        "![reliability on decks left out](reader.png)",
        "",
        *curve_section(meta),
    ]
    return "\n".join(lines)


def curve_section(meta: dict, every: int = 1) -> list[str]:
    """Answer accuracy, abstention and false abstention over the threshold, on decks left out."""
    lodo = meta.get("leave_one_deck_out") or {}
    pooled, shipped = lodo.get("real_decks_pooled") or {}, (lodo.get("sets") or {}).get("shipped") or {}
    if not pooled.get("curve") and not shipped.get("curve"):
        return []
    lines = [
        "## Over the threshold",
        "",
        "What each threshold would give on decks left out of the fit (each deck's confidences from "
        "the reader fit without it). The reader's own threshold is chosen on the other decks.",
        "",
    ]
    for name, figures in (("Real decks, pooled", pooled), ("Shipped deck", shipped)):
        if figures.get("curve"):
            lines += [f"{name}:", "", *curve_markdown(figures, every), ""]
    return lines


def write_reader_report(meta: dict, out_dir: Path) -> dict[str, Path]:
    """Write ``reader.md`` and ``reader.png`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"md": out_dir / "reader.md", "png": out_dir / "reader.png"}
    plot_reliability(meta, paths["png"])
    paths["md"].write_text(render_reader_markdown(meta), encoding="utf-8")
    return paths


README_START = "<!-- held-out figures: generated by `make train` from the reader's record; do not edit by hand -->"
README_END = "<!-- end of held-out figures -->"


def readme_figures(meta: dict, threshold: float) -> str:
    """The README's table of held-out figures: the real decks pooled and the shipped deck, each left
    out of the reader's fit, then every deck left out on its own."""
    lodo = meta.get("leave_one_deck_out") or {}
    sets = lodo.get("sets") or {}
    rows = []
    if lodo.get("real_decks_pooled"):
        rows.append(("real decks, pooled (each left out)", lodo["real_decks_pooled"]))
    if "shipped" in sets:
        rows.append(("shipped deck, left out", sets["shipped"]))
    rows += [(f"{name}, left out", figures) for name, figures in sets.items() if name != "shipped"]
    note = f"Answers at confidence {threshold:.2f} or more; reader fit {meta.get('created', '?')}."
    return "\n".join([*_reader_table(rows, "scored on"), "", note, *interval_markdown(meta)])


def with_readme_figures(readme: str, meta: dict, threshold: float) -> str:
    """``readme`` with the block between its held-out markers replaced by :func:`readme_figures`.

    Raises:
        ValueError: the README lacks the markers (in that order).
    """
    start, end = readme.find(README_START), readme.find(README_END)
    if start < 0 or end < start:
        raise ValueError("the README has no held-out figures block (its two marker lines)")
    head = readme[: start + len(README_START)]
    return f"{head}\n{readme_figures(meta, threshold)}\n{readme[end:]}"

"""Each eval set asked of its text deck and of an image-only copy of it, side by side.

An image-only copy is what a scanner or an "export as pictures" leaves: every
page of the PDF rendered at 150 dpi and saved as a picture, no text layer. Its
words can only be read by OCR. Each set runs through ``egov-qa eval`` (the real
model) on a corpus holding only its deck, under the deck's own file name, so the
two runs differ in nothing but the text layer. PowerPoint decks have no renderer
here and are left out.

Run: ``python bench/image_copies.py [--sets NAME ...]`` (CPU heavy: OCR of every
page, two index builds a set). The copies and indexes go under ``bench/.image-copies/``
(git-ignored); the table is printed and written to ``bench/.image-copies/table.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from egov_qa.training.copies import DPI, image_only

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".image-copies"
FIGURES = ("answer_accuracy", "citation_accuracy", "abstention_accuracy", "recall_at_1")


def evaluate(eval_set: Path, corpus: Path, index: Path) -> dict:
    """``egov-qa eval`` of ``eval_set`` on ``corpus`` (index built in ``index``): its summary, and the seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "egov_qa.cli", "eval", "--set", str(eval_set), "--corpus", str(corpus)]
    command += ["--index", str(index), "--json", "--no-baseline", "-q", "--out", str(index.parent / "reports")]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise RuntimeError(f"eval of {eval_set.name} on {corpus} failed:\n{done.stderr[-2000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    summary["seconds"] = time.perf_counter() - started
    return summary


def figure(summary: dict, key: str) -> float | None:
    value = summary.get(key, summary.get("metrics", {}).get(key))
    return None if value is None else float(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", help="eval set names, in this order (default: every set)")
    parser.add_argument("--dpi", type=float, default=DPI)
    args = parser.parse_args()
    rows = []
    names = args.sets or sorted(p.stem for p in (ROOT / "evals" / "sets").glob("*.jsonl"))
    for name in names:
        eval_set = ROOT / "evals" / "sets" / f"{name}.jsonl"
        decks = sorted((ROOT / "evals" / "decks" / name).glob("*.pdf"))
        if not eval_set.is_file() or not decks:
            print(f"{name}: left out (no eval set, or its deck is not a PDF)", flush=True)
            continue
        text_corpus = WORK / name / "text"
        image_corpus = WORK / name / "image"
        for folder in (text_corpus, image_corpus):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        for deck in decks:
            shutil.copy(deck, text_corpus / deck.name)
            image_only(deck, image_corpus / deck.name, args.dpi)
        text = evaluate(eval_set, text_corpus, WORK / name / "text-index")
        image = evaluate(eval_set, image_corpus, WORK / name / "image-index")
        rows.append((name, text, image))
        print(f"{name}: text {figure(text, 'answer_accuracy')}, image {figure(image, 'answer_accuracy')}", flush=True)
    lines = [
        "| eval set | n | answer (text) | answer (image) | image / text | citation (text) | citation (image) |"
        " abstention (text) | abstention (image) | eval time text / image (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, text, image in rows:
        a_text, a_image = figure(text, "answer_accuracy") or 0.0, figure(image, "answer_accuracy") or 0.0
        lines.append(
            f"| {name} | {text.get('n', '')} | {a_text:.3f} | {a_image:.3f} | {a_image / max(a_text, 1e-9):.2f} | "
            f"{figure(text, 'citation_accuracy') or 0:.3f} | {figure(image, 'citation_accuracy') or 0:.3f} | "
            f"{figure(text, 'abstention_accuracy') or 0:.3f} | {figure(image, 'abstention_accuracy') or 0:.3f} | "
            f"{text['seconds']:.0f} / {image['seconds']:.0f} |"
        )
    if len(rows) > 1:
        # Pooled over the sets: right answers over answerable questions, text deck against copy.
        answerable = sum(int(text["n_answerable"]) for _, text, _ in rows)
        right_text = sum((figure(text, "answer_accuracy") or 0.0) * text["n_answerable"] for _, text, _ in rows)
        right_image = sum((figure(image, "answer_accuracy") or 0.0) * text["n_answerable"] for _, text, image in rows)
        lines.append(
            f"| pooled | {sum(int(text['n']) for _, text, _ in rows)} | {right_text / max(answerable, 1):.3f} | "
            f"{right_image / max(answerable, 1):.3f} | {right_image / max(right_text, 1e-9):.2f} | | | | | |"
        )
    table = "\n".join(lines)
    print(table)
    (WORK / "table.md").write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

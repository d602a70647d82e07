"""The share of answer units that begin mid-sentence, deck by deck.

A unit begins mid-sentence when it is prose or a page's title (not a bullet
item or table row) and starts with a lower-case letter: the tail of a sentence
whose head is another unit. Run: ``python bench/mid_sentence.py DECK_OR_FOLDER ...``
(with ``--reports DIR`` it first writes report-style PDFs to DIR and reads them too).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from egov_qa.ingest.loader import DeckLoader
from egov_qa.ingest.splitter import UnitSplitter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

REPORT_LAYOUTS = {
    "report-justified": {"gap": 1.0},
    "report-indented": {"indent": 24.0},
    "report-indented-ragged": {"indent": 24.0, "justify": False},
    "report-two-column": {"columns": 2, "indent": 12.0},
}


def mid_sentence(path: Path) -> tuple[int, int]:
    """How many of ``path``'s units begin mid-sentence, and how many units it has."""
    slides = DeckLoader().load_file(path, path.name)[0]
    splitter = UnitSplitter()
    units = [u for slide in slides for u in splitter.split(slide)]
    count = sum(1 for u in units if u.kind in ("text", "heading") and u.text[:1].islower())
    return count, len(units)


def write_reports(folder: Path) -> list[Path]:
    """Report-style PDFs (justified, indented, ragged, two columns), 40 paragraphs each."""
    from pdf_maker import prose, report_pages, write_pdf

    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_pdf(folder / f"{name}.pdf", report_pages(prose(40, seed=seed), **layout))  # type: ignore[arg-type]
        for seed, (name, layout) in enumerate(REPORT_LAYOUTS.items())
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--reports", type=Path, help="write report-style PDFs here and read them too")
    args = parser.parse_args()
    decks = [p for path in args.paths for p in (sorted(path.glob("**/*.p*")) if path.is_dir() else [path])]
    if args.reports:
        decks += write_reports(args.reports)
    print("| deck | units | begin mid-sentence | share |")
    print("| --- | ---: | ---: | ---: |")
    for deck in decks:
        count, total = mid_sentence(deck)
        print(f"| {deck.name} | {total} | {count} | {count / max(total, 1):.1%} |")


if __name__ == "__main__":
    main()

"""Writes the benchmark corpus: thousands of slides made from the shipped and test decks.

Deterministic (a fixed seed, sources read in a fixed order): the same arguments
always write the same files, so runs compare. Each slide takes a title and
bullet lines from the real decks; its title gets a serial number and the
numbers in its lines are redrawn, so no two slides (and no two passages) are
the same. The output is generated, never committed: it goes to
``bench/.corpus/`` unless told otherwise.

    python bench/make_corpus.py [--slides 5000] [--bullets 10] [--out DIR]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "bench" / ".corpus"
SOURCES = [ROOT / "corpus", ROOT / "tests" / "data"]
SEED = 20240307
SLIDES_PER_FILE = 100
_NUMBER = re.compile(r"\d+")


def source_lines() -> tuple[list[str], list[str]]:
    """The titles and the unit texts of the shipped deck and the test PDFs, in reading order."""
    from egov_qa.ingest.loader import DeckLoader
    from egov_qa.ingest.splitter import UnitSplitter

    loader, splitter = DeckLoader(), UnitSplitter()
    titles: list[str] = []
    lines: list[str] = []
    for folder in SOURCES:
        for path in loader.files(folder):
            slides, _ = loader.load_file(path, path.name)
            for slide in slides:
                titles.append(slide.title)
                lines += [u.text for u in splitter.split(slide) if u.text != slide.title and len(u.text) > 20]
    if not titles or not lines:
        raise SystemExit("no slides found in corpus/ or tests/data/: nothing to build the benchmark corpus from")
    return titles, lines


def redraw_numbers(text: str, rng: random.Random) -> str:
    """``text`` with every number replaced by one of as many digits."""
    return _NUMBER.sub(lambda m: str(rng.randrange(10 ** (len(m.group()) - 1), 10 ** len(m.group()))), text)


def markdown_line(text: str) -> str:
    """A unit's text as one Markdown bullet (nothing in it read as markup)."""
    return "- " + " ".join(text.replace("|", "/").replace("#", "No.").split())


def write_corpus(out: Path, slides: int, bullets: int) -> int:
    """Write ``slides`` slides of ``bullets`` lines each under ``out``; returns the number of files."""
    titles, lines = source_lines()
    rng = random.Random(SEED)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    files = 0
    for first in range(0, slides, SLIDES_PER_FILE):
        chunks = []
        for number in range(first, min(first + SLIDES_PER_FILE, slides)):
            title = f"{rng.choice(titles)} ({number + 1})"
            body = [markdown_line(redraw_numbers(rng.choice(lines), rng)) for _ in range(bullets)]
            chunks.append(f"# {title}\n\n" + "\n".join(body) + "\n")
        (out / f"deck_{files:03d}.md").write_text("\n---\n\n".join(chunks), encoding="utf-8")
        files += 1
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slides", type=int, default=5000, help="slides to write (default 5000)")
    parser.add_argument("--bullets", type=int, default=10, help="lines per slide (default 10)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write (replaced)")
    args = parser.parse_args(argv)
    if args.slides < 1 or args.bullets < 1:
        parser.error("--slides and --bullets must be at least 1")
    files = write_corpus(args.out, args.slides, args.bullets)
    print(f"wrote {args.slides} slides in {files} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

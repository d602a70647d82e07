"""Bounds on what one PDF can cost: inflated content, characters and time, refused with a clear message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pdf_maker import Placed, inflating_stream, page_stream, write_pdf

from egov_qa.ingest.loader import DeckLoader
from egov_qa.ingest.pdf import read_pdf
from egov_qa.ingest.pdf_bounds import PdfBounds

TESTS = Path(__file__).resolve().parent

_PEAK = """
import json, resource, sys, tracemalloc
from pathlib import Path
from egov_qa.ingest.loader import DeckLoader
path = Path(sys.argv[1])
DeckLoader()  # imports done before the baseline
import pypdf, pypdfium2  # noqa
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
slides, warnings = DeckLoader().load_file(path, path.name)
python_peak = tracemalloc.get_traced_memory()[1]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"slides": len(slides), "warnings": warnings, "python_peak": python_peak,
                  "rss_growth_kb": after - before}))
"""


def good_page(text: str) -> bytes:
    import zlib

    return zlib.compress(page_stream([Placed(text, 72, 700, 12)]))


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """A small PDF whose second page's content inflates to about 55 MB of text operators."""
    folder = tmp_path_factory.mktemp("bomb")
    path = write_pdf(
        folder / "bomb.pdf",
        [],
        packed=[
            good_page("A fair first page of text."),
            inflating_stream(55 * 1024 * 1024),
            good_page("A fair last page of text."),
        ],
    )
    assert path.stat().st_size < 400 * 1024
    return path


def test_a_page_that_inflates_past_the_bound_is_skipped_with_the_limit_named(bomb):
    slides, warnings = DeckLoader().load_file(bomb, "bomb.pdf")
    assert [s.text for s in slides] == ["A fair first page of text.", "A fair last page of text."]
    assert warnings == [
        "skipped bomb.pdf page 2: its content inflates past the limit of 8.0 MB a page (a drawing, or a "
        "damaged or hostile file); export that page as an image or split the deck"
    ]


def test_reading_it_keeps_memory_bounded(bomb):
    env = {"PYTHONPATH": str(TESTS.parent / "src")}
    run = subprocess.run([sys.executable, "-c", _PEAK, str(bomb)], capture_output=True, text=True, check=True, env=env)
    measured = json.loads(run.stdout)
    assert measured["slides"] == 2
    # Reading it whole would take hundreds of megabytes; refused, it takes a few.
    assert measured["python_peak"] < 32 * 1024 * 1024, measured
    assert measured["rss_growth_kb"] < 64 * 1024, measured


def test_the_deck_bound_leaves_out_the_pages_after_it(tmp_path):
    pages = [[Placed(f"Page {n} says {'many words ' * 30}.", 72, 700, 8)] for n in range(1, 6)]
    path = write_pdf(tmp_path / "long.pdf", pages)
    slides, warnings = read_pdf(path, "long.pdf", PdfBounds(deck_content_bytes=900))
    assert len(slides) in (1, 2, 3, 4)
    (warning,) = warnings
    assert warning.startswith(f"long.pdf: pages from {len(slides) + 1} on are left out")
    assert "limit of 900 bytes a deck" in warning


def test_a_page_is_read_up_to_its_character_bound(tmp_path):
    path = write_pdf(tmp_path / "wordy.pdf", [[Placed("Short first line.", 72, 700), Placed("x" * 90, 72, 680)]])
    slides, warnings = read_pdf(path, "wordy.pdf", PdfBounds(page_chars=40))
    assert slides[0].text.startswith("Short first line.")
    assert len(slides[0].text) < 45
    assert warnings == ["wordy.pdf page 1: only its first 40 characters are read; it has 109, over the limit a page"]


def test_the_time_bound_leaves_out_the_pages_after_it(tmp_path, monkeypatch):
    import egov_qa.ingest.pdf_bounds as bounds_module

    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(bounds_module, "_now", lambda: float(next(clock)))
    pages = [[Placed(f"Page {n}.", 72, 700)] for n in range(1, 6)]
    slides, warnings = read_pdf(write_pdf(tmp_path / "slow.pdf", pages), "slow.pdf", PdfBounds(deck_seconds=25))
    assert [s.text for s in slides] == ["Page 1.", "Page 2."]
    assert warnings == [
        "slow.pdf: pages from 3 on are left out: reading it took more than the limit of 25 seconds a deck; "
        "split the deck into smaller files"
    ]


@pytest.mark.parametrize("name, value", [("page_chars", 0), ("deck_seconds", -1), ("page_content_bytes", True)])
def test_bad_bounds_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=name):
        PdfBounds(**{name: value})

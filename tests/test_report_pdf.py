"""Report-style PDFs read whole: justified, indented and two-column prose rebuilt into whole sentences."""

from __future__ import annotations

import re

import pytest
from pdf_maker import paragraph, prose, report_pages, write_pdf

from egov_qa.ingest.loader import DeckLoader
from egov_qa.ingest.splitter import UnitSplitter

LAYOUTS = {
    "justified": {"gap": 1.0},
    "indented": {"indent": 24.0},
    "indented-ragged": {"indent": 24.0, "justify": False},
    "two-column": {"columns": 2, "indent": 12.0},
}
_SENTENCE = re.compile(r"(?<=\.)\s+(?=[A-Z])")


def read(path):
    return DeckLoader().load_file(path, path.name)[0]


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_every_sentence_is_quoted_whole_and_units_start_sentences(tmp_path, layout):
    texts = prose(30, seed=3)
    pages = report_pages(texts, **LAYOUTS[layout])
    assert len(pages) > 2  # sentences run over page (and column) breaks
    slides = read(write_pdf(tmp_path / "report.pdf", pages))
    units = [u for slide in slides for u in UnitSplitter().split(slide)]
    quoted = " ".join(u.text for u in units)
    for text in texts:
        for sentence in _SENTENCE.split(text):
            assert sentence in quoted, f"not quoted whole: {sentence!r}"
    mid = [u.text for u in units if u.text[:1].islower()]
    assert len(mid) / len(units) <= 0.03, mid


def test_a_sentence_over_a_page_break_is_quoted_from_its_first_page(tmp_path):
    long = "The review board publishes the yearly figures of every agency " + "and every office " * 12 + "in June."
    lines, _ = paragraph(long, 72.0, 0.0, 468.0)
    assert len(lines) > 3
    first = [*paragraph("Opening facts are stated here.", 72.0, 700.0, 468.0)[0]]
    # Two lines of the sentence end page 1; the rest, and one more sentence, open page 2.
    page1 = first + [replace_y(line, 660.0 - 12 * i) for i, line in enumerate(lines[:2])]
    rest = [*lines[2:], *paragraph("Another sentence follows.", 72.0, 0.0, 468.0)[0]]
    rest_text = " ".join(line.text for line in rest)
    page2 = [replace_y(line, 700.0 - 12 * i, x=72.0) for i, line in enumerate(rest)]
    slides = read(write_pdf(tmp_path / "broken.pdf", [page1, page2]))
    one, two = (UnitSplitter().split(slide) for slide in slides)
    assert long in [u.text for u in one]
    assert [u.text for u in two] == ["Another sentence follows."]
    continued = [b for b in slides[1].blocks if b.kind == "continued"]
    assert [slides[1].text[b.start : b.end] for b in continued] == [rest_text.split(" Another")[0]]


def replace_y(line, y, x=None):
    from dataclasses import replace

    return replace(line, y=y, x=line.x if x is None else x)


def test_slides_keep_their_titles_and_short_lines(tmp_path):
    from pdf_maker import Placed

    page = [Placed("Quarterly goals", 72, 700, 24), Placed("Budget review", 72, 650), Placed("staff survey", 90, 638)]
    (slide,) = read(write_pdf(tmp_path / "slide.pdf", [page]))
    assert slide.title == "Quarterly goals"
    assert [u.text for u in UnitSplitter().split(slide)][1:] == ["Budget review", "staff survey"]


def test_a_quote_over_a_page_break_is_boxed_where_it_starts(tmp_path):
    from egov_qa.app.page_image import find_marks

    long = "The review board publishes the yearly figures of every agency " + "and every office " * 12 + "in June."
    lines, _ = paragraph(long, 72.0, 0.0, 468.0)
    page1 = [replace_y(line, 660.0 - 12 * i) for i, line in enumerate(lines[:2])]
    page2 = [replace_y(line, 700.0 - 12 * i, x=72.0) for i, line in enumerate(lines[2:])]
    write_pdf(tmp_path / "broken.pdf", [page1, page2])
    marks = find_marks(str(tmp_path), "broken.pdf", 1, long)
    assert marks is not None and len(marks.quote) == 2  # its two printed lines on page 1

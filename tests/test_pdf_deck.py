"""PDF pages read as a person reads them: paragraphs, bullets, titles, columns and furniture."""

from __future__ import annotations

import re

import pytest
from conftest import DATA, ROOT

from egov_qa.ingest.loader import DeckLoader
from egov_qa.ingest.pdf import Line, furniture_keys, paragraphs, split_page_numbers
from egov_qa.ingest.splitter import UnitSplitter

FEDRAMP = DATA / "fedramp-developer-data-bites-2024-03-07.pdf"
_ENDS_SENTENCE = re.compile(r"[.!?:;]['\")”’]?$")
DECKS = sorted(p for p in DATA.iterdir() if p.suffix in (".pdf", ".pptx")) + sorted(
    (ROOT / "evals" / "decks").glob("*/*.p*")
)


def line(text: str, left: float, top: float, height: float = 20.0, right: float | None = None) -> Line:
    width = 9.0 * len(text)
    return Line(text, left, right if right is not None else left + width, top, top - height, left)


def read(path):
    return DeckLoader().load_file(path, path.name)[0]


def fragments(slides) -> tuple[int, int]:
    """Units that continue the line above them: lower case, after a line that did not end a sentence.

    A bullet item is an item of its own even when it starts in lower case. Words read from
    a picture (code in a screenshot, a line each) are not the page's prose and not counted.
    """
    splitter = UnitSplitter()
    count = total = 0
    for slide in slides:
        starts = {b.start for b in slide.blocks if b.kind == "bullet"}
        for unit in splitter.split(slide):
            if unit.origin == "picture":
                continue
            total += 1
            before = slide.text[: unit.start].rstrip()
            if unit.text[:1].islower() and before and not _ENDS_SENTENCE.search(before) and unit.start not in starts:
                count += 1
    return count, total


@pytest.mark.decks
@pytest.mark.parametrize("path", DECKS, ids=lambda p: p.name)
def test_units_are_whole_sentences_and_items(path):
    count, total = fragments(read(path))
    assert total > 20
    assert count / total < 0.03, f"{count} of {total} units are line fragments"


@pytest.mark.decks
@pytest.mark.parametrize("path", DECKS, ids=lambda p: p.name)
def test_every_unit_is_a_slice_of_the_slide_shown(path):
    for slide in read(path):
        for unit in UnitSplitter().split(slide):
            assert slide.text[unit.start : unit.end] == unit.text


class TestRealDeck:
    @pytest.fixture(scope="class")
    @classmethod
    def slides(cls):
        return {s.number: s for s in read(FEDRAMP)}

    def test_wrapped_bullet_is_one_item(self, slides):
        units = [u.text for u in UnitSplitter().split(slides[2])]
        assert "Future of schematron and using metaschema validation mechanisms via OSCAL-CLI tool" in units

    def test_title_is_the_large_text_at_the_top(self, slides):
        assert slides[2].title == "Introduction"
        assert slides[1].title == "OSCAL Developer Data Bites"

    def test_furniture_is_shown_but_never_a_unit(self, slides):
        slide = slides[5]
        assert "fedramp.gov" in slide.text
        assert all(u.text != "fedramp.gov" and not u.text.isdigit() for u in UnitSplitter().split(slide))

    def test_enumerators_are_kept(self, slides):
        assert "3. Identify and fix false positives/negatives in validation results." in slides[14].text

    def test_two_columns_read_left_before_right(self, slides):
        text = slides[2].text
        assert text.index("Purpose: To create space") < text.index("Agenda:")


class TestParagraphs:
    def test_wrapped_lines_join_and_hyphenation_is_undone(self):
        lines = [line("The imple-", 50, 300), line("mentation uses the OSCAL-", 50, 278), line("CLI tool.", 50, 256)]
        (only,) = paragraphs(lines, frozenset())
        assert only.text == "The implementation uses the OSCAL-CLI tool."

    def test_a_finished_sentence_then_a_capital_starts_a_paragraph(self):
        lines = [line("Title here", 50, 380, 40), line("It ends here.", 50, 300), line("Next one.", 50, 278)]
        found = paragraphs(lines, frozenset())
        assert [p.text for p in found] == ["Title here", "It ends here.", "Next one."]
        assert found[0].kind == "heading"

    def test_bullets_take_levels_from_indentation(self):
        lines = [
            line("Title", 50, 380, 40),
            line("• Top item", 50, 300),
            line("• Inner item", 80, 278),
            line("• Next top", 50, 256),
        ]
        found = paragraphs(lines, frozenset())
        assert [(p.kind, p.level) for p in found[1:]] == [("bullet", 0), ("bullet", 1), ("bullet", 0)]

    def test_read_by_ocr_levels_follow_where_the_words_start(self):
        # The inner item's bullet came in a box of its own, widened by the detector: its line
        # starts left of its words, as far left as the top items' words.
        inner = Line("· Inner item", 50, 170, 278, 258, 80)
        lines = [
            line("Title", 50, 380, 40),
            line("• Top item", 50, 300),
            inner,
            line("• Inner two", 80, 256),
            line("• Next top", 50, 234),
        ]
        levels = [[p.level for p in paragraphs(lines, frozenset(), read_by_ocr=ocr)[1:]] for ocr in (True, False)]
        assert levels == [[0, 1, 1, 0], [0, 0, 1, 0]]

    def test_a_bullet_glyph_drawn_apart_marks_its_item(self):
        lines = [
            line("Title", 50, 380, 40),
            line("First item that", 80, 300),
            line("wraps", 80, 278),
            line("*", 60, 302),
        ]
        found = paragraphs(lines, frozenset())
        assert [(p.kind, p.text) for p in found[1:]] == [("bullet", "First item that wraps")]

    def test_a_gutter_splits_columns_read_left_first(self):
        lines = [
            line("Title", 50, 380, 40),
            line("Right column text.", 400, 300),
            line("Left column text.", 50, 300, right=300),
        ]
        assert [p.text for p in paragraphs(lines, frozenset())] == ["Title", "Left column text.", "Right column text."]


def test_lines_on_most_pages_are_furniture():
    pages = [[line(f"agency.gov {n}", 10, 20), line(f"Fact {n + 7}.", 50, 300)] for n in range(1, 6)]
    assert furniture_keys(pages) == frozenset({"agency.gov"})
    assert [p.kind for p in paragraphs(pages[0], furniture_keys(pages), 1)] == ["heading", "furniture"]


def test_a_mark_of_a_few_letters_on_a_few_pages_is_furniture():
    # A logo's letters read from the page images of 3 slides in 10; a title repeated on 3 is no mark.
    pages = [[line("FR", 500, 380, 40), line("Pre-Submitted Questions", 50, 380, 30)] for _ in range(3)]
    pages += [[line(f"Section {n}", 50, 380, 30)] for n in range(7)]
    assert furniture_keys(pages) == frozenset({"fr"})
    assert len(furniture_keys(pages[:2] + pages[3:])) == 0


def test_page_numbers_printed_on_a_title_are_parted_from_it():
    pages = [[line(f"{n} Topic number {n}", 50, 300), line(f"Rev {n}", 50, 200)] for n in range(1, 5)]
    parted = split_page_numbers(pages)
    assert [ln.text for ln in parted[2]] == ["Topic number 3", "3", "Rev 3"]
    assert split_page_numbers(pages[:2]) == pages[:2]

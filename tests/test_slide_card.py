"""The cited slide as a card, and a PDF page with the quote boxed where it is printed."""

import html
import shutil

import pytest
from conftest import DATA

from egov_qa.app.page_image import draw_marks, find_marks, render_page
from egov_qa.app.slide_card import marked, slide_card
from egov_qa.documents import Block, Slide
from egov_qa.ingest.markdown import split_markdown
from egov_qa.ingest.slides import SlideWriter, finish_slide

INJECTION = "<img src=x onerror=alert(1)>"

DECK = f"""\
# Results

- Customs moved online
  - Export clearance is fast
- Patents <b>too</b>

| | | Before | After |
| --- | --- | --- | --- |
| Services | Customs clearance | 1+days | 2-min |
| | Patent examination | 36 months | 9.8 months |
| Admin | {INJECTION} | 179 | 890 |

※ Source: the agency
"""


@pytest.fixture
def slide() -> Slide:
    (found,) = split_markdown(DECK, "deck.md")
    return found


def quote_of(slide: Slide, text: str) -> tuple[int, int]:
    start = slide.text.index(text)
    return start, start + len(text)


class TestMarked:
    def test_marks_nest_and_text_is_escaped(self):
        text = "a <b> 42 units"
        assert marked(text, 0, len(text), (2, 14), (6, 8)) == "a <mark>&lt;b&gt; <b>42</b> units</mark>"

    def test_a_span_outside_the_quote_is_not_shown(self):
        assert marked("one two", 0, 7, (0, 3), (4, 7)) == "<mark>one</mark> two"

    def test_only_the_part_inside_the_range_is_shown(self):
        assert marked("one two three", 4, 7, (0, 13)) == "<mark>two</mark>"


class TestSlideCard:
    def test_title_bullets_with_levels_and_notes(self, slide):
        card = slide_card(slide)
        assert '<h3 class="slide-title">Slide 1: Results</h3>' in card
        assert card.count("Results") == 1  # the title heading is not shown twice
        assert '<div class="b-bullet level-0">Customs moved online</div>' in card
        assert '<div class="b-bullet level-1">Export clearance is fast</div>' in card
        assert '<div class="b-note">※ Source: the agency</div>' in card

    def test_a_table_is_a_table_with_its_headers_and_the_quoted_row_marked(self, slide):
        row = slide.text[next(b for b in slide.blocks if b.kind == "row").start :].split("\n")[0]
        card = slide_card(slide, quote_of(slide, row), quote_of(slide, "2-min"))
        assert "<thead><tr><th></th><th></th><th>Before</th><th>After</th></tr></thead>" in card
        assert (
            '<tr class="quoted"><td><mark>Services</mark></td><td><mark>Customs clearance</mark></td>'
            "<td><mark>1+days</mark></td><td><mark><b>2-min</b></mark></td></tr>"
        ) in card
        # A row under a group label leaves the label's column empty, its values under their headers.
        assert "<tr><td></td><td>Patent examination</td><td>36 months</td><td>9.8 months</td></tr>" in card

    def test_deck_text_is_never_html(self, slide):
        card = slide_card(slide, quote_of(slide, "Patents <b>too</b>"))
        assert "<img" not in card and "<b>too</b>" not in card
        assert INJECTION in html.unescape(card) and "<mark>Patents &lt;b&gt;too&lt;/b&gt;</mark>" in card

    def test_speaker_notes_under_the_slide_and_furniture_set_apart(self):
        writer = SlideWriter()
        writer.line("Goals", "heading")
        writer.line("Ship it", "bullet")
        writer.line("Say the date: 2019", "notes")
        writer.line("Page 4", "furniture")
        slide = finish_slide("deck.pptx", 4, writer)
        card = slide_card(slide, quote_of(slide, "Say the date: 2019"), quote_of(slide, "2019"))
        notes = card.index('<div class="slide-notes">')
        assert card.index("Ship it") < notes < card.index("<mark>Say the date: <b>2019</b></mark>")
        assert '<div class="slide-furniture"><span>Page 4</span></div>' in card

    def test_a_slide_without_blocks_shows_its_lines(self):
        card = slide_card(Slide("a.txt", 1, "", "first line\nsecond <line>"))
        assert '<div class="b-text">second &lt;line&gt;</div>' in card

    def test_a_quote_in_the_title_is_marked_there(self):
        slide = Slide("a.md", 2, "Budget 2010", "Budget 2010\nMore", (Block("heading", 0, 11), Block("text", 12, 16)))
        assert "Slide 2: <mark>Budget 2010</mark>" in slide_card(slide, (0, 11))


class TestPageMarks:
    @pytest.fixture
    def corpus(self, tmp_path):
        shutil.copy(DATA / "nist-oscal-slides-2020-03-26.pdf", tmp_path / "oscal.pdf")
        return str(tmp_path.resolve())

    def test_a_quote_over_two_printed_lines_gets_a_box_for_each(self, corpus):
        quote = "Answer questions about implementing and using the OSCAL models, and around development"
        marks = find_marks(corpus, "oscal.pdf", 3, quote, "OSCAL models")
        assert marks is not None and len(marks.quote) == 2 and len(marks.span) == 1
        (span,) = marks.span
        first = marks.quote[0]
        assert first[0] <= span[0] and span[2] <= first[2] and first[1] <= span[1] + 1

    def test_a_key_fact_as_long_as_its_line_leaves_the_quotes_edge_showing(self, corpus):
        import numpy as np

        from egov_qa.app.page_image import QUOTE_EDGE, SPAN_EDGE

        image = render_page(corpus, "oscal.pdf", 3)
        quote = "Help the OSCAL community identify development needs"
        drawn = np.asarray(draw_marks(image, find_marks(corpus, "oscal.pdf", 3, quote, quote)), dtype=int)
        for color in (QUOTE_EDGE, SPAN_EDGE):
            assert (np.abs(drawn - np.array(color[:3])).max(axis=2) <= 30).sum() > 50

    def test_words_not_on_the_page_give_no_marks(self, corpus):
        assert find_marks(corpus, "oscal.pdf", 3, "Nothing like this is printed here") is None
        assert find_marks(corpus, "../oscal.pdf", 3, "Goals") is None

    def test_the_boxes_are_drawn_where_the_words_are(self, corpus):
        image = render_page(corpus, "oscal.pdf", 3)
        marks = find_marks(corpus, "oscal.pdf", 3, "Help the OSCAL community identify development needs")
        drawn = draw_marks(image, marks)
        assert drawn.size == image.size and drawn is not image
        left, bottom, right, top = marks.quote[0]
        scale = image.width / (marks.page[2] - marks.page[0])
        inside = (round((left + right) / 2 * scale), round((marks.page[3] - (bottom + top) / 2) * scale))
        far = (image.width // 2, 5)
        assert drawn.getpixel(inside) != image.convert("RGB").getpixel(inside)
        assert drawn.getpixel(far) == image.convert("RGB").getpixel(far)

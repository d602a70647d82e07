"""PowerPoint decks: titles, bullets with levels, tables, groups, speaker notes and bad files."""

from __future__ import annotations

import pytest
from conftest import DATA, FakeEmbedder
from pptx import Presentation
from pptx.util import Inches

from egov_qa.assistant import Assistant
from egov_qa.ingest.loader import DeckLoader
from egov_qa.ingest.pptx import read_pptx

REAL_PPTX = DATA / "nist-oscal-high-level-overview-2018-01.pptx"


def make_deck(path):
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    slide.shapes.title.text = "Budget of the Agency"
    body = slide.placeholders[1].text_frame
    body.text = "The agency spent 120 million dollars in 2010."
    inner = body.add_paragraph()
    inner.text = "Most of it went to online services"
    inner.level = 1
    group = slide.shapes.add_group_shape()
    box = group.shapes.add_textbox(Inches(1), Inches(6), Inches(4), Inches(1))
    box.text_frame.text = "Grouped remark on staffing"
    slide.notes_slide.notes_text_frame.text = "The auditors signed off in March 2011."

    second = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    second.shapes.title.text = "Staff"
    table = second.shapes.add_table(3, 3, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate([["", "2009", "2010"], ["Budget", "100", "120"], ["Staff", "40", "55"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    deck.slides.add_slide(deck.slide_layouts[6])  # blank: no text
    deck.save(path)
    return path


class TestReadPptx:
    def test_slides_titles_bullets_groups_and_notes(self, tmp_path):
        slides, warnings = read_pptx(make_deck(tmp_path / "deck.pptx"), "deck.pptx")
        assert [s.number for s in slides] == [1, 2]
        first = slides[0]
        assert first.title == "Budget of the Agency"
        kinds = [(b.kind, b.level, first.text[b.start : b.end]) for b in first.blocks]
        assert kinds == [
            ("heading", 0, "Budget of the Agency"),
            ("bullet", 0, "The agency spent 120 million dollars in 2010."),
            ("bullet", 1, "Most of it went to online services"),
            ("text", 0, "Grouped remark on staffing"),
            ("notes", 0, "The auditors signed off in March 2011."),
        ]
        assert warnings == ["skipped deck.pptx slide 3: no text (an image only?)"]

    def test_table_rows_carry_their_headers(self, tmp_path):
        slides, _ = read_pptx(make_deck(tmp_path / "deck.pptx"), "deck.pptx")
        rows = [b for b in slides[1].blocks if b.kind == "row"]
        assert [slides[1].text[b.start : b.end] for b in rows] == [
            "Budget | 2009: 100 | 2010: 120",
            "Staff | 2009: 40 | 2010: 55",
        ]
        assert [(c.header, slides[1].text[c.start : c.end]) for c in rows[0].cells] == [
            ("", "Budget"),
            ("2009", "100"),
            ("2010", "120"),
        ]

    def test_real_deck_has_its_slide_numbers_as_furniture_and_notes(self):
        slides, warnings = read_pptx(REAL_PPTX, REAL_PPTX.name)
        assert len(slides) == 7 and not warnings
        assert slides[1].title == "Why OSCAL?"
        assert any(b.kind == "furniture" for b in slides[1].blocks)
        notes = [slides[5].text[b.start : b.end] for b in slides[5].blocks if b.kind == "notes"]
        assert notes == ["TODO: Update diagram to add framework."]

    @pytest.mark.parametrize(
        ("content", "reason"),
        [
            (b"", "the file is empty"),
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "encrypted"),
            (b"PK\x03\x04 this is no zip at all", "not a readable PowerPoint file"),
        ],
        ids=["empty", "encrypted", "damaged"],
    )
    def test_bad_files_are_skipped_with_the_reason(self, tmp_path, content, reason):
        (tmp_path / "bad.pptx").write_bytes(content)
        (tmp_path / "good.md").write_text("# Fine\n\nA fact.\n")
        result = DeckLoader().load(tmp_path)
        assert {s.source for s in result.slides} == {"good.md"}
        assert any(w.startswith("skipped bad.pptx") and reason in w for w in result.warnings)


def test_a_quote_from_speaker_notes_says_so(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_deck(corpus / "deck.pptx")
    assistant = Assistant(corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
    answer = assistant.ask("When did the auditors sign off?")
    assert answer.answer == "The auditors signed off in March 2011."
    assert answer.citations[0].notes is True
    other = assistant.ask("How much did the agency spend in 2010?")
    assert other.citations[0].notes is False


def make_chart_deck(path):
    """A deck whose figures stand only in its charts: a column chart of two series and a pie."""
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    slide.shapes.title.text = "Spending on e-government"
    data = CategoryChartData()
    data.categories = ["2002", "2005", "2008"]
    data.add_series("Budget", (12155, 20272, 31540.5))
    data.add_series("Projects", (14, 23, None))
    frame = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(2), Inches(8), Inches(4), data)
    frame.chart.has_title = True
    frame.chart.chart_title.text_frame.text = "Budget in millions of won"
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Who files online"
    shares = CategoryChartData()
    shares.categories = ["Citizens", "Businesses", "Agencies"]
    shares.add_series("Share of filings", (0.61, 0.27, 0.12))
    second.shapes.add_chart(XL_CHART_TYPE.PIE, Inches(1), Inches(2), Inches(6), Inches(4), shares)
    deck.save(path)
    return path


class TestCharts:
    def test_a_chart_gives_its_title_and_one_row_per_series(self, tmp_path):
        slides, warnings = read_pptx(make_chart_deck(tmp_path / "charts.pptx"), "charts.pptx")
        assert warnings == []
        first = slides[0]
        lines = [(b.kind, first.text[b.start : b.end]) for b in first.blocks]
        assert lines == [
            ("heading", "Spending on e-government"),
            ("heading", "Budget in millions of won"),
            ("row", "Budget | 2002: 12,155 | 2005: 20,272 | 2008: 31,540.5"),
            ("row", "Projects | 2002: 14 | 2005: 23"),
        ]
        budget = first.blocks[2]
        assert [(c.header, first.text[c.start : c.end]) for c in budget.cells][1:] == [
            ("2002", "12,155"),
            ("2005", "20,272"),
            ("2008", "31,540.5"),
        ]
        assert "Share of filings | Citizens: 0.61 | Businesses: 0.27 | Agencies: 0.12" in slides[1].text

    def test_chart_values_are_answered_and_cited_like_table_cells(self, tmp_path):
        corpus = tmp_path / "corpus"
        corpus.mkdir()
        make_chart_deck(corpus / "charts.pptx")
        assistant = Assistant(corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
        answer = assistant.ask("What was the budget in 2005?")
        assert answer.answer == "Budget | 2002: 12,155 | 2005: 20,272 | 2008: 31,540.5"
        assert answer.span is not None and answer.span.text == "20,272"
        cited = answer.citations[0]
        assert (cited.source, cited.slide) == ("charts.pptx", 1)
        assert cited.text[cited.start : cited.end] == answer.answer
        share = assistant.ask("What share of filings came from businesses?")
        assert share.citations[0].slide == 2
        assert share.span is not None and share.span.text == "0.27"

"""Pictures on PDF pages that also have a text layer: their words read by OCR, marked, answered and boxed;
and page boxes inherited from the page tree."""

from __future__ import annotations

import shutil

import pytest
from conftest import FakeEmbedder
from pdf_maker import Picture, Placed, write_pdf

from egov_qa.app.page_image import draw_marks, find_marks, render_page
from egov_qa.assistant import Assistant
from egov_qa.ingest.loader import DeckLoader
from egov_qa.ingest.splitter import UnitSplitter

FACTS = [
    "The tax office opened online filing in 2003.",
    "Paper forms fell by half within two years.",
    "Every district now keeps a help desk.",
]


def picture_of(folder, lines: list[str], size: float = 18):
    """A picture of ``lines`` typed in large type (as a screenshot or a diagram holds words)."""
    import pypdfium2 as pdfium

    typed = write_pdf(folder / "typed.pdf", [[Placed(text, 40, 700 - 40 * i, size) for i, text in enumerate(lines)]])
    document = pdfium.PdfDocument(str(typed))
    try:
        return document[0].render(scale=2, crop=(0, 800 - 40 * len(lines) - 140, 0, 60)).to_pil()
    finally:
        document.close()


@pytest.fixture(scope="module")
def pictured(tmp_path_factory):
    """A deck of one page: a typed title and line, a picture of the facts under them, and an icon."""
    folder = tmp_path_factory.mktemp("pictured")
    picture = picture_of(folder, FACTS)
    icon = picture.resize((30, 30))
    typed = [Placed("Filing online", 60, 720, 28), Placed("What the tax office reports:", 60, 680, 14)]
    corpus = folder / "corpus"
    corpus.mkdir()
    write_pdf(
        corpus / "pictured.pdf",
        [typed],
        pictures={
            0: [Picture(picture, 40, 300, 530, 530 * picture.height / picture.width), Picture(icon, 540, 740, 30, 30)]
        },
    )
    return corpus


def test_words_in_a_picture_on_a_typed_page_are_read_after_its_text_and_marked(pictured):
    (slide,), warnings = DeckLoader().load_file(pictured / "pictured.pdf", "pictured.pdf")
    assert warnings == []
    units = UnitSplitter().split(slide)
    assert [(u.text, u.origin) for u in units] == [
        ("Filing online", ""),
        ("What the tax office reports:", ""),
        *[(fact, "picture") for fact in FACTS],
    ]


def test_a_fact_in_a_picture_is_answered_cited_as_from_a_picture_and_boxed_where_the_picture_shows_it(
    pictured, tmp_path
):
    from egov_qa.app.render import answer_text

    answer = Assistant(pictured, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0).ask(
        "Where does every district keep a help desk?"
    )
    assert answer.answer == FACTS[2]
    assert answer.citations[0].origin == "picture"
    assert "read by OCR from a picture" in answer_text(answer)
    marks = find_marks(str(pictured), "pictured.pdf", 1, answer.answer)
    assert marks is not None and len(marks.quote) == 1
    left, bottom, right, top = marks.quote[0]
    # The picture spans x 40 to 570 and y 300 up; its third line is in its lower part.
    assert 40 < left < right < 570 and 300 < bottom < top < 420
    plain = render_page(str(pictured), "pictured.pdf", 1)
    assert draw_marks(plain, marks).tobytes() != plain.convert("RGB").tobytes()
    # A typed line is still boxed from the text layer.
    typed = find_marks(str(pictured), "pictured.pdf", 1, "What the tax office reports:")
    assert typed is not None and 670 < typed.quote[0][1] < 700


def test_words_typed_over_a_picture_are_not_read_twice(tmp_path):
    backdrop = picture_of(tmp_path, FACTS[:2])
    # The picture is drawn exactly under the same words typed in the same place.
    typed = [Placed(text, 40, 700 - 40 * i, 18) for i, text in enumerate(FACTS[:2])]
    height = 612 * backdrop.height / backdrop.width
    write_pdf(tmp_path / "over.pdf", [typed], pictures={0: [Picture(backdrop, 0, 732 - height, 612, height)]})
    (slide,), _ = DeckLoader().load_file(tmp_path / "over.pdf", "over.pdf")
    units = UnitSplitter().split(slide)
    assert [(u.text, u.origin) for u in units] == [(fact, "") for fact in FACTS[:2]]


def test_a_page_box_inherited_from_the_page_tree_places_the_quote_on_the_page(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_pdf(
        corpus / "wide.pdf",
        [[Placed("Results", 60, 480, 28), Placed("Online filing grew every year.", 60, 200, 18)]],
        size=(960, 540),
        inherited_box=True,
    )
    marks = find_marks(str(corpus), "wide.pdf", 1, "Online filing grew every year.")
    assert marks is not None
    assert marks.page == (0.0, 0.0, 960.0, 540.0)  # the page's own size, not a US Letter page
    left, bottom, _, top = marks.quote[0]
    assert 55 < left < 65 and 190 < bottom < 205 < top < 225
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    (slide,), _ = DeckLoader().load_file(copy / "wide.pdf", "wide.pdf")
    assert slide.title == "Results"


def test_a_turned_page_with_a_picture_is_read_for_its_text_and_a_picture_that_fails_costs_only_itself(
    tmp_path, monkeypatch
):
    from pypdf import PdfReader, PdfWriter

    from egov_qa.ingest import pdf

    picture = picture_of(tmp_path, FACTS)
    drawn = write_pdf(
        tmp_path / "drawn.pdf",
        [[Placed("Filing online", 60, 720, 28)], [Placed("Help desks", 60, 720, 28)]],
        pictures={n: [Picture(picture, 40, 500, 530, 530 * picture.height / picture.width)] for n in (0, 1)},
    )
    writer = PdfWriter(clone_from=PdfReader(drawn))
    writer.pages[0].rotate(90)
    writer.write(tmp_path / "turned.pdf")
    slides, warnings = DeckLoader().load_file(tmp_path / "turned.pdf", "turned.pdf")
    assert warnings == []
    assert [s.title for s in slides] == ["Filing online", "Help desks"]
    assert not [b for b in slides[0].blocks if b.origin == "picture"]  # the turned page: its text only
    assert [b for b in slides[1].blocks if b.origin == "picture"]

    def broken(*args):
        raise ValueError("a picture PDFium cannot draw")

    monkeypatch.setattr(pdf, "picture_lines", broken)
    slides, warnings = DeckLoader().load_file(tmp_path / "turned.pdf", "again.pdf")
    assert [s.title for s in slides] == ["Filing online", "Help desks"]
    assert warnings == [
        "again.pdf page 2: its pictures cannot be read (ValueError: a picture PDFium cannot draw); its text is read"
    ]

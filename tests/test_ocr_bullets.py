"""Bullets drawn beside lines in a picture: found by their shape, so that a list's items stay apart."""

from __future__ import annotations

import numpy as np
from pdf_maker import Placed, write_pdf

from egov_qa.ingest.loader import DeckLoader
from egov_qa.ingest.ocr_bullets import bullets
from egov_qa.ingest.splitter import UnitSplitter

ITEMS = [
    "Provide the status of the project work",
    "Answer questions about using the models",
    "Review the priorities with the community",
]


def page(marks: list[tuple[int, int, int, int]], words: list[tuple[int, int, int, int]]) -> np.ndarray:
    """A white page with black boxes: ``marks`` and ``words`` (left, top, right, bottom in pixels)."""
    gray = np.full((400, 600), 255, dtype=np.uint8)
    for left, top, right, bottom in [*marks, *words]:
        gray[top:bottom, left:right] = 0
    return gray


def test_a_mark_beside_each_line_of_a_list_is_a_bullet():
    boxes = [(100, 50, 400, 90), (100, 110, 420, 150), (100, 170, 380, 210)]
    words = [(108, 60, 390, 80), (108, 120, 410, 140), (108, 180, 370, 200)]
    gray = page([(70, 62, 84, 76), (70, 122, 84, 136)], words)
    assert bullets(gray, boxes) == [70.0, 70.0, None]


def test_one_mark_alone_or_a_stroke_is_no_bullet():
    boxes = [(100, 50, 400, 90), (100, 110, 420, 150)]
    words = [(108, 60, 390, 80), (108, 120, 410, 140)]
    lone = page([(70, 62, 84, 76)], words)
    assert bullets(lone, boxes) == [None, None]
    # A rule running from the page's edge, and a thin line: parts of drawings, not marks.
    drawn = page([(0, 62, 84, 76), (70, 112, 72, 148)], words)
    assert bullets(drawn, boxes) == [None, None]
    # A mark as tall as the line's box is a letter or a picture, not a bullet.
    tall = page([(60, 50, 90, 90), (60, 110, 90, 150)], words)
    assert bullets(tall, boxes) == [None, None]


def outline(left: int, top: int, side: int) -> list[tuple[int, int, int, int]]:
    """The four sides, one pixel thick, of a hollow square (as ``page`` marks)."""
    right, bottom = left + side, top + side
    return [
        (left, top, right, top + 1),
        (left, bottom - 1, right, bottom),
        (left, top, left + 1, bottom),
        (right - 1, top, right, bottom),
    ]


def test_a_ring_or_a_hollow_square_is_a_bullet_but_an_open_stroke_is_not():
    boxes = [(100, 50, 400, 90), (100, 110, 420, 150)]
    words = [(108, 60, 390, 80), (108, 120, 410, 140)]
    hollow = page([*outline(70, 62, 14), *outline(70, 122, 14)], words)
    assert bullets(hollow, boxes) == [70.0, 70.0]
    # The same squares with a side left out enclose nothing: strokes of a drawing, not marks.
    opened = page([*outline(70, 62, 14)[:3], *outline(70, 122, 14)[:3]], words)
    assert bullets(opened, boxes) == [None, None]


def drawn_list(tmp_path):
    """A picture of ITEMS, each after a solid triangle, as slide themes draw bullets."""
    import pypdfium2 as pdfium
    from PIL import ImageDraw

    typed = write_pdf(tmp_path / "typed.pdf", [[Placed(item, 90, 600 - 40 * i, 18) for i, item in enumerate(ITEMS)]])
    document = pdfium.PdfDocument(str(typed))
    scale = 150 / 72
    image = document[0].render(scale=scale).to_pil().convert("RGB")
    height_points = document[0].get_height()
    document.close()
    draw = ImageDraw.Draw(image)
    for i in range(len(ITEMS)):
        middle = (height_points - (600 - 40 * i) - 6) * scale
        corners = [(60 * scale, middle - 6 * scale), (60 * scale, middle + 6 * scale), (72 * scale, middle)]
        draw.polygon(corners, "black")
    return image


def test_a_scanned_list_keeps_its_items_apart(tmp_path):
    scanned = tmp_path / "corpus" / "scanned.pdf"
    scanned.parent.mkdir()
    drawn_list(tmp_path).save(scanned, resolution=150)

    (slide,), warnings = DeckLoader().load_file(scanned, "scanned.pdf")
    assert warnings == []
    kinds = [(slide.text[b.start : b.end], b.kind) for b in slide.blocks]
    assert kinds == [(item, "bullet") for item in ITEMS]
    assert [u.text for u in UnitSplitter().split(slide)] == ITEMS


def test_a_list_in_a_picture_on_a_slide_keeps_its_items_without_bullet_glyphs(tmp_path):
    from pptx import Presentation
    from pptx.util import Inches

    picture = drawn_list(tmp_path)
    picture.crop((0, 0, picture.width, picture.height // 2)).save(tmp_path / "list.png")
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    slide.shapes.title.text = "Community work"
    slide.shapes.add_picture(str(tmp_path / "list.png"), Inches(0.5), Inches(1.5), width=Inches(9))
    deck.save(tmp_path / "list.pptx")

    (read,), warnings = DeckLoader().load_file(tmp_path / "list.pptx", "list.pptx")
    assert warnings == []
    items = [(read.text[b.start : b.end], b.kind, b.origin) for b in read.blocks if b.origin == "picture"]
    assert items == [(item, "bullet", "picture") for item in ITEMS]

"""Reading PowerPoint decks (.pptx) with python-pptx: one slide per slide, in deck order.

The title placeholder is the slide's title; every other shape is read in the
order a person reads the slide (top to bottom, then left to right), grouped
shapes included: each paragraph of a text frame is a bullet with its level (or
a line of text outside the body placeholders), a table gives one row unit
per row that carries its column headers, as Markdown tables do, and a chart gives
its title and one row per series with its categories as headers
(``Budget | 2002: 12,155 | 2005: 20,272``). Slide numbers,
footers and dates are page furniture. A picture large enough to hold words
is read by OCR (:mod:`egov_qa.ingest.ocr`) and its lines are marked ``picture``.
Speaker notes follow the slide's own text as ``notes`` lines: searchable and quotable, and a quote from them says so.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import Path

from egov_qa.documents import Slide
from egov_qa.ingest import ocr_words
from egov_qa.ingest.ocr import MIN_PICTURE_PIXELS, DeckOcr
from egov_qa.ingest.pdf import Line, ocr_layout, paragraphs, strip_bullet
from egov_qa.ingest.slides import SlideWriter, finish_slide

# A picture shown smaller than this on its slide (in EMU: 1.5 by 0.5 inches) holds no words worth reading.
MIN_PICTURE_EMU = (1_371_600, 457_200)

# An encrypted .pptx (and an old binary .ppt renamed) is an OLE compound file, not a zip.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_pptx(path: Path, source: str) -> tuple[list[Slide], list[str]]:
    """Read a PowerPoint deck into slides; returns the slides and warnings (never raises)."""
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_OLE_MAGIC))
    except OSError as exc:
        return [], [f"skipped {source}: cannot be read ({exc.strerror or exc})"]
    if not head:
        return [], [f"skipped {source}: the file is empty"]
    if head == _OLE_MAGIC:
        return [], [
            f"skipped {source}: the PowerPoint file is encrypted (or an old .ppt renamed); "
            "save an unencrypted .pptx copy"
        ]
    try:
        deck = Presentation(str(path))
        slides_in = list(deck.slides)
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        return [], [f"skipped {source}: not a readable PowerPoint file ({type(exc).__name__}: {exc})"]
    slides, warnings = [], []
    ocr = DeckOcr(source, len(slides_in), unit="slide")
    # The deck's words (its text, and every picture read), to part names OCR ran together.
    texts = (shape.text_frame.text for slide in slides_in for shape in slide.shapes if shape.has_text_frame)
    vocabulary = ocr_words.deck_words(texts)
    for number, slide in enumerate(slides_in, 1):
        try:
            read = _slide(slide, source, number, ocr, vocabulary)
        except Exception as exc:  # noqa: BLE001 - a damaged part can fail in many ways
            warnings.append(f"skipped {source} slide {number}: it cannot be read ({type(exc).__name__}: {exc})")
            continue
        if read is None:
            warnings.append(f"skipped {source} slide {number}: no text (an image only?)")
            continue
        slides.append(read)
    ocr.close()
    warnings += ocr.warnings
    if not slides:
        return [], [f"skipped {source}: no slide holds text", *warnings]
    return slides, warnings


def _kind_of(shape) -> str:
    """``title``, ``furniture``, ``body`` (bullets) or ``text`` for a shape."""
    from pptx.enum.shapes import PP_PLACEHOLDER

    if not shape.is_placeholder:
        return "text"
    kind = shape.placeholder_format.type
    if kind in (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE, PP_PLACEHOLDER.VERTICAL_TITLE):
        return "title"
    if kind in (PP_PLACEHOLDER.SLIDE_NUMBER, PP_PLACEHOLDER.FOOTER, PP_PLACEHOLDER.DATE, PP_PLACEHOLDER.HEADER):
        return "furniture"
    if kind in (PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT, PP_PLACEHOLDER.VERTICAL_BODY):
        return "body"
    return "text"


def _reading_order(shapes) -> list:
    """Shapes top to bottom, then left to right (shapes without a position keep their place)."""
    return sorted(shapes, key=lambda s: (s.top if s.top is not None else 0, s.left if s.left is not None else 0))


def _paragraph_text(paragraph) -> str:
    # python-pptx shows a line break inside a paragraph as a vertical tab.
    return paragraph.text.replace("\v", " ")


def _write_shapes(
    writer: SlideWriter, shapes, ocr: DeckOcr | None = None, number: int = 0, vocabulary: Counter | None = None
) -> None:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in _reading_order(shapes):
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            _write_shapes(writer, shape.shapes, ocr, number, vocabulary)
            continue
        if ocr is not None and _is_picture(shape):
            _write_picture(writer, shape, ocr, number, vocabulary if vocabulary is not None else Counter())
            continue
        if getattr(shape, "has_chart", False) and shape.has_chart:
            _write_chart(writer, shape.chart)
            continue
        if getattr(shape, "has_table", False) and shape.has_table:
            rows = [[cell.text.replace("\v", " ") for cell in row.cells] for row in shape.table.rows]
            for values in rows[1:]:
                writer.row(rows[0], values)
            continue
        if not shape.has_text_frame:
            continue
        kind = _kind_of(shape)
        if kind == "title":
            continue  # written first, by _slide
        for paragraph in shape.text_frame.paragraphs:
            text = _paragraph_text(paragraph)
            if kind == "furniture":
                writer.line(text, "furniture")
            elif kind == "body" or paragraph.level > 0:
                writer.line(text, "bullet", paragraph.level)
            else:
                writer.line(text, "text")


def _is_picture(shape) -> bool:
    """A picture shown large enough on its slide to hold words (not an icon or a logo)."""
    try:
        shape.image  # noqa: B018 - a shape that holds a picture has one; others raise
    except (AttributeError, ValueError, KeyError):
        return False
    return (shape.width or 0) >= MIN_PICTURE_EMU[0] and (shape.height or 0) >= MIN_PICTURE_EMU[1]


def _write_picture(writer: SlideWriter, shape, ocr: DeckOcr, number: int, vocabulary: Counter) -> None:
    """The words in a picture, read by OCR into lines marked as ``picture``, where the picture stands."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(shape.image.blob))
        image.load()
    except (OSError, UnidentifiedImageError, ValueError):
        return  # a format Pillow cannot draw (a Windows metafile): nothing to read
    if min(image.size) < MIN_PICTURE_PIXELS:
        return
    found = ocr.read(image, f"slide {number}")
    if not found:
        return
    # Pixels grow downwards; the layout reader's points grow upwards.
    vocabulary.update(ocr_words.deck_words(line.text for line in found))
    lines = [
        Line(
            ocr_words.unglue(line.text, vocabulary),
            line.left,
            line.right,
            -line.top,
            -line.bottom,
            line.left if line.text_left is None else line.text_left,
        )
        for line in found
    ]
    for p in paragraphs(ocr_layout(lines), frozenset(), read_by_ocr=True):
        # An item without its bullet glyph, as the PDF reader writes one and a slide's own list holds it.
        if p.kind == "bullet":
            writer.line(strip_bullet(p.text), "bullet", p.level, "picture")
        else:
            writer.line(p.text, "text", p.level, "picture")


def chart_value(value: float | None) -> str:
    """A chart's number as a person writes it: ``12,155``, ``3.5``; empty when the point has none."""
    if value is None or value != value:  # a gap in the series (None or NaN)
        return ""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.2f}"


def _write_chart(writer: SlideWriter, chart) -> None:
    """A chart as facts: its title as a heading, then one row per series, its categories as headers.

    ``Budget | 2002: 12,155 | 2005: 20,272``: each value is a table cell, so it
    is answered and highlighted as a table's cell is.
    """
    if chart.has_title and chart.chart_title.has_text_frame:
        writer.line(chart.chart_title.text_frame.text.replace("\v", " "), "heading")
    for plot in chart.plots:
        categories = [str(label) for label in plot.categories]
        for series in plot.series:
            values = [chart_value(v) for v in series.values]
            # A series without a name stands under the chart's own label for it.
            name = series.name or "Series"
            writer.row(["", *categories], [name, *values])


def _slide(
    slide, source: str, number: int, ocr: DeckOcr | None = None, vocabulary: Counter | None = None
) -> Slide | None:
    writer = SlideWriter()
    title = next((s for s in slide.shapes if s.has_text_frame and _kind_of(s) == "title"), None)
    if title is not None:
        writer.line(" ".join(_paragraph_text(p) for p in title.text_frame.paragraphs), "heading")
    _write_shapes(writer, slide.shapes, ocr, number, vocabulary)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        for paragraph in slide.notes_slide.notes_text_frame.paragraphs:
            writer.line(_paragraph_text(paragraph), "notes")
    return finish_slide(source, number, writer)

"""A PDF slide's page as a picture, with the quoted words boxed where they are printed.

The slide text of a PDF is rebuilt from the page's layout (``pdf_deck.py``):
lines joined, hyphens undone, bullets removed. So the quote is found on the page
by its letters and digits alone, in PDFium's character order, and each printed
line it covers gets one box (pypdfium2 gives every character's box).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import cachetools

from egov_qa.ingest.pdf import OCR_MIN_LETTERS, page_box

log = logging.getLogger(__name__)

# A page is rendered at most this many pixels on its longer side, whatever its page box.
MAX_PAGE_PIXELS = 2000
PAGE_SCALE = 1.2
# Rendered pages kept for reuse, bounded by their size in memory.
PAGE_CACHE_BYTES = 128 * 1024 * 1024
# Pages read by OCR (no text layer) whose lines are kept for boxing quotes.
OCR_CACHE_PAGES = 32
QUOTE_FILL = (253, 224, 71, 90)
QUOTE_EDGE = (217, 119, 6, 255)
SPAN_EDGE = (220, 38, 38, 255)

Box = tuple[float, float, float, float]  # left, bottom, right, top in PDF points


@dataclass(frozen=True)
class PageMarks:
    """Where a quote is printed on a page: one box per printed line, in PDF points.

    ``page`` is the page's crop box (left, bottom, right, top); ``span`` boxes the
    key fact inside the quote.
    """

    page: Box
    quote: tuple[Box, ...]
    span: tuple[Box, ...] = ()


def _image_bytes(image) -> int:
    return 1 if image is None else image.width * image.height * len(image.getbands())


_pages: cachetools.LRUCache = cachetools.LRUCache(maxsize=PAGE_CACHE_BYTES, getsizeof=_image_bytes)
_pages_lock = threading.Lock()


def inside(corpus_dir: str, source: str) -> Path | None:
    """``corpus_dir/source`` when it is a file inside the corpus, else None."""
    path = (Path(corpus_dir) / source).resolve()
    if Path(corpus_dir).resolve() not in path.parents or not path.is_file():
        return None
    return path


def render_page(corpus_dir: str, source: str, number: int):
    """Page ``number`` of ``corpus_dir/source`` as an image (only inside the corpus), cached by size."""
    key = (corpus_dir, source, number)
    with _pages_lock:
        if key in _pages:
            return _pages[key]
    image = _render(corpus_dir, source, number)
    with _pages_lock, contextlib.suppress(ValueError):  # ValueError: larger than the whole cache
        _pages[key] = image
    return image


def _render(corpus_dir: str, source: str, number: int):
    """Render one page with pypdfium2, at most :data:`MAX_PAGE_PIXELS` on its longer side."""
    path = inside(corpus_dir, source)
    if path is None:
        return None
    try:
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(str(path))
        try:
            page = document[number - 1]
            # A page box can be 200 inches wide: scale it down, never past the cap.
            longest = max(page.get_size()) or 1.0
            return page.render(scale=min(PAGE_SCALE, MAX_PAGE_PIXELS / longest)).to_pil()
        finally:
            document.close()
    except Exception as exc:  # noqa: BLE001 - a page that will not render is shown as text only
        log.warning("cannot render %s page %d: %s", source, number, exc)
        return None


def _letters(text: str) -> str:
    """What a quote is matched by: its letters and digits, compatibility-folded, in lower case."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())


def _line_boxes(boxes: list[Box]) -> tuple[Box, ...]:
    """Character boxes merged into one box per printed line (a new line when they stop overlapping)."""
    lines: list[list[float]] = []
    for left, bottom, right, top in boxes:
        last = lines[-1] if lines else None
        overlap = min(top, last[3]) - max(bottom, last[1]) if last else 0.0
        if last and overlap > 0.5 * min(top - bottom, last[3] - last[1]):
            last[0], last[1] = min(last[0], left), min(last[1], bottom)
            last[2], last[3] = max(last[2], right), max(last[3], top)
        else:
            lines.append([left, bottom, right, top])
    return tuple((a, b, c, d) for a, b, c, d in lines)


def find_marks(corpus_dir: str, source: str, number: int, quote: str, span: str | None = None) -> PageMarks | None:
    """Where ``quote`` (and ``span`` inside it) is printed on page ``number``; None when not found.

    Returns:
        The page's crop box and the quote's boxes, or None (no such page, a rotated
        page, or words not printed in the order the slide text has them).
    """
    wanted = _letters(quote)
    path = inside(corpus_dir, source)
    if not wanted or path is None:
        return None
    try:
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        document = pdfium.PdfDocument(str(path))
        try:
            page = document[number - 1]
            if page.get_rotation() % 360:
                return None
            textpage = page.get_textpage()
            letters: list[str] = []
            owners: list[int] = []
            for i in range(textpage.count_chars()):
                code = pdfium_c.FPDFText_GetUnicode(textpage, i)
                if not 0 < code < 0x110000 or 0xD800 <= code <= 0xDFFF:
                    continue
                for letter in _letters(chr(code)):
                    letters.append(letter)
                    owners.append(i)
            printed = "".join(letters)
            if len(printed) < OCR_MIN_LETTERS:  # a thin text layer over a picture: the slide was read by OCR
                return _ocr_marks(path, number, page, wanted, _letters(span or ""))
            at = printed.find(wanted)
            if at < 0:
                # A sentence that runs over a page break is quoted whole from its first page: box what is here.
                prefix = _longest_prefix(printed, wanted)
                at = printed.find(prefix) if prefix else -1
                if at < 0:
                    # Words read from a picture on the page.
                    return _ocr_marks(path, number, page, wanted, _letters(span or ""), pictures=True)
                wanted = prefix

            def boxes(first: int, last: int) -> tuple[Box, ...]:
                chars = sorted(set(owners[first:last]))
                return _line_boxes([textpage.get_charbox(i) for i in chars])

            key: tuple[Box, ...] = ()
            key_letters = _letters(span or "")
            if key_letters:
                inner = wanted.find(key_letters)
                if inner >= 0:
                    key = boxes(at + inner, at + inner + len(key_letters))
            return PageMarks(page_box(page), boxes(at, at + len(wanted)), key)
        finally:
            document.close()
    except Exception as exc:  # noqa: BLE001 - the page is still shown, only without its boxes
        log.warning("cannot find the quote on %s page %d: %s", source, number, exc)
        return None


def _longest_prefix(printed: str, wanted: str) -> str:
    """The longest start of ``wanted`` printed on the page, when it is at least half of it (else '')."""
    low, high = 0, len(wanted)  # a start found means every shorter start is found too
    while low < high:
        middle = (low + high + 1) // 2
        if wanted[:middle] in printed:
            low = middle
        else:
            high = middle - 1
    return wanted[:low] if low >= max(len(wanted) // 2, 20) else ""


@functools.lru_cache(maxsize=OCR_CACHE_PAGES)
def _ocr_boxes(path: Path, number: int, mtime: float, pictures: bool = False) -> tuple[tuple[str, Box], ...]:
    """The letters and box (in PDF points) of each line OCR reads on a page without a text layer,
    or (``pictures``) in the pictures of a page with one."""
    import pypdfium2 as pdfium

    from egov_qa.ingest.ocr import read_image
    from egov_qa.ingest.pdf import ocr_line, page_lines, picture_boxes, picture_lines, render_for_ocr

    document = pdfium.PdfDocument(str(path))
    try:
        page = document[number - 1]
        if pictures:
            textpage = page.get_textpage()
            try:
                printed = page_lines(textpage)
            finally:
                textpage.close()
            lines = (
                picture_lines(page, picture_boxes(page), lambda image, what: read_image(image), number, printed) or []
            )
        else:
            image, scale = render_for_ocr(page)
            left, _, _, top = page_box(page)
            lines = [ocr_line(line, scale, left, top) for line in read_image(image)]
        return tuple((_letters(line.text), (line.left, line.bottom, line.right, line.top)) for line in lines)
    finally:
        document.close()


def _ocr_marks(path: Path, number: int, page, wanted: str, key: str, pictures: bool = False) -> PageMarks | None:
    """Where a quote read by OCR is printed: the lines whose words it holds (order-free, as OCR finds lines).

    A line is boxed when its letters stand inside the quote's, or the quote's
    start or end stands inside the line's. ``pictures``: the quote was read from
    a picture on a page with a text layer.
    """
    lines = _ocr_boxes(path, number, path.stat().st_mtime, pictures)

    def holds(letters: str, target: str) -> bool:
        if letters in target or target in letters:
            return True
        start = letters.find(target[:12])  # the quote starts inside this line and runs past it
        if start >= 0 and target.startswith(letters[start:]):
            return True
        end = letters.find(target[-12:])  # the quote ends inside this line, begun above it
        return end >= 0 and target.endswith(letters[: end + len(target[-12:])])

    def covered(target: str) -> tuple[Box, ...]:
        return tuple(box for letters, box in lines if len(letters) >= 3 and holds(letters, target))

    quote = covered(wanted)
    if not quote:
        return None
    return PageMarks(page_box(page), quote, covered(key) if key else ())


def draw_marks(image, marks: PageMarks):
    """A copy of the rendered page ``image`` with the quote's boxes drawn over it."""
    from PIL import Image, ImageDraw

    left, bottom, right, top = marks.page
    scale_x = image.width / ((right - left) or 1.0)
    scale_y = image.height / ((top - bottom) or 1.0)
    pad = max(2, round(2 * scale_x))

    def pixels(box: Box, margin: int = pad) -> tuple[int, int, int, int]:
        # PDF points grow upwards from the crop box's corner; pixels grow downwards.
        x0, y0, x1, y1 = box
        return (
            round((x0 - left) * scale_x) - margin,
            round((top - y1) * scale_y) - margin,
            round((x1 - left) * scale_x) + margin,
            round((top - y0) * scale_y) + margin,
        )

    base = image.convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    width = max(2, round(scale_x * 1.5))
    for box in marks.quote:
        draw.rectangle(pixels(box), fill=QUOTE_FILL, outline=QUOTE_EDGE, width=width)
    for box in marks.span:
        # Inside the quote's box, so that a key fact as long as a printed line leaves its edge showing.
        draw.rectangle(pixels(box, pad - width), outline=SPAN_EDGE, width=width + 1)
    return Image.alpha_composite(base, overlay).convert("RGB")

"""Reading PDF decks as a person reads them: printed lines rebuilt into sentences and bullets.

A slide exported to PDF keeps no paragraphs, only positioned lines of glyphs.
pypdfium2 gives each character with its box (PDFium's text page), so the layout
can be read rather than guessed from plain text: lines are grouped back into
paragraphs and bullet items by their position, size and indentation, wrapped
lines are joined (end-of-line hyphenation undone), two-column pages are read
column by column, the largest text at the top of a page is its title, and lines
repeated on most pages of the deck (footers, site names, page numbers) are kept
as page furniture: shown, never an answer on their own.

pypdf opens the file first: it tells an encrypted or corrupt PDF apart with a
clear reason, before the layout is read.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from egov_qa.documents import Slide
from egov_qa.ingest import ocr_tables, ocr_words
from egov_qa.ingest.ocr import MAX_SCALE, MIN_PICTURE_PIXELS, PAGE_SIDE_PIXELS, DeckOcr, OcrLine
from egov_qa.ingest.pdf_bounds import DeckBudget, PdfBounds
from egov_qa.ingest.slides import BULLET_GLYPHS, BULLET_ONLY, SENTENCE_END, SlideWriter, finish_slide
from egov_qa.text import PREPOSITIONS

# A line that opens a list item: a bullet glyph (private-use code points are
# the Wingdings and Symbol bullets of office exports) or a short enumerator.
_BULLET = re.compile(rf"^(?:{BULLET_GLYPHS}|\(?(?:\d{{1,2}}|[a-zA-Z])[.)])\s+")
_SPACE = re.compile(r"\s+")
# A line on at least this share of a deck's pages (and on 3 or more) is furniture.
FURNITURE_SHARE = 0.5
FURNITURE_MIN_PAGES = 3
# A line of at most this many characters, one word, standing on FURNITURE_MIN_PAGES pages is a mark (a logo).
MARK_CHARS = 3
# The longest line of text that can lead a list of bullet items as its heading.
LEAD_CHARS = 60
# A line this many times its height wide is a line of prose (a report's, not a slide's);
# the first line of a prose paragraph may be indented by up to INDENT_HEIGHTS.
PROSE_HEIGHTS = 20
INDENT_HEIGHTS = 6
# A paragraph goes on over a column or page break only from prose this wide (in line heights).
COLUMN_HEIGHTS = 15
# A page's topmost text stands as its title only when it is this short (a report page
# begins with prose, not a title).
TITLE_CHARS = 150
# On a page read by OCR, a line may wrap from a paragraph this many paragraphs back, when only
# paragraphs beside it (another column's, come interleaved) were found in between.
BESIDE_GROUPS = 2
# A page's text layer with fewer letters than this is read from its image by OCR instead;
# so is one where fewer than GARBLED_SHARE of its characters are letters, spaces or punctuation.
OCR_MIN_LETTERS = 20
# Pieces of a line that OCR found apart are joined across a gap narrower than this many line heights.
WORD_GAP_HEIGHTS = 1.2
# ...and the words of a table's cell across a gap narrower than this (a word space, not a gutter).
CELL_GAP_HEIGHTS = 0.5
# Boxes found on an image are taller where a line has letters that reach below it ("g",
# "y"): lines of one size of type differ in height by up to this share.
OCR_SIZE_SHARE = 0.35
# A title over a page's columns, read before them, is at most this many lines.
HEADING_LINES = 3
GARBLED_SHARE = 0.7
# A page with a thin text layer is read by OCR when a picture covers this share of it.
OCR_PICTURE_SHARE = 0.2
# On a page with a text layer, a picture is read by OCR when it covers this share of the page
# and is at least this large in points (1.5 by 0.5 inches, as on PowerPoint slides): a
# screenshot or a diagram, not an icon or a rule.
PICTURE_SHARE = 0.05
PICTURE_POINTS = (108.0, 36.0)
# An OCR line in a picture that lies this much under the page's text layer is text printed
# over the picture, already read.
PRINTED_OVER_SHARE = 0.5
HANGING_WORDS = PREPOSITIONS | frozenset("the a an and or nor".split())
_PUNCTUATION = frozenset(".,;:!?'\"()[]{}-–—/&%$€£#@*+=<>|•·…’‘“”®©™§°")
# Where a sentence ends inside a paragraph.
_SENTENCE_STOP = re.compile(r"[.!?]['\")”’]?(?=\s|$)")


@dataclass(frozen=True)
class Line:
    """One printed line of a page: its text and its box in PDF points (y grows upwards)."""

    text: str
    left: float
    right: float
    top: float
    bottom: float
    text_left: float = 0.0  # where a bullet item's words start, past its bullet glyph
    row: bool = False  # a table's row read from a picture, its cells joined: a paragraph of its own

    @property
    def height(self) -> float:
        return self.top - self.bottom

    @property
    def centre(self) -> float:
        return (self.left + self.right) / 2


@dataclass(frozen=True)
class Paragraph:
    """Lines joined back into what the author typed: a title, a bullet item or a paragraph."""

    text: str
    kind: str
    lines: tuple[Line, ...]
    level: int = 0

    @property
    def left(self) -> float:
        return min(line.left for line in self.lines)

    @property
    def right(self) -> float:
        return max(line.right for line in self.lines)

    @property
    def top(self) -> float:
        return max(line.top for line in self.lines)


def page_lines(textpage, max_chars: int | None = None) -> list[Line]:
    """The printed lines of a pypdfium2 text page, in PDFium's order (its first ``max_chars`` characters).

    Each character's loose box (the font's ascent to descent, the same height for
    every glyph of a size) gives the line's box; PDFium marks line ends itself.
    """
    import pypdfium2.raw as pdfium_c

    lines: list[Line] = []
    chars: list[str] = []
    boxes: list[tuple[float, float, float, float]] = []

    def flush() -> None:
        raw = "".join(chars)
        text = _SPACE.sub(" ", raw).strip()
        inked = [box for char, box in zip(chars, boxes, strict=True) if not char.isspace()]
        if text and inked:
            lead = len(raw) - len(raw.lstrip())
            bullet = _BULLET.match(raw.lstrip())
            words_at = lead + bullet.end() if bullet else lead
            lines.append(
                Line(
                    text,
                    min(b[0] for b in inked),
                    max(b[2] for b in inked),
                    statistics.median(b[3] for b in inked),
                    statistics.median(b[1] for b in inked),
                    boxes[min(words_at, len(boxes) - 1)][0],
                )
            )
        chars.clear()
        boxes.clear()

    count = textpage.count_chars()
    for i in range(count if max_chars is None else min(count, max_chars)):
        code = pdfium_c.FPDFText_GetUnicode(textpage, i)
        if code in (0x0D, 0x0A):
            flush()
            continue
        char = chr(code) if 0 < code < 0x110000 and not 0xD800 <= code <= 0xDFFF else " "
        if char == "\x02":  # PDFium's mark for a hyphen it found at a line end
            char = "-"
        chars.append(char)
        boxes.append(textpage.get_charbox(i, loose=True))
    flush()
    return lines


def split_page_numbers(pages: list[list[Line]]) -> list[list[Line]]:
    """Part a page's own number from the start of the line it is printed on ("5 What is…").

    Only when the deck does so on several pages (a line that starts with its own
    page's number by chance is rare): then the number is page furniture, not part
    of a title. A number at a line's end is left alone: "Rev 5" on page 5 is a fact.
    """

    def numbered(number: int, line: Line) -> bool:
        return line.text.startswith(f"{number} ")

    hits = sum(any(numbered(n, line) for line in lines) for n, lines in enumerate(pages, 1))
    if hits < FURNITURE_MIN_PAGES:
        return pages
    parted = []
    for number, lines in enumerate(pages, 1):
        out: list[Line] = []
        done = False
        for line in lines:
            if done or not numbered(number, line):
                out.append(line)
                continue
            done = True
            mark = str(number)
            out += [replace(line, text=line.text[len(mark) + 1 :].strip()), replace(line, text=mark)]
        parted.append(out)
    return parted


def furniture_keys(pages: list[list[Line]]) -> frozenset[str]:
    """Lines that stand on most pages of a deck, each page's own number aside: footers, site names.

    ``pages`` are in deck order, the first numbered 1.
    """
    if len(pages) < FURNITURE_MIN_PAGES:
        return frozenset()
    counts = Counter(
        key for number, lines in enumerate(pages, 1) for key in {_furniture_key(line.text, number) for line in lines}
    )
    least = max(FURNITURE_MIN_PAGES, FURNITURE_SHARE * len(pages))
    # A mark of a few letters alone on a line (a logo's "FR" read from the page's image) is
    # furniture once it stands on FURNITURE_MIN_PAGES pages, however many pages the deck has.
    return frozenset(
        key
        for key, count in counts.items()
        if count >= least or (count >= FURNITURE_MIN_PAGES and 0 < len(key) <= MARK_CHARS and " " not in key)
    )


def _furniture_key(text: str, number: int) -> str:
    """A line as furniture is recognized: lower case, without the page's own number."""
    return _SPACE.sub(" ", re.sub(rf"(?<!\d){number}(?!\d)", " ", text.lower())).strip()


def _prose_tail(line: Line) -> bool:
    """A line of prose that goes on with a sentence (a report repeats its phrases on many pages)."""
    width, height = line.right - line.left, max(line.height, 1.0)
    # Set solid, as prose is (a footer's parts stand far apart): a letter is narrower than the line is high.
    return line.text[:1].islower() and width > COLUMN_HEIGHTS * height and len(line.text) * height > width


def _is_furniture(line: Line, number: int, keys: frozenset[str]) -> bool:
    return line.text.isdigit() or _furniture_key(line.text, number) in keys


def _hangs(text: str) -> bool:
    """Whether ``text`` stops on a word that leaves its phrase open: a preposition, an article or a
    conjunction ("Review of" / "Current Work", a title wrapped early)."""
    words = text.split()
    return bool(words) and words[-1].lower() in HANGING_WORDS


def _continues(paragraph: list[Line], line: Line, read_by_ocr: bool = False) -> bool:
    """Whether ``line`` is a wrapped continuation of the paragraph ending in ``paragraph[-1]``.

    On a page read by OCR, bullet glyphs are rarely read: a line that starts with
    a capital after a line that stopped well short of it starts a new item (unless
    that line leaves its phrase open, :func:`_hangs`); and line heights vary more
    (see :data:`OCR_SIZE_SHARE`).
    """
    last = paragraph[-1]
    if line.row or last.row:
        return False  # a table's row stands alone
    if (
        read_by_ocr
        and line.text[:1].isupper()
        and line.right - last.right > 3 * max(last.height, 1.0)
        and not _hangs(last.text)
    ):
        return False
    height = max(last.height, 1.0)
    if abs(line.height - last.height) > (OCR_SIZE_SHARE if read_by_ocr else 0.2) * height:
        return False  # another size of type: another paragraph
    step = last.top - line.top
    # An OCR box is shorter where its line has no letter reaching below it: the step to the
    # next line is measured in the taller of the two.
    spacing = max(height, line.height) if read_by_ocr else height
    if not 0.3 * spacing < step < 1.6 * spacing:
        return False  # not the next line down
    first = paragraph[0]
    text_left = paragraph[1].left if len(paragraph) > 1 else first.text_left
    aligned = abs(line.left - text_left) < 0.6 * height or abs(line.left - first.left) < 0.6 * height
    centred = abs(line.centre - last.centre) < 0.6 * height
    flush_right = abs(line.right - last.right) < 0.6 * height
    # A report's paragraph indents its first line and wraps back to the margin.
    indented = (
        len(paragraph) == 1
        and first.right - first.left > PROSE_HEIGHTS * height
        and 0 < first.left - line.left <= INDENT_HEIGHTS * height
        and line.right <= first.right + height
        and (first.text[-1].isalnum() or first.text[-1] in ",-–")  # cut mid-sentence, not code
    )
    if not (aligned or centred or flush_right or indented):
        return False
    if SENTENCE_END.search(last.text) and not line.text[:1].islower():
        return False  # a finished sentence followed by a new one: a new paragraph
    return True


def _wrapped_from(groups: list[tuple[str, list[Line]]], line: Line, read_by_ocr: bool) -> list[Line] | None:
    """The lines of the paragraph that ``line`` wraps from: the last one found, or (on a page read
    by OCR, whose lines of two columns may come interleaved) one of the last :data:`BESIDE_GROUPS`
    with only paragraphs beside ``line`` (sharing none of its width) found after it; else None."""
    for back, (kind, lines) in enumerate(reversed(groups[-(BESIDE_GROUPS + 1) if read_by_ocr else -1 :])):
        between = groups[len(groups) - back :]
        if kind != "furniture" and _continues(lines, line, read_by_ocr):
            beside = all(other.right < line.left or other.left > line.right for _, group in between for other in group)
            return lines if beside else None
    return None


def _join(lines: list[Line]) -> str:
    """The text of wrapped lines as one: a space between, end-of-line hyphens undone."""
    text = lines[0].text
    for line in lines[1:]:
        if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and line.text[:1].isalpha():
            # "imple-" + "mentation" -> "implementation"; "OSCAL-" + "CLI" keeps its hyphen.
            text = text[:-1] + line.text if line.text[0].islower() else text + line.text
        else:
            text = f"{text} {line.text}"
    return text


def _bullet_anchors(lines: list[Line]) -> list[Line]:
    """Bullet glyphs that a PDF draws on their own, apart from their item's text."""
    return [line for line in lines if BULLET_ONLY.match(line.text)]


def _anchored(lines: list[Line], anchors: list[Line]) -> set[int]:
    """The lines (by position) that a lone bullet glyph stands before.

    An item's first line is the topmost line to the glyph's right that its box
    overlaps, not higher than half a line above the glyph's top.
    """
    found = set()
    for anchor in anchors:
        beside = [
            (line.top, i)
            for i, line in enumerate(lines)
            if line.left >= anchor.right - 1
            and line.left - anchor.right < 4 * line.height
            and line.bottom < anchor.top
            and line.top > anchor.bottom
            and line.top <= anchor.top + 0.5 * line.height
        ]
        if beside:
            found.add(max(beside)[1])
    return found


def paragraphs(
    lines: list[Line], furniture: frozenset[str], number: int = 0, read_by_ocr: bool = False
) -> list[Paragraph]:
    """Group the lines of page ``number`` into its title, bullet items, paragraphs and furniture.

    ``read_by_ocr``: the lines were read from the page's image (see :func:`_continues`).
    """
    body = [line for line in lines if not BULLET_ONLY.match(line.text)]
    anchored = _anchored(body, _bullet_anchors(lines))
    groups: list[tuple[str, list[Line]]] = []
    for position, line in enumerate(body):
        bullet = bool(_BULLET.match(line.text)) or position in anchored
        # A wrapped line stays with its paragraph even when its words also stand
        # on most pages ("leveraged" in a sidebar of a deck about leveraging).
        wrapped = None if bullet else _wrapped_from(groups, line, read_by_ocr)
        if wrapped is not None:
            wrapped.append(line)
        elif _is_furniture(line, number, furniture) and not _prose_tail(line):
            groups.append(("furniture", [line]))
        else:
            groups.append(("bullet" if bullet else "text", [line]))
    found = [Paragraph(_join(group), kind, tuple(group)) for kind, group in groups]
    found = _mark_title(found)
    return _with_levels(_mark_leads(_join_columns(_reading_order(found))), by_words=read_by_ocr)


def _mark_title(found: list[Paragraph]) -> list[Paragraph]:
    """The page's title: its topmost text larger than the body's, else its topmost line of text."""
    content = [p for p in found if p.kind != "furniture"]
    if not content:
        return found
    heights = [line.height for p in content for line in p.lines]
    body = statistics.median(heights)
    page_top = max(p.top for p in content)
    page_bottom = min(line.bottom for p in content for line in p.lines)
    upper = page_bottom + 0.5 * (page_top - page_bottom)
    large = [p for p in content if p.kind != "bullet" and p.lines[0].height > 1.15 * body and p.top >= upper]
    if large:
        title = max(large, key=lambda p: p.top)
    else:
        title = max(content, key=lambda p: p.top)
        if title.kind == "bullet" or not _could_title(title):
            return found
    return [Paragraph(p.text, "heading", p.lines) if p is title else p for p in found]


def _could_title(p: Paragraph) -> bool:
    """Whether body-size text at the top of a page can be its title: short, and not a sentence's end."""
    return len(p.text) <= TITLE_CHARS and not p.text[:1].islower()


def _ends_sentence(text: str) -> bool:
    return bool(SENTENCE_END.search(text))


def _prose(p: Paragraph) -> bool:
    """Whether ``p`` is set as prose: some line of it many times its height wide (not a label)."""
    return max(line.right - line.left for line in p.lines) > COLUMN_HEIGHTS * max(p.lines[-1].height, 1.0)


def _runs_on(before: Paragraph, after: Paragraph) -> bool:
    """Whether ``after`` goes on with the sentence ``before`` leaves unfinished (over a column or page break)."""
    return (
        before.kind == "text"
        and not before.lines[-1].row
        and not after.lines[0].row
        and _prose(before)
        and after.kind in ("text", "heading")
        and not _ends_sentence(before.text)
        and after.text[:1].islower()
        and abs(after.lines[0].height - before.lines[-1].height) <= 0.2 * max(before.lines[-1].height, 1.0)
    )


def _join_columns(found: list[Paragraph]) -> list[Paragraph]:
    """Paragraphs that a column break cut (in reading order, the second starts in lower case) joined."""
    joined: list[Paragraph] = []
    for p in found:
        previous = next((q for q in reversed(joined) if q.kind != "furniture"), None)
        if previous is not None and _runs_on(previous, p):
            at = joined.index(previous)
            lines = [*previous.lines, *p.lines]
            joined[at] = Paragraph(_join(list(lines)), "text", tuple(lines))
            continue
        joined.append(p)
    return joined


def _mark_leads(found: list[Paragraph]) -> list[Paragraph]:
    """A short line of text right before bullet items leads them ("Outcomes:", "Closed PRs"): a heading.

    What a reader sees above an item is part of what it says, so the item is
    read (and embedded) with it.
    """
    marked = list(found)
    for i, p in enumerate(found[:-1]):
        after = found[i + 1]
        short = len(p.lines) == 1 and len(p.text) <= LEAD_CHARS and not SENTENCE_END.search(p.text.rstrip(":"))
        if p.kind == "text" and short and after.kind == "bullet" and after.lines[0].top < p.top:
            marked[i] = Paragraph(p.text, "heading", p.lines)
    return marked


def _reading_order(found: list[Paragraph]) -> list[Paragraph]:
    """The title first, then, on a page of two columns, the left column before the right.

    Columns are recognized only when a vertical gutter parts every paragraph of the
    page body (a full-width paragraph means one column, in the PDF's own order).
    """
    titles = [p for p in found if p.kind == "heading"]
    rest = [p for p in found if p.kind != "heading"]
    content = [p for p in rest if p.kind != "furniture"]
    if len(content) < 2:
        return titles + rest
    edges = sorted({round(p.left) for p in content} | {round(p.right) for p in content})
    for gutter in edges:
        left = [p for p in content if p.right <= gutter]
        right = [p for p in content if p.left >= gutter]
        if left and right and len(left) + len(right) == len(content):
            ordered = sorted(left, key=lambda p: -p.top) + sorted(right, key=lambda p: -p.top)
            if ordered != content:
                furniture = [p for p in rest if p.kind == "furniture"]
                return titles + ordered + furniture
            break
    return titles + rest


def _with_levels(found: list[Paragraph], by_words: bool = False) -> list[Paragraph]:
    """Bullet levels from indentation: deeper when a bullet sits right of the one above it.

    ``by_words``: indentation is where an item's words start, not its bullet (read by OCR, a
    bullet found apart from its words comes in a box that the detector widens, the more so
    the smaller it is: its left edge strays by a bullet's width or more).
    """
    stack: list[float] = []
    leveled = []
    previous: Paragraph | None = None
    for p in found:
        if p.kind != "bullet":
            if p.kind != "furniture":
                stack = []
            leveled.append(p)
            continue
        tolerance = 0.6 * p.lines[0].height
        left = p.lines[0].text_left if by_words else p.left
        if previous is not None and previous.kind == "bullet" and p.top > previous.top:
            stack = []  # above the last item: another text box
        while stack and left < stack[-1] - tolerance:
            stack.pop()
        if not stack or left > stack[-1] + tolerance:
            stack.append(left)
        leveled.append(Paragraph(p.text, p.kind, p.lines, len(stack) - 1))
        previous = p
    return leveled


def strip_bullet(text: str) -> str:
    """The item without its bullet glyph; an enumerator ("3.") is kept: it says something."""
    match = _BULLET.match(text)
    if match and BULLET_ONLY.match(match.group(0).strip()):
        return text[match.end() :]
    return text


def carry_sentences(pages: list[list[Paragraph]]) -> list[list[Paragraph]]:
    """A sentence that runs over a page break kept whole, on the page where it starts.

    When a page's last paragraph leaves a sentence unfinished and the next page
    goes on with it (in lower case), the words up to the sentence's end are added
    to the first page's paragraph, and stand on the next page as a ``continued``
    block: shown there, never quoted on their own.
    """
    pages = [list(found) for found in pages]
    for before, after in itertools.pairwise(pages):
        last = next((i for i in range(len(before) - 1, -1, -1) if before[i].kind != "furniture"), None)
        first = next((i for i, p in enumerate(after) if p.kind != "furniture"), None)
        if last is None or first is None or not _runs_on(before[last], after[first]):
            continue
        head = after[first]
        stop = _SENTENCE_STOP.search(head.text)
        end = stop.end() if stop else len(head.text)
        ending, rest = head.text[:end], head.text[end:].strip()
        kept = before[last]
        before[last] = Paragraph(_join([Line(kept.text, 0, 0, 0, 0), Line(ending, 0, 0, 0, 0)]), kept.kind, kept.lines)
        after[first : first + 1] = [
            Paragraph(ending, "continued", head.lines),
            *([Paragraph(rest, "text", head.lines)] if rest else []),
        ]
    return pages


def read_pdf(path: Path, source: str, bounds: PdfBounds | None = None) -> tuple[list[Slide], list[str]]:
    """Read a PDF deck into slides, one a page, within ``bounds``; returns the slides and warnings (never raises).

    A page past a bound (:mod:`egov_qa.ingest.pdf_bounds`) is skipped, or the
    deck cut there, with a warning naming the file and the limit.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    budget = DeckBudget(source, bounds or PdfBounds())

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))
            except (PdfReadError, NotImplementedError, ValueError):
                opened = False
            if not opened:
                return [], [f"skipped {source}: the PDF is encrypted; save an unencrypted copy"]
        admitted: list[bool] = []
        bounded: list[str] = []
        for number, page in enumerate(reader.pages, 1):
            refused = budget.admit(page, number)
            admitted.append(refused is None)
            if refused is not None:
                bounded.append(refused.message)
                if refused.rest:
                    admitted += [False] * (len(reader.pages) - number)
                    break
    except Exception as exc:  # noqa: BLE001 - a corrupt PDF can fail in many ways
        return [], [f"skipped {source}: not a readable PDF ({type(exc).__name__}: {exc})"]
    del reader  # the parsed objects are not needed while PDFium reads the pages
    try:
        pages, late, read_by_ocr, pictures = _layout(path, admitted, budget)
    except Exception as exc:  # noqa: BLE001 - PDFium reports damage as several kinds
        return [], [f"skipped {source}: the PDF's text cannot be read ({type(exc).__name__}: {exc})"]
    bounded += late
    if read_by_ocr or pictures:
        pages, pictures = _unglued(pages, read_by_ocr, pictures)
    # A logo on most pages is furniture, as a running header is.
    logos = furniture_keys([pictures.get(number, []) for number in range(1, len(pages) + 1)])
    in_pictures = {n: paragraphs(lines, logos, n, read_by_ocr=True) for n, lines in pictures.items()}
    pages = split_page_numbers(pages)
    furniture = furniture_keys([lines for lines in pages if lines])
    read = carry_sentences(
        [paragraphs(lines, furniture, number, number in read_by_ocr) for number, lines in enumerate(pages, 1)]
    )
    slides, warnings = [], list(bounded)
    for number, found in enumerate(read, 1):
        if number > len(admitted) or not admitted[number - 1]:
            continue  # its warning is in bounded
        writer = SlideWriter()
        origin = "ocr" if number in read_by_ocr else ""
        for p in found:
            text = strip_bullet(p.text) if p.kind == "bullet" else p.text
            writer.line(text, p.kind, p.level, origin)
        # The words in the page's pictures, after its text (a picture has no place in the text's order).
        for p in in_pictures.get(number, ()):
            if p.kind == "bullet":
                writer.line(strip_bullet(p.text), "bullet", p.level, "picture")
            elif p.kind != "furniture":
                writer.line(p.text, "text", p.level, "picture")
        slide = finish_slide(source, number, writer)
        if slide is None:
            if number in read_by_ocr:
                warnings.append(f"skipped {source} page {number}: no text layer, and OCR found no words")
            elif not any(f"page {number} " in w or "not read by OCR" in w for w in bounded):
                warnings.append(f"skipped {source} page {number}: no text layer (an image only?)")
            continue
        slides.append(slide)
    if not slides:
        if bounded:
            return [], [f"skipped {source}: no page could be read within its bounds", *warnings]
        return [], [f"skipped {source}: no page has a text layer", *warnings]
    return slides, warnings


def _layout(
    path: Path, admitted: list[bool], budget: DeckBudget
) -> tuple[list[list[Line]], list[str], set[int], dict[int, list[Line]]]:
    """The lines of every admitted page (an empty list for the others), the warnings of bounds met,
    the numbers of the pages read by OCR (their text layer empty or garbled), and the lines OCR
    read in the pictures of the other pages, by page number."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    warnings: list[str] = []
    read_by_ocr: set[int] = set()
    pictures: dict[int, list[Line]] = {}
    ocr: DeckOcr | None = None
    try:
        pages: list[list[Line]] = []
        for number in range(min(len(admitted), len(document))):
            late = budget.out_of_time(number + 1) if admitted[number] else None
            if late is not None:
                warnings.append(late)
                admitted[number:] = [False] * (len(admitted) - number)
            if not admitted[number]:
                pages.append([])
                continue
            page = document[number]
            textpage = page.get_textpage()
            try:
                if textpage.count_chars() > budget.bounds.page_chars:
                    warnings.append(
                        f"{budget.source} page {number + 1}: only its first {budget.bounds.page_chars:,} "
                        f"characters are read; it has {textpage.count_chars():,}, over the limit a page"
                    )
                lines = page_lines(textpage, budget.bounds.page_chars)
                if needs_ocr(lines) and (_garbled(lines) or _pictured(page)):
                    if ocr is None:
                        ocr = DeckOcr(budget.source, len(admitted))
                    read = ocr_page_lines(page, ocr, number + 1)
                    if read is not None and _letter_count(read) > _letter_count(lines):
                        lines = read
                        read_by_ocr.add(number + 1)
                # A turned page's pictures are left unread: its pictures' places are given
                # unturned, and the text in them stands sideways.
                shown = [] if number + 1 in read_by_ocr or page.get_rotation() % 360 else picture_boxes(page)
                if shown:
                    if ocr is None:
                        ocr = DeckOcr(budget.source, len(admitted))
                    try:
                        found = picture_lines(page, shown, ocr.read, number + 1, lines)
                    except Exception as exc:  # noqa: BLE001 - the page's text stands without its pictures
                        warnings.append(
                            f"{budget.source} page {number + 1}: its pictures cannot be read "
                            f"({type(exc).__name__}: {exc}); its text is read"
                        )
                        found = None
                    if found:
                        pictures[number + 1] = ocr_layout(found)
                pages.append(lines)
            finally:
                textpage.close()
                page.close()
        if ocr is not None:
            warnings += ocr.warnings
        return pages, warnings, read_by_ocr, pictures
    finally:
        if ocr is not None:
            ocr.close()
        document.close()


def _unglued(
    pages: list[list[Line]], read_by_ocr: set[int], pictures: dict[int, list[Line]] | None = None
) -> tuple[list[list[Line]], dict[int, list[Line]]]:
    """The pages read by OCR, and the lines read in pictures, with names run into their neighbours
    parted (:func:`ocr_words.unglue`) by the words the whole deck prints on their own."""
    pictures = pictures or {}
    vocabulary = ocr_words.deck_words(line.text for lines in [*pages, *pictures.values()] for line in lines)

    def unglued(lines: list[Line]) -> list[Line]:
        return [replace(line, text=ocr_words.unglue(line.text, vocabulary)) for line in lines]

    return (
        [unglued(lines) if number in read_by_ocr else lines for number, lines in enumerate(pages, 1)],
        {number: unglued(lines) for number, lines in pictures.items()},
    )


def _letter_count(lines: list[Line]) -> int:
    return sum(c.isalnum() for line in lines for c in line.text)


def needs_ocr(lines: list[Line]) -> bool:
    """Whether a page's text layer is too thin or garbled to stand for what is printed.

    Fewer than :data:`OCR_MIN_LETTERS` letters (an image only, or a page number on
    one), or mostly characters no font would print as words (a broken encoding).
    """
    text = "".join(line.text for line in lines)
    return sum(c.isalnum() for c in text) < OCR_MIN_LETTERS or _garbled(lines)


def _garbled(lines: list[Line]) -> bool:
    text = "".join(line.text for line in lines)
    readable = sum(c.isalnum() or c.isspace() or c in _PUNCTUATION for c in text)
    return readable < GARBLED_SHARE * len(text)


def _pictured(page) -> bool:
    """Whether a pypdfium2 ``page`` shows a picture over :data:`OCR_PICTURE_SHARE` of its area.

    A thin text layer over no picture (a section divider, "Questions?") has
    nothing more to read.
    """
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    area = max(width * height, 1.0)
    for picture in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3):
        left, bottom, right, top = picture.get_bounds()
        if (right - left) * (top - bottom) >= OCR_PICTURE_SHARE * area:
            return True
    return False


def page_box(page) -> tuple[float, float, float, float]:
    """What a pypdfium2 ``page`` shows (left, bottom, right, top), in PDF points.

    PDFium's bounding box: the crop box within the media box, either of them
    inherited from the page tree. (``get_cropbox`` reads the page's own entry only,
    and falls back to a US Letter page when the box is inherited.)
    """
    left, bottom, right, top = page.get_bbox()
    return left, bottom, right, top


def render_for_ocr(page):
    """A pypdfium2 ``page`` as an image for OCR, and its scale in pixels a point."""
    left, bottom, right, top = page_box(page)
    longest = max(right - left, top - bottom) or 1.0
    scale = min(MAX_SCALE, PAGE_SIDE_PIXELS / longest)
    return page.render(scale=scale).to_pil(), scale


def ocr_page_lines(page, ocr: DeckOcr, number: int) -> list[Line] | None:
    """The lines of a pypdfium2 ``page`` read from its image, in PDF points; None past a bound."""
    image, scale = render_for_ocr(page)
    found = ocr.read(image, f"page {number}")
    if found is None:
        return None
    left, _, _, top = page_box(page)
    return ocr_layout([ocr_line(line, scale, left, top) for line in found])


def picture_boxes(page) -> list[tuple[float, float, float, float]]:
    """The pictures on a pypdfium2 ``page`` large enough to hold words (:data:`PICTURE_SHARE`,
    :data:`PICTURE_POINTS`), each (left, bottom, right, top) within the crop box, top to bottom."""
    import pypdfium2.raw as pdfium_c

    crop_left, crop_bottom, crop_right, crop_top = page_box(page)
    area = max((crop_right - crop_left) * (crop_top - crop_bottom), 1.0)
    boxes = []
    for picture in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3):
        left, bottom, right, top = picture.get_bounds()
        left, bottom = max(left, crop_left), max(bottom, crop_bottom)
        right, top = min(right, crop_right), min(top, crop_top)
        width, height = right - left, top - bottom
        if width >= PICTURE_POINTS[0] and height >= PICTURE_POINTS[1] and width * height >= PICTURE_SHARE * area:
            boxes.append((left, bottom, right, top))
    return sorted(_merged(boxes), key=lambda box: (-box[3], box[0]))


def _shared(low: float, high: float, other_low: float, other_high: float) -> float:
    """How much of one axis two spans share; the gap between them, negative, when they share none."""
    return min(high, other_high) - max(low, other_low)


def _merged(boxes: list[tuple[float, float, float, float]]) -> list[tuple[float, float, float, float]]:
    """Boxes that overlap by half the smaller one's area joined into one (a picture in its frame,
    a screenshot in layers), so that what they show is read once."""
    boxes = list(boxes)
    joined = True
    while joined:
        joined = False
        for i, j in itertools.combinations(range(len(boxes)), 2):
            a, b = boxes[i], boxes[j]
            width, height = _shared(a[0], a[2], b[0], b[2]), _shared(a[1], a[3], b[1], b[3])
            smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
            if width > 0 and height > 0 and width * height >= 0.5 * smaller:
                boxes[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                del boxes[j]
                joined = True
                break
    return boxes


def picture_lines(
    page, boxes: list[tuple[float, float, float, float]], read, number: int, printed: list[Line]
) -> list[Line] | None:
    """The lines OCR reads in the pictures of a pypdfium2 ``page`` that has a text layer, in PDF points.

    ``boxes`` are the pictures' (:func:`picture_boxes`); ``read(image, what)`` reads an
    image (:meth:`DeckOcr.read`); ``printed`` is the page's text layer: a line lying
    under it is text set over the picture, left out. None when ``read`` refused a
    picture (past a bound, or no engine).
    """
    crop_left, crop_bottom, crop_right, crop_top = page_box(page)
    found: list[Line] = []
    for left, bottom, right, top in boxes:
        scale = min(MAX_SCALE, PAGE_SIDE_PIXELS / max(right - left, top - bottom))
        if min(right - left, top - bottom) * scale < MIN_PICTURE_PIXELS:
            continue
        cut = (left - crop_left, bottom - crop_bottom, crop_right - right, crop_top - top)
        read_lines = read(page.render(scale=scale, crop=cut).to_pil(), f"page {number}")
        if read_lines is None:
            return None
        found += [ocr_line(line, scale, left, top) for line in read_lines]
    return [line for line in found if sum(c.isalpha() for c in line.text) >= 3 and not _printed_over(line, printed)]


def _printed_over(line: Line, printed: list[Line]) -> bool:
    area = max((line.right - line.left) * line.height, 1e-6)
    covered = 0.0
    for other in printed:
        width = _shared(line.left, line.right, other.left, other.right)
        height = _shared(line.bottom, line.top, other.bottom, other.top)
        if width > 0 and height > 0:
            covered += width * height
    return covered >= PRINTED_OVER_SHARE * area


def join_words(lines: list[Line], gap_heights: float = WORD_GAP_HEIGHTS) -> list[Line]:
    """Pieces of one printed line that OCR found apart (words of a justified line) joined, left to right.

    Two pieces are of one line when they overlap by half the shorter one's height and
    the gap between them is under ``gap_heights`` of the line's height, the taller one's
    (a digit's box is shorter than its line; a column's gutter is wider).
    """
    joined: list[Line] = []
    for piece in sorted(lines, key=lambda line: line.left):
        for i, line in enumerate(joined):
            overlap = _shared(line.bottom, line.top, piece.bottom, piece.top)
            height = max(line.height, piece.height)
            gap = piece.left - line.right
            if overlap > 0.5 * min(line.height, piece.height) and -0.5 * height < gap < gap_heights * height:
                joined[i] = Line(
                    f"{line.text} {piece.text}",
                    line.left,
                    max(line.right, piece.right),
                    max(line.top, piece.top),
                    min(line.bottom, piece.bottom),
                    line.text_left,
                )
                break
        else:
            joined.append(piece)
    return joined


def ocr_layout(lines: list[Line]) -> list[Line]:
    """Lines found on an image, read as a person reads them: each row of a table read across
    (:mod:`ocr_tables`), the pieces of other lines joined (:func:`join_words`), all in
    :func:`reading_order`. Tables are found once only the words of one cell are joined
    (:data:`CELL_GAP_HEIGHTS`): a cell and its neighbour across a narrow gutter would be
    joined as pieces of one line, and the table's columns lost."""
    lines = join_words(lines, CELL_GAP_HEIGHTS)
    rows = ocr_tables.table_rows(lines)
    in_rows = {i for row in rows for i in row}
    joined = [
        Line(
            " ".join(lines[i].text for i in row),
            lines[row[0]].left,
            max(lines[i].right for i in row),
            max(lines[i].top for i in row),
            min(lines[i].bottom for i in row),
            lines[row[0]].text_left,
            row=True,
        )
        for row in rows
    ]
    return reading_order(join_words([line for i, line in enumerate(lines) if i not in in_rows]) + joined)


def reading_order(lines: list[Line]) -> list[Line]:
    """Lines found on an image put in the order a person reads them (OCR finds them top to bottom).

    A recursive XY cut: a set of lines that a clear vertical gutter parts is read
    left part first; else it is cut into bands at the clear gaps between lines
    (wider than a line's height: a break between sections, not line spacing), each
    band read in turn; else a table's rows (found by :mod:`ocr_tables`) are a band of
    their own, however close the lines above or below stand; else a title set across
    the top of columns, too close to them for a band of its own, is read first and the
    columns after it; a set that none of these parts is read top to bottom.
    """
    if len(lines) < 2:
        return list(lines)
    height = statistics.median(line.height for line in lines)
    for cut in (_vertical_cut, _horizontal_cut, _table_cut, _heading_cut):
        parts = cut(lines, height)
        if len(parts) > 1:
            return [line for part in parts for line in reading_order(part)]
    return sorted(lines, key=lambda line: (-line.top, line.left))


def _gaps(spans: list[tuple[float, float]], least: float) -> list[float]:
    """Where the spans (low, high) leave a clear gap of at least ``least``: each gap's middle."""
    cuts = []
    reach = None
    for low, high in sorted(spans):
        if reach is not None and low - reach >= least:
            cuts.append((reach + low) / 2)
        reach = high if reach is None else max(reach, high)
    return cuts


def _vertical_cut(lines: list[Line], height: float) -> list[list[Line]]:
    cuts = _gaps([(line.left, line.right) for line in lines], height)
    if not cuts:
        return [lines]
    at = cuts[0]  # the leftmost gutter; the right part is cut again when it recurses
    return [[line for line in lines if line.right <= at], [line for line in lines if line.left >= at]]


def _heading_cut(lines: list[Line], height: float) -> list[list[Line]]:
    # The top line or few, standing above all the others (boxes found on an image overlap
    # a little), when a gutter parts what is under them.
    ordered = sorted(lines, key=lambda line: -line.top)
    for count in range(1, min(HEADING_LINES, len(lines) - 2) + 1):
        head, rest = ordered[:count], ordered[count:]
        if min(line.bottom for line in head) < max(line.top for line in rest) - 0.5 * height:
            continue
        if len(_vertical_cut(rest, height)) > 1:
            return [head, rest]
    return [lines]


def _table_cut(lines: list[Line], height: float) -> list[list[Line]]:
    # A table across columns, set close under them, leaves no clear gap to cut at, nor a
    # gutter: its rows are cut out as a band when no other line stands beside them.
    rows = [line for line in lines if line.row]
    if not rows or len(rows) == len(lines):
        return [lines]
    top, bottom = max(line.top for line in rows), min(line.bottom for line in rows)
    others = [line for line in lines if not line.row]
    if any(bottom < (line.top + line.bottom) / 2 < top for line in others):
        return [lines]  # a line beside the table: no band of its own
    above = [line for line in others if (line.top + line.bottom) / 2 >= top]
    below = [line for line in others if (line.top + line.bottom) / 2 <= bottom]
    return [part for part in (above, rows, below) if part]


def _horizontal_cut(lines: list[Line], height: float) -> list[list[Line]]:
    # y grows upwards: a band's span is (bottom, top), read from the top band down.
    cuts = sorted(_gaps([(line.bottom, line.top) for line in lines], height), reverse=True)
    bands: list[list[Line]] = [[] for _ in range(len(cuts) + 1)]
    for line in lines:
        bands[sum(line.top < cut for cut in cuts)].append(line)
    return [band for band in bands if band]


def ocr_line(line: OcrLine, scale: float, left: float = 0.0, top: float = 0.0) -> Line:
    """An OCR line in PDF points (y up) from its box in pixels (y down), rendered ``scale`` pixels a point.

    The item's words start past its bullet, as they do on a text layer: past a bullet
    drawn before them (found in the picture), or past the share of the box's width
    that a bullet glyph read at its start takes.
    """
    x0, x1 = left + line.left / scale, left + line.right / scale
    y_top, y_bottom = top - line.top / scale, top - line.bottom / scale
    bullet = _BULLET.match(line.text)
    if line.text_left is not None:
        words_at = left + line.text_left / scale
    else:
        words_at = x0 + (x1 - x0) * bullet.end() / len(line.text) if bullet else x0
    return Line(line.text, x0, x1, y_top, y_bottom, words_at)

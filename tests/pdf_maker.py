"""Small PDFs made by the tests: lines of Courier text placed where a report would print them.

Courier sets every glyph 0.6 em wide, so a line's width is known without font
metrics, and a justified line is set flush right with word spacing (``Tw``).
"""

from __future__ import annotations

import random
import textwrap
import zlib
from dataclasses import dataclass
from pathlib import Path

PAGE_WIDTH = 612.0
PAGE_HEIGHT = 792.0
EM = 0.6  # Courier's glyph width, in ems


@dataclass(frozen=True)
class Placed:
    """One printed line: its text, where its baseline starts, its size and its extra word spacing."""

    text: str
    x: float
    y: float
    size: float = 10.0
    word_space: float = 0.0


def paragraph(
    text: str,
    x: float,
    y: float,
    width: float,
    size: float = 10.0,
    indent: float = 0.0,
    justify: bool = True,
    leading: float = 1.2,
) -> tuple[list[Placed], float]:
    """``text`` wrapped into ``width`` points from ``(x, y)``; returns its lines and the next line's y.

    The first line starts ``indent`` points further right; every line but the
    last is set flush right when ``justify``.
    """
    chars = int(width / (EM * size))
    first_chars = int((width - indent) / (EM * size))
    wrapped = textwrap.wrap(text, chars)
    if indent and wrapped:
        head = textwrap.wrap(text, first_chars)[0]
        wrapped = [head, *textwrap.wrap(text[len(head) :].strip(), chars)]
    placed = []
    for i, words in enumerate(wrapped):
        left = x + (indent if i == 0 else 0.0)
        room = (width - (indent if i == 0 else 0.0)) - EM * size * len(words)
        gaps = words.count(" ")
        spacing = room / gaps if justify and gaps and i < len(wrapped) - 1 else 0.0
        placed.append(Placed(words, left, y, size, spacing))
        y -= leading * size
    return placed, y


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def page_stream(lines: list[Placed]) -> bytes:
    """The content stream that prints ``lines``."""
    ops = []
    for line in lines:
        ops.append(
            f"BT /F1 {line.size:g} Tf {line.word_space:.3f} Tw 1 0 0 1 {line.x:.2f} {line.y:.2f} Tm "
            f"({_escape(line.text)}) Tj ET"
        )
    return "\n".join(ops).encode("latin-1")


@dataclass(frozen=True)
class Picture:
    """A picture (a PIL image) drawn with its lower left corner at ``(x, y)``, ``width`` by ``height`` points."""

    image: object
    x: float
    y: float
    width: float
    height: float


def write_pdf(
    path: Path,
    pages: list[list[Placed]],
    packed: list[bytes] | None = None,
    pictures: dict[int, list[Picture]] | None = None,
    size: tuple[float, float] = (PAGE_WIDTH, PAGE_HEIGHT),
    inherited_box: bool = False,
) -> Path:
    """Write a PDF of ``pages`` (or of Flate-compressed content streams ``packed``, one a page) to ``path``.

    ``pictures``: pictures drawn under the text of the page of that index. ``size``:
    the page's width and height; ``inherited_box`` puts the page box on the page tree,
    for the pages to inherit (as many exporters write it), not on each page.
    """
    contents = packed if packed is not None else [page_stream(lines) for lines in pages]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the pages' numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
    ]
    box = b"/MediaBox [0 0 %d %d]" % size
    kids = []
    for index, content in enumerate(contents):
        drawn, names = b"", []
        for n, picture in enumerate((pictures or {}).get(index, [])):
            rgb = picture.image.convert("RGB")  # type: ignore[attr-defined]
            data = zlib.compress(rgb.tobytes())
            objects.append(
                b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n"
                % (rgb.width, rgb.height, len(data))
                + data
                + b"\nendstream"
            )
            names.append(b"/Im%d %d 0 R" % (n, len(objects)))
            drawn += b"q %.2f 0 0 %.2f %.2f %.2f cm /Im%d Do Q\n" % (
                picture.width,
                picture.height,
                picture.x,
                picture.y,
                n,
            )
        stream = content if packed is not None else zlib.compress(drawn + content)
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream")
        content_number = len(objects)
        images = b" /XObject << %s >>" % b" ".join(names) if names else b""
        objects.append(
            b"<< /Type /Page /Parent 2 0 R %s /Resources << /Font << /F1 3 0 R >>%s >> /Contents %d 0 R >>"
            % (b"" if inherited_box else box, images, content_number)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d %s >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
        box if inherited_box else b"",
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    Path(path).write_bytes(bytes(out))
    return Path(path)


_SUBJECTS = ("The ministry", "Each agency", "The review board", "A regional office", "The pilot programme", "Citizens")
_VERBS = ("publishes", "reviews", "compares", "records", "funds", "audits")
_OBJECTS = (
    "the yearly budget of every shared service",
    "how long a request for a permit takes to be answered",
    "the number of documents filed online instead of on paper",
    "which systems still depend on the old identity register",
    "the cost of keeping two payment platforms in service",
    "what residents of rural districts report about waiting times",
)
_TAILS = (
    "before the end of the fiscal year",
    "in a report that the public can read",
    "so that later decisions rest on measured figures",
    "with the help of the national statistics office",
)


def prose(paragraphs: int, sentences: int = 4, seed: int = 0) -> list[str]:
    """``paragraphs`` paragraphs of plain, varied report sentences (deterministic for a ``seed``)."""
    pick = random.Random(seed)
    out = []
    n = seed
    for _ in range(paragraphs):
        said = []
        for _ in range(sentences):
            said.append(
                f"{pick.choice(_SUBJECTS)} of district {pick.randint(1, 90)} {pick.choice(_VERBS)} "
                f"{pick.choice(_OBJECTS)} "
                f"{pick.choice(_TAILS)}, and the figure for {2000 + n % 24} is {1000 + 37 * n:,}."
            )
            n += 1
        out.append(" ".join(said))
    return out


def report_pages(
    texts: list[str],
    columns: int = 1,
    indent: float = 0.0,
    justify: bool = True,
    gap: float = 0.0,
    size: float = 10.0,
    top: float = 720.0,
    bottom: float = 72.0,
) -> list[list[Placed]]:
    """Paragraphs set as a report sets them, flowing from column to column and page to page.

    A paragraph that does not fit the rest of a column goes on in the next one,
    so sentences run over column and page breaks. ``gap`` is extra space between
    paragraphs, in lines.
    """
    margin, gutter = 72.0, 24.0
    width = (PAGE_WIDTH - 2 * margin - (columns - 1) * gutter) / columns
    pages: list[list[Placed]] = [[]]
    column, y = 0, top
    for text in texts:
        lines, _ = paragraph(text, 0.0, 0.0, width, size, indent, justify)
        for placed in lines:
            if y < bottom:
                column += 1
                y = top
                if column == columns:
                    pages.append([])
                    column = 0
            x = margin + column * (width + gutter) + placed.x
            pages[-1].append(Placed(placed.text, x, y, size, placed.word_space))
            y -= 1.2 * size
        y -= gap * 1.2 * size
    return pages


def inflating_stream(size: int, line: bytes = b"BT /F1 9 Tf 72 400 Td (All work and no play) Tj ET\n") -> bytes:
    """A Flate-compressed content stream that inflates to about ``size`` bytes of text operators.

    Compressed a piece at a time, so making it never holds ``size`` bytes.
    """
    packer = zlib.compressobj(9)
    piece = line * (1024 * 1024 // len(line))
    out = [packer.compress(piece) for _ in range(max(1, size // len(piece)))]
    out.append(packer.flush())
    return b"".join(out)

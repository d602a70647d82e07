"""Writing a slide: its clean text and its blocks (headings, bullets, table rows) with exact offsets.

Every file reader (Markdown, PDF, PowerPoint, plain text) writes its slides through
:class:`SlideWriter` and :func:`finish_slide`, so that every slide is shaped alike.
"""

from __future__ import annotations

import re

from egov_qa.documents import Block, Cell, Slide

# Spaces and tabs within a line (not line breaks), no-break spaces included.
SPACE = re.compile(r"[ \t\u00a0]+")
# The glyphs that open a list item, as a regular expression's character class: bullets,
# dashes, and the private-use code points of office exports' Wingdings and Symbol bullets.
BULLET_GLYPHS = "[•●▪■◦○◆◇►▶➢❖✓✔\\-–—*·\ue000-\uf8ff]"
# A line that is a bullet glyph and nothing else.
BULLET_ONLY = re.compile(rf"^{BULLET_GLYPHS}$")
# A line that ends a sentence (or a clause: a colon, a semicolon), closing quotes aside.
SENTENCE_END = re.compile(r"[.!?:;]['\")”’]?$")
CELL_SEPARATOR = " | "


class SlideWriter:
    """Accumulates one slide's clean text and its blocks with exact offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.blocks: list[Block] = []
        self.length = 0

    def _start_line(self) -> int:
        if self.parts:
            self.parts.append("\n")
            self.length += 1
        return self.length

    def line(self, text: str, kind: str, level: int = 0, origin: str = "") -> None:
        text = SPACE.sub(" ", text).strip()
        if not text:
            return
        start = self._start_line()
        self.parts.append(text)
        self.length += len(text)
        self.blocks.append(Block(kind, start, self.length, (), level, origin))

    def row(self, headers: list[str], values: list[str]) -> None:
        pieces: list[tuple[str, str]] = []
        for i, value in enumerate(values):
            value = SPACE.sub(" ", value).strip()
            if not value:
                continue
            header = headers[i] if i < len(headers) else ""
            pieces.append((header, value))
        if not pieces:
            return
        start = self._start_line()
        cells = []
        for i, (header, value) in enumerate(pieces):
            if i:
                self.parts.append(CELL_SEPARATOR)
                self.length += len(CELL_SEPARATOR)
            if header:
                self.parts.append(f"{header}: ")
                self.length += len(header) + 2
            cells.append(Cell(header, self.length, self.length + len(value)))
            self.parts.append(value)
            self.length += len(value)
        self.blocks.append(Block("row", start, self.length, tuple(cells)))

    def text(self) -> str:
        return "".join(self.parts)


TITLE_CHARS = 80


def _title(slide_text: str, blocks: list[Block]) -> str:
    """The slide's first heading, else its first line (a table row's first cell)."""
    shown = [b for b in blocks if b.kind not in ("furniture", "continued")]
    first = next((b for b in shown if b.kind == "heading"), shown[0] if shown else None)
    if first is None:
        return ""
    start, end = first.start, first.end
    if first.kind == "row" and first.cells:
        start, end = first.cells[0].start, first.cells[0].end
    title = slide_text[start:end]
    if len(title) > TITLE_CHARS:
        title = title[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"
    return title


def finish_slide(source: str, number: int, writer: SlideWriter) -> Slide | None:
    text = writer.text()
    if not text.strip():
        return None
    return Slide(source, number, _title(text, writer.blocks), text, tuple(writer.blocks))

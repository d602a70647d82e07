"""Splitting slides into answer units: headings, bullets, sentences and table rows."""

from __future__ import annotations

import re

from egov_qa.documents import Slide, Unit, content_hash
from egov_qa.ingest.slides import CELL_SEPARATOR

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])")
_CLAUSE = re.compile(r"(?<=[;,])\s+")
_CELL = re.compile(re.escape(CELL_SEPARATOR))
_SPACE = re.compile(r"\s+")
# Blocks that are shown with their slide but are never a unit: page furniture (footers,
# page numbers) and the end of a sentence quoted whole on the page before (``continued``).
UNQUOTED = frozenset({"furniture", "continued"})


class UnitSplitter:
    """Cuts each slide line into quotable units of at most ``max_chars`` characters.

    A line that fits is one unit (a table row stays whole when it fits, so that it
    answers alone with its headers); a longer line is cut at sentence ends, then at
    clause breaks, then between words.

    Args:
        max_chars: the longest unit, at least 40 characters.
    """

    def __init__(self, max_chars: int = 300) -> None:
        if not isinstance(max_chars, int) or max_chars < 40:
            raise ValueError(f"max_chars must be a whole number of at least 40, not {max_chars!r}")
        self.max_chars = max_chars

    def settings(self) -> dict:
        return {"max_chars": self.max_chars}

    def split(self, slide: Slide) -> list[Unit]:
        """Return the units of ``slide``, in reading order, with offsets into its text."""
        units = []
        for block in slide.blocks:
            if block.kind in UNQUOTED:
                continue  # shown, never quoted alone
            for start, end in self._pieces(slide.text, block.start, block.end, block.kind == "row"):
                text = slide.text[start:end]
                cells = tuple(c for c in block.cells if c.start >= start and c.end <= end)
                uid = content_hash(slide.source, str(slide.number), slide.text, str(start), str(end))
                units.append(Unit(uid, slide.source, slide.number, start, end, text, block.kind, cells, block.origin))
        return units

    def _pieces(self, text: str, start: int, end: int, row: bool = False) -> list[tuple[int, int]]:
        if end - start <= self.max_chars:
            return [(start, end)]
        pieces: list[tuple[int, int]] = []
        # A long table row is cut between cells first, so each piece keeps whole cells.
        patterns = (_CELL, _SENTENCE, _CLAUSE, _SPACE) if row else (_SENTENCE, _CLAUSE, _SPACE)
        for pattern in patterns:
            pieces = _pack(text, start, end, pattern, self.max_chars)
            if all(e - s <= self.max_chars for s, e in pieces):
                return pieces
        # One word longer than the limit: cut it.
        return [(s, min(s + self.max_chars, end)) for s in range(start, end, self.max_chars)]


def _pack(text: str, start: int, end: int, pattern: re.Pattern, limit: int) -> list[tuple[int, int]]:
    """Greedily join the pieces ``pattern`` cuts ``text[start:end]`` into, up to ``limit``."""
    segments = []
    pos = start
    for gap in pattern.finditer(text, start, end):
        segments.append((pos, gap.start()))
        pos = gap.end()
    segments.append((pos, end))
    pieces = []
    piece_start, piece_end = segments[0]
    for seg_start, seg_end in segments[1:]:
        if seg_end - piece_start <= limit:
            piece_end = seg_end
        else:
            pieces.append((piece_start, piece_end))
            piece_start, piece_end = seg_start, seg_end
    pieces.append((piece_start, piece_end))
    return pieces

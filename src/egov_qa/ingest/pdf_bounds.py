"""Bounds on the work one PDF can cause: its pages' content, the characters read and the time spent.

A PDF's content streams are compressed: a 160 KB file can inflate to tens of
megabytes of text operators, which PDFium would parse whole (and the layout be
rebuilt from) before anything could say no. So each page's streams are measured
first, inflated piece by piece and never kept, and a page or deck past a bound is
refused, or cut, with a warning that names the file and the limit.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field

from egov_qa.ingest.loader import size_text

# Inflated content streams of one page, and of a whole deck.
MAX_PAGE_CONTENT_BYTES = 8 * 1024 * 1024
MAX_DECK_CONTENT_BYTES = 64 * 1024 * 1024
# Characters read from one page's text layer (a slide's text is cut at 20,000 later).
MAX_PAGE_CHARS = 100_000
# Seconds spent reading one deck's pages; the pages after are left out.
MAX_DECK_SECONDS = 300.0
_CHUNK = 256 * 1024


def _now() -> float:
    return time.monotonic()


@dataclass(frozen=True)
class PdfBounds:
    """The bounds one PDF is read within.

    Args:
        page_content_bytes: a page whose content streams inflate past this is skipped.
        deck_content_bytes: pages after the deck's streams inflate past this are left out.
        page_chars: a page's text layer is read up to this many characters.
        deck_seconds: pages after this many seconds of reading are left out.
    """

    page_content_bytes: int = MAX_PAGE_CONTENT_BYTES
    deck_content_bytes: int = MAX_DECK_CONTENT_BYTES
    page_chars: int = MAX_PAGE_CHARS
    deck_seconds: float = MAX_DECK_SECONDS

    def __post_init__(self) -> None:
        for name in ("page_content_bytes", "deck_content_bytes", "page_chars", "deck_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{name} must be a positive number, not {value!r}")


def inflated_size(stream, limit: int) -> int:
    """The size of ``stream`` (a pypdf stream object) once decoded, counted up to just past ``limit``.

    Flate data is inflated a piece at a time and dropped; data under another
    filter counts at its stored size.
    """
    raw = stream._data  # the stored (still encoded) bytes; get_data() would inflate them all at once
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, list) else [str(filters)] if filters else []
    if names[:1] != ["/FlateDecode"]:
        return len(raw)
    inflater = zlib.decompressobj()
    size = 0
    data = raw
    try:
        while data and size <= limit:
            size += len(inflater.decompress(data, _CHUNK))
            data = inflater.unconsumed_tail
    except zlib.error:
        return len(raw)  # damaged: PDFium reads what it can, at about the stored size
    return size


def page_content_size(page, limit: int) -> int:
    """The inflated size of a pypdf ``page``'s content streams, counted up to just past ``limit``."""
    contents = page.get("/Contents")
    if contents is None:
        return 0
    contents = contents.get_object()
    streams = [s.get_object() for s in contents] if isinstance(contents, list) else [contents]
    total = 0
    for stream in streams:
        total += inflated_size(stream, limit - total)
        if total > limit:
            break
    return total


@dataclass(frozen=True)
class Refusal:
    """Why a page is not read: ``message`` names the file and the limit; ``rest`` when no later page is read."""

    message: str
    rest: bool = False


@dataclass
class DeckBudget:
    """What is left of one deck's bounds while its pages are read (not shared between decks)."""

    source: str
    bounds: PdfBounds
    content_bytes: int = 0
    started: float = field(default_factory=lambda: _now())

    def admit(self, page, number: int) -> Refusal | None:
        """None when page ``number`` may be read, else why not (its content counts against the deck)."""
        size = page_content_size(page, self.bounds.page_content_bytes)
        if size > self.bounds.page_content_bytes:
            return Refusal(
                f"skipped {self.source} page {number}: its content inflates past the limit of "
                f"{size_text(self.bounds.page_content_bytes)} a page (a drawing, or a damaged or hostile "
                "file); export that page as an image or split the deck"
            )
        self.content_bytes += size
        if self.content_bytes > self.bounds.deck_content_bytes:
            return Refusal(
                f"{self.source}: pages from {number} on are left out: their content inflates past the "
                f"limit of {size_text(self.bounds.deck_content_bytes)} a deck; split the deck into smaller files",
                rest=True,
            )
        return None

    def out_of_time(self, number: int) -> str | None:
        """None while there is time left to read page ``number``, else the warning that says so."""
        if _now() - self.started <= self.bounds.deck_seconds:
            return None
        return (
            f"{self.source}: pages from {number} on are left out: reading it took more than the limit "
            f"of {self.bounds.deck_seconds:g} seconds a deck; split the deck into smaller files"
        )

"""Plain text decks: split into slides at form feeds, else read as one slide."""

from __future__ import annotations

import re
from pathlib import Path

from egov_qa.documents import Slide
from egov_qa.ingest.slides import SENTENCE_END, SPACE, SlideWriter, finish_slide

# A bullet glyph opening a line (linear time: a deck is untrusted input).
BULLET = re.compile(r"^\s*(?:[-*+](?=\s)|[•■▪●◦※➢❖\ue000-\uf8ff])\s*")


def decoded(path: Path, source: str) -> tuple[str | None, list[str]]:
    """A text file's contents (UTF-8, a byte-order mark dropped), or None and why it cannot be used.

    Raises:
        OSError: the file cannot be read (the loader says so and skips it).
    """
    data = path.read_bytes()
    if not data.strip():
        return None, [f"skipped {source}: the file is empty"]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        return None, [f"skipped {source}: not UTF-8 text (byte {exc.start}); save it as UTF-8"]


def plain_slide(text: str, source: str, number: int) -> Slide | None:
    """Clean one page of plain or PDF-extracted text into a slide.

    Lines broken mid-sentence (the next line starts in lower case) are joined, and
    leading bullet glyphs are removed.
    """
    writer = SlideWriter()
    pending = ""
    pending_kind = "text"
    for raw in text.splitlines():
        line = SPACE.sub(" ", raw).strip()
        if not line:
            writer.line(pending, pending_kind)
            pending = ""
            continue
        kind = "bullet" if BULLET.match(line) else "text"
        line = BULLET.sub("", line, count=1)
        if pending and line[:1].islower() and not SENTENCE_END.search(pending):
            pending = f"{pending} {line}"
            continue
        writer.line(pending, pending_kind)
        pending, pending_kind = line, kind
    writer.line(pending, pending_kind)
    return finish_slide(source, number, writer)


def read_text(path: Path, source: str) -> tuple[list[Slide], list[str]]:
    """A text deck's slides (one per form-feed page), and a warning when it cannot be used."""
    text, warnings = decoded(path, source)
    if text is None:
        return [], warnings
    pages = text.split("\f") if "\f" in text else [text]
    return [s for n, p in enumerate(pages, 1) if (s := plain_slide(p, source, n))], []

"""How many pages or slides a deck file holds, found without reading the deck.

A build's "pages read" bar needs its total before the first deck is read: a
PDF's page count comes from its cross-reference table (PDFium opens no page),
a PowerPoint deck's from the slide parts listed in its zip. Text decks are read
in milliseconds, so they are simply read and their slides counted. A file that
cannot be opened counts as one page: its reader will say what is wrong with it.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

_SLIDE_PART = re.compile(r"ppt/slides/slide\d+\.xml")


def page_count(path: Path) -> int:
    """The pages (PDF) or slides (PowerPoint, Markdown, text) of ``path``; at least 1."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            import pypdfium2 as pdfium

            document = pdfium.PdfDocument(str(path))
            try:
                return max(1, len(document))
            finally:
                document.close()
        if suffix == ".pptx":
            with zipfile.ZipFile(path) as archive:
                return max(1, sum(bool(_SLIDE_PART.fullmatch(name)) for name in archive.namelist()))
        from egov_qa.ingest.registry import reader_for

        read = reader_for(path)
        return 1 if read is None else max(1, len(read(path, path.name)[0]))
    except Exception:  # noqa: BLE001 - any damage: the deck's own reader reports it
        return 1

"""Which reader reads a deck file, chosen by its suffix.

Each reader is a function ``read(path, source) -> (slides, warnings)`` in a small
module of its own, imported only when a deck of its kind is read (PDF and
PowerPoint readers pull in their libraries). Adding a format adds a module and
one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from egov_qa.documents import Slide

Read = Callable[[Path, str], tuple[list[Slide], list[str]]]

READERS: dict[str, str] = {
    ".md": "egov_qa.ingest.markdown:read_markdown",
    ".markdown": "egov_qa.ingest.markdown:read_markdown",
    ".pdf": "egov_qa.ingest.pdf:read_pdf",
    ".pptx": "egov_qa.ingest.pptx:read_pptx",
    ".txt": "egov_qa.ingest.plain:read_text",
}
SUFFIXES = tuple(READERS)


def reader_for(path: Path) -> Read | None:
    """The reader of ``path``'s kind of file, or None when no reader takes its suffix."""
    target = READERS.get(Path(path).suffix.lower())
    if target is None:
        return None
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)

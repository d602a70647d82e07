"""Image-only copies of the eval decks: what a scanner or an "export as pictures" leaves.

Every page of a PDF deck rendered at :data:`DPI` and saved as a picture, no text
layer, so its words can only be read by OCR. Each copy is asked its deck's
questions and scored by the reader fit without that deck (copies are never fit
on: see :func:`egov_qa.training.fit.train`), so the figures quoted for a copy
come from a reader that saw neither. PowerPoint decks have no renderer here: a
set with one is not copied.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from egov_qa.evaluation.scoring import SHIPPED, Suite
from egov_qa.files import file_sha256, write_atomic

DPI = 150.0
# A copy's set is named after its deck's, with this after it.
SUFFIX = " (image-only copy)"


def image_only(source: Path, target: Path, dpi: float = DPI) -> Path:
    """An image-only copy of the PDF ``source``: each page rendered at ``dpi`` and saved as a picture."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(source))
    try:
        images = [document[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in range(len(document))]
    finally:
        document.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    images[0].save(partial, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    partial.replace(target)
    return target


def copyable(suite: Suite) -> list[Path] | None:
    """The decks of ``suite`` to copy: all of them PDFs, or None (the shipped set, a copy, other formats)."""
    if suite.name == SHIPPED or suite.copy_of is not None or not suite.corpus.is_dir():
        return None
    decks = sorted(p for p in suite.corpus.iterdir() if p.is_file() and not p.name.startswith("."))
    return decks if decks and all(p.suffix.lower() == ".pdf" for p in decks) else None


def image_copies(suites: list[Suite], root: Path, progress: Callable[[str], None] = lambda m: None) -> list[Suite]:
    """A set for each image-only copy of the PDF decks of ``suites``, its decks in ``root/NAME/``.

    A copy is made again only when its deck changed (``root/NAME.json`` records the decks'
    digests): pictures saved anew differ in their dates, and each new file would be read
    by OCR again.
    """
    found = []
    for suite in suites:
        decks = copyable(suite)
        if decks is None:
            continue
        folder, record = root / suite.name, root / f"{suite.name}.json"
        digests = {deck.name: file_sha256(deck) for deck in decks}
        made = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else {}
        if made != digests or any(not (folder / name).is_file() for name in digests):
            progress(f"making an image-only copy of {suite.name}'s decks")
            for stale in folder.glob("*") if folder.is_dir() else ():
                stale.unlink()
            for deck in decks:
                image_only(deck, folder / deck.name)
            write_atomic(record, json.dumps(digests, indent=1, sort_keys=True))
        found.append(Suite(f"{suite.name}{SUFFIX}", suite.eval_set, folder, copy_of=suite.name))
    return found

"""Reading a corpus folder: every deck file in it into clean slides, within limits.

Each file is read by the reader its suffix names (:mod:`egov_qa.ingest.registry`):
Markdown decks are split into slides at lines holding only ``---``; PDF decks give
one slide per page, their layout rebuilt (:mod:`egov_qa.ingest.pdf`); PowerPoint
decks one slide per slide (:mod:`egov_qa.ingest.pptx`); text files are split at
form feeds, else read as one slide. Each slide's clean text is what people are
shown: markup removed, every table row on one line that carries its column
headers, so that a row can be quoted on its own.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import importlib.util
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from egov_qa.documents import Slide
from egov_qa.errors import CorpusError
from egov_qa.ingest.registry import SUFFIXES, reader_for

log = logging.getLogger(__name__)

# Documentation and the raw extractions that decks were made from live beside
# the decks but are not decks themselves.
DEFAULT_EXCLUDE = ("README.md", "source/*", ".*")
# The code that turns deck files into slides: an index read by other code of it is
# stale, as one read with other limits is (its slides and units may differ).
READING_CODE = (
    "egov_qa.text",
    "egov_qa.ingest.slides",
    "egov_qa.ingest.markdown",
    "egov_qa.ingest.plain",
    "egov_qa.ingest.pdf",
    "egov_qa.ingest.pptx",
    "egov_qa.ingest.pdf_bounds",
    "egov_qa.ingest.ocr",
    "egov_qa.ingest.ocr_words",
    "egov_qa.ingest.ocr_bullets",
    "egov_qa.ingest.ocr_tables",
    "egov_qa.ingest.splitter",
)


@dataclass(frozen=True)
class LoadResult:
    """Slides read from a corpus, and a warning for each file or page skipped."""

    slides: tuple[Slide, ...]
    warnings: tuple[str, ...] = ()
    files: tuple[Path, ...] = field(default=())


# Bounds on the work one deck can cause; a file or slide beyond them is refused
# or cut with a warning naming it and the limit.
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_SLIDES = 1000
MAX_SLIDE_CHARS = 20_000
# Reading a file this large takes a while: say so, so that the wait is explained.
LARGE_FILE_BYTES = 1024 * 1024


@functools.cache
def reading_code_digest() -> str:
    """A digest of the :data:`READING_CODE` modules' source (the files as installed)."""
    digest = hashlib.sha256()
    for name in READING_CODE:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ValueError(f"no module {name} to take the reading code's digest of")
        digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()[:16]


def source_name(path: Path, corpus_dir: Path) -> str:
    """``path`` relative to ``corpus_dir``, as shown and cited.

    A name that is not valid UTF-8 shows its bad bytes escaped (``deck-\\xff.md``),
    so that it can always be printed and saved.
    """
    relative = os.fsencode(Path(path).relative_to(corpus_dir).as_posix())
    return relative.decode("utf-8", "backslashreplace")


def size_text(size: int) -> str:
    """``size`` bytes for people: ``50.0 MB``, ``2.0 KB``, ``12 bytes``."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


class DeckLoader:
    """Reads every deck file under a corpus folder into slides.

    Args:
        exclude: glob patterns, relative to the corpus folder, of files that are
            not decks (by default the folder's README.md, ``source/`` and hidden files).
        max_file_bytes: a larger deck file is skipped.
        max_slides: a deck's slides after this many are left out.
        max_slide_chars: a slide's text after this many characters is left out.

    A file that cannot be read, or goes past a limit, is skipped (or cut) with a
    warning naming it and the reason.

    Raises:
        ValueError: a setting that is not valid (the message names it).
    """

    def __init__(
        self,
        exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
        max_file_bytes: int = MAX_FILE_BYTES,
        max_slides: int = MAX_SLIDES,
        max_slide_chars: int = MAX_SLIDE_CHARS,
    ) -> None:
        if isinstance(exclude, str):
            raise ValueError(f"exclude must be a tuple of patterns, not the string {exclude!r}")
        for name, value in (
            ("max_file_bytes", max_file_bytes),
            ("max_slides", max_slides),
            ("max_slide_chars", max_slide_chars),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
        self.exclude = tuple(exclude)
        self.max_file_bytes = max_file_bytes
        self.max_slides = max_slides
        self.max_slide_chars = max_slide_chars

    def settings(self) -> dict:
        """The limits, the OCR engine and the reading code, as recorded in the index manifest (others give other
        slides)."""
        from egov_qa.ingest.ocr import engine_version

        return {
            "max_file_bytes": self.max_file_bytes,
            "max_slides": self.max_slides,
            "max_slide_chars": self.max_slide_chars,
            "ocr": engine_version(),
            "reading": reading_code_digest(),
        }

    def files(self, corpus_dir: Path) -> list[Path]:
        """The deck files under ``corpus_dir``, sorted, excluded ones left out."""
        corpus_dir = Path(corpus_dir)
        if corpus_dir.is_file():
            raise CorpusError(
                f"corpus {corpus_dir} is a file, not a folder: put the deck in a folder of its own "
                "and pass that with --corpus DIR"
            )
        if not corpus_dir.is_dir():
            raise CorpusError(
                f"corpus folder {corpus_dir} does not exist: "
                "create it and put .md, .pdf, .pptx or .txt decks in it, or pass --corpus DIR"
            )
        found = []
        for path in sorted(corpus_dir.rglob("*")):
            rel = path.relative_to(corpus_dir).as_posix()
            # A link whose target is gone is kept, to be skipped with a warning as any deck that
            # cannot be read is; a folder named like a deck is no deck.
            dangling = path.is_symlink() and not path.exists()
            if not (path.is_file() or dangling) or path.suffix.lower() not in SUFFIXES:
                continue
            if any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(path.name, p) for p in self.exclude):
                continue
            if any(part.startswith(".") for part in Path(rel).parts):
                continue
            found.append(path)
        return found

    def load(self, corpus_dir: Path) -> LoadResult:
        """Read all decks under ``corpus_dir``.

        Raises:
            CorpusError: the folder is missing or no file in it gave a slide.
        """
        corpus_dir = Path(corpus_dir)
        files = self.files(corpus_dir)
        slides: list[Slide] = []
        warnings: list[str] = []
        for path in files:
            got, notes = self.load_from(path, corpus_dir)
            slides.extend(got)
            warnings.extend(notes)
        for note in warnings:
            log.warning("%s", note)
        if not slides:
            what = f"{len(files)} deck file(s), none readable" if files else "no deck files"
            raise CorpusError(f"corpus folder {corpus_dir} has {what}: add .md, .pdf, .pptx or .txt decks with text")
        return LoadResult(tuple(slides), tuple(warnings), tuple(files))

    def load_from(self, path: Path, corpus_dir: Path) -> tuple[list[Slide], list[str]]:
        """Read the deck ``path`` of ``corpus_dir``, named by its place there (never raises for bad files)."""
        source = source_name(path, corpus_dir)
        if source != path.relative_to(corpus_dir).as_posix():
            # Its name could be neither hashed nor saved as text, nor cited faithfully.
            return [], [f"skipped {source}: its file name is not valid UTF-8; rename it"]
        return self.load_file(path, source)

    def load_file(self, path: Path, source: str) -> tuple[list[Slide], list[str]]:
        """Read one deck file within the limits; returns its slides and warnings (never raises for bad files)."""
        try:
            size = path.stat().st_size
        except OSError as exc:
            return [], [f"skipped {source}: cannot be read ({exc.strerror or exc})"]
        if size > self.max_file_bytes:
            return [], [
                f"skipped {source}: the file is {size_text(size)}, over the limit of "
                f"{size_text(self.max_file_bytes)} per deck file; split it into smaller decks"
            ]
        if size > LARGE_FILE_BYTES:
            log.warning("reading %s (%s): a large deck takes a while", source, size_text(size))
        slides, warnings = self._read(path, source)
        # A reading library may name the file by its path (a temporary upload's, say): name the deck.
        warnings = [w.replace(str(path), source) for w in warnings]
        return self._bounded(slides, source, warnings)

    def _bounded(self, slides: list[Slide], source: str, warnings: list[str]) -> tuple[list[Slide], list[str]]:
        """``slides`` cut to the limits on slides per deck and characters per slide."""
        warnings = list(warnings)
        if len(slides) > self.max_slides:
            warnings.append(
                f"{source}: only its first {self.max_slides} slides are indexed; it has {len(slides)}, "
                f"over the limit of {self.max_slides} slides per deck"
            )
            slides = slides[: self.max_slides]
        kept = []
        for slide in slides:
            if len(slide.text) > self.max_slide_chars:
                warnings.append(
                    f"{source} slide {slide.number}: only its first {self.max_slide_chars:,} characters are "
                    f"indexed; it has {len(slide.text):,}, over the limit of {self.max_slide_chars:,} per slide"
                )
                slide = _cut(slide, self.max_slide_chars)
            kept.append(slide)
        return kept, warnings

    def _read(self, path: Path, source: str) -> tuple[list[Slide], list[str]]:
        read = reader_for(path)
        if read is None:
            return [], [f"skipped {source}: no reader takes {path.suffix or 'files without a suffix'}"]
        try:
            slides, warnings = read(path, source)
        except OSError as exc:
            return [], [f"skipped {source}: cannot be read ({exc.strerror or exc})"]
        if not slides and not warnings:
            return [], [f"skipped {source}: it holds no text"]
        return slides, warnings


def _cut(slide: Slide, limit: int) -> Slide:
    """``slide`` with its text cut to ``limit`` characters, its blocks and cells clipped to match."""
    blocks = []
    for block in slide.blocks:
        if block.start >= limit:
            break
        cells = tuple(replace(c, end=min(c.end, limit)) for c in block.cells if c.start < limit)
        blocks.append(replace(block, end=min(block.end, limit), cells=cells))
    return replace(slide, text=slide.text[:limit], blocks=tuple(blocks))

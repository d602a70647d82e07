"""Reading decks: Markdown, PDF, PowerPoint and plain text files into clean slides.

Markdown decks are split into slides at lines holding only ``---`` (the Marp and
Slidev convention); PDF decks give one slide per page, their layout rebuilt
(``pdf_deck``); PowerPoint decks one slide per slide (``pptx_deck``); text files
are split at form feeds, else read as one slide. Each slide's clean text is what people are
shown: markup removed, every table row on one line that carries its column
headers, so that a row can be quoted on its own.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from markdown_it import MarkdownIt

from egov_qa.documents import Block, Cell, Slide
from egov_qa.errors import CorpusError

log = logging.getLogger(__name__)

SUFFIXES = (".md", ".markdown", ".pdf", ".pptx", ".txt")
# Documentation and the raw extractions that decks were made from live beside
# the decks but are not decks themselves.
DEFAULT_EXCLUDE = ("README.md", "source/*", ".*")

# Every pattern applied to deck text runs in linear time: a deck is untrusted
# input, and one long line must not stall indexing (no nested or adjacent
# unbounded quantifiers that can backtrack over the same characters).
_BULLET = re.compile(r"^\s*(?:[-*+](?=\s)|[•■▪●◦※➢❖\ue000-\uf8ff])\s*")
_NOTE = re.compile(r"^\s*※\s*")
_SEPARATOR_CELL = re.compile(r":?-{3,}:?")
# Inline markup (emphasis, code, links, escapes) is read by a CommonMark parser:
# only real markup is removed, so ``window.__xss`` stays as written. Raw HTML and
# entities stay text, exactly as the deck has them.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable(["entity"])
_SPACE = re.compile(r"[ \t\u00a0]+")
_SENTENCE_END = re.compile(r"[.!?:;]$")
CELL_SEPARATOR = " | "


@dataclass(frozen=True)
class LoadResult:
    """Slides read from a corpus, and a warning for each file or page skipped."""

    slides: tuple[Slide, ...]
    warnings: tuple[str, ...] = ()
    files: tuple[Path, ...] = field(default=())


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

    def line(self, text: str, kind: str, level: int = 0) -> None:
        text = _SPACE.sub(" ", text).strip()
        if not text:
            return
        start = self._start_line()
        self.parts.append(text)
        self.length += len(text)
        self.blocks.append(Block(kind, start, self.length, (), level))

    def row(self, headers: list[str], values: list[str]) -> None:
        pieces: list[tuple[str, str]] = []
        for i, value in enumerate(values):
            value = _SPACE.sub(" ", value).strip()
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


def _inline(text: str) -> str:
    """Remove inline Markdown markup, keeping the words (an image keeps its alt text)."""
    if not text.strip():
        return ""
    pieces = []
    for block in _MARKDOWN.parseInline(text):
        for token in block.children or ():
            if token.type in ("text", "code_inline", "image", "html_inline"):
                pieces.append(token.content)
            elif token.type in ("softbreak", "hardbreak"):
                pieces.append(" ")
    return "".join(pieces)


def _is_slide_break(line: str) -> bool:
    return line.strip() == "---"


def _is_table_separator(line: str) -> bool:
    """Whether ``line`` is a table's header separator (``|---|:---:|``)."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return all(_SEPARATOR_CELL.fullmatch(cell.strip()) for cell in inner.split("|"))


def _heading(line: str) -> str | None:
    """The text of an ATX heading line (``## Title ##``), or None for another line."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return None
    rest = stripped.lstrip("#")
    level = len(stripped) - len(rest)
    if not 1 <= level <= 6 or not rest[:1].isspace():
        return None
    text = rest.strip()
    # A closing run of # is markup only when a space sets it apart ("C#" keeps its #).
    closed = text.rstrip("#")
    if not closed or closed[-1].isspace():
        text = closed.rstrip()
    return text


def _split_row(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return [_inline(c.replace("\\|", "|")).strip() for c in cells]


TITLE_CHARS = 80


def _title(slide_text: str, blocks: list[Block]) -> str:
    """The slide's first heading, else its first line (a table row's first cell)."""
    shown = [b for b in blocks if b.kind != "furniture"]
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


def _markdown_slide(chunk: list[str], source: str, number: int) -> Slide | None:
    writer = SlideWriter()
    i = 0
    while i < len(chunk):
        line = chunk[i]
        is_table = line.lstrip().startswith("|")
        if is_table and i + 1 < len(chunk) and _is_table_separator(chunk[i + 1]):
            headers = _split_row(line)
            i += 2
            while i < len(chunk) and chunk[i].lstrip().startswith("|"):
                writer.row(headers, _split_row(chunk[i]))
                i += 1
            continue
        heading = _heading(line)
        if heading is not None:
            writer.line(_inline(heading), "heading")
        elif _NOTE.match(line):
            # A reference mark (※) annotates the line before it: keep it a note.
            writer.line(_inline(_NOTE.sub("", line, count=1)), "note")
        elif _BULLET.match(line):
            indent = len(line) - len(line.lstrip(" \t"))
            writer.line(_inline(_BULLET.sub("", line, count=1)), "bullet", indent // 2)
        else:
            writer.line(_inline(line), "text")
        i += 1
    return finish_slide(source, number, writer)


def split_markdown(text: str, source: str) -> list[Slide]:
    """Split a Markdown deck into slides at ``---`` lines (front matter is skipped)."""
    lines = text.splitlines()
    if lines and _is_slide_break(lines[0]):
        # Marp and Slidev decks open with YAML front matter between two --- lines.
        try:
            end = next(i for i in range(1, len(lines)) if _is_slide_break(lines[i]))
            lines = lines[end + 1 :]
        except StopIteration:
            lines = lines[1:]
    chunks: list[list[str]] = [[]]
    fenced = False
    for line in lines:
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and _is_slide_break(line):
            chunks.append([])
        else:
            chunks[-1].append(line)
    slides = [_markdown_slide(chunk, source, n) for n, chunk in enumerate(chunks, 1)]
    return [s for s in slides if s is not None]


def plain_slide(text: str, source: str, number: int) -> Slide | None:
    """Clean one page of plain or PDF-extracted text into a slide.

    Lines broken mid-sentence (the next line starts in lower case) are joined, and
    leading bullet glyphs are removed.
    """
    writer = SlideWriter()
    pending = ""
    pending_kind = "text"
    for raw in text.splitlines():
        line = _SPACE.sub(" ", raw).strip()
        if not line:
            writer.line(pending, pending_kind)
            pending = ""
            continue
        kind = "bullet" if _BULLET.match(line) else "text"
        line = _BULLET.sub("", line, count=1)
        if pending and line[:1].islower() and not _SENTENCE_END.search(pending):
            pending = f"{pending} {line}"
            continue
        writer.line(pending, pending_kind)
        pending, pending_kind = line, kind
    writer.line(pending, pending_kind)
    return finish_slide(source, number, writer)


# Bounds on the work one deck can cause; a file or slide beyond them is refused
# or cut with a warning naming it and the limit.
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_SLIDES = 1000
MAX_SLIDE_CHARS = 20_000
# Reading a file this large takes a while: say so, so that the wait is explained.
LARGE_FILE_BYTES = 1024 * 1024


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
        """The limits, as recorded in the index manifest (other limits give other slides)."""
        return {
            "max_file_bytes": self.max_file_bytes,
            "max_slides": self.max_slides,
            "max_slide_chars": self.max_slide_chars,
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
            if not path.is_file() or path.suffix.lower() not in SUFFIXES:
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
        suffix = path.suffix.lower()
        try:
            if suffix == ".pdf":
                from egov_qa.pdf_deck import read_pdf  # imported here: only PDF decks need it

                return read_pdf(path, source)
            if suffix == ".pptx":
                from egov_qa.pptx_deck import read_pptx  # imported here: only PowerPoint decks need it

                return read_pptx(path, source)
            data = path.read_bytes()
        except OSError as exc:
            return [], [f"skipped {source}: cannot be read ({exc.strerror or exc})"]
        if not data.strip():
            return [], [f"skipped {source}: the file is empty"]
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return [], [f"skipped {source}: not UTF-8 text (byte {exc.start}); save it as UTF-8"]
        if suffix in (".md", ".markdown"):
            slides = split_markdown(text, source)
        else:
            pages = text.split("\f") if "\f" in text else [text]
            slides = [s for n, p in enumerate(pages, 1) if (s := plain_slide(p, source, n))]
        if not slides:
            return [], [f"skipped {source}: it holds no text"]
        return slides, []


def _cut(slide: Slide, limit: int) -> Slide:
    """``slide`` with its text cut to ``limit`` characters, its blocks and cells clipped to match."""
    blocks = []
    for block in slide.blocks:
        if block.start >= limit:
            break
        cells = tuple(replace(c, end=min(c.end, limit)) for c in block.cells if c.start < limit)
        blocks.append(replace(block, end=min(block.end, limit), cells=cells))
    return replace(slide, text=slide.text[:limit], blocks=tuple(blocks))

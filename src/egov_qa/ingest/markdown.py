"""Markdown decks: split into slides at lines holding only ``---`` (the Marp and Slidev convention).

Inline markup (emphasis, code, links, escapes) is read by a CommonMark parser:
only real markup is removed, so ``window.__xss`` stays as written. Raw HTML and
entities stay text, exactly as the deck has them. Every table row becomes one line
that carries its column headers, so that a row can be quoted on its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt

from egov_qa.documents import Slide
from egov_qa.ingest.plain import BULLET, decoded
from egov_qa.ingest.slides import SlideWriter, finish_slide

# Every pattern applied to deck text runs in linear time: a deck is untrusted
# input, and one long line must not stall indexing (no nested or adjacent
# unbounded quantifiers that can backtrack over the same characters).
_NOTE = re.compile(r"^\s*※\s*")
_SEPARATOR_CELL = re.compile(r":?-{3,}:?")
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable(["entity"])


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
        elif BULLET.match(line):
            indent = len(line) - len(line.lstrip(" \t"))
            writer.line(_inline(BULLET.sub("", line, count=1)), "bullet", indent // 2)
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


def read_markdown(path: Path, source: str) -> tuple[list[Slide], list[str]]:
    """A Markdown deck's slides, and a warning when it cannot be used."""
    text, warnings = decoded(path, source)
    return (split_markdown(text, source), []) if text is not None else ([], warnings)

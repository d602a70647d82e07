"""Rendering an answer for people: plain text for the terminal, Markdown for the chat.

The CLI and the chat both render through this module; neither imports the other.
Markdown output is inert: every piece of deck or question text is escaped.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Mapping
from pathlib import PurePosixPath

from egov_qa.documents import Answer, Citation

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md_text(text: str) -> str:
    """``text`` made inert for a Markdown message: HTML escaped, Markdown marks escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


# A "Unit: KRW 100 million" line (or "(Unit: …)") says what a slide's table figures count.
_UNIT_LINE = re.compile(r"^\(?\s*units?\s*[:：]\s*(?P<unit>[^()\n]{1,40}?)\s*\)?\s*$", re.IGNORECASE | re.MULTILINE)
_FIGURE = re.compile(r"^[\d.,]+$")
SNIPPET_CHARS = 90


def deck_name(source: str, names: Mapping[str, str] | None = None) -> str:
    """A deck's short display name: the title given to it in ``names``, else its file name without extension."""
    given = (names or {}).get(source, "").strip()
    return given or PurePosixPath(source).stem or source


def not_said(decks: int = 1) -> str:
    """What an abstention says first: "The deck does not say." or, with several decks, "The decks do not say."."""
    return "The decks do not say." if decks > 1 else "The deck does not say."


def key_fact(answer: Answer) -> str | None:
    """The short answer: the key span of the quote, with its unit when it is a bare figure (or table
    cells of figures: "2005: 20,272 | 2011: 21,948") and its slide states one unit for its figures
    ("29,052 (KRW 100 million)"); None without a key span."""
    if answer.span is None or not answer.citations:
        return None
    fact = answer.span.text.strip()
    units = {m.group("unit").strip() for m in _UNIT_LINE.finditer(answer.citations[0].text)}
    # Cells as a row writes them, "header: value | ...": the values are the figures.
    values = [cell.rsplit(":", 1)[-1].strip() for cell in fact.split("|")] if "|" in fact else [fact]
    if all(_FIGURE.match(value) for value in values) and len(units) == 1:
        return f"{fact} ({units.pop()})"
    return fact


def snippet(citation: Citation, limit: int = SNIPPET_CHARS) -> str:
    """The start of a cited slide's text after its title, cut on a word to about ``limit`` characters."""
    lines = [line.strip() for line in citation.text.splitlines() if line.strip()]
    # The title's own line is left out; a line that merely starts with it (a table row) is kept.
    if lines and lines[0] in (citation.title.strip(), whole_title(citation).strip()):
        lines = lines[1:]
    text = " ".join(" ".join(lines).split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:-–—") + "…"


def whole_title(citation: Citation, limit: int = 160) -> str:
    """The cited slide's title in full: a title cut short ("… was…") is given back its line from the
    slide's text when that line is under ``limit`` characters, so that a citation never cuts off the
    name it is about."""
    title = citation.title
    if not title.endswith("…"):
        return title
    start = title[:-1].rstrip()
    line = next((line.strip() for line in citation.text.splitlines() if line.strip().startswith(start)), "")
    return line if start and line and len(line) <= limit else title


ORIGINS = {"ocr": " (read by OCR from the page image)", "picture": " (read by OCR from a picture on the slide)"}


def quoted_from(citation: Citation) -> str:
    """Where a quote's words come from, when not the slide's typed text: its notes, or OCR."""
    return (" (speaker notes)" if citation.notes else "") + ORIGINS.get(citation.origin, "")


def citation_words(citation: Citation, names: Mapping[str, str] | None = None) -> str:
    """``egov_korea · Slide 9: Services to the People``: the deck's short name, then the slide."""
    title = whole_title(citation)
    slide = f"Slide {citation.slide}: {title}" if title else f"Slide {citation.slide}"
    return f"{deck_name(citation.source, names)} · {slide}"


def answer_text(answer: Answer, names: Mapping[str, str] | None = None, decks: int = 1) -> str:
    """A readable rendering of an :class:`Answer` for the terminal.

    A question read otherwise than typed says so first ("Read as: …", or "Taken with
    your previous question: …" for a follow-up); a question of several parts has each
    part's answer under it. ``names`` maps deck files to the names they are shown by;
    ``decks`` is how many decks were asked.
    """
    lines = []
    note = read_as_note(answer)
    if note:
        lines.append(note)
    if answer.parts:
        for number, part in enumerate(answer.parts, 1):
            # A blank line between parts, and after the note: none to open the reply with.
            lines += [""] if lines else []
            lines += [f"{number}. {part.question}", textwrap.indent(_text_one(part, names, decks), "   ")]
        return "\n".join(lines)
    lines.append(_text_one(answer, names, decks))
    return "\n".join(lines)


def _text_one(answer: Answer, names: Mapping[str, str] | None = None, decks: int = 1) -> str:
    lines = []
    if answer.abstained:
        lines.append(not_said(decks))
        if answer.reason:
            lines.append(f"  ({answer.reason})")
        if answer.citations:
            lines.append("Closest slides:")
            for c in answer.citations:
                lines.append(f"  - Slide {c.slide}: {c.title} [{c.source}]")
                if snippet(c):
                    lines.append(f"    {snippet(c)}")
        return "\n".join(lines)
    first = answer.citations[0]
    fact = key_fact(answer)
    if fact is not None and answer.span is not None and answer.span.text != answer.answer:
        lines.append(fact)
    lines.append(textwrap.fill(f"“{answer.answer}”", width=88))
    notes = quoted_from(first)
    lines.append(f"— Slide {first.slide}: {first.title} [{first.source}]{notes}")
    lines.append(f"Confidence: {confidence_words(answer.confidence)} ({answer.confidence:.2f})")
    if answer.reason:
        lines.append(f"Note: {answer.reason}")
    if len(answer.citations) > 1:
        # A slide of another deck than the cited one names its deck: "Slide 6" alone would be ambiguous.
        also = (
            f"Slide {c.slide}: {c.title}" + (f" [{c.source}]" if c.source != first.source else "")
            for c in answer.citations[1:]
        )
        lines.append("See also: " + "; ".join(also))
    return "\n".join(lines)


def read_as_note(answer: Answer) -> str | None:
    """How the question was read, when that differs from what was typed: "Taken with your previous
    question: …" for a follow-up, else "Read as: …" with the words corrected; None otherwise."""
    if not answer.read_as:
        return None
    fixed = ", ".join(f"{c.typed} → {c.read}" for c in answer.corrections)
    lead = "Taken with your previous question" if answer.follow_up else "Read as"
    return f"{lead}: {answer.read_as}" + (f" ({fixed})" if fixed else "")


def confidence_words(confidence: float) -> str:
    """``high``, ``medium`` or ``low`` for a confidence in [0, 1]."""
    return "high" if confidence >= 0.8 else "medium" if confidence >= 0.6 else "low"


def chip(number: int) -> str:
    """A citation's number as a chip in a chat message (a code span, styled by the app)."""
    return f"`{number}`"


def answer_markdown(
    answer: Answer, names: Mapping[str, str] | None = None, decks: int = 1, numbers: Mapping | None = None
) -> str:
    """The chat message for an answer: how the question was read when that differs from what
    was typed, then the short answer in bold on its own line, the quote (key span in bold) and
    its citation as a numbered chip naming the deck, and the confidence; an abstention says the
    deck (or decks) do not say, why in plain words, and lists the closest slides with a snippet.
    A question of several parts has each part with its own answer.

    ``names`` maps deck files to their short names; ``decks`` is how many decks were asked;
    ``numbers`` maps ``(source, slide)`` to the chip number of that citation (the order of the
    chat's citation list; default: each answer's own order).
    """
    lines = []
    note = read_as_note(answer)
    if note:
        lines.append(f"_{md_text(note)}_")
    if answer.parts:
        for number, part in enumerate(answer.parts, 1):
            lines.append(f"**{number}\\. {md_text(part.question)}**\n\n{_markdown_one(part, names, decks, numbers)}")
    else:
        lines.append(_markdown_one(answer, names, decks, numbers))
    return "\n\n".join(lines)


def _chip_for(citation: Citation, rank: int, numbers: Mapping | None) -> str:
    number = (numbers or {}).get((citation.source, citation.slide), rank + 1)
    return chip(number)


def _markdown_one(answer: Answer, names: Mapping[str, str] | None, decks: int, numbers: Mapping | None) -> str:
    if answer.abstained:
        lines = [f"**{not_said(decks)}**"]
        if answer.reason:
            lines.append(md_text(answer.reason))
        if answer.citations:
            closest = ["Closest slides:"]
            for rank, c in enumerate(answer.citations):
                said = snippet(c)
                closest.append(
                    f"- {_chip_for(c, rank, numbers)} {md_text(citation_words(c, names))}"
                    + (f": _{md_text(said)}_" if said else "")
                )
            lines.append("\n".join(closest))
        return "\n\n".join(lines)
    first = answer.citations[0]
    quote = md_text(answer.answer or "")
    lines = []
    if answer.span is not None and answer.span.text != answer.answer:
        fact = key_fact(answer)
        if fact:
            lines.append(f"**{md_text(fact)}**")
        before = first.text[first.start : answer.span.start]
        after = first.text[answer.span.end : first.end]
        quote = f"{md_text(before)}**{md_text(answer.span.text)}**{md_text(after)}"
    lines.append(f"“{quote}”")
    notes = quoted_from(first)
    words = confidence_words(answer.confidence)
    cite = f"— {_chip_for(first, 0, numbers)} {md_text(citation_words(first, names) + notes)}"
    lines.append(f"{cite} · confidence: {words} ({answer.confidence:.2f})")
    if answer.reason:
        lines.append(f"_Note: {md_text(answer.reason)}_")
    return "\n\n".join(lines)

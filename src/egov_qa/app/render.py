"""Rendering an answer for people: plain text for the terminal, Markdown for the chat.

The CLI and the chat both render through this module; neither imports the other.
Markdown output is inert: every piece of deck or question text is escaped.
"""

from __future__ import annotations

import html
import re
import textwrap

from egov_qa.documents import Answer

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md_text(text: str) -> str:
    """``text`` made inert for a Markdown message: HTML escaped, Markdown marks escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def answer_text(answer: Answer) -> str:
    """A readable rendering of an :class:`Answer` for the terminal.

    A question read otherwise than typed says so first ("Read as: …"); a question
    of several parts has each part's answer under it.
    """
    lines = []
    note = read_as_note(answer)
    if note:
        lines.append(note)
    if answer.parts:
        for number, part in enumerate(answer.parts, 1):
            lines += ["", f"{number}. {part.question}", textwrap.indent(_text_one(part), "   ")]
        return "\n".join(lines)
    lines.append(_text_one(answer))
    return "\n".join(lines)


def _text_one(answer: Answer) -> str:
    lines = []
    if answer.abstained:
        lines.append("The deck does not say.")
        if answer.reason:
            lines.append(f"  ({answer.reason})")
        if answer.citations:
            lines.append("Closest slides:")
            lines += [f"  - Slide {c.slide}: {c.title} [{c.source}]" for c in answer.citations]
        return "\n".join(lines)
    first = answer.citations[0]
    lines.append(textwrap.fill(f"“{answer.answer}”", width=88))
    if answer.span is not None and answer.span.text != answer.answer:
        lines.append(f"Key fact: {answer.span.text}")
    notes = " (speaker notes)" if first.notes else ""
    lines.append(f"— Slide {first.slide}: {first.title} [{first.source}]{notes}")
    lines.append(f"Confidence: {confidence_words(answer.confidence)} ({answer.confidence:.2f})")
    if len(answer.citations) > 1:
        # A slide of another deck than the cited one names its deck: "Slide 6" alone would be ambiguous.
        also = (
            f"Slide {c.slide}: {c.title}" + (f" [{c.source}]" if c.source != first.source else "")
            for c in answer.citations[1:]
        )
        lines.append("See also: " + "; ".join(also))
    return "\n".join(lines)


def read_as_note(answer: Answer) -> str | None:
    """ "Read as: …" with the words corrected, when the question was read otherwise than typed; else None."""
    if not answer.read_as:
        return None
    fixed = ", ".join(f"{c.typed} → {c.read}" for c in answer.corrections)
    return f"Read as: {answer.read_as}" + (f" ({fixed})" if fixed else "")


def confidence_words(confidence: float) -> str:
    """``high``, ``medium`` or ``low`` for a confidence in [0, 1]."""
    return "high" if confidence >= 0.8 else "medium" if confidence >= 0.6 else "low"


def answer_markdown(answer: Answer) -> str:
    """The chat message for an answer: how the question was read when that differs from
    what was typed, then the quote (key span in bold), its slide and the confidence; for a
    question of several parts, each part with its own answer."""
    lines = []
    note = read_as_note(answer)
    if note:
        lines.append(f"_{md_text(note)}_")
    if answer.parts:
        for number, part in enumerate(answer.parts, 1):
            lines.append(f"**{number}\\. {md_text(part.question)}**\n\n{_markdown_one(part)}")
    else:
        lines.append(_markdown_one(answer))
    return "\n\n".join(lines)


def _markdown_one(answer: Answer) -> str:
    if answer.abstained:
        lines = ["**The deck does not say.**"]
        if answer.reason:
            lines.append(f"_{md_text(answer.reason)}_")
        if answer.citations:
            lines.append(
                "Closest slides: " + "; ".join(md_text(f"Slide {c.slide}: {c.title}") for c in answer.citations)
            )
        return "\n\n".join(lines)
    first = answer.citations[0]
    quote = md_text(answer.answer or "")
    if answer.span is not None and answer.span.text != answer.answer:
        before = first.text[first.start : answer.span.start]
        after = first.text[answer.span.end : first.end]
        quote = f"{md_text(before)}**{md_text(answer.span.text)}**{md_text(after)}"
    reference = md_text(f"Slide {first.slide}: {first.title}" + (" (speaker notes)" if first.notes else ""))
    words = confidence_words(answer.confidence)
    return f"“{quote}”\n\n— {reference} · confidence: {words} ({answer.confidence:.2f})"

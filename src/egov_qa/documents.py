"""The records the stages hand each other: slides, units, hits and answers.

All are frozen dataclasses; change one with ``dataclasses.replace``. Every unit
keeps the source file, the slide number and the character span in the slide's
text, so a citation can always point at the exact words it quotes.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass


def content_hash(*parts: str, length: int = 16) -> str:
    """Return a short, stable hex id for ``parts`` (the same text gives the same id)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


@dataclass(frozen=True)
class Cell:
    """One table cell inside a row unit: its column header and its value's span."""

    header: str
    start: int
    end: int


@dataclass(frozen=True)
class Block:
    """One line of a slide's clean text, with what kind of line it was in the deck.

    ``kind`` is ``heading``, ``bullet``, ``note`` (a ※ remark on the line before),
    ``row`` (a table row, with ``cells``), ``text``, ``notes`` (the speaker's notes
    of a PowerPoint slide), ``furniture`` (footers and page numbers: shown, never
    an answer unit) or ``continued`` (the end of a sentence that a PDF page break
    cut, quoted whole on the page where it starts: shown, never a unit). ``start`` and ``end`` index
    into :attr:`Slide.text`. ``level`` is a bullet's nesting depth (0 at the top).
    ``origin`` says where words not typed in the deck were read: ``ocr`` (a page
    without a text layer, read from its image) or ``picture`` (a picture on a
    slide); empty for the deck's own text.
    """

    kind: str
    start: int
    end: int
    cells: tuple[Cell, ...] = ()
    level: int = 0
    origin: str = ""


@dataclass(frozen=True)
class Slide:
    """One slide (or PDF page) of a deck, as people are shown it.

    ``number`` is 1-based within its source file. ``text`` is the slide's clean
    text: markup removed, each table row on one line with its column headers.
    """

    source: str
    number: int
    title: str
    text: str
    blocks: tuple[Block, ...] = ()

    @property
    def id(self) -> str:
        return content_hash(self.source, str(self.number), self.text)

    @property
    def label(self) -> str:
        """A short reference such as ``Slide 12: Online civil services``."""
        return f"Slide {self.number}: {self.title}" if self.title else f"Slide {self.number}"


@dataclass(frozen=True)
class Unit:
    """The smallest quotable piece of a slide: a sentence, bullet, heading or table row.

    ``origin`` is its block's (``ocr``, ``picture`` or empty): words read by OCR say so.
    """

    id: str
    source: str
    slide: int
    start: int
    end: int
    text: str
    kind: str
    cells: tuple[Cell, ...] = ()
    origin: str = ""


@dataclass(frozen=True)
class Span:
    """A span of a slide's text: ``text == slide.text[start:end]``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ScoredUnit:
    """A unit with its retrieval evidence."""

    unit: Unit
    score: float
    dense: float = 0.0
    lexical: float = 0.0


@dataclass(frozen=True)
class ScoredSlide:
    """A slide with its fused retrieval score and rank (0 is best)."""

    slide: Slide
    score: float
    rank: int


@dataclass(frozen=True)
class Citation:
    """A cited slide. ``start``/``end`` locate the quoted answer in ``text`` (or are None).

    ``notes`` is True when the quote comes from the slide's speaker notes; ``origin`` is
    the quoted unit's (``ocr``, ``picture``, or empty when the deck's text was typed).
    """

    source: str
    slide: int
    title: str
    text: str
    start: int | None
    end: int | None
    score: float
    notes: bool = False
    origin: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Correction:
    """A question word the corpus does not know (``typed``), read as a close corpus word (``read``)."""

    typed: str
    read: str


@dataclass(frozen=True)
class Answer:
    """What :meth:`egov_qa.Assistant.ask` returns.

    ``answer`` is a verbatim quote from ``citations[0].text`` (or None when the
    assistant abstains); ``span`` is the key fact inside it, when the question
    asks for one, in the cited slide's offsets.

    ``read_as`` is the question as it was read, when that differs from what was
    typed: misspelled words corrected (``corrections``), or a follow-up given the
    previous question's context (``follow_up``). A question that asks several
    things has one answer per part in ``parts`` (each with its own quote and
    citations, its ``question`` the part as read); the answer's own fields are
    then those of the first part.
    """

    question: str
    answer: str | None
    abstained: bool
    confidence: float
    citations: tuple[Citation, ...] = ()
    span: Span | None = None
    answer_type: str | None = None
    reason: str = ""
    read_as: str | None = None
    corrections: tuple[Correction, ...] = ()
    follow_up: bool = False
    parts: tuple[Answer, ...] = ()

    def to_dict(self) -> dict:
        """The JSON shape of ``egov-qa ask --json``."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "citations": [c.to_dict() for c in self.citations],
            "span": None if self.span is None else asdict(self.span),
            "answer_type": self.answer_type,
            "reason": self.reason,
            "read_as": self.read_as,
            "corrections": [asdict(c) for c in self.corrections],
            "follow_up": self.follow_up,
            "parts": [p.to_dict() for p in self.parts],
        }

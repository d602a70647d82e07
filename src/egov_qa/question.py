"""Reading a question: what kind of fact it asks for, and what it hinges on.

The answer type (a year, a number, a percentage, a rank, a name) steers both the
unit chosen and the key span emphasized inside it. The terms a question hinges on
(numbers and proper names) must be found in the evidence, or the assistant
abstains: a question about 2015's budget is not answered with 2011's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from egov_qa.text import QUESTION_WORDS, STOPWORDS, related, stem, terms, words

# Checked in order: the first type whose cue appears wins.
_TYPE_CUES: tuple[tuple[str, re.Pattern], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("percent", r"\b(percent|percentage|per cent|proportion|share of|what share|rate)\b|%"),
        ("rank", r"\b(rank|ranking|ranked|place|position)\b"),
        (
            "year",
            r"\b(when|what years?|which years?|in what year|since when|what period|which period|"
            r"what date|which date|what time frame|what years did)\b",
        ),
        (
            "number",
            r"\b(how many|how much|number of|how long|how fast|how quickly|amount|count|"
            r"how big|how large|how often|what was the (budget|fund|total)|worth)\b",
        ),
        (
            "name",
            r"\b(who|whom|which (agency|agencies|organi[sz]ation|committee|ministry|act|law|"
            r"president|administration|body|institute|system|award|prize|standard|"
            r"certification|company|companies)|what (agency|organi[sz]ation|committee|ministry|"
            r"award|prize|standard|certification) |stand for|stands for|abbreviation|acronym)\b",
        ),
    )
)

_YEAR = r"(?<![\d,.$])(?:19|20)\d{2}(?:\s*~\s*(?:(?:19|20)\d{2})?|\.\d{1,2})?(?![\d,])|'\d{2}\b"
SPAN_PATTERNS: dict[str, re.Pattern] = {
    "year": re.compile(_YEAR),
    "percent": re.compile(r"\d+(?:\.\d+)?\s*%"),
    "rank": re.compile(r"\d+\s*rank\b|\b\d+(?:st|nd|rd|th)\b"),
    "number": re.compile(
        r"(?:USD|US\$|\$)?\d[\d,]*(?:\.\d+)?"
        r"(?:[+\-]?\s?(?!rank\b)(?:[a-z](?:[a-z-]{0,14}[a-z])?\b|[A-Z](?![A-Za-z])))?"
        r"(?:\s*\((?:19|20)\d{2}\))?"
    ),
    "name": re.compile(r"(?<![\w-])[A-Z][\w'&./-]*(?:\s+(?:(?:of|on|and|for|the|&|in)\s+)*[A-Z][\w'&./-]*)*"),
}

AFTER_WORDS = frozenset(
    "after now current currently today later latest recent recently became become reached "
    "improved increased rose grew dropped fell reduced cut".split()
)
BEFORE_WORDS = frozenset(
    "before previously prior originally initially earlier formerly first start started starting used past".split()
)
_ARROW = re.compile(r"\s*[▶►→➔]\s*|\s+->\s+")
_NUMBER = re.compile(r"^\d[\d,]*(?:\.\d+)?$")
_TOKEN = re.compile(r"[A-Za-z][\w'-]*")
_ENUMERATION = re.compile(r"^\d{1,2}\.?\s+[A-Z]")


@dataclass(frozen=True)
class Question:
    """What a question asks for and the terms it hinges on.

    ``terms``: its stemmed content words; ``topics``: those that are not numbers.
    ``numbers``: numbers it names (years too), which the evidence must hold.
    ``names``: proper names and acronyms it names. ``direction``: ``before`` or
    ``after`` when it asks for one side of a change ("what is it now").
    ``said``: its lowercase words, as written.
    """

    text: str
    answer_type: str | None
    terms: tuple[str, ...]
    numbers: tuple[str, ...]
    names: tuple[str, ...]
    direction: str | None
    topics: tuple[str, ...] = ()
    said: frozenset[str] = frozenset()


def analyze(text: str) -> Question:
    """Read ``text`` as a question."""
    answer_type = next((kind for kind, cue in _TYPE_CUES if cue.search(text)), None)
    lowered = words(text)
    numbers = tuple(dict.fromkeys(w.replace(",", "") for w in lowered if _NUMBER.match(w)))
    names = []
    for token in _TOKEN.finditer(text):
        bare = token.group().split("'")[0]
        lower = bare.lower()
        if lower in STOPWORDS or lower in QUESTION_WORDS or len(bare) < 2:
            continue
        is_acronym = bare.isupper() and any(c.isalpha() for c in bare)
        # A sentence's first word is capitalized whatever it is ("Please ..."): no name.
        before = text[: token.start()].rstrip(" \t\n\"'“‘(")
        opens_sentence = not before or before.endswith((".", "!", "?"))
        if is_acronym or (not opens_sentence and bare[0].isupper()):
            names.append(bare)
    direction = None
    lowered_set = set(lowered)
    if lowered_set & AFTER_WORDS and not lowered_set & BEFORE_WORDS:
        direction = "after"
    elif lowered_set & BEFORE_WORDS and not lowered_set & AFTER_WORDS:
        direction = "before"
    content = tuple(t for t in terms(text) if t not in QUESTION_WORDS)
    # Numbers are hinges, checked on their own: as topic words they would let any
    # line with the same year look relevant.
    topics = tuple(t for t in content if not t[:1].isdigit())
    return Question(
        text, answer_type, content, numbers, tuple(dict.fromkeys(names)), direction, topics, frozenset(lowered)
    )


def hinge_stem(word: str) -> str:
    """The stem a name or number is looked for as (numbers lose their thousands commas)."""
    return stem(word.lower().replace(",", ""))


def holds_term(haystack_stems: frozenset[str] | set[str], word: str) -> bool:
    """Whether ``word`` (a name or number) occurs among ``haystack_stems``.

    A name also matches a longer or shorter form of itself ("Korean", "Korea").
    """
    target = hinge_stem(word)
    return target in haystack_stems or any(related(target, s) for s in haystack_stems)


def find_spans(answer_type: str, text: str) -> list[tuple[int, int]]:
    """Every match of ``answer_type``'s pattern in ``text`` as (start, end)."""
    pattern = SPAN_PATTERNS[answer_type]
    spans = []
    for match in pattern.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in " ,;:":
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _side_of_arrow(text: str, direction: str | None) -> tuple[int, int]:
    """The part of ``text`` on the asked-for side of a change arrow (all of it if none)."""
    arrow = _ARROW.search(text)
    if not arrow or direction is None:
        return 0, len(text)
    # The text before an arrow reads "label : old"; the old value follows the label.
    return (0, arrow.start()) if direction == "before" else (arrow.end(), len(text))


def named_cell(question: Question, cells: tuple = ()):
    """The table cell whose column header the question names ("in 2005", "before"), if any."""
    asked = question.said | ({question.direction} if question.direction else set())
    chosen = None
    for cell in cells:
        header = cell.header.lower()
        if header and (header in asked or header.replace(",", "") in question.numbers):
            chosen = cell
    return chosen


def typed_spans(question: Question, text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    """Spans of ``text[lo:hi]`` of the asked-for type that could answer the question.

    The question's own numbers are not answers to it ("in 2010" does not make 2010
    the answer), nor names it already says; and a bare year is no quantity.
    """
    if question.answer_type is None:
        return []
    hi = len(text) if hi is None else hi
    kept = []
    for start, end in find_spans(question.answer_type, text[lo:hi]):
        start, end = start + lo, end + lo
        span_words = set(words(text[start:end]))
        if {w.replace(",", "") for w in span_words} <= set(question.numbers):
            continue
        if question.answer_type == "name" and (
            span_words <= question.said or (start == 0 and " " not in text[start:end])
        ):
            continue  # a name it already says, or a sentence's capitalized first word
        if question.answer_type == "number" and re.fullmatch(_YEAR, text[start:end]):
            continue
        if start == 0 and _ENUMERATION.match(text):
            continue  # the "3." of "3. Smart Government" numbers a title; it counts nothing
        kept.append((start, end))
    return kept


def key_span(question: Question, unit_text: str, cells: tuple = (), unit_start: int = 0) -> tuple[int, int] | None:
    """The tight answer inside a unit, as offsets into ``unit_text``; None if there is none.

    Args:
        question: the analyzed question.
        unit_text: the unit's text.
        cells: the unit's table cells (offsets in slide coordinates).
        unit_start: the unit's offset in its slide, to map cells into ``unit_text``.
    """
    cell = named_cell(question, cells)
    if cell is not None:
        lo, hi = cell.start - unit_start, cell.end - unit_start
    else:
        lo, hi = _side_of_arrow(unit_text, question.direction)
    kept = typed_spans(question, unit_text, lo, hi)
    if not kept:
        return (lo, hi) if cell is not None else None
    return _nearest(kept, unit_text, question)


def _nearest(spans: list[tuple[int, int]], text: str, question: Question) -> tuple[int, int]:
    """The span closest to what the question names: its numbers first, else its words."""
    lowered = text.lower()

    def places(needles) -> list[tuple[int, int]]:
        return [
            (m.start(), m.end())
            for n in needles
            for m in re.finditer(r"(?<![\w,.])" + re.escape(n) + r"(?![\w])", lowered)
        ]

    years = [f"'{n[2:]}" for n in question.numbers if re.fullmatch(r"(?:19|20)\d\d", n)]
    anchors = (
        places(question.numbers)
        or places(years)
        or places(w for w in question.said if len(w) > 2 and w not in STOPWORDS)
    )
    if not anchors:
        return spans[0]

    def distance(span: tuple[int, int]) -> int:
        return min(max(a_start - span[1], span[0] - a_end, 0) for a_start, a_end in anchors)

    return min(spans, key=distance)

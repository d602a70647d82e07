"""Reading a question: what kind of fact it asks for, and what it hinges on.

The answer type (a year, a number, a percentage, a rank, a name) steers both the
unit chosen and the key span emphasized inside it (found by ``spans.py``). The
terms a question hinges on (numbers and proper names) must be found in the
evidence, or the assistant abstains: a question about 2015's budget is not
answered with 2011's. Its direction words ("now", "before") pick one side of a
change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from egov_qa.text import QUESTION_WORDS, STOPWORDS, stem, terms, words

# Checked in order: the first type whose cue appears wins.
_TYPE_CUES: tuple[tuple[str, re.Pattern], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("percent", r"\b(percent|percentage|per cent|proportion|share of|what share|rate)\b|%"),
        ("rank", r"\b(rank|ranking|ranked|place|position)\b"),
        (
            "year",
            r"\b(when|what years?|which years?|in what year|since when|what period|which period|"
            r"what date|which date|what time|what years did)\b",
        ),
        (
            "number",
            r"\b(how many|how much|number of|how long|how fast|how quickly|amount|count|"
            r"how big|how large|how often|worth)\b",
        ),
        (
            "name",
            r"\b(who|whom|which (agency|agencies|organi[sz]ation|ministry|act|law|"
            r"body|institute|system|standard|certification|company|companies)|"
            r"what (agency|organi[sz]ation|ministry|standard|certification) |"
            r"stand for|stands for|abbreviation|acronym)\b",
        ),
    )
)

# A finer detail a question may ask for, which a passage plainly holds or lacks:
# a date (not a bare year), a clock time, a sum of money, a version, an e-mail
# address, a phone number, a web address, or what an acronym stands for. The
# first whose cue appears wins.
_DETAIL_CUES: tuple[tuple[str, re.Pattern], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("expansion", r"\b(stands? for|short for|abbreviation|acronym|abbreviated)\b"),
        ("email", r"\be-?mail\b"),
        ("phone", r"\b(phone|telephone|dial-in|dial in|fax)\b"),
        ("url", r"\b(web ?site|web address|url|web ?page|home ?page)\b"),
        ("time", r"\b(what|which) time\b|\bat what hour\b"),
        ("date", r"\b(what|which) (date|day)\b"),
        ("money", r"\b(how much money|budget|costs?|funding|price|spent|spend|paid|dollars?)\b"),
        ("version", r"\b(what|which)\b[^?]*\b(version|release)\b"),
    )
)

AFTER_WORDS = frozenset(
    "after now current currently today later latest recent recently became become reached "
    "improved increased rose grew dropped fell reduced cut present presently end ended final finally".split()
)
BEFORE_WORDS = frozenset(
    "before previously prior originally initially earlier formerly first start started starting used past "
    "began begin beginning original initial".split()
)
_NUMBER = re.compile(r"^\d[\d,]*(?:\.\d+)?$")
_TOKEN = re.compile(r"[A-Za-z][\w'-]*")


@dataclass(frozen=True)
class Question:
    """What a question asks for and the terms it hinges on.

    ``terms``: its stemmed content words; ``topics``: those that are not numbers.
    ``numbers``: numbers it names (years too), which the evidence must hold.
    ``names``: proper names and acronyms it names. ``direction``: ``before`` or
    ``after`` when it asks for one side of a change ("what is it now").
    ``said``: its lowercase words, as written. ``detail``: the finer detail it
    asks for, if any (``expansion``, ``email``, ``phone``, ``url``, ``time``,
    ``date``, ``money`` or ``version``).
    """

    text: str
    answer_type: str | None
    terms: tuple[str, ...]
    numbers: tuple[str, ...]
    names: tuple[str, ...]
    direction: str | None
    topics: tuple[str, ...] = ()
    said: frozenset[str] = frozenset()
    detail: str | None = None


def analyze(text: str) -> Question:
    """Read ``text`` as a question."""
    answer_type = next((kind for kind, cue in _TYPE_CUES if cue.search(text)), None)
    detail = next((kind for kind, cue in _DETAIL_CUES if cue.search(text)), None)
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
        text, answer_type, content, numbers, tuple(dict.fromkeys(names)), direction, topics, frozenset(lowered), detail
    )


def hinge_stem(word: str) -> str:
    """The stem a name or number is looked for as (numbers lose their thousands commas)."""
    return stem(word.lower().replace(",", ""))

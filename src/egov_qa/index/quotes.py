"""What a unit is quoted with: the unit, and the unit after it when the unit stops short.

A slide often breaks a sentence where its layout wants, not where the sentence ends:
"Our next virtual meeting will be on" / "January 11, 2023", or a lead-in
"Complete MVP guides for:" over the list it introduces. Such a line says nothing
alone, so it is quoted together with the next line of its slide: the answer shown,
its highlight and what the reader learns a right answer from are the two lines, word
for word. Only one line is joined, and only while the quote stays short.
"""

from __future__ import annotations

import re

from egov_qa.documents import Unit
from egov_qa.text import DETERMINERS, PREPOSITIONS

# The longest quote a line is joined into, in characters: an answer is read at a glance.
MAX_QUOTE_CHARS = 300

_LAST_WORD = re.compile(r"\b([A-Za-z]+)$")


def stops_short(text: str) -> bool:
    """Whether a line stops before what it says: it ends with a colon, or with a preposition or
    determiner written in lower case ("will be on", "to benefit the")."""
    stripped = text.rstrip()
    if stripped.endswith(":"):
        return True
    last = _LAST_WORD.search(stripped)
    if last is None:
        return False
    word = last.group(1)
    return word.islower() and word in PREPOSITIONS | DETERMINERS


def quote_end(unit: Unit, after: Unit | None, slide_text: str) -> int:
    """Where ``unit``'s quote ends in its slide's text: the end of ``after`` (the next unit of the
    index) when ``unit`` stops short and ``after`` follows it on the same slide, in the same part
    (body or notes), with only spaces between and the two short enough together; else its own end."""
    if (
        after is None
        or (after.source, after.slide) != (unit.source, unit.slide)
        or (after.kind == "notes") != (unit.kind == "notes")
        or after.start < unit.end
        or slide_text[unit.end : after.start].strip()
        or after.end - unit.start > MAX_QUOTE_CHARS
        or not stops_short(unit.text)
    ):
        return unit.end
    return after.end

"""Finding the key span inside a unit: the date, number, percentage, rank or name asked for.

Each answer type has one pattern for English as it is commonly written: dates
("March 7, 2024", "7 March 2024", "2024-03-07", "6/15/2019", "Q2/2018",
"January 2018"), years and year ranges ("2003–2007", "2003 to 2007", "2008~",
"'06"), times ("5:00 PM UTC"), percentages, money ("$1.2 million", "USD 5
billion", "1.2 trillion won"), quantities with units ("67 min", "12,155 units"),
ordinals and ranks ("3rd", "third", "No. 1", "15 rank"), and names and acronyms
("National Information Society Agency", "OSCAL-CLI", "SP 800-53 Rev 5").

A unit that states a change ("from 37.3% to 72.1%", "67 min ► 5.4 sec",
"Before: 1 day | After: 2 min", "72%, up from 37%") has two sides; a question
that says which it wants ("now", "before") gets the span on that side, and one
for a value that names neither side nor a time gets the new side.

Deck text is untrusted, so every pattern runs in linear time: none begins with
optional whitespace, whitespace and character runs are possessive, and every
repetition that could backtrack is bounded by a constant.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import replace
from functools import lru_cache

from egov_qa.answer.question import Question
from egov_qa.documents import Cell
from egov_qa.text import STOPWORDS, words

_YEAR4 = r"(?:1[89]|20)\d{2}"
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b\.?"
)
_WEEKDAY = r"(?:(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)day,?\s++)?"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
_MONTH_NUMBER = r"(?:1[0-2]|0?[1-9])"
_DAY_NUMBER = r"(?:[12]\d|3[01]|0?[1-9])"
# "5:00 PM UTC", "12p ET", "9 a.m.": a clock time, with its zone when one follows.
_TIME = (
    r"(?:[01]?\d|2[0-3])(?::[0-5]\d)?(?:\s?+[ap]\.?m\b\.?|\s?+[AP]\.?M\b|[ap]\b)(?:\s++[A-Z]{2,4}\b)?"
    r"|(?:[01]?\d|2[0-3]):[0-5]\d(?!\d)(?:\s++[A-Z]{2,4}\b)?"
)
_AT_TIME = rf"(?:,?\s++(?:at\s++)?(?:{_TIME}))?"
_DATE = "|".join(
    (
        # March 7, 2024 / Thursday, April 4, 2024 at 12p ET
        rf"{_WEEKDAY}{_MONTH}\s++{_DAY}(?:,?\s++{_YEAR4}(?!\d))?{_AT_TIME}",
        # 7 March 2024 / 7th of March
        rf"{_WEEKDAY}{_DAY}\s++(?:of\s++)?{_MONTH}(?:,?\s++{_YEAR4}(?!\d))?{_AT_TIME}",
        # January 2018
        rf"{_MONTH},?\s++(?:of\s++)?{_YEAR4}(?!\d)",
        # 2024-03-07, 2024/03/07
        rf"(?<![\w./-]){_YEAR4}([-/.]){_MONTH_NUMBER}\1{_DAY_NUMBER}(?![\w/-])",
        # 6/15/2019, 15-06-2019, 3/7/24
        rf"(?<![\w./-]){_DAY_NUMBER}([/-]){_DAY_NUMBER}\2(?:{_YEAR4}|\d{{2}})(?![\w/-])",
        # 5/2017
        rf"(?<![\w./-]){_MONTH_NUMBER}/{_YEAR4}(?![\w/-])",
        # Q2/2018, Q2 2018, H1-2018, 2018 Q2, FY2018, FY 24
        rf"\b(?:Q[1-4]|H[12])\s?+[/-]?\s?+{_YEAR4}(?!\d)",
        rf"(?<![\w./-]){_YEAR4}\s?+[/-]?\s?+(?:Q[1-4]|H[12])\b",
        rf"\bFY\s?+(?:{_YEAR4}|\d{{2}})(?!\d)",
        # between 2003 and 2007
        rf"(?<=[Bb]etween\s){_YEAR4}\s++and\s++{_YEAR4}(?!\d)",
        # 2003–2007, 2003 - 07, 2003 to 2007, 2008~, 2008–present, 2007.1, the 1990s
        rf"(?<![\w$.,/#]){_YEAR4}(?:\.\d{{1,2}}(?!\d))?"
        rf"(?:\s*+[-–—~]\s*+(?:{_YEAR4}|\d{{2}}(?!\d)|present\b|now\b|today\b)"
        rf"|\s++(?:to|through|until|till)\s++{_YEAR4}|\s*+~|'?s\b)?(?![\w%]|[.,]\d)",
        # '06, '90s
        r"(?<![\w'’‘])['’‘]\d{2}(?:s\b)?(?!\w)",
        _TIME,
    )
)

_AMOUNT = r"\d{1,3}(?:,\d{3})++(?:\.\d++)?|\d++(?:\.\d++)?"
_SCALE = r"(?:hundred|thousand|million|billion|trillion|bn|mn|tn|[kKMB])\b"
_CURRENCY_SIGN = r"(?:[A-Z]{0,2}\$|[€£¥₩₹])"
_CURRENCY_CODE = r"(?:USD|EUR|GBP|JPY|CNY|KRW|INR|CHF|CAD|AUD)"
_CURRENCY_WORD = r"(?:dollars?|euros?|pounds?|yen|won|yuan|rupees?|francs?)"
# Words that follow a number without being its unit ("4 of", "3 to 5", "2 may").
_NOT_UNIT = (
    r"(?:a|an|and|are|as|at|be|by|can|could|did|do|does|for|from|had|has|have|in|is|may|might|must|"
    r"of|on|or|per|rank|shall|should|than|the|to|was|were|will|with|would)\b"
)
# A number joined to letters by a hyphen names something ("CM-6", "AC-2", "COVID-19"): it counts nothing.
_QUANTITY = (
    rf"(?<![\w.])(?<![A-Za-z]-){_CURRENCY_SIGN}?(?:{_CURRENCY_CODE}\s?+)?(?:{_AMOUNT})"
    rf"(?:\s?+{_SCALE}(?:\s?+(?:{_CURRENCY_CODE}|{_CURRENCY_WORD})\b)?"
    rf"|\s?+(?:{_CURRENCY_CODE}|{_CURRENCY_WORD})\b|\s?+%"
    # "12,155 units", "67min", "2-min", "1+days", "8.1B": a word that follows is its unit.
    rf"|[+\-]?\s?+(?!{_NOT_UNIT})(?:[a-z](?:[A-Za-z-]{{0,14}}[A-Za-z])?\b|[A-Z](?![A-Za-z])))?"
    rf"(?:\s*+\({_YEAR4}\))?"
)
_PERCENT = (
    r"(?<![\w.])\d++(?:\.\d++)?(?:\s*+[-–—]\s*+\d++(?:\.\d++)?)?"
    r"(?:\s?+%|\s++(?:percent|per\s?cent|percentage\s++points?)\b)"
)
_ORDINAL_WORD = (
    r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth"
)
_RANK = "|".join(
    (
        r"\b(?:ranked|ranks|rank|placed)\s++(?:No\.?\s?+|#\s?+)?\d++(?:st|nd|rd|th)?\b",
        r"\b\d++(?:st|nd|rd|th)?\s*+rank\b",
        r"\b\d++(?:st|nd|rd|th)\b",
        rf"\b(?i:{_ORDINAL_WORD})\b",
        r"\b(?:No|no|Number|number)\.?\s?+\d++\b",
        r"\b[Tt]op[- ]\d++\b",
    )
)
# A capitalized word or acronym ("Agency", "NIST", "OSCAL-CLI", "e-Commerce").
_CAPITAL = r"(?:[A-Z]|[a-z]{1,2}-[A-Z])[\w'’&./-]*+"
_NAME_LINK = r"(?:of|on|and|for|the|&|in|de|du|da|van|von|der|la|le)"
_NAME = (
    rf"(?<![\w./-]){_CAPITAL}"
    # Further capitalized words, joined by at most three small words ("Ministry of
    # Public Administration & Security"), or numbers that are part of the name
    # ("SP 800-53 Rev 5", "ISO 20000").
    rf"(?:\s++(?:{_NAME_LINK}\s++){{0,3}}{_CAPITAL}|\s++\d[\w.-]*+(?!/))*+"
)

SPAN_PATTERNS: dict[str, re.Pattern] = {
    "year": re.compile(_DATE),
    "percent": re.compile(_PERCENT),
    "rank": re.compile(_RANK),
    "number": re.compile(_QUANTITY),
    "name": re.compile(_NAME),
}

# The finer details a question may ask for (see ``question.py``), as a passage writes them.
DETAIL_PATTERNS: dict[str, re.Pattern] = {
    "email": re.compile(r"[\w.+-]{1,64}+@[\w-]{1,63}+(?:\.[\w-]{1,63}+)++"),
    "phone": re.compile(r"(?<![\w.])(?:\+\d{1,3}[\s.-]?+)?\(?\d{3}\)?[\s.-]?+\d{3}[\s.-]?+\d{4}(?!\d)"),
    "url": re.compile(r"\bhttps?://|\bwww\.|\b[\w-]{1,63}+\.(?:gov|com|org|net|edu|io|int|mil)\b", re.IGNORECASE),
    "time": re.compile(_TIME),
    "money": re.compile(
        rf"{_CURRENCY_SIGN}\s?+\d|(?<![\w.])(?:{_AMOUNT})\s?+(?:{_SCALE}\s?+)?(?:{_CURRENCY_CODE}|{_CURRENCY_WORD})\b"
        rf"|\b{_CURRENCY_CODE}\s?+\d"
    ),
    "version": re.compile(
        r"(?<![\w.])[vV]\d++(?:\.\d++)*+\b|(?<![\w.])\d++\.\d++\.\d++\b"
        r"|\b(?i:version|release|revision|rev\.?)\s?+\d++(?:\.\d++)*+\b"
    ),
}
# Small words an acronym's expansion may hold without a letter for them ("Department of State").
_EXPANSION_LINKS = frozenset("of and the for on in to a an & de".split())
_MAX_LINKS = 3
_WORD_TOKEN = re.compile(r"[A-Za-z][\w’'-]*+|&")

_ENUMERATION = re.compile(r"^\d{1,2}\.?\s+[A-Z]")
_TRAILING = " ,;:.'’/-&"
_FIRST_WORD = re.compile(r"(\S++)\s++")
_POSSESSIVE = ("'s", "’s")

# The two sides of a change. Arrows: "37.3% ▶ 72.1%", "67 min -> 5.4 sec".
_ARROW = re.compile(r"[▶►→➔➜➝➞⇒⟶]|-{1,2}>|=>")
# "rose from 37.3% to 72.1%": the old value after "from", the new after "to".
_FROM_TO = re.compile(r"\bfrom\s++(?!\s)(?P<old>[^;|\n]{1,60}?)\s++(?:to|into)\s++", re.IGNORECASE)
# "72.1%, up from 37.3%": the new value first, the old after "from".
_NEW_FROM_OLD = re.compile(r"\b(?:up|down)\s++from\s++|\bcompared\s++(?:with|to)\s++", re.IGNORECASE)
# "Before: 1 day | After: 2 min", "previously 3 days, now 2 minutes".
_LABEL = re.compile(
    r"\b(?P<label>before|previously|formerly|originally|initially|after|now|currently|today)\b"
    r"(?:\s*+[:：]\s*+|\s++(?=[$€£¥₩\d]))",
    re.IGNORECASE,
)
# What a change is a change of, when the question does not say: tried in this order.
_CHANGING_KINDS = ("percent", "number", "year")
_BEFORE_LABELS = frozenset("before previously formerly originally initially".split())
# Where a table cell (or a line, or a semicolon's clause) ends, and where a clause ends.
_CELL_END = re.compile(r"[|;\n]")
_CLAUSE_END = re.compile(r"[|;\n]|[.,](?=\s|$)")


@lru_cache(maxsize=65536)
def _matches(answer_type: str, text: str) -> tuple[tuple[int, int], ...]:
    """Every match of ``answer_type``'s pattern in ``text``, trimmed (cached: units recur)."""
    spans = []
    for match in SPAN_PATTERNS[answer_type].finditer(text):
        start, end = match.span()
        if answer_type == "name":
            start, end = _trim_name(text, start, end)
        while end > start and text[end - 1] in " ,;:":
            end -= 1
        if end > start:
            spans.append((start, end))
    return tuple(spans)


def _trim_name(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop what a capital letter drew into a name: a leading "The"/"In", a trailing "'s" or "."."""
    while (first := _FIRST_WORD.match(text, start, end)) is not None and first.group(1).lower() in STOPWORDS:
        start = first.end()
    while end > start:
        if text.endswith(_POSSESSIVE, start, end):
            end -= 2
        elif text[end - 1] in _TRAILING:
            end -= 1
        else:
            break
    found = text[start:end]
    head, *rest = found.split()
    if rest and all(t[0].isdigit() for t in rest) and sum(c.isupper() for c in head) < 2:
        # "Building 144", "Around 10": a word that opens a clause, then a count. Numbers
        # belong to names led by an acronym ("ISO 20000", "SP 800-53").
        end = start + len(head)
        found = head
    if found.lower() in STOPWORDS or not any(c.isupper() for c in found):
        return start, start  # "It", or only a number was left ("In 2009"): no name
    return start, end


def find_spans(answer_type: str, text: str) -> list[tuple[int, int]]:
    """Every span of ``text`` that ``answer_type``'s pattern finds, as (start, end)."""
    return list(_matches(answer_type, text))


def _opens_sentence(text: str, start: int) -> bool:
    # Walk back over the gap only: slicing the text before every name would be quadratic.
    i = start
    while i > 0 and text[i - 1] in " \t\"'“‘(":
        i -= 1
    return i == 0 or text[i - 1] in ".!?:\n"


def typed_spans(question: Question, text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    """Spans of ``text[lo:hi]`` of the asked-for type that could answer the question.

    The question's own numbers are not answers to it ("in 2010" does not make 2010
    the answer), nor names it already says; a year or a date is no quantity, and a
    capitalized word that opens a sentence is no name.
    """
    if question.answer_type is None:
        return []
    hi = len(text) if hi is None else hi
    part = text[lo:hi]
    dates = _matches("year", part) if question.answer_type == "number" else ()
    date_starts = [d_start for d_start, _ in dates]
    asked_numbers = set(question.numbers)
    kept = []
    for start, end in _matches(question.answer_type, part):
        found = part[start:end]
        span_words = set(words(found))
        numbers = {w.replace(",", "") for w in span_words if w[:1].isdigit()}
        if not span_words or (numbers and numbers <= asked_numbers):
            continue  # "2010", or "517 costs" when it asks what item 517 costs
        if question.answer_type == "name":
            acronym = sum(c.isupper() for c in found) > 1
            if span_words <= question.said or (" " not in found and not acronym and _opens_sentence(part, start)):
                continue  # a name it already says, or a sentence's capitalized first word
        if question.answer_type == "number":
            i = bisect.bisect_right(date_starts, start) - 1
            if i >= 0 and start < dates[i][1]:
                continue  # "in 2015 the", or the "7" of "March 7, 2024": a date counts nothing
        if start + lo == 0 and _ENUMERATION.match(text):
            continue  # the "3." of "3. Smart Government" numbers a title; it counts nothing
        kept.append((start + lo, end + lo))
    return kept


def _spells(acronym: str, tokens: list[str], start: int) -> bool:
    """Whether the words from ``start`` on begin with the acronym's letters, in order."""
    letters = acronym.lower()
    k = links = 0
    for i in range(start, len(tokens)):  # no copy of the rest: a long line stays linear
        token = tokens[i]
        if k == len(letters):
            break
        if token[0].lower() == letters[k]:
            k, links = k + 1, 0
        elif token.lower() not in _EXPANSION_LINKS or k == 0 or links == _MAX_LINKS:
            return False
        else:
            links += 1  # bounded, so that a line of small words costs linear time
    return k == len(letters)


def _expands(acronym: str, text: str) -> bool:
    tokens = _WORD_TOKEN.findall(text)
    return any(_spells(acronym, tokens, i) for i, token in enumerate(tokens) if token[0].lower() == acronym[0].lower())


@lru_cache(maxsize=65536)
def _holds_detail(detail: str, acronyms: tuple[str, ...], said: frozenset[str], text: str) -> bool:
    if detail == "expansion":
        return any(_expands(a, text) for a in acronyms)
    if detail == "date":
        # A date, not a bare year: what "on what date" asks for; and not a date the question gives.
        return any(
            not text[a:b].strip("'’‘").isdigit() and not set(words(text[a:b])) <= said
            for a, b in _matches("year", text)
        )
    pattern = DETAIL_PATTERNS.get(detail)
    return pattern is not None and pattern.search(text) is not None


def holds_detail(question: Question, text: str) -> bool:
    """Whether ``text`` holds the finer detail ``question`` asks for (True when it asks for none).

    What an acronym stands for is held when words of the text begin with its
    letters in order ("Open Security Controls Assessment Language" for OSCAL).
    """
    if question.detail is None:
        return True
    acronyms = tuple(n for n in question.names if len(n) > 1 and n.isupper() and n.isalpha())
    if question.detail == "expansion" and not acronyms:
        return True  # no acronym to check the expansion of
    return _holds_detail(question.detail, acronyms, question.said, text)


def named_cell(question: Question, cells: tuple[Cell, ...] = ()) -> Cell | None:
    """The table cell whose column header the question names ("in 2005", "before"), if any."""
    asked = question.said | ({question.direction} if question.direction else set())
    chosen = None
    for cell in cells:
        header = cell.header.lower()
        if header and (header in asked or header.replace(",", "") in question.numbers):
            chosen = cell
    return chosen


class _Clauses:
    """Where the clauses of a text end, found once so that every lookup is a bisection."""

    def __init__(self, text: str, pattern: re.Pattern) -> None:
        self.length = len(text)
        self.bounds = [m.span() for m in pattern.finditer(text)]
        self.starts = [start for start, _ in self.bounds]

    def start_before(self, position: int) -> int:
        """Where the clause holding ``position`` begins."""
        i = bisect.bisect_left(self.starts, position)
        return self.bounds[i - 1][1] if i else 0

    def end_after(self, position: int) -> int:
        """Where the clause holding ``position`` ends."""
        i = bisect.bisect_left(self.starts, position)
        return self.bounds[i][0] if i < len(self.bounds) else self.length


def change_sides(text: str) -> dict[str, list[tuple[int, int]]]:
    """The stretches of ``text`` on the ``before`` and the ``after`` side of the changes it states.

    Args:
        text: a unit's text.

    Returns:
        ``{"before": [(start, end), ...], "after": [...]}``; both empty when it
        states no change.
    """
    sides: dict[str, list[tuple[int, int]]] = {"before": [], "after": []}
    cells = _Clauses(text, _CELL_END)
    clauses = _Clauses(text, _CLAUSE_END)
    chains: dict[int, list[re.Match]] = {}
    for arrow in _ARROW.finditer(text):
        # Arrows in one cell form one chain: its first part is the old value, its last the new.
        chains.setdefault(cells.start_before(arrow.start()), []).append(arrow)
    for start, chain in chains.items():
        sides["before"].append((start, chain[0].start()))
        sides["after"].append((chain[-1].end(), cells.end_after(chain[-1].end())))
    for match in _FROM_TO.finditer(text):
        sides["before"].append(match.span("old"))
        sides["after"].append((match.end(), clauses.end_after(match.end())))
    for match in _NEW_FROM_OLD.finditer(text):
        head = match.start()
        while head > 0 and text[head - 1] in " ,":
            head -= 1  # "72.1%, up from": the comma closes the new value's clause
        sides["after"].append((clauses.start_before(head), head))
        sides["before"].append((match.end(), clauses.end_after(match.end())))
    labels = list(_LABEL.finditer(text))
    for i, label in enumerate(labels):
        stop = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        side = "before" if label.group("label").lower() in _BEFORE_LABELS else "after"
        sides[side].append((label.end(), min(stop, cells.end_after(label.end()))))
    return sides


def key_span(
    question: Question, unit_text: str, cells: tuple[Cell, ...] = (), unit_start: int = 0
) -> tuple[int, int] | None:
    """The tight answer inside a unit, as offsets into ``unit_text``; None if there is none.

    A table cell whose column the question names is searched first; else, when
    the question asks for one side of a change ("now", "before"), that side; a
    question for a value (not a year) that names neither side nor a time gets the new
    side ("How many awards did it win?" of "Before: 0 | After: 5"); else the
    whole unit. Among several spans, the one nearest what the question names
    wins.

    Args:
        question: the analyzed question.
        unit_text: the unit's text.
        cells: the unit's table cells (offsets in slide coordinates).
        unit_start: the unit's offset in its slide, to map cells into ``unit_text``.
    """
    cell = named_cell(question, cells)
    if cell is not None:
        lo, hi = cell.start - unit_start, cell.end - unit_start
        kept = typed_spans(question, unit_text, lo, hi)
        return _nearest(kept, unit_text, question) if kept else (lo, hi)
    kept = []
    direction = question.direction
    if direction is None and question.answer_type not in (None, "year") and not question.numbers:
        # A value asked for with no side and no time named: the state now ("from 2003 to
        # 2007" answers "when" whole, a span of time and no change).
        direction = "after"
    if direction is not None:
        sides = _merged(change_sides(unit_text)[direction])
        # "What is it now?" asks for no kind of fact, but on a change it asks for a value.
        kinds = (question.answer_type,) if question.answer_type else _CHANGING_KINDS
        for kind in kinds:
            asked = replace(question, answer_type=kind)
            kept = [span for lo, hi in sides for span in typed_spans(asked, unit_text, lo, hi)]
            if kept:
                break
    if not kept:
        kept = typed_spans(question, unit_text)
    return _nearest(kept, unit_text, question) if kept else None


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` with overlapping ones joined, so that searching them all reads each character once."""
    joined: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if joined and lo <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], hi))
        else:
            joined.append((lo, hi))
    return joined


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
    anchors.sort()
    starts = [a_start for a_start, _ in anchors]
    # The latest end among anchors that start at or before each one: an anchor
    # overlapping a span may start well before it.
    reach: list[int] = []
    for _, a_end in anchors:
        reach.append(max(reach[-1], a_end) if reach else a_end)

    def distance(span: tuple[int, int]) -> int:
        # The nearest anchor either starts before the span ends (the one reaching
        # furthest right), or is the first to start after it.
        i = bisect.bisect_left(starts, span[1])
        gaps = []
        if i:
            gaps.append(max(span[0] - reach[i - 1], 0))
        if i < len(starts):
            gaps.append(starts[i] - span[1])
        return min(gaps)

    return min(spans, key=distance)

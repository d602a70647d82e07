"""Words that OCR misreads, put right: names run into their neighbours, letters and digits confused.

The recognizer drops the narrow space between a name in capitals and the words
beside it ("useOSCALand", "forFedRAMP'sOSCALdocumentation"), confuses letters
that look alike ("proiect"), reads a zero as the letter o ("#6oo") and runs a
date's parts together ("June27,2024"). Lower-case runs are parted by
:func:`egov_qa.ingest.ocr.respace`; this module does the rest:

- :func:`unglue` parts a run of letters with capitals inside at its changes of
  case, where every part is a word the deck itself prints on its own (its
  vocabulary: :func:`deck_words`) or a common English word. A run that English
  knows (JavaScript) stays whole, as does one the deck prints whole more often
  than one of its parts stands alone (FedRAMP, GitHub: a name, where
  "FedRAMPValidations" is a misreading repeated). It also parts a lower-case run
  into words the deck prints ("Whatarevalidations"), and letters run into the
  number before them ("10xhasfunded", "268projects").
- :func:`fix_letters` reads a lower-case word that no English word is as the one
  common word a single confusion of the recognizer's (i/j, l/i, rn/m, c/e, ...)
  makes of it.
- :func:`fix_numbers` reads o as 0 inside numbers, and spaces a date's month, day
  and year apart (month names from :mod:`calendar`).
"""

from __future__ import annotations

import calendar
import functools
import math
import re
from collections import Counter
from collections.abc import Iterable

# The most frequent words (by rank in wordninja's model) count as common English:
# a word of 4 letters or more among the first 60,000, a shorter one among the first 5,000.
WORD_RANK = 60_000
SHORT_WORD_RANK = 5_000
# Pairs of letters (or letter groups) that the recognizer mistakes one for the other.
CONFUSIONS = (
    ("i", "j"),
    ("j", "i"),
    ("l", "i"),
    ("i", "l"),
    ("rn", "m"),
    ("m", "rn"),
    ("c", "e"),
    ("e", "c"),
    ("cl", "d"),
    ("vv", "w"),
)
# A word of fewer letters is not corrected: too many short words lie one confusion apart.
MIN_CORRECTED = 5

_RUN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
# Letters set against the number before them, the number starting a token and the letters ending it
# ("10xhasfunded", "268projects"; not "8eb2", "v2beta", nor a part of an address or an identifier
# joined by "-", "/", "." or "_": "453b-3fed").
_NUMBER_LED = re.compile(r"(?<![A-Za-z0-9/#@._-])(\d[\d,.]*)([A-Za-z]+(?:'[A-Za-z]+)*)(?![A-Za-z0-9]|[./#_-]\w)")
# A run of letters that may be words run together: lower case, after at most one capital
# (that capital may follow a lower-case letter: "generatesJavaclassesand" holds two runs).
# Not a part of an address or a name in code (after "/", "#", "@", "." or "-", or before ".com").
GLUED = re.compile(r"(?:(?<![a-z/#@._-])|(?<=[a-z])(?=[A-Z]))[A-Z]?[a-z]{6,}(?![a-z])(?![./#_-]\w)")
# A lower-case run this long is hardly ever one word: its parts need only be words the model
# knows (of 5 letters or more; shorter ones still common), not common ones.
LONG_RUN = 20
# Letters after a number are a word of their own only from this many on ("268projects"; not "2nd").
MIN_AFTER_NUMBER = 3
_MIXED = re.compile(r"[a-z][A-Z]|[A-Z]{2}[a-z]")
_TOKEN_EDGES = "\"'()[]{}<>.,;:!?*•“”‘’"
_MONTHS = sorted({m for m in (*calendar.month_name, *calendar.month_abbr) if m} | {"Sept"}, key=len, reverse=True)
_DATE = re.compile(rf"\b({'|'.join(_MONTHS)})\.? ?(\d{{1,2}})(?:, ?(\d{{4}}))?\b")
# A letter o (or O) inside a number, its digits grouped or not ("#6oo", "10,ooo", "2O24"): after
# its first digit (or #, $ and a digit), up to the number's end. Read as zero where the result
# is a number as numbers are written (:data:`_WRITTEN_NUMBER`).
_O_IN_NUMBER = re.compile(r"(?<![A-Za-z0-9])([#$]?\d)([\d,.oO]*[oO][\d,.oO]*)(?![A-Za-z0-9])")
_WRITTEN_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
# A capital I read as l at the end of a word in capitals, before a plural's s or not.
_CAPITALS_L = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2,})l(s?)(?![A-Za-z0-9])")
_NUMBER_SIGN = re.compile(r"(?<=[a-z])#(?=\d)")


@functools.cache
def _costs() -> tuple[dict[str, float], float]:
    import wordninja

    costs = wordninja.DEFAULT_LANGUAGE_MODEL._wordcost  # log of each word's frequency rank
    return costs, math.log(len(costs))


def known_word(word: str) -> bool:
    """Whether ``word`` (any case) is in wordninja's English vocabulary at all."""
    return word.lower() in _costs()[0]


def common_word(word: str) -> bool:
    """Whether ``word`` is a common English word (see :data:`WORD_RANK`); one letter only as a, A or I."""
    costs, scale = _costs()
    cost = costs.get(word.lower())
    if cost is None:
        return False
    rank = math.exp(cost) / scale
    return rank < (SHORT_WORD_RANK if len(word) < 4 else WORD_RANK) and (len(word) > 1 or word in "aAI")


def deck_words(texts: Iterable[str]) -> Counter:
    """How often each word stands on its own in ``texts`` (between spaces, hyphens or slashes,
    its edge punctuation stripped), as printed: the deck's vocabulary."""
    counts: Counter = Counter()
    for text in texts:
        for token in text.split():
            for piece in re.split(r"[-/–—]", token):
                word = piece.strip(_TOKEN_EDGES)
                if word.endswith(("'s", "’s")):
                    word = word[:-2]
                if len(word) > 1 and any(c.isalpha() for c in word):
                    counts[word] += 1
    return counts


def _base(word: str) -> str:
    """``word`` without a possessive's ending ("FedRAMP's" -> "FedRAMP")."""
    return word[:-2] if word.endswith("'s") else word


def _name(run: str, parts: list[str], vocabulary: Counter) -> bool:
    """Whether a run the deck prints whole more than once is a name, not a misreading repeated: it
    is printed whole more often than one of its parts stands alone."""

    def alone(word: str) -> int:  # as printed, or in lower case ("Validations", "validations")
        word = _base(word)
        return vocabulary[word] + (vocabulary[word.lower()] if word.lower() != word else 0)

    base = _base(run)
    return vocabulary[base] > 1 and any(alone(p) < vocabulary[base] for p in parts)


def split_words(run: str, vocabulary: Counter | None = None) -> list[str] | None:
    """The words a word-frequency model of English (wordninja) reads a run of letters as, when there
    are several and each is a common word, a word the deck prints on its own (``vocabulary``: of 4
    letters or more) or, in a run of :data:`LONG_RUN` letters, a known word of 5; else None."""
    import wordninja

    words = wordninja.split(run)
    if len(words) < 2 or "".join(words) != run:
        return None
    long_run = len(run) >= LONG_RUN

    def word(w: str) -> bool:
        if common_word(w) or (long_run and len(w) >= 5 and known_word(w)):
            return True
        return vocabulary is not None and len(w) >= 4 and (vocabulary[w] > 0 or vocabulary[w.lower()] > 0)

    return words if all(map(word, words)) else None


def _part(piece: str, vocabulary: Counter, capitals: bool) -> bool:
    base = _base(piece)
    if not base or "'" in base:
        return False
    if vocabulary[base] > 0 and len(base) > 1:
        return True
    # An English word as printed in running text: lower case, or with one capital first where
    # the run starts with a capital too (a title run together, "NewAutomationWebsite"; a run
    # starting in lower case is a name in code, "leftElement", parted only at the deck's words).
    if base.islower():
        return common_word(base)
    return capitals and base[0].isupper() and base[1:].islower() and common_word(base)


def _cuts(run: str) -> list[int]:
    """Where a run may be parted: at each change from lower to upper case, on either side of the
    last capital of a run of capitals that lower case follows ("OSCAL|and", "FedRAMP|Automation"),
    and between two capitals ("FedRAMP|OSCAL": names in capitals run together, parted only
    where both sides are the deck's words)."""
    cuts = set()
    for i in range(1, len(run)):
        before, after = run[i - 1], run[i]
        if after.isupper() and (before.islower() or before.isupper()):
            cuts.add(i)
        elif before.isupper() and after.islower() and i >= 2 and run[i - 2].isupper():
            cuts.update((i, i - 1))
    return sorted(cuts)


def _parted(run: str, vocabulary: Counter) -> list[str] | None:
    """The fewest parts, cut only at :func:`_cuts`, each a word (:func:`_part`); None if there are none."""
    points = [0, *_cuts(run), len(run)]
    best: dict[int, list[str]] = {0: []}
    for j, end in enumerate(points[1:], 1):
        for start in points[:j] if end < len(run) else points[1:j]:
            if start in best and _part(run[start:end], vocabulary, run[0].isupper()):
                parts = [*best[start], run[start:end]]
                if end not in best or len(parts) < len(best[end]):
                    best[end] = parts
    found = best.get(len(run))
    return found if found and len(found) > 1 else None


def _mixed_parts(run: str, vocabulary: Counter) -> list[str] | None:
    if not _MIXED.search(run) or known_word(_base(run)):
        return None
    parts = _parted(run, vocabulary)
    return None if parts is None or _name(run, parts, vocabulary) else parts


def _lower_parts(run: str, vocabulary: Counter) -> list[str] | None:
    if known_word(run) or vocabulary[run] > 1:
        return None
    return split_words(run, vocabulary)


def unglue(text: str, vocabulary: Counter) -> str:
    """``text`` with runs of letters parted into the words they were printed as.

    ``vocabulary``: the deck's words (:func:`deck_words`). A run that mixes cases
    is parted at its changes of case; a lower-case one (after at most one capital,
    not in an address) into words English or the deck has; letters run into the
    number before them are set apart, after the lead the deck prints with that
    number ("10x"). An English word, or a run the deck prints whole more often
    than one of its parts stands alone, is left whole.
    """

    def after_number(match: re.Match) -> str:
        number, letters = match.group(1), match.group(2)
        for lead in range(len(letters) - 1, -1, -1):
            # The number's own letters, as the deck prints them apart ("10x" of "10xhasfunded").
            if lead and vocabulary[number + letters[:lead]] < 2:
                continue
            rest = letters[lead:]
            if len(rest) < MIN_AFTER_NUMBER or (not lead and rest[:2].isupper()):
                continue  # "2nd", "3DES": a number's suffix, or a name
            words = (
                _mixed_parts(rest, vocabulary)
                or _lower_parts(rest, vocabulary)
                or ([rest] if known_word(rest) or vocabulary[rest] > 0 else None)
            )
            if words:
                return f"{number}{letters[:lead]} {' '.join(words)}"
        return match.group(0)

    def mixed(match: re.Match) -> str:
        parts = _mixed_parts(match.group(0), vocabulary)
        return " ".join(parts) if parts else match.group(0)

    def lower(match: re.Match) -> str:
        words = _lower_parts(match.group(0), vocabulary)
        return " ".join(words) if words else match.group(0)

    return GLUED.sub(lower, _RUN.sub(mixed, _NUMBER_LED.sub(after_number, text)))


def corrected(word: str) -> str | None:
    """The one common English word that a single recognizer confusion makes of ``word``
    (lower case, not an English word itself), or None."""
    if len(word) < MIN_CORRECTED or not word.islower() or known_word(word):
        return None
    found = {variant for variant in variants(word) if common_word(variant)}
    return found.pop() if len(found) == 1 else None


def variants(word: str) -> Iterable[str]:
    """``word`` with one recognizer confusion (:data:`CONFUSIONS`) put right, each way it can be."""
    for wrong, right in CONFUSIONS:
        at = word.find(wrong)
        while at >= 0:
            yield word[:at] + right + word[at + len(wrong) :]
            at = word.find(wrong, at + 1)


def fix_letters(text: str) -> str:
    """Lower-case words that are no English word, read as the common word one confusion makes of them;
    an l that ends a word in capitals read as the I it is ("APls" -> "APIs", "APl" -> "API")."""

    def fix(match: re.Match) -> str:
        word = match.group(0)
        return corrected(word) or word

    text = _CAPITALS_L.sub(r"\1I\2", text)
    return re.sub(r"(?<![A-Za-z0-9'@./#_-])[a-z]+(?![A-Za-z0-9'@_]|[./#-]\w)", fix, text)


def _zeros(match: re.Match) -> str:
    head, rest = match.group(1), match.group(2)
    body = rest.rstrip(".,")  # a full stop or comma after the number is punctuation
    digits = body.replace("o", "0").replace("O", "0")
    if not _WRITTEN_NUMBER.fullmatch(head.lstrip("#$") + digits):
        return match.group(0)
    return head + digits + rest[len(body) :]


def fix_numbers(text: str) -> str:
    """A zero read as o inside a number ("#6oo" -> "#600", "10,ooo" -> "10,000"), a number sign set
    against the word before it, and a date's parts spaced ("June27,2024" -> "June 27, 2024")."""
    text = _O_IN_NUMBER.sub(_zeros, text)
    text = _NUMBER_SIGN.sub(" #", text)

    def date(match: re.Match) -> str:
        month, day, year = match.group(1), match.group(2), match.group(3)
        dot = "." if match.group(0)[len(month) : len(month) + 1] == "." else ""
        return f"{month}{dot} {day}" + (f", {year}" if year else "")

    return _DATE.sub(date, text)

"""Word-level helpers shared by BM25, answer scoring and the eval's normalizer."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")

STOPWORDS = frozenset(
    """
    a about above after again all also am an and any are as at be been before being
    below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers him his how i if in into is it
    its itself just me more most my no nor not now of off on once only or other our
    out over own same she should so some such than that the their them then there
    these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours tell give list
    name named many much kind kinds say says said according deck slide slides show
    shows shown mention mentioned
    """.split()
)

# Words that ask for something rather than name it: they say nothing about where
# the answer is. Kept apart from STOPWORDS so that BM25 still sees "before" etc.
QUESTION_WORDS = frozenset("what which who whom when where why how whose".split())

# English words of two closed classes.
PREPOSITIONS = frozenset(
    "in on at for from by with without about of to into during since until after before under over between "
    "among through per via across around within against toward towards".split()
)
DETERMINERS = frozenset("the a an this that these those its their his our my your each every some any".split())

_stemmer = Stemmer.Stemmer("english")
_COMPOUND = re.compile(r"\b[A-Za-z]+(?:-[A-Za-z]+)+\b")


_SHORT_YEAR = re.compile(r"(?<![\w'])[‘'’](\d{2})\b")


def _full_year(match: re.Match) -> str:
    # Slides abbreviate years ('06); read them as the years they stand for.
    two = int(match.group(1))
    return f"{2000 + two if two <= 50 else 1900 + two}"


def counted(number: int, noun: str) -> str:
    """ "1 slide", "2 slides": a count with its noun in the number it takes."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def words(text: str) -> list[str]:
    """Lowercase words; a number keeps its inner dots and commas (``12,155``, ``9.8``).

    A year abbreviated with an apostrophe ('06) is read as the full year (2006).
    """
    return [w.lower() for w in _WORD.findall(_SHORT_YEAR.sub(_full_year, text))]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball stem of one lowercase word; numbers lose their thousands commas."""
    if word[:1].isdigit():
        return word.replace(",", "")
    return _stemmer.stemWord(word)


def terms(text: str, keep_stopwords: bool = False) -> list[str]:
    """Stemmed words of ``text`` for lexical matching, stopwords dropped unless asked."""
    found = [stem(w) for w in words(text) if (keep_stopwords or w not in STOPWORDS) and (len(w) > 1 or w.isdigit())]
    # A hyphenated name ("e-peopl", "e-Procurement") is a term of its own too, so
    # that it is not mistaken for its parts ("people").
    found += [stem(c.lower()) for c in _COMPOUND.findall(text)]
    return found


def word_forms(texts: Iterable[str]) -> dict[str, str]:
    """Each content word's stem in ``texts`` (no numbers), with the form of it used most
    (the first seen of equals): what a word is written as where a model reads it."""
    counts: Counter[str] = Counter(
        w for text in texts for w in words(text) if w not in STOPWORDS and len(w) > 1 and not w[0].isdigit()
    )
    forms: dict[str, str] = {}
    for word, _ in counts.most_common():
        forms.setdefault(stem(word), word)
    return forms


def related(a: str, b: str) -> bool:
    """Whether two stems are forms of one word: equal, or one (4+ letters) begins the other.

    Snowball leaves some pairs apart ("classifi" and "classif", "issu" and
    "issuanc"); this joins them.
    """
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 4 and not short[0].isdigit() and long_.startswith(short)


class Vocabulary:
    """A set of stems that finds the forms of a stem (see :func:`related`) without scanning.

    The stems are kept sorted: the longer forms of a stem are one range of that
    order (they begin with it), and its shorter forms are among its own prefixes,
    so a lookup costs a binary search and a few probes whatever the size.
    """

    def __init__(self, stems: Iterable[str]) -> None:
        self.stems = frozenset(stems)
        self._sorted = sorted(self.stems)

    def __contains__(self, stem_: object) -> bool:
        return stem_ in self.stems

    def __len__(self) -> int:
        return len(self.stems)

    def forms(self, term: str) -> frozenset[str]:
        """The stems ``s`` with ``related(term, s)`` (``term`` itself only if it is one)."""
        found = {term} if term in self.stems else set()
        if len(term) >= 4 and not term[0].isdigit():
            start = bisect.bisect_left(self._sorted, term)
            for candidate in self._sorted[start:]:
                if not candidate.startswith(term):
                    break
                found.add(candidate)
        for length in range(4, len(term)):
            if not term[0].isdigit() and term[:length] in self.stems:
                found.add(term[:length])
        return frozenset(found)


def normalize(text: str) -> str:
    """The eval's normalizer: lowercase, keep ``a-z 0-9 . % $ / ~ +``, drop whitespace."""
    lowered = re.sub(r"[^a-z0-9.%$/~+]", " ", text.lower())
    return re.sub(r"\s+", "", lowered)

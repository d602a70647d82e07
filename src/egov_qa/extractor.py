"""Choosing the answer: one unit quoted verbatim, its key span, and a confidence.

Every candidate unit (the best fused units and all units of the best slides) is
scored by meaning (cosine similarity), by shared words (IDF-weighted overlap with
the unit and with what a reader sees around it), by its slide's rank, and by
whether it holds the kind of fact asked for; a unit that only repeats the
question, or a section divider, scores low. The best unit is the answer, and its
slide is cited first. The assistant abstains when the confidence is below the threshold, or when
the question hinges on a number or a name that the evidence does not hold.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from egov_qa.documents import Answer, Citation, Slide, Span, Unit
from egov_qa.index import Index, unit_context
from egov_qa.question import Question, analyze, hinge_stem, holds_term
from egov_qa.retriever import Retrieval
from egov_qa.spans import key_span, named_cell, typed_spans
from egov_qa.text import Vocabulary, terms

NOT_IN_DECK = "The deck does not say."
DEFAULT_THRESHOLD = 0.5
# A name found on more than this share of slides is not specific to any of them.
SPECIFIC_SHARE = 0.25
# Below this share of new words, a unit is taken to echo the question.
ECHO_NOVELTY = 0.5


@dataclass(frozen=True)
class Weights:
    """How a unit's score is made; the confidence is a logistic of the best score."""

    dense: float = 1.0  # cosine of question and unit passage
    lexical: float = 0.5  # IDF-weighted share of question words in the unit
    context: float = 0.4  # ... in the unit with its title and heading
    slide: float = 0.2  # 1 / (1 + rank of the unit's slide)
    type_match: float = 0.25  # holds the kind of fact asked for
    type_miss: float = -0.35  # asked for a kind of fact it does not hold
    cell: float = 0.15  # a table row whose column the question names
    divider: float = -0.3  # the only line of its slide (a section divider)
    echo: float = -0.6  # the unit only repeats the question's words (scaled by novelty)
    related: float = 0.75  # credit for a related word form ("issued", "issuance")
    centre: float = 0.95  # logistic centre
    steepness: float = 6.0  # logistic steepness


def _below(value: float, limit: float) -> str:
    """``value < limit`` with as many decimals as it takes to read true (never ``0.27 < 0.27``)."""
    for decimals in range(2, 8):
        shown, bound = f"{value:.{decimals}f}", f"{limit:.{decimals}f}"
        if shown != bound:
            return f"{shown} < {bound}"
    return f"{value!r} < {limit!r}"


@dataclass(frozen=True)
class Candidate:
    unit_pos: int
    score: float
    features: dict


class AnswerExtractor:
    """Picks the answer unit and its key span from a :class:`Retrieval`.

    Args:
        index: the index the retrieval came from.
        threshold: the least confidence to answer with, in [0, 1].
        slides_considered: how many top slides contribute all their units.
        units_considered: how many top fused units are candidates.
        weights: the score's weights.
    """

    def __init__(
        self,
        index: Index,
        threshold: float = DEFAULT_THRESHOLD,
        slides_considered: int = 4,
        units_considered: int = 20,
        weights: Weights | None = None,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], not {threshold!r}")
        if slides_considered < 1 or units_considered < 1:
            raise ValueError(
                "slides_considered and units_considered must be at least 1, "
                f"not {slides_considered!r} and {units_considered!r}"
            )
        self.index = index
        self.threshold = threshold
        self.slides_considered = slides_considered
        self.units_considered = units_considered
        self.weights = weights or Weights()
        units = index.units
        self._unit_terms = [frozenset(terms(u.text, keep_stopwords=True)) for u in units]
        self._unit_content = [frozenset(terms(u.text)) for u in units]
        self._context_terms = [
            frozenset(terms(" ".join(unit_context(u, index.slide_of(i))))) | self._unit_terms[i]
            for i, u in enumerate(units)
        ]
        self._title_terms = [frozenset(terms(s.title)) for s in index.slides]
        self._slide_terms = [frozenset(terms(s.text, keep_stopwords=True)) for s in index.slides]
        # Which slides hold each stem: a name's slides are found without reading every slide.
        self._term_slides: dict[str, list[int]] = {}
        for slide_pos, have in enumerate(self._slide_terms):
            for term in have:
                self._term_slides.setdefault(term, []).append(slide_pos)
        self._corpus_terms = Vocabulary(self._term_slides)
        df = Counter(t for ts in self._unit_terms for t in ts)
        n = max(len(units), 1)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._idf_unknown = math.log(1 + n)
        self._vocabulary = Vocabulary(frozenset().union(*self._context_terms) if units else ())
        self._form_cache: dict[str, frozenset[str]] = {}
        self._unit_positions = {u.id: i for i, u in enumerate(units)}
        self._name_slides: dict[str, frozenset[int]] = {}

    def _forms(self, term: str) -> frozenset[str]:
        """The index's stems that are forms of ``term`` (itself included), cached."""
        found = self._form_cache.get(term)
        if found is None:
            found = frozenset({term}) | self._vocabulary.forms(term)
            if len(self._form_cache) < 65536:
                self._form_cache[term] = found
        return found

    def _overlap(self, qterms: tuple[str, ...], have: frozenset[str]) -> float:
        """IDF-weighted share of ``qterms`` found in ``have`` (related forms count part)."""
        if not qterms:
            return 0.0
        total = hit = 0.0
        for term in qterms:
            weight = self._idf.get(term, self._idf_unknown)
            total += weight
            if term in have:
                hit += weight
            elif not self._forms(term).isdisjoint(have):
                hit += self.weights.related * weight
        return hit / total

    def _novelty(self, qterms: tuple[str, ...], unit_terms: frozenset[str]) -> float:
        """Share of the unit's content words that the question does not already say."""
        # One-character terms are labels ("3." before a title), not content.
        content = [t for t in unit_terms if len(t) > 1]
        if not content:
            return 0.0
        said = frozenset().union(*(self._forms(q) for q in qterms)) if qterms else frozenset()
        return sum(t not in said for t in content) / len(content)

    def _candidates(self, retrieval: Retrieval) -> list[int]:
        positions: dict[int, None] = {}
        for scored_unit in retrieval.units[: self.units_considered]:
            positions[self._unit_positions[scored_unit.unit.id]] = None
        for scored_slide in retrieval.slides[: self.slides_considered]:
            slide_pos = self.index.slide_position[(scored_slide.slide.source, scored_slide.slide.number)]
            positions.update(dict.fromkeys(self.index.slide_units[slide_pos]))
        return list(positions)

    def score(self, question: Question, retrieval: Retrieval, unit_pos: int) -> Candidate:
        """Score one unit as the answer to ``question``."""
        w = self.weights
        unit = self.index.units[unit_pos]
        slide_pos = int(self.index.unit_slide[unit_pos])
        features = {
            "dense": float(retrieval.dense[unit_pos]),
            "lexical": self._overlap(question.topics, self._unit_terms[unit_pos]),
            "context": self._overlap(question.topics, self._context_terms[unit_pos]),
            "slide": 1.0 / (1 + retrieval.slide_rank.get(slide_pos, len(self.index.slides))),
            "novelty": self._novelty(question.terms + question.numbers, self._unit_content[unit_pos]),
        }
        score = (
            w.dense * features["dense"]
            + w.lexical * features["lexical"]
            + w.context * features["context"]
            + w.slide * features["slide"]
        )
        cell = named_cell(question, unit.cells) is not None
        typed = cell or bool(typed_spans(question, unit.text))
        # Names are found by capitals alone: too loosely to count for or against a unit.
        if question.answer_type and question.answer_type != "name":
            score += w.type_match if typed else w.type_miss
        if cell:
            score += w.cell
        if len(self.index.slide_units[slide_pos]) == 1 and not typed:
            # A slide of one line is a section divider: it names a topic, it states no fact.
            score += w.divider
        if not typed:
            # A unit that only repeats the question (a heading naming the topic) is
            # no answer; one that adds the number or name asked for is.
            score += w.echo * max(0.0, 1.0 - features["novelty"] / ECHO_NOVELTY)
        return Candidate(unit_pos, score, features)

    def confidence(self, score: float) -> float:
        w = self.weights
        return 1.0 / (1.0 + math.exp(-w.steepness * (score - w.centre)))

    def _missing(self, question: Question, unit_pos: int) -> list[str]:
        """The numbers and names the question hinges on that the unit's slide lacks.

        A name found on most slides (the country a deck is about) says nothing
        about where an answer is, so the evidence need not repeat it.
        """
        slide_pos = int(self.index.unit_slide[unit_pos])
        near = self._unit_terms[unit_pos] | self._title_terms[slide_pos]
        missing = [n for n in question.numbers if not holds_term(near, n)]
        common = max(1, SPECIFIC_SHARE * len(self._slide_terms))
        for name in question.names:
            holding = self._slides_with(name)
            if len(holding) <= common and slide_pos not in holding:
                missing.append(name)
        return missing

    def _slides_with(self, name: str) -> frozenset[int]:
        """Positions of the slides that hold ``name`` (cached: names recur across questions)."""
        found = self._name_slides.get(name)
        if found is None:
            forms = self._corpus_terms.forms(hinge_stem(name))
            found = frozenset(i for form in forms for i in self._term_slides[form])
            if len(self._name_slides) < 4096:
                self._name_slides[name] = found
        return found

    def extract(self, retrieval: Retrieval, top_k: int = 3, threshold: float | None = None) -> Answer:
        """Answer ``retrieval.question`` from the retrieved units, or abstain.

        Args:
            top_k: how many distinct slides to cite.
            threshold: overrides the constructor's threshold for this call.
        """
        threshold = self.threshold if threshold is None else threshold
        question = analyze(retrieval.question)
        unknown = [t for t in (*question.numbers, *question.names) if not self._corpus_terms.forms(hinge_stem(t))]
        candidates = [self.score(question, retrieval, i) for i in self._candidates(retrieval)]
        candidates.sort(key=lambda c: -c.score)
        # Prefer a unit that holds every number and name the question hinges on.
        complete = [c for c in candidates if not self._missing(question, c.unit_pos)]
        best = complete[0] if complete else (candidates[0] if candidates else None)
        if best is None:
            return self._abstain(question, retrieval, top_k, 0.0, "nothing was retrieved")
        confidence = self.confidence(best.score)
        missing = self._missing(question, best.unit_pos)
        if unknown:
            reason, confidence = "the deck never mentions " + ", ".join(unknown), min(confidence, 0.05)
        elif missing:
            reason, confidence = "no passage about this mentions " + ", ".join(missing), min(confidence, 0.1)
        elif confidence < threshold:
            reason = f"support is weak (confidence {_below(confidence, threshold)})"
        else:
            reason = None
        if reason:
            return self._abstain(question, retrieval, top_k, confidence, reason)
        unit = self.index.units[best.unit_pos]
        slide = self.index.slide_of(best.unit_pos)
        span = None
        if (found := key_span(question, unit.text, unit.cells, unit.start)) is not None:
            start, end = found[0] + unit.start, found[1] + unit.start
            span = Span(start, end, slide.text[start:end])
        top = retrieval.slides[0].score if retrieval.slides else 1.0
        slide_score = next(
            (s.score for s in retrieval.slides if (s.slide.source, s.slide.number) == (slide.source, slide.number)),
            0.0,
        )
        citations = [self._cite(slide, slide_score / top, unit)]
        citations += self._other_citations(retrieval, exclude=slide, top_k=top_k - 1)
        return Answer(question.text, unit.text, False, confidence, tuple(citations), span, question.answer_type)

    def _cite(self, slide: Slide, score: float, unit: Unit | None = None) -> Citation:
        return Citation(
            slide.source,
            slide.number,
            slide.title,
            slide.text,
            unit.start if unit else None,
            unit.end if unit else None,
            round(score, 4),
            unit is not None and unit.kind == "notes",
        )

    def _other_citations(self, retrieval: Retrieval, exclude: Slide | None, top_k: int) -> list[Citation]:
        cited: list[Citation] = []
        for scored in retrieval.slides:
            if len(cited) >= top_k:
                break
            if exclude is not None and (scored.slide.source, scored.slide.number) == (
                exclude.source,
                exclude.number,
            ):
                continue
            cited.append(self._cite(scored.slide, scored.score / retrieval.slides[0].score))
        return cited

    def _abstain(self, question: Question, retrieval: Retrieval, top_k: int, confidence: float, reason: str) -> Answer:
        citations = self._other_citations(retrieval, exclude=None, top_k=top_k)
        return Answer(question.text, None, True, confidence, tuple(citations), None, question.answer_type, reason)

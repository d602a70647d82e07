"""Choosing the answer: one unit quoted verbatim, its key span, and a confidence.

Every candidate unit (the best fused units and all units of the best slides) is
scored by meaning (cosine similarity), by shared words (IDF-weighted overlap with
the unit and its slide's title), by its slide's rank, and by whether it holds the
kind of fact asked for. The best unit is the answer, and its slide is cited
first. The assistant abstains when the confidence is below the threshold, or when
the question hinges on a number or a name that the evidence does not hold.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from egov_qa.documents import Answer, Citation, Slide, Span, Unit
from egov_qa.index import Index
from egov_qa.question import Question, analyze, find_spans, holds_term, key_span
from egov_qa.retriever import Retrieval
from egov_qa.text import terms

NOT_IN_DECK = "The deck does not say."
DEFAULT_THRESHOLD = 0.5
# A name found on more than this share of slides is not specific to any of them.
SPECIFIC_SHARE = 0.25


@dataclass(frozen=True)
class Weights:
    """How the unit score is made; the confidence is a logistic of that score."""

    dense: float = 1.0
    lexical: float = 0.8
    title: float = 0.25
    slide: float = 0.3
    type_match: float = 0.25
    type_miss: float = -0.3
    # logistic(score): centre and steepness
    centre: float = 0.95
    steepness: float = 6.0


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
        self._title_terms = [frozenset(terms(s.title)) for s in index.slides]
        self._slide_terms = [frozenset(terms(s.text, keep_stopwords=True)) for s in index.slides]
        df = Counter(t for ts in self._unit_terms for t in ts)
        n = max(len(units), 1)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._idf_unknown = math.log(1 + n)
        self._unit_positions = {u.id: i for i, u in enumerate(units)}
        self._slide_positions = {(s.source, s.number): i for i, s in enumerate(index.slides)}
        self._name_slides: dict[str, frozenset[int]] = {}

    def _overlap(self, qterms: tuple[str, ...], have: frozenset[str]) -> float:
        if not qterms:
            return 0.0
        total = sum(self._idf.get(t, self._idf_unknown) for t in qterms)
        hit = sum(self._idf.get(t, self._idf_unknown) for t in qterms if t in have)
        return hit / total

    def _candidates(self, retrieval: Retrieval) -> list[int]:
        positions: dict[int, None] = {}
        for scored in retrieval.units[: self.units_considered]:
            positions[self._unit_positions[scored.unit.id]] = None
        for scored in retrieval.slides[: self.slides_considered]:
            slide_pos = self._slide_positions[(scored.slide.source, scored.slide.number)]
            positions.update(dict.fromkeys(self.index.slide_units[slide_pos]))
        return list(positions)

    def score(self, question: Question, retrieval: Retrieval, unit_pos: int) -> Candidate:
        """Score one unit as the answer to ``question``."""
        w = self.weights
        unit = self.index.units[unit_pos]
        slide_pos = int(self.index.unit_slide[unit_pos])
        dense = float(retrieval.dense[unit_pos])
        lexical = self._overlap(question.terms, self._unit_terms[unit_pos])
        title = self._overlap(question.terms, self._title_terms[slide_pos])
        slide_rank = retrieval.slide_rank.get(slide_pos, len(self.index.slides))
        slide = 1.0 / (1 + slide_rank)
        typed = 0.0
        if question.answer_type:
            spans = key_span(question, unit.text, unit.cells, unit.start)
            has_type = bool(find_spans(question.answer_type, unit.text)) and spans is not None
            typed = w.type_match if has_type else w.type_miss
        score = w.dense * dense + w.lexical * lexical + w.title * title + w.slide * slide + typed
        features = {"dense": dense, "lexical": lexical, "title": title, "slide": slide, "typed": typed}
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
            found = frozenset(i for i, have in enumerate(self._slide_terms) if holds_term(have, name))
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
        unknown = [
            t for t in (*question.numbers, *question.names) if not holds_term(self.index.vocabulary, t)
        ]
        candidates = [self.score(question, retrieval, i) for i in self._candidates(retrieval)]
        candidates.sort(key=lambda c: -c.score)
        # Prefer a unit that holds every number and name the question hinges on.
        complete = [c for c in candidates if not self._missing(question, c.unit_pos)]
        best = complete[0] if complete else (candidates[0] if candidates else None)
        if best is None:
            return self._abstain(question, retrieval, top_k, 0.0, "nothing was retrieved")
        confidence = self.confidence(best.score)
        if unknown:
            return self._abstain(
                question,
                retrieval,
                top_k,
                min(confidence, 0.05),
                "the deck never mentions " + ", ".join(unknown),
            )
        missing = self._missing(question, best.unit_pos)
        if missing:
            return self._abstain(
                question,
                retrieval,
                top_k,
                min(confidence, 0.1),
                "no passage about this mentions " + ", ".join(missing),
            )
        if confidence < threshold:
            return self._abstain(
                question,
                retrieval,
                top_k,
                confidence,
                f"support is weak (confidence {confidence:.2f} < {threshold:.2f})",
            )
        unit = self.index.units[best.unit_pos]
        slide = self.index.slide_of(best.unit_pos)
        span = None
        if (found := key_span(question, unit.text, unit.cells, unit.start)) is not None:
            start, end = found[0] + unit.start, found[1] + unit.start
            span = Span(start, end, slide.text[start:end])
        top = retrieval.slides[0].score if retrieval.slides else 1.0
        slide_score = next(
            (
                s.score
                for s in retrieval.slides
                if (s.slide.source, s.slide.number) == (slide.source, slide.number)
            ),
            0.0,
        )
        citations = [self._cite(slide, slide_score / top, unit)]
        citations += self._other_citations(retrieval, exclude=slide, top_k=top_k - 1)
        return Answer(
            question.text, unit.text, False, confidence, tuple(citations), span, question.answer_type
        )

    def _cite(self, slide: Slide, score: float, unit: Unit | None = None) -> Citation:
        return Citation(
            slide.source,
            slide.number,
            slide.title,
            slide.text,
            unit.start if unit else None,
            unit.end if unit else None,
            round(score, 4),
        )

    def _other_citations(self, retrieval: Retrieval, exclude: Slide | None, top_k: int) -> list[Citation]:
        cited = []
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

    def _abstain(
        self, question: Question, retrieval: Retrieval, top_k: int, confidence: float, reason: str
    ) -> Answer:
        citations = self._other_citations(retrieval, exclude=None, top_k=top_k)
        return Answer(
            question.text, None, True, confidence, tuple(citations), None, question.answer_type, reason
        )

"""Choosing the answer: one unit quoted verbatim, its key span, and a confidence.

The candidate units (the best fused units and all units of the best slides) are
described by their features (:mod:`egov_qa.answer.features`) and ranked by the fitted
reader (:mod:`egov_qa.answer.reader`); the best is the answer, and its slide is cited
first. The assistant abstains when the reader's confidence, the calibrated
probability that the answer is right, is below the threshold chosen with it;
an abstention still cites the best candidate's slide first, as the closest the
deck comes to the question.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property

from egov_qa.answer.features import FeatureMaker
from egov_qa.answer.question import Question, analyze
from egov_qa.answer.reader import Reader
from egov_qa.answer.retriever import Retrieval
from egov_qa.answer.scorer import Reading
from egov_qa.documents import Answer, Citation, Slide, Span, Unit
from egov_qa.index.store import Index

NOT_IN_DECK = "The deck does not say."


def _listed(words: list[str], joiner: str = "or") -> str:
    """``A``, ``A or B``, ``A, B or C``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {joiner} {words[-1]}"


def as_written(name: str, text: str) -> str:
    """``name`` as the question ``text`` writes it: a name is read up to an ampersand ("POA" of
    "POA&M") and matched by that part, but a person asked about the whole."""
    whole = re.search(rf"(?<![\w&]){re.escape(name)}(?:&[A-Za-z0-9]+)+", text)
    return whole.group() if whole else name


def scripts(text: str) -> frozenset[str]:
    """The writing systems of the letters in ``text``: the first word of each letter's Unicode
    name ("LATIN", "HANGUL", "CJK", "CYRILLIC", ...)."""
    return frozenset(unicodedata.name(c, "UNKNOWN").split()[0] for c in set(text) if c.isalpha())


def _script_words(names: frozenset[str]) -> str:
    return _listed(sorted(name if name == "CJK" else name.title() for name in names), "and")


class AnswerExtractor:
    """Picks the answer unit and its key span from a :class:`Retrieval`.

    Args:
        index: the index the retrieval came from.
        reader: ranks the candidates and gives the confidence.
        features: computes candidates' features over ``index``.
        threshold: the least confidence to answer with, in [0, 1] (default: the reader model's).
    """

    def __init__(
        self,
        index: Index,
        reader: Reader,
        features: FeatureMaker,
        threshold: float | None = None,
    ) -> None:
        threshold = reader.model.threshold if threshold is None else threshold
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], not {threshold!r}")
        self.index = index
        self.reader = reader
        self.threshold = threshold
        self.features = features

    def extract(self, retrieval: Retrieval, top_k: int = 3, threshold: float | None = None) -> Answer:
        """Answer ``retrieval.question`` from the retrieved units, or abstain.

        Args:
            top_k: how many distinct slides to cite.
            threshold: overrides the constructor's threshold for this call.
        """
        threshold = self.threshold if threshold is None else threshold
        question = analyze(retrieval.question)
        asked = scripts(question.text)
        if asked and self.corpus_scripts and asked.isdisjoint(self.corpus_scripts):
            # No word of such a question can be found on a slide: whatever ranks first is chance.
            reason = (
                f"The question is written in {_script_words(asked)} letters, which no slide uses: "
                f"ask it in the language of the decks (written in {_script_words(self.corpus_scripts)} letters)."
            )
            return self._abstain(question, retrieval, top_k, 0.0, reason)
        candidates = self.features.candidates(question, retrieval)
        quotes = [self.index.quote(c.unit_pos).text for c in candidates]
        # Slide titles (and the lines before, where it was trained so) are read by the answer scorer only.
        readings = None
        if scorer := self.reader.scorer:
            readings = [
                Reading(
                    self.index.slide_of(c.unit_pos).title,
                    quote,
                    self.index.before(c.unit_pos) if scorer.reads_before else "",
                )
                for c, quote in zip(candidates, quotes, strict=True)
            ]
        ranked = self.reader.run(question, candidates, self.index.units, top_k=1, quotes=quotes, readings=readings)
        if not ranked:
            return self._abstain(question, retrieval, top_k, 0.0, "No slide matches the question.")
        best = ranked[0]
        if best.confidence < threshold:
            unknown = self.features.unknown(question)
            missing = self.features.missing(question, best.unit_pos)
            closest = self.index.slide_of(best.unit_pos)
            # In words a person reads: what the decks lack, or what the closest slides are about.
            if unknown:
                unknown = [as_written(u, question.text) for u in unknown]
                reason = f"No slide mentions {_listed(unknown)}."
            elif missing:
                missing = [as_written(m, question.text) for m in missing]
                reason = f"The closest slide does not mention {_listed(missing)}."
            else:
                reason = f"The closest slides talk about {self._topics(retrieval, closest)}, but none answers it."
            return self._abstain(question, retrieval, top_k, best.confidence, reason, closest)
        unit, quote = best.unit, self.index.quote(best.unit_pos)
        slide = self.index.slide_of(best.unit_pos)
        span = None
        if best.span is not None:
            start, end = best.span[0] + unit.start, best.span[1] + unit.start
            span = Span(start, end, slide.text[start:end])
        citations = [self._cite(slide, self._relative_score(retrieval, slide), unit, quote)]
        citations += self._other_citations(retrieval, exclude=slide, top_k=top_k - 1)
        # Answered all the same, a question naming what no slide mentions is said to: the answer may
        # be about something else ("When was G4C launched?" of a deck that never names G4C).
        unknown = [as_written(u, question.text) for u in self.features.unknown(question)]
        caution = f"No slide mentions {_listed(unknown)}: check that this is what you asked about." if unknown else ""
        return Answer(
            question.text, quote.text, False, best.confidence, tuple(citations), span, question.answer_type, caution
        )

    @cached_property
    def corpus_scripts(self) -> frozenset[str]:
        """The writing systems of the corpus's words."""
        return scripts("".join(self.index.vocabulary))

    def _cite(self, slide: Slide, score: float, unit: Unit | None = None, quote: Span | None = None) -> Citation:
        """A citation of ``slide``, marking ``quote`` (the quoted ``unit``) when there is one."""
        return Citation(
            slide.source,
            slide.number,
            slide.title,
            slide.text,
            quote.start if quote else None,
            quote.end if quote else None,
            round(score, 4),
            unit is not None and unit.kind == "notes",
            unit.origin if unit else "",
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

    @staticmethod
    def _topics(retrieval: Retrieval, closest: Slide, count: int = 3) -> str:
        """The titles of the closest slides, ``closest`` first, as a list in words."""
        titles = [closest.title] + [s.slide.title for s in retrieval.slides]
        shown = list(dict.fromkeys(t.strip() for t in titles if t.strip()))[:count]
        return _listed([f"“{t}”" for t in shown], "and") if shown else "other things"

    @staticmethod
    def _relative_score(retrieval: Retrieval, slide: Slide) -> float:
        """The slide's fused retrieval score over the best slide's (0 when it was not ranked)."""
        top = retrieval.slides[0].score if retrieval.slides else 1.0
        score = next(
            (s.score for s in retrieval.slides if (s.slide.source, s.slide.number) == (slide.source, slide.number)),
            0.0,
        )
        return score / top

    def _abstain(
        self,
        question: Question,
        retrieval: Retrieval,
        top_k: int,
        confidence: float,
        reason: str,
        closest: Slide | None = None,
    ) -> Answer:
        """Abstain, citing first the slide of the reader's best candidate (``closest``) when there is one:
        the reader places the topic better than retrieval's first slide does."""
        if closest is None:
            citations = self._other_citations(retrieval, exclude=None, top_k=top_k)
        else:
            citations = [self._cite(closest, self._relative_score(retrieval, closest))]
            citations += self._other_citations(retrieval, exclude=closest, top_k=top_k - 1)
        return Answer(question.text, None, True, confidence, tuple(citations), None, question.answer_type, reason)

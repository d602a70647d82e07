"""What the reader knows of a candidate answer: features of one unit for one question.

Each feature says something that holds for any deck: how close the unit is in
meaning and in words to the question (and what a reader sees around it), how
retrieval ranked it and its slide, whether it holds the kind of fact asked for,
how much of the question the corpus and the slide hold at all, and what kind of
line it is. None names a word, a notation or a layout of a particular deck. The
weights that turn them into a score are fit on data (``egov-qa train``) and kept
in a file, never here.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from operator import itemgetter

import numpy as np

from egov_qa.answer.question import Question, hinge_stem
from egov_qa.answer.retriever import Retrieval
from egov_qa.answer.spans import holds_detail, named_cell, typed_spans
from egov_qa.documents import Unit
from egov_qa.index.embedder import Embedder
from egov_qa.index.store import Index, unit_context
from egov_qa.text import Vocabulary, terms, word_forms

# A name found on more than this share of slides is not specific to any of them
# (the country a deck is about): its absence from a slide says nothing.
SPECIFIC_SHARE = 0.25
UNIT_KINDS = ("heading", "bullet", "text", "row", "note", "notes")
ANSWER_TYPES = ("year", "number", "percent", "rank", "name")
# Features also given as standard scores among the question's candidates: how a unit
# stands against the others for this question, whatever the deck's scale of scores.
RELATIVE = ("dense", "bm25", "lexical", "context", "slide_cover", "novelty")

FEATURES: tuple[str, ...] = (
    "dense",
    "dense_gap",
    "bm25",
    "unit_rank",
    "slide_rank",
    "lexical",
    "context",
    "slide_cover",
    "novelty",
    "type_held",
    "type_missing",
    "cell_named",
    "row_named",
    "divider",
    "log_chars",
    "asks_back",
    "lead_in",
    "after_match",
    "lexical_gap",
    "follows_best",
    "text_dense",
    "text_dense_gap",
    "text_dense_slide_gap",
    *(f"z_{f}" for f in RELATIVE),
    "unknown_share",
    "hinge_unknown",
    "hinge_missing",
    "number_unknown",
    "name_unknown",
    "topic_unknown",
    "unseen_word_fit",
    "unseen_word_fit_mean",
    "number_missing",
    "name_missing",
    "slide_missing",
    "type_on_slide",
    "type_anywhere",
    "asks_detail",
    "detail_missing",
    "detail_off_slide",
    "detail_nowhere",
    *(f"asks_{t}" for t in ANSWER_TYPES),
    *(f"kind_{k}" for k in UNIT_KINDS),
)

# A candidate's values in the order of FEATURES, read in one C-level call.
_IN_ORDER = itemgetter(*FEATURES)


@dataclass(frozen=True)
class Candidate:
    """One unit considered as the answer, with its features (in the order of ``FEATURES``)."""

    unit_pos: int
    features: tuple[float, ...]


def row_label(unit: Unit) -> frozenset[str]:
    """The terms of a table row's first cell, the label that tells it from its sibling rows
    ("Budget", "Stages: Launch"); empty for a unit that is not a row."""
    if not unit.cells:
        return frozenset()
    first = unit.cells[0]
    return frozenset(terms(unit.text[first.start - unit.start : first.end - unit.start]))


class FeatureMaker:
    """Computes candidate features over one index; the per-unit work is done once, here.

    Args:
        index: the loaded index.
        embedder: embeds the question's words that the corpus never uses, to find
            how near in meaning the corpus's words come (the index's own model).
        slides_considered: how many top slides contribute all their units as candidates.
        units_considered: how many top fused units are candidates.
    """

    def __init__(
        self, index: Index, embedder: Embedder, slides_considered: int = 4, units_considered: int = 20
    ) -> None:
        if slides_considered < 1 or units_considered < 1:
            raise ValueError(
                "slides_considered and units_considered must be at least 1, "
                f"not {slides_considered!r} and {units_considered!r}"
            )
        self.index = index
        self.embedder = embedder
        self.slides_considered = slides_considered
        self.units_considered = units_considered
        units = index.units
        self._unit_terms = [frozenset(terms(u.text, keep_stopwords=True)) for u in units]
        self._unit_content = [frozenset(terms(u.text)) for u in units]
        self._context_terms = [
            frozenset(terms(" ".join(unit_context(u, index.slide_of(i))))) | self._unit_terms[i]
            for i, u in enumerate(units)
        ]
        self._title_terms = [frozenset(terms(s.title)) for s in index.slides]
        self._row_labels = [row_label(u) for u in units]
        self._slide_terms = [frozenset(terms(s.text, keep_stopwords=True)) for s in index.slides]
        self._term_slides: dict[str, list[int]] = {}
        for slide_pos, have in enumerate(self._slide_terms):
            for term in have:
                self._term_slides.setdefault(term, []).append(slide_pos)
        self._corpus = Vocabulary(self._term_slides)
        df = Counter(t for ts in self._unit_terms for t in ts)
        n = max(len(units), 1)
        self._idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self._idf_unknown = math.log(1 + n)
        self._unit_positions = {u.id: i for i, u in enumerate(units)}
        # The unit read just before each one on its slide (None for a slide's first).
        self._previous: list[int | None] = [None] * len(units)
        for positions in index.slide_units:
            for before, after in pairwise(positions):
                self._previous[after] = before
        stripped = [u.text.rstrip() for u in units]
        self._asks = [t.endswith("?") for t in stripped]
        self._leads = [t.endswith(":") for t in stripped]
        self._form_cache: dict[str, frozenset[str]] = {}
        self._slide_cache: dict[str, frozenset[int]] = {}

    def _forms(self, term: str) -> frozenset[str]:
        found = self._form_cache.get(term)
        if found is None:
            found = frozenset({term}) | self._corpus.forms(term)
            if len(self._form_cache) < 65536:
                self._form_cache[term] = found
        return found

    def _overlap(self, qterms: tuple[str, ...], have: frozenset[str]) -> float:
        """IDF-weighted share of ``qterms`` whose word (in some form) is in ``have``."""
        if not qterms:
            return 0.0
        total = hit = 0.0
        for term in qterms:
            weight = self._idf.get(term, self._idf_unknown)
            total += weight
            if term in have or not self._forms(term).isdisjoint(have):
                hit += weight
        return hit / total

    def _novelty(self, qterms: tuple[str, ...], unit_terms: frozenset[str]) -> float:
        """Share of the unit's content words that the question does not already say."""
        content = [t for t in unit_terms if len(t) > 1]
        if not content:
            return 0.0
        said = frozenset().union(*(self._forms(q) for q in qterms)) if qterms else frozenset()
        return sum(t not in said for t in content) / len(content)

    def _most_specific_missing(self, topics: tuple[str, ...], have: frozenset[str]) -> float:
        """The IDF of the rarest question word ``have`` lacks, as a share of a word the corpus never uses."""
        lacking = [
            self._idf.get(t, self._idf_unknown) for t in topics if t not in have and self._forms(t).isdisjoint(have)
        ]
        return max(lacking, default=0.0) / self._idf_unknown

    def _unseen_word_fit(self, question: Question, unseen_topics: list[str]) -> dict[str, float]:
        """How near in meaning the corpus's words come to the question's words that it never
        uses (``unseen_topics``): each such word's best cosine with a corpus word, the least and
        the mean (1 when there is none). A paraphrase finds a near word ("problems" finds
        "issues"); a subject the deck is not about does not ("calories")."""
        forms = word_forms([question.text])
        unseen = [forms[t] for t in unseen_topics if t in forms]
        if not unseen:
            return {"unseen_word_fit": 1.0, "unseen_word_fit_mean": 1.0}
        vocabulary = np.asarray(self.index.vocabulary_vectors)
        if not len(vocabulary):
            return {"unseen_word_fit": 0.0, "unseen_word_fit_mean": 0.0}
        nearest = (self.embedder.embed(list(dict.fromkeys(unseen))) @ vocabulary.T).max(axis=1)
        return {"unseen_word_fit": float(nearest.min()), "unseen_word_fit_mean": float(nearest.mean())}

    def unknown(self, question: Question) -> list[str]:
        """The numbers and names of the question that no slide of the corpus holds."""
        numbers = [n for n in question.numbers if not self._corpus.forms(hinge_stem(n))]
        return numbers + [name for name in question.names if not self._slides_with(name)]

    def _slides_with(self, word: str) -> frozenset[int]:
        """The slides holding ``word`` in some form; for a name that splits into several
        terms ("CM-6", "SP 800-53"), the slides holding each of them. Asked once per
        candidate, so kept for the next."""
        cached = self._slide_cache.get(word)
        if cached is not None:
            return cached
        found = {i for form in self._corpus.forms(hinge_stem(word)) for i in self._term_slides[form]}
        parts = terms(word, keep_stopwords=True)
        if not found and len(parts) > 1:
            holding = [{i for form in self._forms(part) for i in self._term_slides.get(form, ())} for part in parts]
            found = set.intersection(*holding)
        if len(self._slide_cache) < 65536:
            self._slide_cache[word] = frozenset(found)
        return frozenset(found)

    def missing(self, question: Question, unit_pos: int) -> list[str]:
        """The numbers and names the question hinges on that the unit (or its slide, for names) lacks."""
        slide_pos = int(self.index.unit_slide[unit_pos])
        near = self._unit_terms[unit_pos] | self._title_terms[slide_pos]
        lacking = [n for n in question.numbers if self._forms(hinge_stem(n)).isdisjoint(near)]
        common = max(1, SPECIFIC_SHARE * len(self._slide_terms))
        for name in question.names:
            holding = self._slides_with(name)
            if len(holding) <= common and slide_pos not in holding:
                lacking.append(name)
        return lacking

    def candidates(self, question: Question, retrieval: Retrieval) -> list[Candidate]:
        """The units considered as answers (the best fused units, then every unit of the best
        slides), each with its features."""
        positions: dict[int, int | None] = {}
        for rank, scored_unit in enumerate(retrieval.units[: self.units_considered]):
            positions[self._unit_positions[scored_unit.unit.id]] = rank
        for scored_slide in retrieval.slides[: self.slides_considered]:
            slide_pos = self.index.slide_position[(scored_slide.slide.source, scored_slide.slide.number)]
            for unit_pos in self.index.slide_units[slide_pos]:
                positions.setdefault(unit_pos, None)
        if not positions:
            return []
        dense = {pos: float(retrieval.dense[pos]) for pos in positions}
        # The unit's own text, out of its context: which line of a slide says it.
        chosen = list(positions)
        text_dense = dict(zip(chosen, map(float, self.index.text_vectors[chosen] @ retrieval.dense.query), strict=True))
        best_dense = max(dense.values())
        unknown = self.unknown(question)
        # A stem is among its own forms when the corpus has it.
        unseen_topics = [t for t in question.topics if not self._corpus.forms(t)]
        topic_total = sum(self._idf.get(t, self._idf_unknown) for t in question.topics)
        unknown_share = (
            sum(self._idf_unknown for t in question.topics if t not in self._corpus) / topic_total
            if topic_total
            else 0.0
        )
        common = {
            "unknown_share": unknown_share,
            "hinge_unknown": float(len(unknown)),
            "number_unknown": float(sum(n in unknown for n in question.numbers)),
            "name_unknown": float(sum(n in unknown for n in question.names)),
            "topic_unknown": float(len(unseen_topics)),
            **self._unseen_word_fit(question, unseen_topics),
            **{f"asks_{t}": float(question.answer_type == t) for t in ANSWER_TYPES},
        }
        n_slides = len(self.index.slides)
        asks = question.answer_type is not None
        asked_terms = frozenset(question.terms)
        cells = {pos: named_cell(question, self.index.units[pos].cells) is not None for pos in positions}
        # A line is read with what it is quoted with: a lead-in with the line it introduces.
        quoted = {pos: self.index.quote(pos).text for pos in positions}
        typed = {pos: cells[pos] or bool(typed_spans(question, quoted[pos])) for pos in positions}
        typed_slides = {int(self.index.unit_slide[pos]) for pos, held in typed.items() if held}
        common["type_anywhere"] = float(asks and bool(typed_slides))
        slide_missing: dict[int, float] = {}
        asks_detail = question.detail is not None
        detail_slides = {
            slide_pos: holds_detail(question, self.index.slides[slide_pos].text)
            for slide_pos in {int(self.index.unit_slide[pos]) for pos in positions}
        }
        # A table's cells take the unit its slide states once ("Unit: KRW 100 million", "in $M").
        detail = {
            pos: holds_detail(question, quoted[pos])
            or (bool(self.index.units[pos].cells) and detail_slides[int(self.index.unit_slide[pos])])
            for pos in positions
        }
        common["asks_detail"] = float(asks_detail)
        common["detail_nowhere"] = float(not any(detail_slides.values()))
        found: list[dict[str, float]] = []
        overlaps: dict[int, float] = {}

        def lexical(unit_pos: int) -> float:
            """How much of the question a unit holds (once per unit: a line is also the next one's lead)."""
            if unit_pos not in overlaps:
                overlaps[unit_pos] = self._overlap(question.topics, self._unit_terms[unit_pos])
            return overlaps[unit_pos]

        for pos, unit_rank in positions.items():
            unit = self.index.units[pos]
            slide_pos = int(self.index.unit_slide[pos])
            cell = cells[pos]
            if slide_pos not in slide_missing:
                slide_missing[slide_pos] = self._most_specific_missing(question.topics, self._slide_terms[slide_pos])
            lacking = self.missing(question, pos)
            values = {
                **common,
                "dense": dense[pos],
                "dense_gap": dense[pos] - best_dense,
                "text_dense": text_dense[pos],
                "bm25": float(retrieval.bm25[pos]),
                "unit_rank": 0.0 if unit_rank is None else 1.0 / (1 + unit_rank),
                "slide_rank": 1.0 / (1 + retrieval.slide_rank.get(slide_pos, n_slides)),
                "lexical": lexical(pos),
                "context": self._overlap(question.topics, self._context_terms[pos]),
                "slide_cover": self._overlap(question.topics, self._slide_terms[slide_pos]),
                "novelty": self._novelty(question.terms + question.numbers, self._unit_content[pos]),
                "type_held": float(asks and typed[pos]),
                "type_missing": float(asks and not typed[pos]),
                "cell_named": float(cell),
                "row_named": float(bool(label := self._row_labels[pos]) and label <= asked_terms),
                "divider": float(len(self.index.slide_units[slide_pos]) == 1),
                "log_chars": math.log1p(len(unit.text)),
                # A line that asks or that announces what follows is rarely the answer;
                # the line after one that echoes the question often is.
                "asks_back": float(self._asks[pos]),
                "lead_in": float(self._leads[pos]),
                "after_match": 0.0 if (before := self._previous[pos]) is None else lexical(before),
                "hinge_missing": float(len(lacking)),
                "number_missing": float(sum(n in lacking for n in question.numbers)),
                "name_missing": float(sum(n in lacking for n in question.names)),
                "slide_missing": slide_missing[slide_pos],
                "type_on_slide": float(asks and slide_pos in typed_slides),
                "detail_missing": float(not detail[pos]),
                "detail_off_slide": float(not detail_slides[slide_pos]),
                **{f"kind_{k}": float(unit.kind == k) for k in UNIT_KINDS},
            }
            found.append(values)
        # How each compares with the question's best match in words, and whether it is the
        # line right after that match (where an answer announced by it would be).
        best_lexical = max(v["lexical"] for v in found)
        best_at = {pos for pos, v in zip(positions, found, strict=True) if v["lexical"] == best_lexical}
        best_text = max(text_dense.values())
        slide_text: dict[int, float] = {}
        for pos in positions:
            slide_pos = int(self.index.unit_slide[pos])
            slide_text[slide_pos] = max(slide_text.get(slide_pos, -math.inf), text_dense[pos])
        for pos, v in zip(positions, found, strict=True):
            v["lexical_gap"] = v["lexical"] - best_lexical
            v["follows_best"] = float(self._previous[pos] in best_at)
            v["text_dense_gap"] = text_dense[pos] - best_text
            v["text_dense_slide_gap"] = text_dense[pos] - slide_text[int(self.index.unit_slide[pos])]
        for name in RELATIVE:
            column = np.array([v[name] for v in found])
            spread = float(column.std())
            standard = (column - column.mean()) / spread if spread > 1e-9 else np.zeros_like(column)
            for v, z in zip(found, standard, strict=True):
                v[f"z_{name}"] = float(z)
        return [Candidate(pos, _IN_ORDER(v)) for pos, v in zip(positions, found, strict=True)]

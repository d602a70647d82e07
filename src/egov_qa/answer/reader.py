"""The reader: ranks candidate units as answers and says how likely the best one is right.

``Reader(model).run(question, candidates)`` takes the analyzed question and its
candidate units (with their features, see :mod:`egov_qa.answer.features`) and returns
ranked answers, each with its key span and a confidence. The model is a plain
JSON file written by ``egov-qa train``: a logistic ranker over standardized
candidate features, and a logistic model of the probability that the best
candidate is right, over what the ranking says of the question (the best
score, its margin over the runner-up, how much of the question the best unit
and the corpus hold), fitted on the ranker's outputs for decks held out from
its fit (Platt scaling with the question's evidence), with the abstention
threshold chosen on held-out decks too.

With an answer scorer (:mod:`egov_qa.answer.scorer`), the ranker's first
:data:`RERANK_DEPTH` candidates are read again, question and line together, and a
second logistic model (``reranker``) reorders them from the ranker's score, the
scorer's, and the logit of the key span the scorer reads in each (how clearly the line holds
an answer to point at); the confidence then also reads the scorer's view of the best candidate. The key span
is the scorer's where the typed-span rules find nothing, for a name, and for a number where the
rules' value lies outside the scorer's span (:func:`chosen_span`); a date, share, rank or
named table cell the rules find stays their exact slice.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from egov_qa.answer.features import FEATURES, Candidate
from egov_qa.answer.question import Question
from egov_qa.answer.scorer import NO_SPAN_LOGIT, AnswerScorer, Reading
from egov_qa.answer.spans import _CAPITAL, _TRAILING, _opens_sentence, key_span, named_cell
from egov_qa.documents import Unit
from egov_qa.errors import ReaderModelError
from egov_qa.text import STOPWORDS

log = logging.getLogger(__name__)

READER_FORMAT = 2
# What the confidence is read from: the ranking's best score and margin, and the
# best candidate's own evidence (by name in FEATURES).
TOP_FEATURES = (
    "dense",
    "lexical",
    "context",
    "slide_cover",
    "hinge_missing",
    "type_missing",
    "number_missing",
    "name_missing",
    "slide_missing",
    "type_on_slide",
    "detail_missing",
    "detail_off_slide",
)
QUESTION_FEATURES = (
    "unknown_share",
    "hinge_unknown",
    "number_unknown",
    "name_unknown",
    "topic_unknown",
    "unseen_word_fit",
    "unseen_word_fit_mean",
    "type_anywhere",
    "asks_detail",
    "detail_nowhere",
)
CONFIDENCE_FEATURES = ("best_score", "margin", *(f"best_{f}" for f in TOP_FEATURES), *QUESTION_FEATURES)
# What the reranker reads of each of the ranker's first candidates, and what the confidence
# adds with a scorer: the scorer's logit of the best candidate and its lead over the next.
RERANK_FEATURES = ("ranker_score", "ranker_gap", "scorer_score", "scorer_gap", "span_score", "span_gap")
# A reader fit before the reranker read the scorer's span logits reads the first four (its file
# names none).
RERANK_FEATURES_BEFORE_SPANS = RERANK_FEATURES[:4]
SCORER_CONFIDENCE = ("best_scorer", "scorer_margin")
RERANK_DEPTH = 10
# The kinds of answer whose key span is the scorer's even where the typed-span rules find one.
SCORER_SPAN_TYPES = ("name",)
# The kinds of answer whose rules' span stands only where the scorer's span overlaps it.
OVERLAP_SPAN_TYPES = ("number",)
_TOP = [FEATURES.index(f) for f in TOP_FEATURES]
_QUESTION = [FEATURES.index(f) for f in QUESTION_FEATURES]
NO_RUNNER_UP_MARGIN = 10.0


def confidence_row(logits: np.ndarray, rows: np.ndarray, at: int | None = None) -> np.ndarray:
    """The confidence model's input for one question's candidate ``at`` (default: the best one).

    ``logits`` are the ranker's scores of the question's candidates, ``rows`` their
    features; the margin is the candidate's score less the best other one's.
    """
    chosen = int(np.argmax(logits)) if at is None else at
    others = np.delete(logits, chosen)
    margin = float(logits[chosen] - others.max()) if len(others) else NO_RUNNER_UP_MARGIN
    return np.concatenate([[logits[chosen], margin], rows[chosen, _TOP], rows[chosen, _QUESTION]])


def confidence_features(reranked: bool) -> tuple[str, ...]:
    """The confidence model's inputs: with a reranker, the scorer's view of the best candidate too."""
    return (*CONFIDENCE_FEATURES, *SCORER_CONFIDENCE) if reranked else CONFIDENCE_FEATURES


def whole_name(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """A name's ``span`` of ``text`` widened over the capitalized words right before it: a reading
    model may start a name at its last part ("Jung-Hee" for "President Park Jung-Hee"). Never over a
    small word, nor past the start of a sentence or the line, where a word is capitalized for that."""
    lo, hi = span
    if not text[lo:hi][:1].isupper():
        return span
    # Walk back a word at a time over the text itself: slicing what comes before would be quadratic.
    while not _opens_sentence(text, lo):
        end = lo
        while end > 0 and text[end - 1] in " \t":
            end -= 1
        start = end
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        word = text[start:end]
        if (
            end == lo
            or not word
            or not re.fullmatch(_CAPITAL, word)
            or word.lower() in STOPWORDS
            or word[-1] in _TRAILING
            or _opens_sentence(text, start)
        ):
            break
        lo = start
    return lo, hi


def _written_cells(unit: Unit) -> list[tuple[int, int]]:
    """Where each cell of the table row ``unit`` is written in its text: "header: value" (a cell's
    offsets are its value's, in the slide)."""
    return [
        (cell.start - unit.start - (len(cell.header) + 2 if cell.header else 0), cell.end - unit.start)
        for cell in unit.cells
    ]


def whole_cells(span: tuple[int, int], unit: Unit) -> tuple[int, int]:
    """A ``span`` of the table row ``unit`` that runs over parts of several of its cells, widened to
    those cells whole, each with its column's header ("2005: 20,272 | 2010: 22,203", not
    "20,272 | 2010: 22,203"); a span inside one cell, or of a line with no cells, as it is."""
    lo, hi = span
    touched = [(start, end) for start, end in _written_cells(unit) if start < hi and lo < end]
    if len(touched) < 2:
        return span
    return min(lo, max(touched[0][0], 0)), max(hi, touched[-1][1])


def chosen_span(
    question: Question, text: str, unit: Unit, scorer_span: tuple[int, int] | None
) -> tuple[int, int] | None:
    """The key span of ``unit`` quoted as ``text``: the typed-span rules' or the answer scorer's.

    The scorer's where the rules find nothing, and for a name even where they find one: the rules
    pick the wrong one of several names (the scorer's widened over the capitalized words it left
    out before it, :func:`whole_name`). For a number the rules' only where the scorer's span
    overlaps it: where they point at different values the rules most often took another number of
    the line (a share, "10x", the first of two counts). Dates, shares, ranks and a table cell the
    question names stay the rules' exact slices. Both measured on the eval sets' answerable
    questions, each read by a scorer trained without its deck (docs/reader.md, "The key span").
    A scorer's span over parts of several cells of a table row takes those cells whole (:func:`whole_cells`),
    and so does a question naming several cells of the row ("in 2005 and 2011"): from the first
    named to the last, not one of them alone, unless the scorer read it as asking for words outside
    the cells (the row's label).
    """
    named = [cell for cell in unit.cells if named_cell(question, (cell,)) is not None]
    if len(named) > 1 and (
        scorer_span is None
        or any(start < scorer_span[1] and scorer_span[0] < end for start, end in _written_cells(unit))
    ):
        return whole_cells((named[0].start - unit.start, named[-1].end - unit.start), unit)
    # Where the question names a table cell, the scorer has no say over the rules' span.
    scorer_may = not named
    if scorer_span is not None and scorer_may and question.answer_type in SCORER_SPAN_TYPES:
        return whole_cells(whole_name(text, scorer_span), unit)
    rule = key_span(question, text, unit.cells, unit.start)
    if rule is None:
        return whole_cells(scorer_span, unit) if scorer_span is not None else None
    if (
        scorer_span is not None
        and scorer_may
        and question.answer_type in OVERLAP_SPAN_TYPES
        and max(rule[0], scorer_span[0]) >= min(rule[1], scorer_span[1])
    ):
        return whole_cells(scorer_span, unit)
    return rule


def _before_spans(data: dict) -> tuple[str, ...]:
    """The rerank features of a reader file that names none: the first four where it has a reranker."""
    return RERANK_FEATURES_BEFORE_SPANS if data.get("reranker") else RERANK_FEATURES


def first_candidates(logits: np.ndarray) -> np.ndarray:
    """The positions of the ranker's first :data:`RERANK_DEPTH` candidates, best first (ties in order)."""
    return np.argsort(-logits, kind="stable")[:RERANK_DEPTH]


def rerank_rows(logits: np.ndarray, scores: np.ndarray, span_logits: np.ndarray | None = None) -> np.ndarray:
    """The reranker's input (:data:`RERANK_FEATURES`) for candidates with ranker ``logits``, scorer
    ``scores`` and the scorer's ``span_logits`` (None: no span read, :data:`NO_SPAN_LOGIT` each)."""
    spans = np.full(len(scores), NO_SPAN_LOGIT) if span_logits is None else span_logits
    return np.column_stack([logits, logits - logits.max(), scores, scores - scores.max(), spans, spans - spans.max()])


def scorer_row(scores: np.ndarray, at: int) -> np.ndarray:
    """The scorer's logit of candidate ``at`` and its lead over the best other one."""
    others = np.delete(scores, at)
    return np.array([scores[at], scores[at] - others.max() if len(others) else NO_RUNNER_UP_MARGIN])


@dataclass(frozen=True)
class Linear:
    """A logistic model over standardized inputs: ``(x - mean) / scale @ coef + intercept``."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def __post_init__(self) -> None:
        if len({len(self.mean), len(self.scale), len(self.coef)}) != 1:
            raise ReaderModelError("a linear model's means, scales and weights differ in number")

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        return ((rows - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept

    def to_dict(self) -> dict:
        return {
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Linear:
        return cls(
            tuple(float(v) for v in data["mean"]),
            tuple(float(v) for v in data["scale"]),
            tuple(float(v) for v in data["coef"]),
            float(data["intercept"]),
        )


@dataclass(frozen=True)
class ReaderModel:
    """A fitted reader: what ``egov-qa train`` saves and the assistant loads.

    ``ranker`` scores each candidate (a logit over ``features``); ``confidence``
    turns the ranking of a question (``confidence_features``) into the
    probability that its best candidate is right; ``threshold`` is the least
    probability to answer with. ``meta`` records what it was trained on and how
    it did on decks it never saw. ``reranker`` (with an answer scorer) reorders the
    ranker's first candidates over ``rerank_features``, :data:`RERANK_FEATURES` or, for a
    file written before the span logits, the first four.
    """

    features: tuple[str, ...]
    ranker: Linear
    confidence_features: tuple[str, ...]
    confidence: Linear
    threshold: float
    meta: dict = field(default_factory=dict, compare=False)
    reranker: Linear | None = None
    rerank_features: tuple[str, ...] = RERANK_FEATURES

    def __post_init__(self) -> None:
        if self.rerank_features not in (RERANK_FEATURES, RERANK_FEATURES_BEFORE_SPANS):
            raise ReaderModelError(f"the reader's rerank features {list(self.rerank_features)} are not ones it reads")
        if self.reranker is not None and len(self.reranker.coef) != len(self.rerank_features):
            raise ReaderModelError("the reader's reranker weights are not one per rerank feature")
        if len(self.features) != len(self.ranker.coef):
            raise ReaderModelError("the reader's features and ranker weights differ in number")
        if len(self.confidence_features) != len(self.confidence.coef):
            raise ReaderModelError("the reader's confidence features and weights differ in number")
        if not 0.0 <= self.threshold <= 1.0:
            raise ReaderModelError(f"the reader's threshold {self.threshold} is outside [0, 1]")

    def logits(self, rows: np.ndarray) -> np.ndarray:
        """The ranker's score of each row of candidate features."""
        return self.ranker(rows)

    def rerank(self, logits: np.ndarray, scores: np.ndarray, span_logits: np.ndarray | None = None) -> np.ndarray:
        """The reranker's score of candidates with ranker ``logits`` and the scorer's ``scores`` and
        ``span_logits`` (see :func:`rerank_rows`), over the features it was fit on."""
        if self.reranker is None:
            raise ValueError("this reader has no reranker")
        return self.reranker(rerank_rows(logits, scores, span_logits)[:, : len(self.rerank_features)])

    def probability(
        self, logits: np.ndarray, rows: np.ndarray, at: int | None = None, scores: np.ndarray | None = None
    ) -> float:
        """The probability that candidate ``at`` (default: the best) of these is right; ``scores`` are
        the scorer's logits of the same candidates, for a reader with a reranker."""
        row = confidence_row(logits, rows, at)
        if self.reranker is not None:
            if scores is None:
                raise ValueError("a reader with a reranker needs the scorer's scores")
            row = np.concatenate([row, scorer_row(scores, int(np.argmax(logits)) if at is None else at)])
        z = float(self.confidence(row[None, :])[0])
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def to_dict(self) -> dict:
        return {
            "format": READER_FORMAT,
            "features": list(self.features),
            "ranker": self.ranker.to_dict(),
            "confidence_features": list(self.confidence_features),
            "confidence": self.confidence.to_dict(),
            "threshold": self.threshold,
            **(
                {"reranker": self.reranker.to_dict(), "rerank_features": list(self.rerank_features)}
                if self.reranker is not None
                else {}
            ),
            **self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ReaderModel:
        try:
            if data.get("format") != READER_FORMAT:
                raise ReaderModelError(f"format {data.get('format')!r}, this version reads {READER_FORMAT}")
            fixed = {
                "format",
                "features",
                "ranker",
                "confidence_features",
                "confidence",
                "threshold",
                "reranker",
                "rerank_features",
            }
            return cls(
                tuple(str(f) for f in data["features"]),
                Linear.from_dict(data["ranker"]),
                tuple(str(f) for f in data["confidence_features"]),
                Linear.from_dict(data["confidence"]),
                float(data["threshold"]),
                {k: v for k, v in data.items() if k not in fixed},
                Linear.from_dict(data["reranker"]) if data.get("reranker") else None,
                tuple(str(f) for f in data.get("rerank_features", _before_spans(data))),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ReaderModelError(f"it is not a reader model ({type(exc).__name__}: {exc})") from exc

    def save(self, path: Path) -> Path:
        from egov_qa.files import write_atomic

        return write_atomic(Path(path), json.dumps(self.to_dict(), indent=1) + "\n")


def load_reader_model(path: Path, embedding_model: str | None = None) -> ReaderModel:
    """Load a reader model file, checking it fits this version's features.

    A model trained with another embedding model still loads (its features mean
    the same things), with a warning: its confidences are calibrated for the
    other model's similarities until ``egov-qa train`` is run with this one.

    Raises:
        ReaderModelError: the file is missing, not a reader model, or for other features.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReaderModelError(f"no reader model at {path}: run `egov-qa train` (or `make train`)") from exc
    except (OSError, ValueError) as exc:
        raise ReaderModelError(f"the reader model {path} cannot be read ({exc}): run `egov-qa train` again") from exc
    if not isinstance(data, dict):
        raise ReaderModelError(f"the reader model {path} is not a JSON object: run `egov-qa train` again")
    try:
        model = ReaderModel.from_dict(data)
    except ReaderModelError as exc:
        raise ReaderModelError(f"the reader model {path} is not valid ({exc}): run `egov-qa train` again") from exc
    if model.features != FEATURES or model.confidence_features != confidence_features(model.reranker is not None):
        raise ReaderModelError(
            f"the reader model {path} was trained on other features than this version computes: "
            "run `egov-qa train` again"
        )
    if embedding_model:
        warn_if_trained_with_another(model, path, embedding_model)
    return model


def warn_if_trained_with_another(model: ReaderModel, path: Path, embedding_model: str) -> None:
    """Log a warning when ``model`` (loaded from ``path``) was trained with another embedding model."""
    trained_for = model.meta.get("embedding_model")
    if trained_for and trained_for != embedding_model:
        log.warning(
            "the reader in %s was trained with embedding model %s, not %s: its confidences may be off "
            "until `egov-qa train` is run with this model",
            path,
            trained_for,
            embedding_model,
        )


@dataclass(frozen=True)
class ReadAnswer:
    """One ranked answer: the unit, its score and confidence, and its key span (in the unit's text)."""

    unit: Unit
    unit_pos: int
    score: float
    confidence: float
    span: tuple[int, int] | None


class Reader:
    """Ranks candidate units as answers to a question with a fitted :class:`ReaderModel`.

    Args:
        model: the fitted model.
        top_k: how many ranked answers ``run`` returns by default.
        scorer: the answer scorer, required by a model with a reranker (and unused without one).

    Raises:
        ValueError: ``top_k`` is below 1, or the model reranks and no scorer is given.
    """

    def __init__(self, model: ReaderModel, top_k: int = 3, scorer: AnswerScorer | None = None) -> None:
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, not {top_k!r}")
        if model.reranker is not None and scorer is None:
            raise ValueError("this reader reranks with the answer scorer: give it one")
        self.model = model
        self.top_k = top_k
        self.scorer = scorer if model.reranker is not None else None

    def run(
        self,
        question: Question,
        candidates: list[Candidate],
        units: list[Unit],
        top_k: int | None = None,
        quotes: Sequence[str] | None = None,
        readings: Sequence[Reading] | None = None,
    ) -> list[ReadAnswer]:
        """Rank ``candidates`` (units by position in ``units``) as answers to ``question``, best first.

        ``quotes`` are what each is quoted with (:meth:`egov_qa.index.store.Index.quote`; by
        default its unit's text), which the key span is found in; ``readings`` how the scorer
        reads each (its slide's title, its quote and the line before it; by default the quote alone).
        """
        if not candidates:
            return []
        texts = list(quotes) if quotes is not None else [units[c.unit_pos].text for c in candidates]
        rows = np.array([c.features for c in candidates], dtype=np.float64)
        logits = self.model.logits(rows)
        scores, spans = None, None
        if self.scorer is not None and self.model.reranker is not None:
            top = first_candidates(logits)
            read = self.scorer.score(
                question.text, [readings[int(i)] if readings else Reading("", texts[int(i)]) for i in top]
            )
            scores = np.array([r.logit for r in read])
            spans = [r.span for r in read]
            candidates, texts = [candidates[int(i)] for i in top], [texts[int(i)] for i in top]
            rows, logits = rows[top], self.model.rerank(logits[top], scores, np.array([r.span_logit for r in read]))
        order = np.argsort(-logits, kind="stable")[: top_k or self.top_k]
        answers = []
        for i in order:
            candidate = candidates[int(i)]
            unit = units[candidate.unit_pos]
            scorer_span = spans[int(i)] if spans is not None else None
            span = chosen_span(question, texts[int(i)], unit, scorer_span)
            confidence = self.model.probability(logits, rows, int(i), scores)
            answers.append(ReadAnswer(unit, candidate.unit_pos, float(logits[i]), confidence, span))
        return answers

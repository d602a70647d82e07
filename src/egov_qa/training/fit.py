"""Fitting the reader from the eval sets, and measuring it on decks it never saw.

For every plain question of every eval set, the question is retrieved in its
own corpus and each candidate unit is described by its features; a candidate is
right when quoting it answers correctly and its slide holds the evidence. The
ranker is a logistic regression over standardized features (scikit-learn),
ranking candidates by the probability that they are right. The confidence is a
second logistic regression, of 'the best candidate's answer is right', fitted
on the ranker's outputs for decks held out from the ranker's fit (Platt scaling
that also reads the margin to the runner-up and how much of the question the
corpus and the best unit hold). The abstention threshold is the one with the
best utility on confidences for held-out decks: each right answer and each
right abstention gains 1, each wrong answer (to any question) costs
``WRONG_ANSWER_COST``, an abstention on a question the deck answers counts 0.
A wrong answer costs as much as a right one gains: on a question the deck answers,
answering at confidence p then beats abstaining only when p > 1/2, so the reader
answers only what it more likely gets right than wrong. A tool that promises never to
make things up must count a wrong answer at least as bad as a missed one.

Figures quoted for a deck come from a reader that never saw it: leave one deck
out, train on all the other eval sets (with the same inner held-out fits for
its calibration and threshold) and score the deck left out.
"""

from __future__ import annotations

import ast
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from egov_qa.answer.features import FEATURES
from egov_qa.answer.pipeline import Pipeline
from egov_qa.answer.reader import (
    CONFIDENCE_FEATURES,
    Linear,
    ReaderModel,
    confidence_features,
    confidence_row,
    first_candidates,
    rerank_rows,
    scorer_row,
)
from egov_qa.answer.scorer import AnswerScorer, Reading
from egov_qa.documents import content_hash
from egov_qa.evaluation.scoring import SHIPPED, EvalItem, Suite, fold_of, holds_evidence, plain, quotes_an_answer, share
from egov_qa.files import file_sha256, package_version
from egov_qa.ingest.loader import READING_CODE

# Inverse regularization strength of both logistic models: scikit-learn's default, not tuned.
REGULARIZATION = 1.0
# What a wrong answer costs, against the 1 a right answer or a right abstention gains: as much
# as a right answer gains, so a missed answer is never worse than a wrong one (see above).
WRONG_ANSWER_COST = 1.0
# The thresholds over which a copy's right answers are also compared with its deck's: those the
# decks' own held-out thresholds fall in. One deck's held-out threshold moves by a tenth between
# fits (it is chosen inside the other decks), and its row with it; the band does not.
RATIO_BAND = (0.40, 0.60)


# Evidence the deck lacks what the question asks (a term, a number, a name, the detail asked
# for) never makes an answer likelier to be right: those confidence weights are kept at or
# below zero, so collinear counts cannot trade signs and a missing name lowers the confidence.
def evidence_against(names: tuple[str, ...]) -> tuple[bool, ...]:
    """Which confidence inputs are evidence against the answer (their weights kept at or below zero)."""
    return tuple(any(cue in name for cue in ("missing", "unknown", "nowhere", "off_slide")) for name in names)


OBJECTIVE = (
    f"utility: +1 for a right answer or a right abstention, -{WRONG_ANSWER_COST} for a wrong answer, "
    "0 for abstaining on an answerable question"
)


@dataclass(frozen=True)
class Asked:
    """One question of one eval set, with its candidates' features and what each would score."""

    suite: str
    item: EvalItem
    rows: np.ndarray  # candidates x features
    answer_ok: np.ndarray  # per candidate: quoting it answers correctly
    cite_ok: np.ndarray  # per candidate: its slide holds the evidence
    fallback_cite_ok: bool  # the best retrieved slide holds the evidence (cited when there is no candidate)
    scores: np.ndarray | None = None  # per candidate: the answer scorer's logit (None without a scorer)
    copy_of: str | None = None  # the set whose decks the asked corpus copies (see Suite.copy_of)
    question: str = ""  # the question as the pipeline read it
    texts: tuple[Reading, ...] = ()  # per candidate: its slide's title, its line and the line before it
    fit_only: bool = False  # fit on, never reported: a SQuAD article's questions (training/squad_questions.py)
    span_logits: np.ndarray | None = None  # per candidate: the logit of the key span the scorer reads in it

    @property
    def right(self) -> np.ndarray:
        return self.answer_ok & self.cite_ok

    @property
    def deck(self) -> str:
        """The set whose decks were asked: a copy is held out with them."""
        return self.copy_of or self.suite


def ask_all(suite_name: str, items: list[EvalItem], pipeline: Pipeline, copy_of: str | None = None) -> list[Asked]:
    """Ask every plain question of a set through ``pipeline``, read as serving reads it, and describe
    its candidates; ``copy_of`` names the set whose decks the pipeline's corpus copies."""
    index = pipeline.index
    asked = []
    for item in plain(items):
        found = pipeline.candidates(item.question)
        candidates, retrieval = found.candidates, found.retrieval
        rows = np.array([c.features for c in candidates], dtype=np.float64).reshape(len(candidates), len(FEATURES))
        quotes = [index.quote(c.unit_pos).text for c in candidates]
        answer_ok = [quotes_an_answer(item, quote) for quote in quotes]
        cite_ok = [holds_evidence(item, index.slide_of(c.unit_pos).text) for c in candidates]
        fallback = bool(retrieval.slides) and holds_evidence(item, retrieval.slides[0].slide.text)
        texts = tuple(
            Reading(index.slide_of(c.unit_pos).title, quote, index.before(c.unit_pos))
            for c, quote in zip(candidates, quotes, strict=True)
        )
        answer_oks, cite_oks = np.array(answer_ok, dtype=bool), np.array(cite_ok, dtype=bool)
        asked.append(
            Asked(suite_name, item, rows, answer_oks, cite_oks, fallback, None, copy_of, retrieval.question, texts)
        )
    return asked


def scored(asked: list[Asked], scorer: AnswerScorer) -> list[Asked]:
    """``asked`` with the answer scorer's logit and span logit of every candidate."""
    found = []
    for a in asked:
        read = scorer.score(a.question, list(a.texts))
        found.append(
            replace(
                a,
                scores=np.array([s.logit for s in read], dtype=np.float64),
                span_logits=np.array([s.span_logit for s in read], dtype=np.float64),
            )
        )
    return found


def fit_linear(rows: np.ndarray, labels: np.ndarray, at_most_zero: tuple[bool, ...] | None = None) -> Linear:
    """A logistic regression over standardized ``rows`` (scikit-learn), as a :class:`Linear`.

    ``at_most_zero`` marks the columns whose weight may not be positive: the same
    penalized likelihood is then maximized under those bounds (SciPy's L-BFGS-B).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(rows)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    if labels.all() or not labels.any():
        # One class only (a tiny set): nothing to learn but the base rate.
        rate = float(np.clip(labels.mean(), 1e-6, 1 - 1e-6)) if len(labels) else 0.5
        return Linear(tuple(scaler.mean_), tuple(scale), (0.0,) * rows.shape[1], float(np.log(rate / (1 - rate))))
    standard = (rows - scaler.mean_) / scale
    if at_most_zero is not None and any(at_most_zero):
        coef, intercept = _bounded_logistic(standard, labels, at_most_zero)
        return Linear(tuple(scaler.mean_), tuple(scale), tuple(float(c) for c in coef), float(intercept))
    model = LogisticRegression(C=REGULARIZATION, max_iter=5000).fit(standard, labels)
    return Linear(
        tuple(scaler.mean_), tuple(scale), tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0])
    )


def _bounded_logistic(x: np.ndarray, labels: np.ndarray, at_most_zero: tuple[bool, ...]) -> tuple[np.ndarray, float]:
    """scikit-learn's L2 logistic objective (``0.5 |w|^2 + C * log loss``, intercept free), with
    the marked weights kept at or below zero."""
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    signs = np.where(labels, 1.0, -1.0)

    def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        margin = signs * (x @ w + b)
        loss = -log_expit(margin).sum()
        pull = -signs * expit(-margin)  # d loss / d (x @ w + b)
        gradient = np.append(w + REGULARIZATION * (x.T @ pull), REGULARIZATION * pull.sum())
        return 0.5 * float(w @ w) + REGULARIZATION * float(loss), gradient

    bounds = [(None, 0.0) if bounded else (None, None) for bounded in at_most_zero] + [(None, None)]
    found = minimize(objective, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    return found.x[:-1], float(found.x[-1])


def fit_ranker(asked: list[Asked]) -> Linear:
    """'This candidate is right', over every candidate of ``asked``."""
    having = [a for a in asked if len(a.rows)]
    return fit_linear(np.vstack([a.rows for a in having]), np.concatenate([a.right for a in having]))


@dataclass(frozen=True)
class Outcome:
    """What a ranker does with one question: its best candidate, how that scores, the confidence's input."""

    asked: Asked
    row: np.ndarray | None  # the confidence model's input; None when there is no candidate
    answer_ok: bool
    cite_ok: bool


def ranked(ranker: Linear, reranker: Linear | None, a: Asked) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """What the reader ranks for one question, as serving ranks it: the candidates' positions, their
    scores and (with a reranker) the scorer's logits; the ranker's first few only, with a reranker."""
    logits = ranker(a.rows)
    if reranker is None or a.scores is None:
        return np.arange(len(logits)), logits, None
    top = first_candidates(logits)
    return top, reranker(rerank_rows(logits[top], a.scores[top], _spans(a, top))), a.scores[top]


def outcomes(ranker: Linear, asked: list[Asked], reranker: Linear | None = None) -> list[Outcome]:
    found = []
    for a in asked:
        if not len(a.rows):
            found.append(Outcome(a, None, False, a.fallback_cite_ok))
            continue
        positions, logits, scores = ranked(ranker, reranker, a)
        best = int(np.argmax(logits))
        # Without a reranker every candidate is ranked, in order: its rows need no copy.
        row = confidence_row(logits, a.rows if scores is None else a.rows[positions])
        if scores is not None:
            row = np.concatenate([row, scorer_row(scores, best)])
        at = int(positions[best])
        found.append(Outcome(a, row, bool(a.answer_ok[at]), bool(a.cite_ok[at])))
    return found


def _spans(a: Asked, top: np.ndarray) -> np.ndarray | None:
    """The span logits of ``a``'s candidates at ``top``, where they were read."""
    return a.span_logits[top] if a.span_logits is not None else None


def fit_reranker(held_out: list[tuple[Linear, list[Asked]]]) -> Linear | None:
    """'This candidate is right', over the first :data:`RERANK_DEPTH` candidates of each question as
    ranked by a ranker that did not see it (each group with the ranker fit without it); None when
    the questions carry no scorer logits."""
    rows, labels = [], []
    for ranker, group in held_out:
        for a in group:
            if a.scores is None:
                return None
            if not len(a.rows):
                continue
            logits = ranker(a.rows)
            top = first_candidates(logits)
            rows.append(rerank_rows(logits[top], a.scores[top], _spans(a, top)))
            labels.append(a.right[top])
    return fit_linear(np.vstack(rows), np.concatenate(labels)) if rows else None


def fit_confidence(held_out: list[Outcome]) -> Linear:
    """The probability that the best candidate's answer is right, from held-out rankings."""
    scored = [o for o in held_out if o.row is not None]
    if not scored:
        raise ValueError("no held-out question had a candidate answer to learn the confidence from")
    rows = np.vstack([o.row for o in scored if o.row is not None])
    names = confidence_features(rows.shape[1] > len(CONFIDENCE_FEATURES))
    return fit_linear(rows, np.array([o.answer_ok for o in scored]), evidence_against(names))


def confidences(model: Linear, outcomes_: list[Outcome]) -> list[float]:
    z = [float(model(o.row[None, :])[0]) if o.row is not None else -np.inf for o in outcomes_]
    return [float(1.0 / (1.0 + np.exp(-v))) if np.isfinite(v) else 0.0 for v in z]


def _utility(o: Outcome, confidence: float, threshold: float, cost: float | None = None) -> float:
    """1 for a right answer or a right abstention, minus ``cost`` for a wrong answer, 0 for
    abstaining on an answerable question."""
    cost = WRONG_ANSWER_COST if cost is None else cost
    if confidence < threshold:
        return 0.0 if o.asked.item.answerable else 1.0
    return 1.0 if o.asked.item.answerable and o.answer_ok else -cost


def choose_threshold(held_out: list[Outcome], confidence: list[float]) -> float:
    """The threshold with the best utility (see ``_utility``) on held-out outcomes; the middle of the best run."""
    grid = [step / 100 for step in range(101)]
    scores = [sum(_utility(o, c, t) for o, c in zip(held_out, confidence, strict=True)) for t in grid]
    best = max(scores)
    runs: list[list[float]] = []
    for t, value in zip(grid, scores, strict=True):
        if best - value < 1e-9:  # sums of fractional costs compare with a tolerance
            if runs and abs(runs[-1][-1] + 0.01 - t) < 1e-9:
                runs[-1].append(t)
            else:
                runs.append([t])
    longest = max(runs, key=len)
    return round(longest[len(longest) // 2], 2)


def _groups(items: list, folds: int, deck_of, id_of) -> list[list]:
    """Held-out groups: one per eval set's decks (with their copies), or question folds when
    there is one set only."""
    decks = sorted({deck_of(x) for x in items})
    if len(decks) > 1:
        return [[x for x in items if deck_of(x) == d] for d in decks]
    by_fold: dict[int, list] = {}
    for x in items:
        by_fold.setdefault(fold_of(id_of(x), folds), []).append(x)
    return [by_fold[f] for f in sorted(by_fold)]


@dataclass(frozen=True)
class Fitted:
    ranker: Linear
    confidence: Linear
    threshold: float
    reranker: Linear | None = None


def fit_reader(asked: list[Asked], folds: int = 5, rerank: bool = True) -> Fitted:
    """The ranker fit on all of ``asked``; the reranker (when the questions carry scorer logits and
    ``rerank``) fit on the rankings of held-out groups; the confidence fit on the held-out groups'
    rankings, and the threshold chosen on confidences for held-out groups."""
    groups = _groups(asked, folds, lambda a: a.deck, lambda a: a.item.id)
    rankers = []
    for group in groups:
        rest = [a for other in groups if other is not group for a in other]
        if rest:
            rankers.append((fit_ranker(rest), group))
    reranker = fit_reranker(rankers) if rerank else None
    held_out = [o for ranker, group in rankers for o in outcomes(ranker, group, reranker)]
    # The threshold is chosen on confidences that held-out groups did not fit either.
    outer = _groups(held_out, folds, lambda o: o.asked.deck, lambda o: o.asked.item.id)
    checked: list[Outcome] = []
    checked_confidence: list[float] = []
    for group in outer:
        rest = [o for other in outer if other is not group for o in other]
        if rest:
            checked += group
            checked_confidence += confidences(fit_confidence(rest), group)
    threshold = choose_threshold(checked, checked_confidence) if checked else 0.5
    return Fitted(fit_ranker(asked), fit_confidence(held_out), threshold, reranker)


def score(outcomes_: list[Outcome], fitted: Fitted) -> dict:
    """The eval's headline figures for ``outcomes_`` under a fitted confidence and threshold."""
    threshold = fitted.threshold
    answerable = [o for o in outcomes_ if o.asked.item.answerable]
    unanswerable = [o for o in outcomes_ if not o.asked.item.answerable]
    confidence = dict(zip(map(id, outcomes_), confidences(fitted.confidence, outcomes_), strict=True))

    points = [(confidence[id(o)], bool(o.answer_ok and o.asked.item.answerable)) for o in outcomes_]
    bins = reliability(points)
    answered = [o for o in answerable if confidence[id(o)] >= threshold]
    # Answered or not, the first slide cited is the best candidate's (retrieval's first without one).
    cited = sum(o.cite_ok for o in answerable)
    return {
        "n": len(outcomes_),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "answer_accuracy": share(sum(o.answer_ok for o in answered), len(answerable)),
        "citation_accuracy": share(cited, len(answerable)),
        "abstention_accuracy": share(sum(confidence[id(o)] < threshold for o in unanswerable), len(unanswerable)),
        "false_abstention_rate": share(len(answerable) - len(answered), len(answerable)),
        **calibration(points, bins),
        "reliability": bins,
        "curve": threshold_curve(outcomes_, [confidence[id(o)] for o in outcomes_]),
    }


def threshold_curve(outcomes_: list[Outcome], confidence: list[float], steps: int = 20) -> list[dict]:
    """What each threshold would do to these questions, as counts (so that decks pool by adding):
    answerable questions answered right, answered at all, and unanswerable ones abstained on."""
    rows = []
    for step in range(steps + 1):
        cut = step / steps
        answered = [(o, c) for o, c in zip(outcomes_, confidence, strict=True) if c >= cut]
        rows.append(
            {
                "threshold": cut,
                "right": sum(o.asked.item.answerable and o.answer_ok for o, _ in answered),
                "answered": sum(o.asked.item.answerable for o, _ in answered),
                "abstained_unanswerable": sum(
                    not o.asked.item.answerable and c < cut for o, c in zip(outcomes_, confidence, strict=True)
                ),
            }
        )
    return rows


def calibration(points: list[tuple[float, bool]], bins: list[dict]) -> dict:
    """How far the confidences stray from how often the answers are right: the Brier score (the
    mean squared difference, scikit-learn's) and the expected calibration error (the gap between
    confidence and accuracy in each of ``bins``, the points' :func:`reliability`, weighted by its
    questions)."""
    from sklearn.metrics import brier_score_loss

    if not points:
        return {"brier": 0.0, "calibration_error": 0.0}
    confidence, right = zip(*points, strict=True)
    gaps = sum(b["n"] * abs(b["confidence"] - b["accuracy"]) for b in bins)
    return {
        "brier": float(brier_score_loss(np.array(right, dtype=int), np.array(confidence), pos_label=1)),
        "calibration_error": gaps / len(points),
    }


def reliability(points: list[tuple[float, bool]], bins: int = 10) -> list[dict]:
    """Predicted confidence against observed accuracy, in equal-width bins."""
    rows = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(conf, right) for conf, right in points if lo <= conf < hi or (b == bins - 1 and conf == 1.0)]
        if inside:
            confs, rights = zip(*inside, strict=True)
            rows.append(
                {
                    "bin": [lo, hi],
                    "n": len(inside),
                    "confidence": float(np.mean(confs)),
                    "accuracy": float(np.mean(rights)),
                }
            )
    return rows


def leave_one_deck_out(asked: list[Asked], folds: int = 5, progress: Callable[[str], None] | None = None) -> dict:
    """For each eval set: a reader fit on every other set, scored on this one and, apart, on each
    copy of its decks (copies are scored, never fit on: see :func:`train`). Questions asked only to
    fit on (``Asked.fit_only``) join every fit and are scored in none."""
    figures = {}
    for deck in sorted({a.deck for a in asked if not a.fit_only}):
        if progress:
            progress(f"leave one deck out: scoring {deck} with a reader fit on the other sets")
        train = [a for a in asked if a.deck != deck and a.copy_of is None]
        fitted = fit_reader(train, folds)
        for suite in sorted({a.suite for a in asked if a.deck == deck}):
            test = [a for a in asked if a.suite == suite]
            figures[suite] = {
                **score(outcomes(fitted.ranker, test, fitted.reranker), fitted),
                "threshold": fitted.threshold,
            }
    return figures


def within_set(asked: list[Asked], suite: str, folds: int = 5) -> dict:
    """k-fold cross-validation within one set: each fold scored by a reader fit on the other
    folds of that set and on every other set (a copy of its decks left out with them)."""
    parts = []
    mine = [a for a in asked if a.suite == suite]
    others = [a for a in asked if a.deck != suite]
    for fold in range(folds):
        test = [a for a in mine if fold_of(a.item.id, folds) == fold]
        train = others + [a for a in mine if fold_of(a.item.id, folds) != fold]
        if test and train:
            fitted = fit_reader(train, folds)
            parts.append(score(outcomes(fitted.ranker, test, fitted.reranker), fitted))
    from egov_qa.evaluation.report import pool

    return pool(parts)


def image_copies_record(held_out: dict, copied: dict[str, str]) -> dict | None:
    """Each image-only copy's figures beside its deck's, both left out of the reader's fit, and the
    two pooled: right answers on the copies over right answers on the decks (``answer_ratio``), and
    the same over the thresholds of :data:`RATIO_BAND` (``answer_ratio_band``)."""
    from egov_qa.evaluation.report import pool

    pairs = {copy: deck for copy, deck in copied.items() if copy in held_out and deck in held_out}
    if not pairs:
        return None

    def brief(figures: dict) -> dict:  # the deck's own curves are in its leave-one-deck-out record
        return {key: value for key, value in figures.items() if key not in ("curve", "reliability")}

    sets = {}
    for copy, deck in sorted(pairs.items(), key=lambda pair: pair[1]):
        text, image = held_out[deck], held_out[copy]
        sets[deck] = {
            "copy": copy,
            "image": brief(image),
            "answer_ratio": ratio(image, text),
            "answer_ratio_band": band_ratio(image, text),
        }
    text = pool([held_out[deck] for deck in pairs.values()])
    image = pool([held_out[copy] for copy in pairs])
    pooled = {
        "text": brief(text),
        "image": brief(image),
        "answer_ratio": ratio(image, text),
        "answer_ratio_band": band_ratio(image, text),
    }
    return {"sets": sets, "pooled": pooled, "band": list(RATIO_BAND)}


def band_ratio(image: dict, text: dict, band: tuple[float, float] = RATIO_BAND) -> float | None:
    """Right answers on a copy over its deck's, each summed over the thresholds of ``band`` on their
    threshold curves (None without curves, or when the deck answers nothing right there)."""

    def right(figures: dict) -> int:
        return sum(
            row["right"] for row in figures.get("curve") or [] if band[0] - 1e-9 <= row["threshold"] <= band[1] + 1e-9
        )

    on_deck = right(text)
    return right(image) / on_deck if on_deck > 0 else None


def ratio(image: dict, text: dict) -> float | None:
    """Answer accuracy on a copy over its deck's (None when the deck answers nothing right)."""
    return image["answer_accuracy"] / text["answer_accuracy"] if text["answer_accuracy"] > 0 else None


# The modules whose code decides what a candidate's features are: reading decks into
# slides and units, reading and retrieving questions, and describing candidates.
FEATURE_CODE = (
    *READING_CODE,
    "egov_qa.answer.question",
    "egov_qa.answer.reading",
    "egov_qa.answer.retriever",
    "egov_qa.answer.spans",
    "egov_qa.answer.features",
    "egov_qa.answer.pipeline",
    "egov_qa.index.quotes",
)


def feature_code_digest(modules: tuple[str, ...] = FEATURE_CODE) -> str:
    """A digest of the code that makes the reader's features, blind to comments, docstrings and layout.

    A reader fit before that code changed is stale: its weights read other features.
    """
    parts = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ValueError(f"no module {name} to take the feature code's digest of")
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
                if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                    node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
        parts.append(f"{name}:{ast.dump(tree)}")
    return content_hash(*parts, length=16)


def eval_set_hashes(suites: list[Suite], root: Path) -> dict[str, str]:
    """The SHA-256 of every eval set file, by path relative to ``root`` when inside it."""

    def shown(path: Path) -> str:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return str(path)

    return {shown(s.eval_set): file_sha256(s.eval_set) for s in suites}


def train(
    suites: list[Suite],
    asked: list[Asked],
    embedding_model: str,
    root: Path,
    folds: int = 5,
    progress: Callable[[str], None] | None = None,
) -> ReaderModel:
    """Fit the reader on every eval set and measure it leaving each deck out.

    Questions asked of image-only copies (``Asked.copy_of``) are scored by the readers that
    left their decks out, and never fit on: fitting on them too lowered the held-out answer
    accuracy on the text decks and on the copies alike (docs/reader.md, "Image-only copies").
    """
    if not asked:
        raise ValueError("no questions to train on")
    held_out = leave_one_deck_out(asked, folds, progress) if len({a.deck for a in asked}) > 1 else {}
    from egov_qa.evaluation.report import pool

    copied = {a.suite: a.copy_of for a in asked if a.copy_of is not None}
    asked = [a for a in asked if a.copy_of is None]
    fit_only = [a for a in asked if a.fit_only]
    lodo = {name: f for name, f in held_out.items() if name not in copied}
    real = [f for name, f in lodo.items() if name != SHIPPED]
    pooled = pool(real) if real else None
    shipped_cv = within_set(asked, SHIPPED, folds) if any(a.suite == SHIPPED for a in asked) else None
    fitted = fit_reader(asked, folds)
    in_sample = {
        s: score(outcomes(fitted.ranker, [a for a in asked if a.suite == s], fitted.reranker), fitted)
        for s in sorted({a.suite for a in asked if not a.fit_only})
    }
    meta = {
        "embedding_model": embedding_model,
        "model": "logistic regression ranker + logistic confidence fitted on held-out decks' rankings (scikit-learn)",
        "objective": OBJECTIVE,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "eval_sets": eval_set_hashes(suites, root),
        "feature_code": feature_code_digest(),
        "trained_on": {
            "questions": len(asked) - len(fit_only),
            "candidates": int(sum(len(a.rows) for a in asked if not a.fit_only)),
            # SQuAD articles' questions fit on besides the eval sets' (training/squad_questions.py).
            "squad_questions": len(fit_only),
            "squad_articles": sorted({a.suite for a in fit_only}),
        },
        "versions": {
            "egov_qa": package_version("egov-qa"),
            "scikit_learn": package_version("scikit-learn"),
            "numpy": np.__version__,
        },
        "leave_one_deck_out": {"sets": lodo, "real_decks_pooled": pooled},
        "image_copies": image_copies_record(held_out, copied),
        "shipped_within_set_cv": shipped_cv,
        "in_sample": in_sample,
    }
    names = confidence_features(fitted.reranker is not None)
    return ReaderModel(FEATURES, fitted.ranker, names, fitted.confidence, fitted.threshold, meta, fitted.reranker)

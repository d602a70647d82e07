"""Measuring egov-qa on an eval set of known facts: accuracy, citations, abstention, retrieval.

Scoring follows the eval set's definitions exactly:

- ``normalize(s)``: lowercase; every character outside ``a-z 0-9 . % $ / ~ +`` becomes a
  space; then all whitespace is removed.
- An answer is correct when the question is answerable, the assistant did not
  abstain, the answer is at most 300 characters, and some normalized accepted
  answer is contained in the normalized answer.
- A citation is correct when the normalized evidence is contained in the
  normalized text of ``citations[0]``.
- An abstention is correct when the question is unanswerable and the assistant
  abstained; the false abstention rate is the share of answerable questions it
  abstained on.
- Retrieval alone: slide recall@1, @3, @5 and MRR, where the relevant slide is one
  whose text contains the evidence.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

from egov_qa.documents import Answer
from egov_qa.errors import EvalSetError
from egov_qa.text import normalize

MAX_ANSWER_CHARS = 300
REQUIRED = {"id": str, "question": str, "answers": list, "evidence": str, "answerable": bool}
# Conversational items, scored in rows of their own: a question that leans on the
# one before it, one with misspelled words, and one that asks two things.
FORMS = ("follow-up", "typo", "two-part")


@dataclass(frozen=True)
class Fact:
    """One part of a two-part question: its accepted answers, evidence and slide."""

    answers: tuple[str, ...]
    evidence: str
    slide: int | None = None


@dataclass(frozen=True)
class EvalItem:
    """One known fact: a question, its accepted answers and the evidence a citation must hold."""

    id: str
    question: str
    answers: tuple[str, ...]
    evidence: str
    answerable: bool
    type: str = "other"
    paraphrase: bool = False
    slide: int | None = None  # the slide holding the evidence (1-based), when the set says
    form: str | None = None  # one of FORMS, or None for a plain question
    previous: str | None = None  # a follow-up's earlier question
    parts: tuple[Fact, ...] = ()  # a two-part question's parts, in order


@dataclass(frozen=True)
class QuestionResult:
    """How the assistant did on one item."""

    item: EvalItem
    answer: Answer
    raw: Answer  # the same question answered with no confidence threshold
    correct: bool
    cited_correct: bool
    relevant_rank: int | None  # 1-based rank of the first relevant slide in retrieval
    ms: float


def load_eval_set(path: Path) -> list[EvalItem]:
    """Read a JSONL eval set, checking every line against the schema.

    Raises:
        EvalSetError: the file is missing or a line breaks the schema (the message
            names the line and the problem).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalSetError(f"cannot read eval set {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise EvalSetError(f"eval set {path} is not UTF-8 text") from exc
    items, seen = [], set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise EvalSetError(f"{where}: not JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise EvalSetError(f"{where}: expected an object")
        for key, kind in REQUIRED.items():
            if not isinstance(data.get(key), kind):
                raise EvalSetError(f"{where}: {key!r} must be a {kind.__name__}")
        if not all(isinstance(a, str) and normalize(a) for a in data["answers"]):
            raise EvalSetError(f"{where}: every answer must be non-empty text")
        if data["answerable"] and (not data["answers"] or not normalize(data["evidence"])):
            raise EvalSetError(f"{where}: an answerable question needs answers and evidence")
        if not data["answerable"] and (data["answers"] or data["evidence"]):
            raise EvalSetError(f'{where}: an unanswerable question has answers [] and evidence ""')
        if data["id"] in seen:
            raise EvalSetError(f"{where}: id {data['id']!r} is used twice")
        seen.add(data["id"])
        items.append(
            EvalItem(
                data["id"],
                data["question"],
                tuple(data["answers"]),
                data["evidence"],
                data["answerable"],
                str(data.get("type", "other")),
                bool(data.get("paraphrase", False)),
                _slide_number(data.get("slide"), where),
                *_form(data, where),
            )
        )
    if not items:
        raise EvalSetError(f"eval set {path} holds no questions")
    return items


def _slide_number(value, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise EvalSetError(f"{where}: 'slide' must be a slide number (1 or more) or null, not {value!r}")
    return value


def _form(data: dict, where: str) -> tuple[str | None, str | None, tuple[Fact, ...]]:
    """A conversational item's form, previous question and parts, checked."""
    form = data.get("form")
    if form is None:
        return None, None, ()
    if form not in FORMS:
        raise EvalSetError(f"{where}: 'form' must be one of {', '.join(FORMS)}, not {form!r}")
    previous = data.get("previous")
    if form == "follow-up" and not (isinstance(previous, str) and previous.strip()):
        raise EvalSetError(f"{where}: a follow-up needs 'previous', the question it follows")
    parts: list[Fact] = []
    if form == "two-part":
        raw = data.get("parts")
        if not isinstance(raw, list) or len(raw) < 2 or not all(isinstance(p, dict) for p in raw):
            raise EvalSetError(f"{where}: a two-part question needs 'parts', a list of two or more objects")
        for part in raw:
            answers, evidence = part.get("answers"), part.get("evidence")
            if not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers):
                raise EvalSetError(f"{where}: every part needs a list of accepted answers")
            if not isinstance(evidence, str) or not normalize(evidence):
                raise EvalSetError(f"{where}: every part needs its evidence")
            parts.append(Fact(tuple(answers), evidence, _slide_number(part.get("slide"), where)))
    return form, previous if form == "follow-up" else None, tuple(parts)


@dataclass(frozen=True)
class Suite:
    """An eval set with the corpus it asks about."""

    name: str
    eval_set: Path
    corpus: Path
    copy_of: str | None = None  # the set whose decks this corpus copies (an image-only copy), if any

    @property
    def deck(self) -> str:
        """The set whose decks these are: held out together with every copy of them."""
        return self.copy_of or self.name


SHIPPED = "shipped"


def find_suites(evals_dir: Path, shipped_corpus: Path) -> list[Suite]:
    """Every eval set under ``evals_dir`` with its corpus.

    ``known_facts.jsonl`` asks about the shipped corpus; each ``sets/NAME.jsonl``
    asks about the decks in ``decks/NAME/``.

    Raises:
        EvalSetError: an eval set has no deck folder.
    """
    evals_dir = Path(evals_dir)
    found = []
    if (evals_dir / "known_facts.jsonl").is_file():
        found.append(Suite(SHIPPED, evals_dir / "known_facts.jsonl", Path(shipped_corpus)))
    for path in sorted((evals_dir / "sets").glob("*.jsonl")):
        corpus = evals_dir / "decks" / path.stem
        if not corpus.is_dir():
            raise EvalSetError(f"eval set {path} has no deck folder: put its decks in {corpus}")
        found.append(Suite(path.stem, path, corpus))
    if not found:
        raise EvalSetError(f"no eval sets in {evals_dir}: add known_facts.jsonl or sets/NAME.jsonl")
    return found


def plain(items: list[EvalItem]) -> list[EvalItem]:
    """The plain questions of a set: what the headline figures are measured on."""
    return [i for i in items if i.form is None]


def quotes_an_answer(item: EvalItem, quote: str) -> bool:
    """Whether quoting ``quote`` answers ``item``: short enough, and holding an accepted answer."""
    if not item.answerable or len(quote) > MAX_ANSWER_CHARS:
        return False
    got = normalize(quote)
    return any(normalize(accepted) in got for accepted in item.answers)


def holds_evidence(item: EvalItem, slide_text: str) -> bool:
    """Whether citing a slide with ``slide_text`` cites ``item``'s evidence."""
    return item.answerable and normalize(item.evidence) in normalize(slide_text)


def answer_correct(item: EvalItem, answer: Answer) -> bool:
    return not answer.abstained and answer.answer is not None and quotes_an_answer(item, answer.answer)


def citation_correct(item: EvalItem, answer: Answer) -> bool:
    return bool(answer.citations) and holds_evidence(item, answer.citations[0].text)


def is_correct(item: EvalItem, answer: Answer) -> bool:
    """Right answer for an answerable question; an abstention for an unanswerable one."""
    return answer_correct(item, answer) if item.answerable else answer.abstained


def relevant_rank(item: EvalItem, ranked_texts: list[str]) -> int | None:
    """1-based rank of the first slide text holding the item's evidence; None if none does."""
    if not item.answerable:
        return None
    evidence = normalize(item.evidence)
    return next((i for i, text in enumerate(ranked_texts, 1) if evidence in normalize(text)), None)


def with_threshold(raw: Answer, threshold: float) -> Answer:
    """What ``raw`` (answered with no threshold) becomes under ``threshold``.

    An abstention cites the closest slides with no quoted span, as the assistant does.
    """
    if raw.abstained or raw.confidence >= threshold:
        return raw
    citations = tuple(replace(c, start=None, end=None) for c in raw.citations)
    reason = f"support is weak (confidence {raw.confidence:.2f} < {threshold:.2f})"
    return replace(raw, answer=None, abstained=True, span=None, citations=citations, reason=reason)


def run_eval(assistant, items: list[EvalItem], top_k: int = 5) -> list[QuestionResult]:
    """Ask every item's question in this process and score it."""
    results = []
    for item in items:
        started = time.perf_counter()
        # Read as the assistant reads it: the headline answer is its first part's.
        retrieval = assistant.pipeline.retrieve(item.question)
        answer = assistant.extractor.extract(retrieval, top_k=top_k)
        elapsed = (time.perf_counter() - started) * 1000
        raw = assistant.extractor.extract(retrieval, top_k=top_k, threshold=0.0)
        rank = relevant_rank(item, [s.slide.text for s in retrieval.slides])
        results.append(
            QuestionResult(
                item,
                answer,
                raw,
                is_correct(item, answer),
                citation_correct(item, answer),
                rank,
                elapsed,
            )
        )
    return results


@dataclass(frozen=True)
class FormResult:
    """How the assistant did on one conversational item.

    ``correct``/``cited_correct``: every part answered (and cited) right by its own
    part answer (a follow-up or a misspelled question is one part).
    ``parts_right``: how many of its ``parts`` were answered right.
    """

    item: EvalItem
    answer: Answer
    correct: bool
    cited_correct: bool
    parts_right: int
    parts: int
    ms: float


def facts(item: EvalItem) -> list[EvalItem]:
    """The single questions an item asks: a two-part item's parts, each as an item of its own."""
    if not item.parts:
        return [item]
    return [
        replace(item, answers=part.answers, evidence=part.evidence, slide=part.slide, form=None, parts=())
        for part in item.parts
    ]


def run_conversational(assistant, items: list[EvalItem], top_k: int = 5) -> list[FormResult]:
    """Ask every conversational item as a person would and score it part by part.

    A follow-up is asked with its previous question; a two-part item is right when
    each part is answered right by the answer to that part (a part the assistant
    did not answer on its own counts as wrong).
    """
    results = []
    for item in items:
        started = time.perf_counter()
        answer = assistant.ask(item.question, top_k=top_k, previous=item.previous)
        elapsed = (time.perf_counter() - started) * 1000
        asked = facts(item)
        given = list(answer.parts) if answer.parts else [answer]
        answered = [given[i] if i < len(given) else None for i in range(len(asked))]
        right = [a is not None and is_correct(fact, a) for fact, a in zip(asked, answered, strict=True)]
        cited = [a is not None and citation_correct(fact, a) for fact, a in zip(asked, answered, strict=True)]
        results.append(FormResult(item, answer, all(right), all(cited), sum(right), len(asked), elapsed))
    return results


def form_rows(results: list[FormResult]) -> list[dict]:
    """One row per form: questions, answer and citation accuracy, and the share of parts right."""
    rows = []
    for form in FORMS:
        group = [r for r in results if r.item.form == form]
        if not group:
            continue
        answerable = [r for r in group if r.item.answerable]
        parts = sum(r.parts for r in group)
        rows.append(
            {
                "form": form,
                "n": len(group),
                "answer_accuracy": share(sum(r.correct for r in group), len(group)),
                "citation_accuracy": share(sum(r.cited_correct for r in answerable), len(answerable)),
                "parts": parts,
                "parts_right": share(sum(r.parts_right for r in group), parts),
            }
        )
    return rows


def per_form_question(results: list[FormResult]) -> list[dict]:
    """Each conversational item with what was read and answered, part by part."""
    rows = []
    for r in results:
        given = list(r.answer.parts) if r.answer.parts else [r.answer]
        rows.append(
            {
                "id": r.item.id,
                "form": r.item.form,
                "question": r.item.question,
                "previous": r.item.previous,
                "read_as": r.answer.read_as,
                "expected": [list(f.answers) for f in facts(r.item)],
                "answers": [a.answer for a in given],
                "abstained": [a.abstained for a in given],
                "cited": [
                    f"Slide {a.citations[0].slide}: {a.citations[0].title}" if a.citations else None for a in given
                ],
                "correct": r.correct,
                "cited_correct": r.cited_correct,
                "parts_right": r.parts_right,
                "parts": r.parts,
                "ms": round(r.ms, 2),
            }
        )
    return rows


def share(part: float, whole: int) -> float:
    """``part / whole``, or 0 for nothing to share."""
    return part / whole if whole else 0.0


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def metrics(results: list[QuestionResult]) -> dict:
    """The headline figures over ``results``."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]
    ranks = [r.relevant_rank for r in answerable]
    figures = {
        "n": len(results),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "answer_accuracy": share(sum(r.correct for r in answerable), len(answerable)),
        "citation_accuracy": share(sum(r.cited_correct for r in answerable), len(answerable)),
        "abstention_accuracy": share(sum(r.answer.abstained for r in unanswerable), len(unanswerable)),
        "false_abstention_rate": share(sum(r.answer.abstained for r in answerable), len(answerable)),
    }
    for k in (1, 3, 5):
        figures[f"recall@{k}"] = share(sum(1 for x in ranks if x is not None and x <= k), len(ranks))
    figures["mrr"] = share(sum(1.0 / x for x in ranks if x is not None), len(ranks))
    latencies = [r.ms for r in results]
    figures["p50_ms"] = percentile(latencies, 0.50)
    figures["p95_ms"] = percentile(latencies, 0.95)
    return figures


def breakdown(results: list[QuestionResult]) -> list[dict]:
    """Accuracy by answer type, and for paraphrased against literal questions."""
    groups: dict[str, list[QuestionResult]] = {}
    for r in results:
        groups.setdefault(r.item.type, []).append(r)
        if r.item.answerable:
            groups.setdefault("paraphrased" if r.item.paraphrase else "deck wording", []).append(r)
    return [
        {"group": name, "n": len(group), "accuracy": share(sum(r.correct for r in group), len(group))}
        for name, group in sorted(groups.items())
    ]


def selective_curve(results: list[QuestionResult], steps: int = 101) -> list[dict]:
    """Accuracy against coverage as the confidence threshold moves from 0 to 1.

    Coverage is the share of all questions answered; accuracy is the share of the
    answered ones answered correctly (an answered unanswerable question is wrong).
    """
    curve = []
    for step in range(steps):
        threshold = step / (steps - 1)
        answered = correct = 0
        for r in results:
            answer = with_threshold(r.raw, threshold)
            if not answer.abstained:
                answered += 1
                correct += answer_correct(r.item, answer)
        curve.append(
            {
                "threshold": threshold,
                "coverage": share(answered, len(results)),
                "accuracy": share(correct, answered) if answered else 1.0,
            }
        )
    return curve


def fold_of(item_id: str, folds: int) -> int:
    """A stable fold for an item (from its id), so a rerun gives the same split."""
    from egov_qa.documents import content_hash

    return int(content_hash(item_id, length=8), 16) % folds


def per_question(results: list[QuestionResult]) -> list[dict]:
    rows = []
    for r in results:
        data = r.answer.to_dict()
        rows.append(
            {
                "id": r.item.id,
                "question": r.item.question,
                "answerable": r.item.answerable,
                "type": r.item.type,
                "paraphrase": r.item.paraphrase,
                "expected": list(r.item.answers),
                "evidence": r.item.evidence,
                "answer": data["answer"],
                "abstained": data["abstained"],
                "confidence": data["confidence"],
                "correct": r.correct,
                "cited_correct": r.cited_correct,
                "relevant_rank": r.relevant_rank,
                "reason": data["reason"],
                "ms": round(r.ms, 2),
                "citations": data["citations"][:5],
            }
        )
    return rows


def summarize(results: list[QuestionResult], threshold: float) -> dict:
    """Everything a report holds: metrics, breakdown, curve and every question."""
    return {
        **metrics(results),
        "threshold": threshold,
        "breakdown": breakdown(results),
        "curve": selective_curve(results),
        "per_question": per_question(results),
    }


def run_baseline(baseline, items: list[EvalItem], top_k: int = 5) -> list[QuestionResult]:
    """Ask every item's question of the baseline and score it like the assistant."""
    results = []
    for item in items:
        started = time.perf_counter()
        answer = baseline.ask(item.question, top_k=top_k)
        elapsed = (time.perf_counter() - started) * 1000
        rank = relevant_rank(item, [c.text for c in answer.citations])
        results.append(
            QuestionResult(
                item, answer, answer, is_correct(item, answer), citation_correct(item, answer), rank, elapsed
            )
        )
    return results

"""SQuAD 1.1 articles as QA data: sentences, answer lines, made-up unanswerable questions, and SQuAD 2.0 scoring.

The pool (``evals/squad/``, CC BY-SA 4.0) holds answerable questions only. A question is
made unanswerable by changing one name, number or date in it to another of the same kind
that its paragraph lacks, so the paragraph still talks about the topic but no longer
answers ("Which team won in 2016?" asked of a paragraph about 2015): the near misses a deck
question makes when a slide gives Korea's rank and the question asks Japan's.

Scoring follows the official SQuAD 2.0 script: answers are normalized (lower case,
punctuation and articles removed, white space folded), exact match and token F1 take the
best over the accepted answers, and an abstention is the empty answer.
"""

from __future__ import annotations

import collections
import gzip
import json
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from egov_qa.paths import evals_dir

SQUAD_FILE = "squad-v1.1-pool.json.gz"
# Every HELD_OUT_EVERY-th article (sorted by title) is kept out of training, for measuring.
HELD_OUT_EVERY = 4
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"\b[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)*\b")


@dataclass(frozen=True)
class Question:
    """One question of a paragraph: its accepted answers (empty when unanswerable) and their starts."""

    id: str
    text: str
    answers: tuple[str, ...]
    starts: tuple[int, ...]


@dataclass(frozen=True)
class Paragraph:
    article: str
    context: str
    questions: tuple[Question, ...]


def default_pool() -> Path:
    return evals_dir() / "squad" / SQUAD_FILE


def load_articles(path: Path | None = None) -> dict[str, list[Paragraph]]:
    """The pool's articles, by title, each a list of paragraphs."""
    with gzip.open(path or default_pool(), "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    articles: dict[str, list[Paragraph]] = {}
    for article in data["data"]:
        paragraphs = []
        for p in article["paragraphs"]:
            questions = tuple(
                Question(
                    q["id"],
                    q["question"].strip(),
                    tuple(a["text"] for a in q["answers"]),
                    tuple(int(a["answer_start"]) for a in q["answers"]),
                )
                for q in p["qas"]
            )
            paragraphs.append(Paragraph(article["title"], p["context"], questions))
        articles[article["title"]] = paragraphs
    return articles


def held_out(titles: list[str]) -> set[str]:
    """The articles kept out of the answer scorer's training: every :data:`HELD_OUT_EVERY`-th title, sorted."""
    return {t for i, t in enumerate(sorted(titles)) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1}


def reader_articles(titles: list[str]) -> set[str]:
    """Half of the articles the scorer never saw (every other one, sorted): with ``egov-qa train
    --squad`` their questions join the eval sets' in fitting the reader, so that it learns from near
    misses the eval sets have few of, as read by a scorer that never trained on them."""
    return set(sorted(held_out(titles))[0::2])


def fit_on(reader: Path) -> set[str]:
    """The SQuAD articles the reader saved at ``reader`` was fit on, as its record names them
    (``egov-qa train --squad``; none for a reader fit on the eval sets alone or without a record)."""
    try:
        trained_on = json.loads(Path(reader).read_text(encoding="utf-8")).get("trained_on") or {}
    except (OSError, ValueError, AttributeError):
        return set()
    return {name.split(":", 1)[-1] for name in trained_on.get("squad_articles", ())}


def sentences(context: str) -> list[tuple[int, int]]:
    """The (start, end) of each sentence of a paragraph."""
    spans, start = [], 0
    for match in _SENTENCE.finditer(context):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(context)))
    return [(s, e) for s, e in spans if context[s:e].strip()]


def answer_sentence(context: str, start: int) -> tuple[int, int] | None:
    """The sentence that holds the character ``start``."""
    return next(((s, e) for s, e in sentences(context) if s <= start < e), None)


def _kind(token: str) -> str:
    return "number" if _NUMBER.fullmatch(token) else "name"


def hinges(text: str) -> list[str]:
    """The names and numbers a question turns on (a name not opening it, any number)."""
    found = [m.group() for m in _NUMBER.finditer(text)]
    for match in _NAME.finditer(text):
        if match.start() > 0:
            found.append(match.group())
    return found


def altered(question: str, context: str, pool: list[str], rng: random.Random) -> str | None:
    """``question`` with one name or number changed to one of ``pool`` of the same kind that
    ``context`` lacks; None when it has none to change."""
    found = hinges(question)
    for hinge in rng.sample(found, k=len(found)):
        kind = _kind(hinge)
        others = [o for o in pool if _kind(o) == kind and o.lower() not in context.lower() and o != hinge]
        if others:
            return question.replace(hinge, rng.choice(others), 1)
    return None


def entity_pool(paragraphs: list[Paragraph]) -> list[str]:
    """Names and numbers of an article, to change questions with."""
    found: dict[str, None] = {}
    for p in paragraphs:
        for match in (*_NUMBER.finditer(p.context), *_NAME.finditer(p.context)):
            found[match.group()] = None
    return list(found)


def _normalize(text: str) -> str:
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, answers: tuple[str, ...]) -> float:
    """SQuAD 2.0's exact match: the empty answer matches only an unanswerable question."""
    if not answers:
        return float(not _normalize(prediction))
    return float(any(_normalize(prediction) == _normalize(a) for a in answers))


def f1(prediction: str, answers: tuple[str, ...]) -> float:
    """SQuAD 2.0's token F1, the best over the accepted answers (the empty answer: 1 or 0)."""
    if not answers:
        return float(not _normalize(prediction))
    best = 0.0
    predicted = _normalize(prediction).split()
    for answer in answers:
        gold = _normalize(answer).split()
        common = collections.Counter(predicted) & collections.Counter(gold)
        same = sum(common.values())
        if not predicted or not gold:
            best = max(best, float(predicted == gold))
        elif same:
            precision, recall = same / len(predicted), same / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def write_decks(articles: dict[str, list[Paragraph]], folder: Path) -> Path:
    """Each article as a Markdown deck of one slide per paragraph (the article's title as each heading);
    a deck of another article left in ``folder`` by an earlier run is removed."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.md"):
        if stale.stem not in articles:
            stale.unlink()
    for title, paragraphs in articles.items():
        heading = title.replace("_", " ")
        slides = [f"# {heading}\n\n{' '.join(p.context.split())}\n" for p in paragraphs]
        (folder / f"{title}.md").write_text("\n---\n\n".join(slides), encoding="utf-8")
    return folder


def asked_questions(articles: dict[str, list[Paragraph]], seed: int = 0) -> list[tuple[str, Question]]:
    """Every question of ``articles`` (with its article), and for each a near miss: the question with a
    name or number changed to one of another article's that its own article never uses, so that no
    slide of its deck answers it."""
    rng = random.Random(seed)
    asked = []
    for title, paragraphs in articles.items():
        text = " ".join(p.context for p in paragraphs)
        pool = [e for other, ps in articles.items() if other != title for e in entity_pool(ps)]
        for paragraph in paragraphs:
            for question in paragraph.questions:
                asked.append((title, question))
                changed = altered(question.text, text, pool, rng)
                if changed:
                    asked.append((title, Question(f"{question.id}-near-miss", changed, (), ())))
    return asked


def score_answers(asked: list[tuple[str, Question]], predictions: list[tuple[str, float]]) -> dict:
    """SQuAD 2.0 exact match and F1 (all, answerable, unanswerable), and how well the confidence
    ranks the answerable questions above the unanswerable ones (AUROC)."""
    rows = [
        (q, text, confidence, exact_match(text, q.answers), f1(text, q.answers))
        for (_, q), (text, confidence) in zip(asked, predictions, strict=True)
    ]

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    has = [r for r in rows if r[0].answers]
    no = [r for r in rows if not r[0].answers]
    positive, negative = [r[2] for r in has], [r[2] for r in no]
    return {
        "n": len(rows),
        "n_answerable": len(has),
        "n_unanswerable": len(no),
        "exact": mean([r[3] for r in rows]),
        "f1": mean([r[4] for r in rows]),
        "answerable_exact": mean([r[3] for r in has]),
        "answerable_f1": mean([r[4] for r in has]),
        "unanswerable_abstained": mean([r[3] for r in no]),
        "abstain_all_f1": len(no) / len(rows) if rows else 0.0,
        "auroc": auroc(positive, negative),
    }


def auroc(positive: list[float], negative: list[float]) -> float:
    """How often a positive scores above a negative, ties counting half (the area under the ROC curve)."""
    if not positive or not negative:
        return float("nan")
    neg = np.sort(np.asarray(negative, dtype=float))
    pos = np.asarray(positive, dtype=float)
    below = np.searchsorted(neg, pos, side="left")
    ties = np.searchsorted(neg, pos, side="right") - below
    return float(np.sum(below + 0.5 * ties) / (len(pos) * len(neg)))

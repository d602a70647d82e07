"""Tuning the embedding model on the eval sets: which line of a slide answers a question.

all-MiniLM-L6-v2 was trained to put a question near text on its subject, so on a
slide the line that repeats the question ("What are validations?") sits nearer to
it than the line that answers it. Tuning teaches it the difference on the eval
sets' own questions: each question is paired with the lines that answer it, and
with the three lines the untuned model ranks highest of those that do not (hard
negatives), under sentence-transformers' multiple-negatives ranking loss. The
result is a :class:`egov_qa.index.tuning.Tuning` of the bias terms only.

torch is imported only inside :func:`tune`.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from egov_qa.index.tuning import Tuning

log = logging.getLogger(__name__)

METHOD = "BitFit (bias terms only), multiple-negatives ranking loss with hard negatives (sentence-transformers)"


@dataclass(frozen=True)
class Settings:
    """How a tuning is run: two passes at 1e-3 (BitFit's usual rate), each answer line of a question
    (at most two, so a long list does not outweigh a short one) against each of its three hard negatives.
    Chosen on decks left out (see the README): one negative, or a rate of 3e-4, put fewer answers right."""

    epochs: int = 2
    learning_rate: float = 1e-3
    batch_size: int = 16
    positives_per_question: int = 2
    negatives_per_question: int = 3
    seed: int = 0


@dataclass(frozen=True)
class Example:
    """A question, a line that answers it, and a line that does not (one the untuned model ranks high)."""

    question: str
    answer: str
    other: str


def examples(
    questions: list[tuple[str, list[int]]], lines: list[str], question_vectors: np.ndarray, line_vectors: np.ndarray
) -> list[Example]:
    """Training examples of one corpus: each of up to :attr:`Settings.positives_per_question`
    lines that answer a question, against each of the :attr:`Settings.negatives_per_question`
    lines the untuned model ranks first of those that do not.

    ``questions`` are (question, positions of the lines that answer it) pairs; the
    vectors are the untuned model's, normalized.
    """
    found = []
    settings = Settings()
    for (question, right), similar in zip(questions, question_vectors @ line_vectors.T, strict=True):
        wrong = [int(i) for i in np.argsort(-similar) if int(i) not in right][: settings.negatives_per_question]
        found += [
            Example(question, lines[pos], lines[other])
            for pos in right[: settings.positives_per_question]
            for other in wrong
        ]
    return found


def batches(found: list[Example], size: int, order: random.Random) -> Iterator[list[Example]]:
    """Deal ``found``, shuffled, into batches in which no text comes twice.

    The loss takes every other line of a batch as a wrong answer to each question, so a
    question twice in one batch would be taught that its own answer is wrong. Each example
    goes to the first batch it fits, as sentence-transformers' NoDuplicatesBatchSampler
    deals them (which wants a ``datasets`` table, a dependency this loop does not need).
    """
    left = list(found)
    order.shuffle(left)
    while left:
        chunk: list[Example] = []
        texts: set[str] = set()
        rest: list[Example] = []
        for example in left:
            values = {example.question, example.answer, example.other}
            if len(chunk) < size and texts.isdisjoint(values):
                chunk.append(example)
                texts |= values
            else:
                rest.append(example)
        yield chunk
        left = rest


def tune(base_model: str, model_path: str, found: list[Example], settings: Settings | None = None) -> Tuning:
    """Tune the bias terms of ``model_path`` on ``found``; the rest of the model stays as it was."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    settings = settings or Settings()
    if not found:
        raise ValueError("no question of the eval sets has a line that answers it: nothing to tune on")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.manual_seed(settings.seed)
    order = random.Random(settings.seed)
    model = SentenceTransformer(model_path, device="cpu")
    tuned = {name: p for name, p in model.named_parameters() if name.endswith("bias")}
    before = {name: p.detach().clone() for name, p in tuned.items()}
    for name, p in model.named_parameters():
        p.requires_grad_(name in tuned)
    loss = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(list(tuned.values()), lr=settings.learning_rate)
    started = time.perf_counter()
    model.train()
    batch = settings.batch_size
    for _ in range(settings.epochs):
        for chunk in batches(found, batch, order):
            features = [model.tokenize([getattr(e, field) for e in chunk]) for field in ("question", "answer", "other")]
            value = loss(features, None)
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
    model.eval()
    log.info("tuned %d bias terms on %d examples in %.0fs", len(tuned), len(found), time.perf_counter() - started)
    biases = {name: (p.detach() - before[name]).numpy().astype(np.float32) for name, p in tuned.items()}
    from egov_qa.files import package_version

    meta = {
        "method": METHOD,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {p: package_version(p) for p in ("egov-qa", "torch", "sentence-transformers")},
        "settings": asdict(settings),
        "trained_on": {"examples": len(found), "questions": len({e.question for e in found})},
    }
    return Tuning(base_model, biases, meta)

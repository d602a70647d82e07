"""Tuning the embedding model on the eval sets: which line of a slide answers a question.

all-MiniLM-L6-v2 was trained to put a question near text on its subject, so on a
slide the line that repeats the question ("What are validations?") sits nearer to
it than the line that answers it. Tuning teaches it the difference on the eval
sets' own questions: each question is paired with the lines that answer it, and
with the three lines the untuned model ranks highest of those that do not (hard
negatives), under sentence-transformers' multiple-negatives ranking loss.

Only the model's bias terms are tuned (BitFit: 26,112 numbers of its 22.7
million); they are kept as differences from the untuned model in a plain JSON
file (``evals/encoder.json``), applied when the model loads, and carried by the
ONNX export like any weight, so asking costs exactly what it did. The tuned model
has its own name (the base's, ``+bitfit-`` and a digest of the differences): an
index built by another tuning is rebuilt, and a reader trained with another warns.

torch is imported only inside :func:`tune`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from egov_qa.documents import content_hash
from egov_qa.errors import ModelLoadError
from egov_qa.files import write_atomic

log = logging.getLogger(__name__)

TUNING_FORMAT = 1
TUNING_ENV = "EGOV_QA_ENCODER"
TUNING_FILE = "encoder.json"
METHOD = "BitFit (bias terms only), multiple-negatives ranking loss with hard negatives (sentence-transformers)"


# Stands for "the project's tuning of this model, if it has one" (see :func:`project_tuning`).
PROJECT_TUNING = object()


def default_tuning_path() -> Path:
    """``$EGOV_QA_ENCODER``, else the project's ``evals/encoder.json`` (written by ``egov-qa train``)."""
    if os.environ.get(TUNING_ENV):
        return Path(os.environ[TUNING_ENV])
    return Path(__file__).resolve().parents[2] / "evals" / TUNING_FILE


def project_tuning(base_model: str) -> Tuning | None:
    """The tuning at :func:`default_tuning_path` when it was made from ``base_model``, else None.

    A tuning file that cannot be read costs the tuning, not the chat: it is reported
    and the model is used as published (the reader then warns that it was trained
    with the tuned model).
    """
    path = default_tuning_path()
    try:
        stat = path.stat()
    except OSError:
        return None
    try:
        tuning = _read_tuning(str(path), stat.st_mtime_ns, stat.st_size)
    except ModelLoadError as exc:
        log.warning("%s; the embedding model is used untuned", exc)
        return None
    return tuning if tuning.base_model.lower() == base_model.lower() else None


@functools.lru_cache(maxsize=4)
def _read_tuning(path: str, mtime_ns: int, size: int) -> Tuning:
    """A tuning file read once for as long as it is unchanged (its time and size are the key)."""
    return Tuning.load(Path(path))


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


@dataclass(frozen=True)
class Tuning:
    """The tuned bias terms, as differences from the base model's, and what they were tuned on."""

    base_model: str
    biases: dict[str, np.ndarray]
    meta: dict

    @property
    def digest(self) -> str:
        """A short hash of the differences: what names the tuned model."""
        parts = [f"{name}:{np.asarray(delta, dtype=np.float32).tobytes().hex()}" for name, delta in self.biases.items()]
        return content_hash(self.base_model, *sorted(parts), length=12)

    @property
    def model_name(self) -> str:
        return f"{self.base_model}+bitfit-{self.digest}"

    def to_dict(self) -> dict:
        return {
            "format": TUNING_FORMAT,
            "base_model": self.base_model,
            "meta": self.meta,
            "biases": {name: [float(v) for v in np.asarray(d, dtype=np.float32)] for name, d in self.biases.items()},
        }

    def save(self, path: Path) -> Path:
        return write_atomic(Path(path), json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> Tuning:
        """Read a tuning file.

        Raises:
            ModelLoadError: the file is missing, not JSON, or not a tuning of this format.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("format") != TUNING_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, not {TUNING_FORMAT}")
            biases = {str(k): np.asarray(v, dtype=np.float32) for k, v in data["biases"].items()}
            return cls(str(data["base_model"]), biases, dict(data.get("meta") or {}))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelLoadError(
                f"cannot read the encoder tuning {path} ({exc}): run `egov-qa train` to make it again"
            ) from exc

    def apply(self, model) -> None:
        """Add the differences to a loaded sentence-transformers model's bias terms.

        Raises:
            ModelLoadError: the model lacks a tuned bias or has it in another shape.
        """
        import torch

        params = dict(model.named_parameters())
        for name, delta in self.biases.items():
            param = params.get(name)
            if param is None or tuple(param.shape) != delta.shape:
                raise ModelLoadError(
                    f"the encoder tuning does not fit the model {self.base_model}: its bias {name!r} "
                    "is missing or of another shape; run `egov-qa train` again"
                )
        with torch.no_grad():
            for name, delta in self.biases.items():
                params[name].add_(torch.from_numpy(delta).to(params[name].dtype))


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
    from egov_qa.index import package_version  # not at the top: the index imports this module's embedder

    meta = {
        "method": METHOD,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {p: package_version(p) for p in ("egov-qa", "torch", "sentence-transformers")},
        "settings": asdict(settings),
        "trained_on": {"examples": len(found), "questions": len({e.question for e in found})},
    }
    return Tuning(base_model, biases, meta)

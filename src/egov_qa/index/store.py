"""Building, saving and loading the index: FAISS vectors beside BM25, with a manifest.

An index folder holds the slides and units as JSON, two FAISS inner-product
indexes (units in their slide's context, and whole slides) over normalized
vectors, the vector of each unit's own text and of each word of the corpus
(NumPy; the words in JSON), two BM25 indexes, and
``manifest.json``: how the index was built (model, dimension, library versions,
the corpus files' hashes, chunking settings) and the hash of every file. Saving
writes into a temporary folder and moves the files in with the manifest last, so
a crash never leaves an index that loads; loading checks everything the manifest
says and raises :class:`IndexInvalidError` with the reason when the index is
missing, stale or damaged.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import logging
import os
import shutil
import tempfile
import time
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np

from egov_qa.documents import Block, Cell, Slide, Span, Unit
from egov_qa.errors import IndexInvalidError, IndexWriteError
from egov_qa.files import file_sha256, link_or_copy, package_version
from egov_qa.index.embedder import ONNX_MODEL, ONNX_TOKENIZER, Embedder, OnnxEmbedder
from egov_qa.index.quotes import quote_end
from egov_qa.ingest.loader import DeckLoader, LoadResult, source_name
from egov_qa.ingest.splitter import UnitSplitter
from egov_qa.text import terms, word_forms

log = logging.getLogger(__name__)

# Bump whenever what is stored or embedded changes (files, passages, tokens):
# older indexes are then rebuilt.
INDEX_FORMAT = 10
MANIFEST = "manifest.json"
SLIDES_FILE = "slides.json"
UNITS_FILE = "units.json"
UNIT_VECTORS = "units.faiss"
SLIDE_VECTORS = "slides.faiss"
# Each unit's own text embedded without its context: how close a line alone is to a
# question, where the passage vector (with the slide's title) is alike for every line.
TEXT_VECTORS = "unit_texts.npy"
# Each content word of the corpus (one form per stem) and its vector: how near in
# meaning a question's word that the corpus never uses comes to one it does.
VOCABULARY_FILE = "vocabulary.json"
VOCABULARY_VECTORS = "vocabulary.npy"
STAGING_PREFIX = ".build-"
# A failed write with less than this left on the disk is taken for a full disk:
# numpy reports one as "N requested and M written", without an errno.
FULL_DISK_BYTES = 1024 * 1024
_BM25_PARTS = ("data", "indices", "indptr", "vocab", "params")
# Up to this many vectors a flat (exact) index answers in a few milliseconds on
# two cores; above it an HNSW graph is built (bench/bench.py measures both and
# the graph's recall against exact search).
FLAT_MAX_VECTORS = 10_000
HNSW_NEIGHBOURS = 32
HNSW_BUILD_DEPTH = 80
HNSW_SEARCH_DEPTH = 400
# Texts per call to the embedder while indexing: the progress bar moves once per call.
EMBED_CHUNK = 256


def _bm25_names(prefix: str) -> dict[str, str]:
    names = {f"{part}_name": f"{prefix}.{part}.index.npy" for part in _BM25_PARTS[:3]}
    names["vocab_name"] = f"{prefix}.vocab.index.json"
    names["params_name"] = f"{prefix}.params.index.json"
    names["nnoc_name"] = f"{prefix}.nonoccurrence.index.npy"
    return names


def _deck_hash(path: Path) -> str:
    """A deck file's hash, or why it cannot be read (the loader skips it with a warning)."""
    try:
        return file_sha256(path)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"


CONTEXT_CHARS = 100


def unit_context(unit: Unit, slide: Slide) -> list[str]:
    """What a reader of the slide sees around a unit: the slide's title, the heading
    the unit sits under, the bullet a sub-bullet belongs to (or the line a ※ note
    remarks on), and, for a later piece of a long line, that line's start. A
    heading's context is the title alone.
    """
    heading = parent = line_start = None
    own = next((b for b in slide.blocks if b.start <= unit.start < b.end), None)
    if own is not None and own.kind != "heading":
        previous = None
        for block in slide.blocks:
            if block.start >= own.start:
                break
            if block.kind == "heading":
                heading, parent = slide.text[block.start : block.end], None
            elif block.kind == "bullet" and block.level < own.level:
                parent = slide.text[block.start : block.end]
            previous = block
        if own.kind == "note" and previous is not None and previous.kind != "heading":
            parent = slide.text[previous.start : previous.end]
        if own.start < unit.start:
            line_start = slide.text[own.start : min(own.start + CONTEXT_CHARS, unit.start)]
    context: list[str] = []
    for part in (slide.title, heading, parent, line_start):
        if part and part != unit.text and part not in context:
            context.append(part)
    return context


def unit_passage(unit: Unit, slide: Slide) -> str:
    """The text embedded for a unit: the unit in its context (title, heading, line start)."""
    return ". ".join([*unit_context(unit, slide), unit.text])


@dataclass
class Index:
    """A loaded index: slides, units, their vectors and their BM25 indexes."""

    manifest: dict
    slides: list[Slide]
    units: list[Unit]
    unit_vectors: faiss.Index
    slide_vectors: faiss.Index
    unit_bm25: bm25s.BM25
    slide_bm25: bm25s.BM25
    text_vectors: np.ndarray  # units x dimension: each unit's own text, normalized
    vocabulary: list[str]  # the corpus's content words, one form per stem (see ``corpus_vocabulary``)
    vocabulary_vectors: np.ndarray  # words x dimension, normalized
    # A folder with the model's ONNX export, saved with the index (None: questions use the builder's embedder).
    query_model: Path | None = None

    def __post_init__(self) -> None:
        # (source, slide number) -> position in ``slides``
        self.slide_position = {(s.source, s.number): i for i, s in enumerate(self.slides)}
        self.unit_slide = np.array([self.slide_position[(u.source, u.slide)] for u in self.units], dtype=np.int64)
        self.slide_units: list[list[int]] = [[] for _ in self.slides]
        for i, slide_pos in enumerate(self.unit_slide):
            self.slide_units[slide_pos].append(i)

    def slide_of(self, unit_pos: int) -> Slide:
        return self.slides[int(self.unit_slide[unit_pos])]

    def before(self, unit_pos: int) -> str:
        """The text of the unit before ``unit_pos`` on its slide, which the answer scorer reads with it:
        "" for a slide's first unit, and where the one before only repeats the slide's title."""
        if unit_pos == 0 or self.unit_slide[unit_pos - 1] != self.unit_slide[unit_pos]:
            return ""
        text = self.units[unit_pos - 1].text.strip()
        return "" if text == self.slide_of(unit_pos).title.strip() else text

    def quote(self, unit_pos: int) -> Span:
        """What the unit at ``unit_pos`` is quoted with (:mod:`egov_qa.index.quotes`), in its slide's text.

        Found when asked, for the few candidates of a question: not for every unit as the index loads."""
        unit, slide = self.units[unit_pos], self.slide_of(unit_pos)
        after = self.units[unit_pos + 1] if unit_pos + 1 < len(self.units) else None
        end = quote_end(unit, after, slide.text)
        return Span(unit.start, end, slide.text[unit.start : end])


class IndexBuilder:
    """Builds an :class:`Index` from a corpus folder.

    Args:
        embedder: embeds unit passages and slides.
        loader: reads the decks.
        splitter: cuts slides into answer units.
    """

    def __init__(
        self, embedder: Embedder, loader: DeckLoader | None = None, splitter: UnitSplitter | None = None
    ) -> None:
        self.embedder = embedder
        self.loader = loader or DeckLoader()
        self.splitter = splitter or UnitSplitter()

    def fingerprint(self, corpus_dir: Path) -> dict:
        """What the index must have been built from to be current for ``corpus_dir``."""
        corpus_dir = Path(corpus_dir)
        files = {source_name(p, corpus_dir): _deck_hash(p) for p in self.loader.files(corpus_dir)}
        return {
            "format": INDEX_FORMAT,
            "model": self.embedder.name,
            "corpus": {"files": files, "exclude": list(self.loader.exclude), "limits": self.loader.settings()},
            "chunking": self.splitter.settings(),
        }

    def build(self, corpus_dir: Path, show_progress: bool | None = None, previous: Index | None = None) -> Index:
        """Read, split, embed and index every deck under ``corpus_dir``.

        Args:
            show_progress: progress bars on stderr (pages read; passages embedded,
                per second and time left); None shows them on a terminal only.
            previous: an index built before (of this corpus or another); the
                vectors of its passages are reused for identical passages when it
                was embedded by the same model and export, and its decks whose
                files did not change (same name and content hash, same reading
                settings) are taken over without being read, so adding, replacing
                or removing one deck reads and embeds only that deck.

        Raises:
            CorpusError: nothing readable in the corpus.
            ModelLoadError: the embedding model cannot be loaded.
        """
        started = time.perf_counter()
        fingerprint = self.fingerprint(corpus_dir)
        loaded, deck_warnings = self._read(Path(corpus_dir), show_progress, reusable_decks(previous, fingerprint))
        slides = list(loaded.slides)
        units = [u for s in slides for u in self.splitter.split(s)]
        by_key = {(s.source, s.number): s for s in slides}
        query_model, export = self._export()
        try:
            # The export agrees with the model it came from (checked on export) and
            # embeds batches faster on a CPU, so it embeds the corpus too.
            embedder = OnnxEmbedder(query_model, self.embedder.name, export) if query_model and export else self.embedder
            known = reusable_vectors(previous, self.embedder.name, query_model)
            texts = embedded_texts(slides, units)
            vectors = embed_texts(embedder, texts, show_progress, known)
            words_at = 2 * len(units) + len(slides)  # the vocabulary comes last
            vocabulary = texts[words_at:]
            unit_vecs = vectors[: len(units)]
            slide_vecs = vectors[len(units) : len(units) + len(slides)]
            text_vecs = np.ascontiguousarray(vectors[len(units) + len(slides) : words_at])
            word_vecs = np.ascontiguousarray(vectors[words_at:])
            dimension = int(vectors.shape[1])
            manifest = {
                **fingerprint,
                "dimension": dimension,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "versions": {
                    "egov_qa": package_version("egov-qa"),
                    "faiss": getattr(faiss, "__version__", None),
                    "bm25s": package_version("bm25s"),
                    "sentence_transformers": package_version("sentence-transformers"),
                    "onnxruntime": package_version("onnxruntime"),
                    "numpy": np.__version__,
                },
                "counts": {"slides": len(slides), "units": len(units), "words": len(vocabulary)},
                "warnings": list(loaded.warnings),
                # Each deck's warnings, so a later build that takes the deck over unread repeats them.
                "deck_warnings": deck_warnings,
                "query_model": export.to_dict() if export else None,
            }
            index = Index(
                manifest,
                slides,
                units,
                vector_index(unit_vecs),
                vector_index(slide_vecs),
                _bm25([f"{by_key[(u.source, u.slide)].title} {u.text}" for u in units]),
                _bm25([s.text for s in slides]),
                text_vecs,
                vocabulary,
                word_vecs,
                query_model,
            )
        except BaseException:
            # A failed or interrupted build (Ctrl+C, SIGTERM) leaves no export behind.
            if query_model is not None:
                shutil.rmtree(query_model, ignore_errors=True)
            raise
        if query_model is not None:
            weakref.finalize(index, shutil.rmtree, query_model, True)
        log.info("indexed %d slides, %d units in %.1fs", len(slides), len(units), time.perf_counter() - started)
        return index

    def _read(
        self, corpus_dir: Path, show_progress: bool | None, reusable: dict[str, DeckEntry] | None = None
    ) -> tuple[LoadResult, dict[str, list[str]]]:
        """The decks, read one file at a time under a progress bar, and each deck's warnings.

        A deck in ``reusable`` (same name and content hash, read with the same
        settings) is taken from there and not read again.
        """
        from egov_qa.index.progress import bar
        from egov_qa.ingest.pages import page_count

        reusable = reusable or {}
        files = self.loader.files(corpus_dir)
        named = [(path, source_name(path, corpus_dir)) for path in files]
        to_read = [path for path, name in named if name not in reusable]
        read: dict[Path, tuple[list[Slide], list[str]]] = {}
        pages = {path: page_count(path) for path in to_read}
        shown_progress = show_progress if to_read else False
        with bar(total=sum(pages.values()), desc="pages read", unit="page", show_progress=shown_progress) as shown:
            for path in to_read:
                read[path] = self.loader.load_from(path, corpus_dir)
                shown.update(pages[path])
        if reusable:
            log.info("%d deck(s) read, %d taken over from the previous index", len(to_read), len(named) - len(to_read))
        slides: list[Slide] = []
        warnings: list[str] = []
        by_deck: dict[str, list[str]] = {}
        for path, name in named:
            got, notes = read[path] if path in read else (list(reusable[name].slides), list(reusable[name].warnings))
            slides.extend(got)
            warnings.extend(notes)
            by_deck[name] = list(notes)
        if not slides:
            self.loader.load(corpus_dir)  # raises CorpusError, saying why
        for note in warnings:
            log.warning("%s", note)
        return LoadResult(tuple(slides), tuple(warnings), tuple(files)), by_deck

    def _export(self):
        """The embedder's ONNX export in a temporary folder, and its settings (or Nones).

        The export is taken from the cache when this model was exported before
        (see ``export_cache``): then the build imports no torch at all.
        """
        if getattr(self.embedder, "export_onnx", None) is None:
            return None, None
        from egov_qa.index.export_cache import export_model

        folder = Path(tempfile.mkdtemp(prefix="egov-qa-onnx-"))
        try:
            export = export_model(self.embedder, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if export is None:
            shutil.rmtree(folder, ignore_errors=True)
            return None, None
        return folder, export


@dataclass(frozen=True)
class DeckEntry:
    """One deck as an index holds it: its name in the corpus, its content hash, its
    slides and units, and the loader's warnings about it."""

    name: str
    sha256: str
    slides: tuple[Slide, ...]
    units: tuple[Unit, ...]
    warnings: tuple[str, ...] = ()


def index_decks(index: Index) -> dict[str, DeckEntry]:
    """The decks of ``index`` by name, each with what the index holds of it (in index order)."""
    files = index.manifest.get("corpus", {}).get("files", {})
    warned = index.manifest.get("deck_warnings") or {}
    slides: dict[str, list[Slide]] = {}
    units: dict[str, list[Unit]] = {}
    for slide in index.slides:
        slides.setdefault(slide.source, []).append(slide)
    for unit in index.units:
        units.setdefault(unit.source, []).append(unit)
    names = list(dict.fromkeys([*slides, *files]))
    return {
        name: DeckEntry(
            name,
            str(files.get(name, "")),
            tuple(slides.get(name, ())),
            tuple(units.get(name, ())),
            tuple(warned.get(name, ())),
        )
        for name in names
    }


def reusable_decks(previous: Index | None, fingerprint: dict) -> dict[str, DeckEntry]:
    """The decks of ``previous`` a build of ``fingerprint`` can take over without reading them.

    A deck can be taken over when its file has the same name and content hash and
    ``previous`` was read and split with the same settings (format, limits,
    excludes, chunking) and recorded each deck's warnings.
    """
    if previous is None or not isinstance(previous.manifest.get("deck_warnings"), dict):
        return {}
    manifest = previous.manifest
    same = (
        manifest.get("format") == fingerprint["format"]
        and manifest.get("chunking") == fingerprint["chunking"]
        and manifest.get("corpus", {}).get("limits") == fingerprint["corpus"]["limits"]
        and manifest.get("corpus", {}).get("exclude") == fingerprint["corpus"]["exclude"]
    )
    if not same:
        return {}
    wanted = fingerprint["corpus"]["files"]
    return {
        name: deck
        for name, deck in index_decks(previous).items()
        if wanted.get(name) == deck.sha256
        and name in manifest["deck_warnings"]
        and not deck.sha256.startswith("unreadable")
    }


def bar_disabled(show_progress: bool | None) -> bool | None:
    """tqdm's ``disable`` for ``show_progress``: None (show on a terminal only) stays None."""
    return None if show_progress is None else not show_progress


def reusable_vectors(previous: Index | None, model: str, query_model: Path | None) -> dict[str, np.ndarray]:
    """The vectors of ``previous``'s passages and slides by their text, when they can stand for new ones.

    They can when ``previous`` was embedded by the same model through the same
    export (the ONNX files' hash), or both by the model itself; else none.
    """
    if previous is None or previous.manifest.get("model") != model:
        return {}
    files = previous.manifest.get("files", {})
    was = files.get(ONNX_MODEL, {}).get("sha256") if previous.manifest.get("query_model") else None
    now = file_sha256(query_model / ONNX_MODEL) if query_model is not None else None
    if was != now:
        return {}
    rows = np.vstack(
        [
            previous.unit_vectors.reconstruct_n(0, previous.unit_vectors.ntotal),
            previous.slide_vectors.reconstruct_n(0, previous.slide_vectors.ntotal),
            previous.text_vectors,
            previous.vocabulary_vectors,
        ]
    )
    # The vocabulary as stored: read again by newer code, the same slides may give other words.
    texts = embedded_texts(previous.slides, previous.units, previous.vocabulary)
    return dict(zip(texts, rows, strict=True))


def embedded_texts(slides: list[Slide], units: list[Unit], vocabulary: list[str] | None = None) -> list[str]:
    """What a build embeds, in this order: each unit's passage, each slide's text, each unit's own
    text, and each word of the corpus's vocabulary (``vocabulary``, else read from ``slides``)."""
    by_key = {(s.source, s.number): s for s in slides}
    passages = [unit_passage(u, by_key[(u.source, u.slide)]) for u in units]
    words = corpus_vocabulary(slides) if vocabulary is None else vocabulary
    return passages + [s.text for s in slides] + [u.text for u in units] + words


def corpus_vocabulary(slides: list[Slide]) -> list[str]:
    """The content words of ``slides``, one form per stem (the form used most), in stem order."""
    forms = word_forms(s.text for s in slides)
    return [forms[key] for key in sorted(forms)]


def embed_texts(
    embedder: Embedder,
    texts: list[str],
    show_progress: bool | None = None,
    known: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Embed ``texts`` once each (duplicates share a vector), shortest first, under a progress bar.

    Texts of similar length batched together pad little, so sorting saves work;
    each row is put back in the order given. Texts in ``known`` take its vector
    and are not embedded again.
    """
    from egov_qa.index.progress import bar

    known = known or {}
    unique = [t for t in dict.fromkeys(texts) if t not in known]
    order = sorted(range(len(unique)), key=lambda i: len(unique[i]))
    rows: np.ndarray | None = None
    # Nothing new to embed (every passage known from the index before) draws no empty bar.
    shown_progress = show_progress if unique else False
    with bar(total=len(unique), desc="passages embedded", unit="passage", show_progress=shown_progress) as shown:
        for first in range(0, len(order), EMBED_CHUNK):
            chosen = order[first : first + EMBED_CHUNK]
            vectors = embedder.embed([unique[i] for i in chosen])
            if rows is None:
                rows = np.zeros((len(unique), vectors.shape[1]), dtype=np.float32)
            rows[chosen] = vectors
            shown.update(len(chosen))
    if rows is None and not known:
        return np.zeros((0, 0), dtype=np.float32)
    where = {text: i for i, text in enumerate(unique)}
    dimension = rows.shape[1] if rows is not None else len(next(iter(known.values())))
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    for i, text in enumerate(texts):
        out[i] = known[text] if text in known else rows[where[text]]  # type: ignore[index]
    return out


def vector_index(vectors: np.ndarray) -> faiss.Index:
    """An inner-product index over ``vectors``: exact up to :data:`FLAT_MAX_VECTORS`, HNSW above."""
    dimension = int(vectors.shape[1])
    if len(vectors) <= FLAT_MAX_VECTORS:
        index: faiss.Index = faiss.IndexFlatIP(dimension)
    else:
        graph = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = HNSW_BUILD_DEPTH
        graph.hnsw.efSearch = HNSW_SEARCH_DEPTH
        index = graph
    index.add(vectors)
    return index


def _bm25(texts: list[str]) -> bm25s.BM25:
    model = bm25s.BM25()
    model.index([terms(t) or ["_"] for t in texts], show_progress=False)
    return model


def _slide_to_dict(slide: Slide) -> dict:
    return asdict(slide)


def _slide_from_dict(data: dict) -> Slide:
    blocks = tuple(
        Block(b["kind"], b["start"], b["end"], tuple(Cell(**c) for c in b["cells"]), b["level"], b.get("origin", ""))
        for b in data["blocks"]
    )
    return Slide(data["source"], data["number"], data["title"], data["text"], blocks)


def _unit_from_dict(data: dict) -> Unit:
    return Unit(
        data["id"],
        data["source"],
        data["slide"],
        data["start"],
        data["end"],
        data["text"],
        data["kind"],
        tuple(Cell(**c) for c in data["cells"]),
        data.get("origin", ""),
    )


def foreign_files(index_dir: Path) -> list[str]:
    """The files in ``index_dir`` that no index has: a build there would mix its files in
    with them (and replace any of the same name). Hidden files, folders (the eval sets'
    indexes live in ``index/evals/``) and a README are left alone."""
    if not index_dir.is_dir():
        return []
    own = {MANIFEST, SLIDES_FILE, UNITS_FILE, UNIT_VECTORS, SLIDE_VECTORS, TEXT_VECTORS, ONNX_MODEL, ONNX_TOKENIZER}
    own |= {VOCABULARY_FILE, VOCABULARY_VECTORS}
    own |= {name for prefix in ("bm25_units", "bm25_slides") for name in _bm25_names(prefix).values()}
    own.add("README.md")  # the project's own index/ says what the folder is for
    return sorted(p.name for p in index_dir.iterdir() if p.is_file() and p.name not in own and p.name[0] != ".")


def not_a_file(index_dir: Path) -> None:
    """Raises IndexWriteError when ``index_dir`` is a file: no index can be read or built there."""
    if Path(index_dir).is_file():
        raise IndexWriteError(f"{index_dir} is a file, not a folder: pass --index DIR with a new or empty folder")


@contextlib.contextmanager
def index_lock(index_dir: Path):
    """Hold an exclusive lock on ``index_dir`` so two builds never interleave.

    Every build stages its files under this lock, so a staging folder found once
    the lock is held was left by a build that was killed: it is removed.

    Raises:
        IndexWriteError: ``index_dir`` is a file, or holds other files than an index's.
    """
    not_a_file(index_dir)
    foreign = foreign_files(index_dir)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise IndexWriteError(
            f"{index_dir} holds files that are not an index's ({shown}): building there would mix the index "
            "in with them; pass --index DIR with a new or empty folder"
        )
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            _remove_stale_staging(index_dir)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_staging(index_dir: Path) -> None:
    for path in index_dir.glob(f"{STAGING_PREFIX}*"):
        if path.is_dir() and not path.is_symlink():
            log.info("removing %s, left by a build that did not finish", path)
            shutil.rmtree(path, ignore_errors=True)


def save_index(index: Index, index_dir: Path) -> None:
    """Write ``index`` to ``index_dir`` atomically (files first, the manifest last).

    Call it under :func:`index_lock`. When it fails, the index that was in
    ``index_dir`` is left as it was and nothing of the new one remains.

    Raises:
        IndexWriteError: the disk is full.
        OSError: the folder cannot be written for another reason (permissions).
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=index_dir))
    try:
        names, manifest = _stage(index, staging, index_dir)
        # From here until the new manifest lands, the folder has no manifest and
        # so never loads as a mix of old and new files.
        (index_dir / MANIFEST).unlink(missing_ok=True)
        for name in names:
            os.replace(staging / name, index_dir / name)
        os.replace(staging / MANIFEST, index_dir / MANIFEST)
        index.manifest = manifest
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT) or _free_bytes(staging) < FULL_DISK_BYTES:
            raise IndexWriteError(
                f"the disk is full: cannot save the index in {index_dir} "
                f"({_free_bytes(index_dir) // 1024} KB free); the index there is unchanged: "
                "free some space, or pass --index DIR on another disk, and build again"
            ) from exc
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _stage(index: Index, staging: Path, index_dir: Path) -> tuple[list[str], dict]:
    """Write every file of ``index`` into ``staging``, the manifest last.

    The question encoder (ONNX model and tokenizer) is copied in unless it already
    lives in ``index_dir``. Returns the other files' names and the manifest written.
    """
    _write_json(staging / SLIDES_FILE, [_slide_to_dict(s) for s in index.slides])
    _write_json(staging / UNITS_FILE, [asdict(u) for u in index.units])
    # Through Python's own file writes, so that a full disk is an OSError that says so.
    (staging / UNIT_VECTORS).write_bytes(faiss.serialize_index(index.unit_vectors).tobytes())
    (staging / SLIDE_VECTORS).write_bytes(faiss.serialize_index(index.slide_vectors).tobytes())
    _write_npy(staging / TEXT_VECTORS, index.text_vectors)
    _write_json(staging / VOCABULARY_FILE, index.vocabulary)
    _write_npy(staging / VOCABULARY_VECTORS, index.vocabulary_vectors)
    index.unit_bm25.save(str(staging), show_progress=False, **_bm25_names("bm25_units"))
    index.slide_bm25.save(str(staging), show_progress=False, **_bm25_names("bm25_slides"))
    if index.query_model is not None and index.query_model.resolve() != Path(index_dir).resolve():
        for name in (ONNX_MODEL, ONNX_TOKENIZER):
            link_or_copy(index.query_model / name, staging / name)
    names = sorted(p.name for p in staging.iterdir() if p.is_file())
    manifest = dict(index.manifest)
    manifest["files"] = {n: {"bytes": (staging / n).stat().st_size, "sha256": file_sha256(staging / n)} for n in names}
    _write_json(staging / MANIFEST, manifest)
    for name in [*names, MANIFEST]:
        _fsync(staging / name)
    return names, manifest


def _free_bytes(path: Path) -> int:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return FULL_DISK_BYTES


def _write_npy(path: Path, vectors: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(vectors, dtype=np.float32), allow_pickle=False)
    path.write_bytes(buffer.getvalue())


def _write_json(path: Path, data) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def stale_reason(manifest: dict, expected: dict) -> str | None:
    """Why an index built as ``manifest`` does not serve ``expected``, or None."""
    if manifest.get("format") != expected["format"]:
        return f"it was built in format {manifest.get('format')}, this version uses {expected['format']}"
    if manifest.get("model") != expected["model"]:
        return f"it was built with model {manifest.get('model')!r}, not {expected['model']!r}"
    old = manifest.get("corpus", {}).get("files", {})
    new = expected["corpus"]["files"]
    changed = sorted(
        [f"{n} added" for n in new.keys() - old.keys()]
        + [f"{n} removed" for n in old.keys() - new.keys()]
        + [f"{n} changed" for n in new.keys() & old.keys() if new[n] != old[n]]
    )
    if changed:
        return "the corpus changed (" + ", ".join(changed[:5]) + (", …" if len(changed) > 5 else "") + ")"
    if manifest.get("corpus", {}).get("exclude") != expected["corpus"]["exclude"]:
        return "the corpus exclude patterns changed"
    limits, expected_limits = manifest.get("corpus", {}).get("limits") or {}, expected["corpus"]["limits"]
    if limits.get("reading") != expected_limits.get("reading"):
        return "the code that reads decks changed (a new version)"
    if limits.get("ocr") != expected_limits.get("ocr"):
        return "the OCR engine changed"
    if limits != expected_limits:
        return "the deck limits changed"
    if manifest.get("chunking") != expected["chunking"]:
        return f"the chunking settings changed ({manifest.get('chunking')} -> {expected['chunking']})"
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _manifest_problem(manifest: object) -> str | None:
    """What is wrong with the shape of a manifest read from disk, or None.

    A manifest that is valid JSON can still be of the wrong shape (a list, a
    count that is text, a key missing): that index is damaged, like any other.
    """
    if not isinstance(manifest, dict):
        return f"it holds a JSON {type(manifest).__name__}, not an object"
    for key, kind in (("files", dict), ("counts", dict), ("corpus", dict)):
        if not isinstance(manifest.get(key), kind):
            return f"{key!r} is missing or not a JSON object"
    if not _is_int(manifest.get("dimension")):
        return "'dimension' is missing or not a whole number"
    if not isinstance(manifest["corpus"].get("files"), dict):
        return "'corpus.files' is missing or not a JSON object"
    for key in ("slides", "units", "words"):
        if not _is_int(manifest["counts"].get(key)):
            return f"'counts.{key}' is missing or not a whole number"
    for name, info in manifest["files"].items():
        # Only plain names: the manifest must not point outside its folder.
        if not name or "/" in name or "\\" in name or name.startswith("."):
            return f"it lists the file {name!r}, which is no index file name"
        if not isinstance(info, dict) or not _is_int(info.get("bytes")) or not isinstance(info.get("sha256"), str):
            return f"the entry for {name} is not {{'bytes': N, 'sha256': HASH}}"
    return None


def load_index(index_dir: Path, expected: dict | None = None) -> Index:
    """Load the index in ``index_dir``, checking it against its manifest.

    Args:
        expected: a :meth:`IndexBuilder.fingerprint`; when given, an index built
            from anything else is stale.

    Raises:
        IndexInvalidError: the index is missing, stale or damaged (the message says which).
    """
    index_dir = Path(index_dir)
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexInvalidError(f"no index in {index_dir}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexInvalidError(f"the index manifest in {index_dir} is damaged ({exc})") from exc
    problem = _manifest_problem(manifest)
    if problem:
        raise IndexInvalidError(f"the index manifest in {index_dir} is damaged ({problem})")
    files, counts, dimension = manifest["files"], manifest["counts"], manifest["dimension"]
    if expected is not None:
        reason = stale_reason(manifest, expected)
        if reason:
            raise IndexInvalidError(f"the index in {index_dir} is stale: {reason}")
    for name, info in files.items():
        target = index_dir / name
        if not target.is_file():
            raise IndexInvalidError(f"the index in {index_dir} is damaged: {name} is missing")
        if target.stat().st_size != info["bytes"] or file_sha256(target) != info["sha256"]:
            raise IndexInvalidError(f"the index in {index_dir} is damaged: {name} does not match its manifest")
    try:
        slides = [_slide_from_dict(d) for d in json.loads((index_dir / SLIDES_FILE).read_text("utf-8"))]
        units = [_unit_from_dict(d) for d in json.loads((index_dir / UNITS_FILE).read_text("utf-8"))]
        unit_vectors = faiss.read_index(str(index_dir / UNIT_VECTORS))
        slide_vectors = faiss.read_index(str(index_dir / SLIDE_VECTORS))
        # Mapped, not read: a question reads the rows of its candidates only.
        text_vectors = np.load(index_dir / TEXT_VECTORS, mmap_mode="r", allow_pickle=False)
        vocabulary = json.loads((index_dir / VOCABULARY_FILE).read_text("utf-8"))
        vocabulary_vectors = np.load(index_dir / VOCABULARY_VECTORS, mmap_mode="r", allow_pickle=False)
        unit_bm25 = bm25s.BM25.load(str(index_dir), show_progress=False, **_bm25_names("bm25_units"))
        slide_bm25 = bm25s.BM25.load(str(index_dir), show_progress=False, **_bm25_names("bm25_slides"))
    except Exception as exc:
        raise IndexInvalidError(f"the index in {index_dir} is damaged ({type(exc).__name__}: {exc})") from exc
    problems = []
    if len(slides) != counts["slides"] or slide_vectors.ntotal != len(slides):
        problems.append(f"{len(slides)} slides, {slide_vectors.ntotal} slide vectors, manifest {counts['slides']}")
    if len(units) != counts["units"] or unit_vectors.ntotal != len(units):
        problems.append(f"{len(units)} units, {unit_vectors.ntotal} unit vectors, manifest {counts['units']}")
    if text_vectors.shape != (len(units), dimension) or text_vectors.dtype != np.float32:
        problems.append(f"{text_vectors.shape} {text_vectors.dtype} unit text vectors, for {len(units)} units")
    if (
        not isinstance(vocabulary, list)
        or not all(isinstance(w, str) for w in vocabulary)
        or len(vocabulary) != counts["words"]
        or vocabulary_vectors.shape != (len(vocabulary), dimension)
        or vocabulary_vectors.dtype != np.float32
    ):
        problems.append(f"{vocabulary_vectors.shape} word vectors, for {counts['words']} words")
    if unit_vectors.d != dimension or slide_vectors.d != dimension:
        problems.append(f"vector dimension {unit_vectors.d}, manifest {dimension}")
    if unit_bm25.scores["num_docs"] != len(units) or slide_bm25.scores["num_docs"] != len(slides):
        problems.append("BM25 document counts do not match")
    if problems:
        raise IndexInvalidError(f"the index in {index_dir} is damaged: counts do not match ({'; '.join(problems)})")
    try:
        return Index(
            manifest,
            slides,
            units,
            unit_vectors,
            slide_vectors,
            unit_bm25,
            slide_bm25,
            text_vectors,
            vocabulary,
            vocabulary_vectors,
        )
    except KeyError as exc:
        raise IndexInvalidError(f"the index in {index_dir} is damaged: a unit names a missing slide {exc}") from exc

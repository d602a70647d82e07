"""The index stores measured: saving (ingest rate), loading, retrieval p50/p95 and memory, per store.

Opt-in (minutes at size): ``python bench/bench.py --stores`` runs it after the
rest, or alone:

    python bench/stores.py [--units 55000] [--stores local,lite] [--server]

The corpus is synthetic and cheap to make (no model): slides of ten lines drawn
from a small vocabulary, and random unit vectors of the model's dimension (384),
so a million units cost minutes to make (mostly the HNSW graphs, about 25 on two
cores), not hours to embed. What is measured is
the store's part: writing an embedded index, reading it back, and the dense and
BM25 searches of a question (``HybridRetriever.retrieve``, the question's vector
given). Each store runs in its own process, so its peak memory is its own.

Also the incremental path on real decks: one deck added to, and one removed from,
an indexed corpus of several, against building it all (the real model).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIMENSION = 384
WORDS = [f"w{i}" for i in range(5000)]

CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from stores import measure_store
print(json.dumps(measure_store(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
"""


def synthetic_index(units: int, seed: int = 7, graphs: bool = True):
    """An embedded index of ``units`` units (ten a slide, a hundred slides a deck), made without a model.

    ``graphs=False`` keeps the vectors in flat FAISS indexes however many: a Milvus store
    reads the vectors back and indexes them itself, so the HNSW graphs (about 25 minutes at
    a million units) would be built for nothing.
    """
    import faiss
    import numpy as np

    from egov_qa.documents import Block, Slide, Unit
    from egov_qa.index.store import INDEX_FORMAT, Index, _bm25, vector_index

    rng = np.random.default_rng(seed)
    slides, unit_list = [], []
    n_slides = max(1, units // 10)
    for s in range(n_slides):
        source = f"deck{s // 100:05d}.md"
        lines = [" ".join(rng.choice(WORDS, 8)) for _ in range(10)]
        text, blocks, at = "", [], 0
        for line in lines:
            blocks.append(Block("bullet", at, at + len(line), (), 0))
            text += line + "\n"
            at += len(line) + 1
        slide = Slide(source, s % 100 + 1, f"title {s}", text.rstrip("\n"), tuple(blocks))
        slides.append(slide)
        for i, block in enumerate(blocks):
            unit_list.append(Unit(f"u{s}-{i}", source, slide.number, block.start, block.end, lines[i], "bullet", ()))
    unit_list = unit_list[:units]

    def vectors(n: int):
        rows = rng.standard_normal((n, DIMENSION), dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    decks = sorted({s.source for s in slides})
    manifest = {
        "format": INDEX_FORMAT,
        "model": "synthetic",
        "corpus": {"files": {d: f"sha-{d}" for d in decks}, "exclude": [], "limits": {}},
        "chunking": {},
        "dimension": DIMENSION,
        "counts": {"slides": len(slides), "units": len(unit_list), "words": len(WORDS)},
        "deck_warnings": {d: [] for d in decks},
        "query_model": None,
        "files": {},
    }
    by_key = {(s.source, s.number): s for s in slides}

    def searchable(rows):
        if graphs:
            return vector_index(rows)
        flat = faiss.IndexFlatIP(DIMENSION)
        flat.add(rows)
        return flat

    return Index(
        manifest,
        slides,
        unit_list,
        searchable(vectors(len(unit_list))),
        searchable(vectors(len(slides))),
        _bm25([f"{by_key[(u.source, u.slide)].title} {u.text}" for u in unit_list]),
        _bm25([s.text for s in slides]),
        vectors(len(unit_list)),
        list(WORDS),
        vectors(len(WORDS)),
    )


def measure_store(spec: str, units: int, asks: int) -> dict:
    """Save a synthetic index of ``units`` into the store ``spec``, load it, and retrieve ``asks`` questions."""
    import numpy as np

    from egov_qa.answer.retriever import HybridRetriever
    from egov_qa.index.stores import open_store

    milvus = "://" in spec or spec.endswith(".db")
    index = synthetic_index(units, graphs=not milvus)
    store = open_store(spec if milvus else Path(spec))
    started = time.perf_counter()
    store.save(index)
    saved = time.perf_counter() - started
    del index
    started = time.perf_counter()
    loaded = store.load()
    load = time.perf_counter() - started
    rng = np.random.default_rng(11)

    class GivenVector:
        name = "synthetic"

        def embed(self, texts):
            rows = rng.standard_normal((len(texts), DIMENSION), dtype=np.float32)
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    retriever = HybridRetriever(loaded, GivenVector())
    times = []
    for i in range(asks):
        question = " ".join(WORDS[(i * 37 + j * 11) % len(WORDS)] for j in range(6))
        started = time.perf_counter()
        retriever.retrieve(question)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "units": len(loaded.units),
        "save_s": saved,
        "units_per_s": len(loaded.units) / saved,
        "load_s": load,
        "p50_ms": times[len(times) // 2],
        "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data: Path) -> tuple[subprocess.Popen, str]:
    """A Milvus server process (Milvus Lite's gRPC server) on a free port."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}"
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the Milvus server did not start within 60 s")


def stores_table(units: int, names: list[str], asks: int, server: bool) -> list[tuple[str, dict]]:
    rows = []
    with tempfile.TemporaryDirectory() as work:
        specs = {"local": str(Path(work) / "local"), "lite": str(Path(work) / "lite.db")}
        process = None
        if server:
            process, url = start_server(Path(work) / "server")
            specs["server"] = url
            names = [*names, "server"]
        try:
            for name in names:
                env = {
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
                }
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(ROOT / "bench"), specs[name], str(units), str(asks)],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                if out.returncode != 0:
                    raise SystemExit(f"store {name} failed:\n{out.stderr[-2000:]}")
                rows.append((name, json.loads(out.stdout.strip().splitlines()[-1])))
                print_row(name, rows[-1][1])
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    return rows


def print_row(name: str, row: dict) -> None:
    print(
        f"{name:8} {row['units']:>9,} units  save {row['save_s']:7.1f} s ({row['units_per_s']:8,.0f}/s)  "
        f"load {row['load_s']:6.1f} s  retrieve p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  "
        f"peak {row['rss_mb']:6,.0f} MB",
        flush=True,
    )


INCREMENTAL = """
import json, sys, time
from pathlib import Path
from egov_qa.index.opener import build_index
from egov_qa.index.embedder import load_embedder
from egov_qa.index.store import IndexBuilder
from egov_qa.index.stores import open_store
builder = IndexBuilder(load_embedder())
builder.embedder.embed(["load the model outside the timing"])
store = open_store(sys.argv[2] if sys.argv[2].endswith(".db") else Path(sys.argv[2]))
started = time.perf_counter()
build_index(builder, Path(sys.argv[1]), store, show_progress=False)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def incremental(stores: list[str], base: int = 3) -> None:
    """One real deck added to and removed from an indexed corpus of ``base`` others (the shipped deck
    and the smallest real decks), per store."""
    decks = sorted((ROOT / "evals" / "decks").iterdir(), key=lambda d: sum(f.stat().st_size for f in d.iterdir()))
    decks = decks[: max(1, base)]
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}

        def build(corpus: Path, spec: str) -> float:
            out = subprocess.run(
                [sys.executable, "-c", INCREMENTAL, str(corpus), spec], capture_output=True, text=True, env=env
            )
            if out.returncode != 0:
                raise SystemExit(out.stderr[-2000:])
            return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]

        for name in stores:
            corpus = Path(work) / f"corpus-{name}"
            shutil.copytree(ROOT / "corpus", corpus)
            for folder in decks[:-1]:
                for path in folder.iterdir():
                    shutil.copy(path, corpus / path.name)
            spec = str(Path(work) / (f"{name}.db" if name == "lite" else name))
            whole = build(corpus, spec)
            added_files = [shutil.copy(path, corpus / path.name) for path in decks[-1].iterdir()]
            added = build(corpus, spec)
            for path in added_files:
                Path(path).unlink()
            removed = build(corpus, spec)
            fresh = build(corpus, str(Path(work) / (f"{name}-fresh.db" if name == "lite" else f"{name}-fresh")))
            print(
                f"{name:8} {len(decks)} decks built {whole:6.1f} s; one deck added {added:6.1f} s; "
                f"removed {removed:6.1f} s; the rest built from nothing {fresh:6.1f} s",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=55_000, help="units in the synthetic corpus")
    parser.add_argument("--stores", default="local,lite", help="stores to measure: local, lite")
    parser.add_argument("--server", action="store_true", help="also a Milvus server process (milvus-lite server)")
    parser.add_argument("--asks", type=int, default=50, help="questions retrieved")
    parser.add_argument("--no-incremental", action="store_true", help="skip adding and removing a real deck")
    parser.add_argument("--base-decks", type=int, default=3, help="decks indexed before one is added")
    args = parser.parse_args()
    names = [n for n in args.stores.split(",") if n]
    print(f"cpu cores: {os.cpu_count()}; python {sys.version.split()[0]}")
    stores_table(args.units, names, args.asks, args.server)
    if not args.no_incremental:
        incremental(names, args.base_decks)
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

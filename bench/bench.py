"""Prints egov-qa's speed on this machine, each figure beside its baseline from the same run.

Numbers only, no pass or fail: targets are checked by reading them, not by a
timed test that flakes on a busy machine. Run it with `make bench`.

1. The shipped deck: cold `egov-qa ask` (a new process) and its peak memory,
   the app's start until it is ready, and warm `Assistant.ask` p50/p95; the
   baseline embeds questions with sentence-transformers (torch).
2. Indexing: a build of the shipped deck in a new process, the model's ONNX
   export made (torch imported) against taken from the export cache (no torch);
   one deck added to an indexed corpus against building it all; each real deck's
   index time. Throughput: today's way (sentence-transformers, every text in
   one call) against the index builder's (ONNX Runtime, each distinct text once,
   batched by token count), on a sample of the benchmark corpus (no two texts
   alike) and on what a build of the real and shipped decks embeds.
3. OCR: pages a second read from an image-only PDF, against the same pages'
   text layer (`--ocr-only` runs just this, in seconds).
4. At scale: the corpus `bench/make_corpus.py` writes (5,000 slides, 55,000
   units): build time, units per second and peak memory; load time; question
   p50/p95 and peak memory; FAISS flat against HNSW search time and recall@10.
4. With --stores (minutes): each index store (local folder, Milvus Lite, a Milvus
   server process) on a synthetic corpus: save rate, load, retrieval p50/p95 and
   memory; one real deck added to and removed from an indexed corpus, per store.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = ROOT / "evals" / "known_facts.jsonl"
SCALE_CORPUS = ROOT / "bench" / ".corpus"
SCALE_INDEX = ROOT / "bench" / ".index"
SHIPPED_CORPUS = ROOT / "corpus"
SHIPPED_INDEX = ROOT / "index"
FALLBACK = [
    "When did Korea start digitizing public administration?",
    "How long does export customs clearance take now?",
    "What was the e-Government budget in 2005?",
    "What does MOPAS stand for?",
    "How many e-villages were established?",
]  # the shipped deck's, used only when its eval set is missing
# The query path of the previous release: questions embedded with sentence-transformers.
TORCH_ASK = """
import sys
from egov_qa.assistant import Assistant
from egov_qa.index.embedder import SentenceTransformerEmbedder
Assistant(sys.argv[1], sys.argv[2], embedder=SentenceTransformerEmbedder()).ask(sys.argv[3])
"""


def questions(path: Path) -> list[str]:
    if not path.is_file():
        return FALLBACK
    return [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# Linux carries a process's peak memory across exec: a child started by a big process
# reports at least that process's peak. So each command is started by a small Python
# process, which reports the command's own peak (in KB) in a file.
MEASURED = """
import os, resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def run(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run ``command``; returns its wall time (s), its peak memory (MB) and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as work:
        peak = Path(work) / "peak"
        started = time.perf_counter()
        environment = {**(env or os.environ), "PYTHONDONTWRITEBYTECODE": "1"}
        code = subprocess.call(
            [sys.executable, "-S", "-c", MEASURED, str(peak), *map(str, command)],
            stdout=out,
            stderr=err,
            env=environment,
        )
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise SystemExit(f"{' '.join(map(str, command))} failed:\n{err.read().decode(errors='replace')[-2000:]}")
        return seconds, int(peak.read_text()) / 1024, out.read().decode()


def timed_asks(assistant, asked: list[str], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for question in asked:
            started = time.perf_counter()
            assistant.ask(question)
            times.append((time.perf_counter() - started) * 1000)
    return times


class Table:
    """Rows of measure, result, baseline and their ratio, printed as they come."""

    def __init__(self) -> None:
        print(f"{'measure':38} {'egov-qa':>12} {'baseline':>12} {'ratio':>8}")

    def row(self, name: str, value: float, unit: str, baseline: float | None = None, better: str = "lower") -> None:
        shown = f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
        base = "" if baseline is None else (f"{baseline:,.1f} {unit}" if baseline < 100 else f"{baseline:,.0f} {unit}")
        ratio = ""
        if baseline:
            factor = baseline / value if better == "lower" else value / baseline
            ratio = f"{factor:.1f}x"
        print(f"{name:38} {shown:>12} {base:>12} {ratio:>8}", flush=True)


def shipped(table: Table, args: argparse.Namespace) -> None:
    script = Path(sys.executable).with_name("egov-qa")
    run([str(script), "index"])  # cold runs measure asking only
    cold = [run([str(script), "-q", "ask", FALLBACK[0]]) for _ in range(args.cold_runs)]
    torch_cold = [
        run([sys.executable, "-c", TORCH_ASK, str(SHIPPED_CORPUS), str(SHIPPED_INDEX), FALLBACK[0]])
        for _ in range(args.cold_runs)
    ]
    table.row(
        "cold egov-qa ask", statistics.median(c[0] for c in cold), "s", statistics.median(c[0] for c in torch_cold)
    )
    table.row("peak memory of egov-qa ask", max(c[1] for c in cold), "MB", max(c[1] for c in torch_cold))
    table.row("app ready after start", app_ready_seconds(), "s")

    from egov_qa import Assistant
    from egov_qa.index.embedder import SentenceTransformerEmbedder

    asked = questions(args.questions)
    started = time.perf_counter()
    assistant = Assistant(SHIPPED_CORPUS, SHIPPED_INDEX)
    load = time.perf_counter() - started
    started = time.perf_counter()
    assistant.ask(FALLBACK[0])
    first = (time.perf_counter() - started) * 1000
    warm = timed_asks(assistant, asked, args.rounds)
    baseline = Assistant(SHIPPED_CORPUS, SHIPPED_INDEX, embedder=SentenceTransformerEmbedder())
    baseline.ask(FALLBACK[0])
    torch_warm = timed_asks(baseline, asked, args.rounds)
    table.row("load model and index (in process)", load, "s")
    table.row("first ask after load", first, "ms")
    table.row(f"warm ask p50 ({len(warm)} asks)", percentile(warm, 0.5), "ms", percentile(torch_warm, 0.5))
    table.row("warm ask p95", percentile(warm, 0.95), "ms", percentile(torch_warm, 0.95))
    reader = assistant.extractor.reader
    if reader.scorer is not None:
        # The same asks with the answer scorer's reading replaced by constant logits: what the scorer costs.
        scorer = reader.scorer
        reader.scorer = ConstantScorer()
        try:
            unscored = timed_asks(assistant, asked, args.rounds)
        finally:
            reader.scorer = scorer
        table.row("warm ask p50, scorer vs not run", percentile(warm, 0.5), "ms", percentile(unscored, 0.5))
        table.row("warm ask p95, scorer vs not run", percentile(warm, 0.95), "ms", percentile(unscored, 0.95))


class ConstantScorer:
    """Stands in for the answer scorer at no cost (every line the same logit, no span)."""

    reads_before = False

    def score(self, question: str, pairs: list) -> list:
        from egov_qa.answer.scorer import Scored

        return [Scored(0.0, None) for _ in pairs]


def app_ready_seconds(port: int = 7871) -> float:
    """Seconds from starting ``app.py`` (index present) until it serves the page."""
    import urllib.request

    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                    return time.perf_counter() - started
            except OSError:
                if process.poll() is not None:
                    raise SystemExit(f"app.py exited with status {process.returncode}") from None
                time.sleep(0.1)
        raise SystemExit("app.py was not ready within 120 s")
    finally:
        process.terminate()
        process.wait(timeout=30)


def build_texts(folders: list[Path]) -> list[str]:
    """What a build of ``folders`` embeds (``embedded_texts``), deck folder by deck folder."""
    from egov_qa.cli import setup_logging
    from egov_qa.index.store import embedded_texts
    from egov_qa.ingest.loader import DeckLoader
    from egov_qa.ingest.splitter import UnitSplitter

    setup_logging(quiet=True)  # pypdf's notes on odd PDFs are not measurements
    loader, splitter = DeckLoader(), UnitSplitter()
    texts: list[str] = []
    for folder in folders:
        slides = list(loader.load(folder).slides)
        texts += embedded_texts(slides, [u for s in slides for u in splitter.split(s)])
    return texts


def throughput(table: Table, args: argparse.Namespace) -> None:
    """Texts embedded per second: today's way (sentence-transformers, every text in one
    call) against the index builder's (ONNX Runtime, each distinct text once, batched by
    token count). On a sample of the benchmark corpus, where no two texts are the same,
    and on what a build of the real decks and the shipped deck embeds, repeats and all."""
    from egov_qa.index.embedder import OnnxEmbedder, SentenceTransformerEmbedder
    from egov_qa.index.store import embed_texts

    samples = {
        "benchmark sample": build_texts([SCALE_CORPUS])[: args.sample],
        "real + shipped decks": build_texts([*sorted((ROOT / "evals" / "decks").iterdir()), SHIPPED_CORPUS]),
    }
    torch_embedder = SentenceTransformerEmbedder()
    torch_embedder.embed(["load the model outside the timing"])
    with tempfile.TemporaryDirectory() as folder:
        export = torch_embedder.export_onnx(Path(folder))
        if export is None:
            raise SystemExit("the model could not be exported to ONNX")
        onnx = OnnxEmbedder(Path(folder), torch_embedder.name, export)
        onnx.embed(["load the model outside the timing"])
        for name, texts in samples.items():
            started = time.perf_counter()
            reference = torch_embedder.embed(texts)
            today = len(texts) / (time.perf_counter() - started)
            started = time.perf_counter()
            vectors = embed_texts(onnx, texts, show_progress=False)
            ours = len(texts) / (time.perf_counter() - started)
            table.row(f"throughput, {name}", ours, "/s", today, better="higher")
            distinct = len(set(texts))
            cosine = float((vectors * reference).sum(axis=1).min())
            print(f"{'':38} {len(texts):>5} texts {distinct:>5} distinct, least cosine {cosine:.6f}", flush=True)


SCALE_CHILD = """
import json, resource, sys, time
from pathlib import Path
corpus, index, questions, rounds = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
from bench import scale_queries
print(json.dumps(scale_queries(corpus, index, questions, rounds)))
"""

BUILD_CHILD = """
import json, resource, sys, time
from egov_qa.index.opener import build_index
from egov_qa.index.embedder import load_embedder
from egov_qa.index.store import IndexBuilder
started = time.perf_counter()
index = build_index(IndexBuilder(load_embedder()), sys.argv[1], sys.argv[2], show_progress=False)
print(json.dumps({"seconds": time.perf_counter() - started, "units": len(index.units), "slides": len(index.slides)}))
"""


def scale_queries(corpus: Path, index_dir: Path, questions_path: str, rounds: int) -> dict:
    """Load the big index and ask the eval questions of it (run in a child process)."""
    import faiss
    import numpy as np

    from egov_qa import Assistant

    started = time.perf_counter()
    assistant = Assistant(corpus, index_dir)
    load = time.perf_counter() - started
    asked = questions(Path(questions_path))
    assistant.warm_up()
    times = timed_asks(assistant, asked, rounds)
    graph = assistant.index.unit_vectors
    query = assistant.embedder.embed(asked)
    flat = faiss.IndexFlatIP(graph.d)
    flat.add(graph.reconstruct_n(0, graph.ntotal))
    search: dict[str, float] = {}
    found = {}
    for name, vectors in (("flat", flat), ("index", graph)):
        started = time.perf_counter()
        for row in range(len(query)):
            vectors.search(query[row : row + 1], 40)
        search[name] = (time.perf_counter() - started) * 1000 / len(query)
        found[name] = vectors.search(query, 10)[1]
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found["index"], found["flat"], strict=True)]))
    return {
        "load": load,
        "p50": percentile(times, 0.5),
        "p95": percentile(times, 0.95),
        "asks": len(times),
        "kind": type(graph).__name__,
        "units": graph.ntotal,
        "flat_ms": search["flat"],
        "index_ms": search["index"],
        "recall": recall,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def scale(table: Table, args: argparse.Namespace) -> None:
    import shutil

    shutil.rmtree(SCALE_INDEX, ignore_errors=True)
    _, rss, out = run([sys.executable, "-c", BUILD_CHILD, str(SCALE_CORPUS), str(SCALE_INDEX)])
    built = json.loads(out.strip().splitlines()[-1])
    print(f"{'  corpus':38} {built['slides']:,} slides, {built['units']:,} units")
    table.row("index build (scale)", built["seconds"], "s")
    table.row("units indexed per second (scale)", built["units"] / built["seconds"], "/s")
    table.row("peak memory of the build (scale)", rss, "MB")
    env_path = os.pathsep.join([str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")])
    os.environ["PYTHONPATH"] = env_path
    _, rss, out = run(
        [sys.executable, "-c", SCALE_CHILD, str(SCALE_CORPUS), str(SCALE_INDEX), str(args.questions), str(args.rounds)]
    )
    found = json.loads(out.strip().splitlines()[-1])
    table.row("index load (scale)", found["load"], "s")
    table.row(f"ask p50 (scale, {found['asks']} asks)", found["p50"], "ms")
    table.row("ask p95 (scale)", found["p95"], "ms")
    table.row("peak memory, load and ask (scale)", rss, "MB")
    table.row(f"unit vector search ({found['kind']})", found["index_ms"], "ms", found["flat_ms"])
    print(f"{'  recall@10 against flat search':38} {found['recall']:12.3f}")


BUILD_SHIPPED = """
import sys, time
from pathlib import Path
from egov_qa.index.opener import build_index
from egov_qa.index.embedder import load_embedder
from egov_qa.index.store import IndexBuilder
build_index(IndexBuilder(load_embedder()), Path(sys.argv[1]), Path(sys.argv[2]), show_progress=False)
print("torch" in sys.modules)
"""


def builds(table: Table, args: argparse.Namespace) -> None:
    """Whole builds in new processes: the export made or cached; one deck added or all built."""
    import shutil

    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        env = {**os.environ, "EGOV_QA_CACHE": str(work_dir / "cache")}
        made = run([sys.executable, "-c", BUILD_SHIPPED, str(SHIPPED_CORPUS), str(work_dir / "a")], env=env)
        cached = run([sys.executable, "-c", BUILD_SHIPPED, str(SHIPPED_CORPUS), str(work_dir / "b")], env=env)
        table.row("build shipped deck, export cached", cached[0], "s", made[0])
        table.row("  peak memory of that build", cached[1], "MB", made[1])
        print(f"{'  torch imported (made / cached)':38} {made[2].strip():>12} {cached[2].strip():>12}")
        corpus = work_dir / "corpus"
        shutil.copytree(SHIPPED_CORPUS, corpus)
        run([sys.executable, "-c", BUILD_SHIPPED, str(corpus), str(work_dir / "c")], env=env)
        deck = sorted((ROOT / "evals" / "decks").iterdir())[0]
        for path in deck.iterdir():
            shutil.copy(path, corpus)
        # A build untimed first reads the deck's pictures by OCR into the cache, where both timed
        # builds find them: they time the index, not the first OCR.
        run([sys.executable, "-c", BUILD_SHIPPED, str(corpus), str(work_dir / "ocr")], env=env)
        added = run([sys.executable, "-c", BUILD_SHIPPED, str(corpus), str(work_dir / "c")], env=env)
        whole = run([sys.executable, "-c", BUILD_SHIPPED, str(corpus), str(work_dir / "d")], env=env)
        table.row("one deck added to an indexed corpus", added[0], "s", whole[0])


def decks(table: Table, args: argparse.Namespace) -> None:
    """The index time of each real deck: reading (layout rebuilt), splitting, embedding, saving.

    Time per unit stays flat from the smallest deck to the largest when
    indexing is linear in a deck's size.
    """
    from egov_qa.cli import setup_logging
    from egov_qa.index.embedder import load_embedder
    from egov_qa.index.opener import build_index
    from egov_qa.index.store import IndexBuilder

    setup_logging(quiet=True)  # pypdf's notes on odd PDFs are not measurements
    builder = IndexBuilder(load_embedder())
    builder.embedder.embed(["load the model outside the timing"])
    for folder in sorted((ROOT / "evals" / "decks").iterdir()):
        with tempfile.TemporaryDirectory() as index_dir:
            started = time.perf_counter()
            index = build_index(builder, folder, Path(index_dir), show_progress=False)
            seconds = time.perf_counter() - started
        table.row(f"index {folder.name[:31]}", seconds, "s")
        per_unit = seconds * 1000 / max(len(index.units), 1)
        print(f"{'':38} {len(index.slides):>5} slides {len(index.units):>5} units {per_unit:6.1f} ms/unit")


def ocr(table: Table, args: argparse.Namespace) -> None:
    """OCR's speed: pages a second read from an image-only PDF, against the same pages' text layer.

    The pages are slides the tests' PDF maker writes (a title and three sentences),
    kept once with their text layer and once only as pictures (150 dpi).
    """
    sys.path.insert(0, str(ROOT / "tests"))
    from pdf_maker import Placed, write_pdf

    from egov_qa.ingest import ocr as ocr_module
    from egov_qa.ingest.loader import DeckLoader
    from egov_qa.paths import CACHE_ENV
    from egov_qa.training.copies import image_only

    pages = [
        [Placed(f"Service report part {n}", 60, 520, 30)]
        + [
            Placed(f"Office {n}.{i} answered {100 + 7 * n + i} requests in May.", 60, 440 - 40 * i, 18)
            for i in range(3)
        ]
        for n in range(1, args.ocr_pages + 1)
    ]
    with tempfile.TemporaryDirectory() as work, mock.patch.dict(os.environ, {CACHE_ENV: str(Path(work) / "cache")}):
        # An empty cache: the pages are read by the engine, then once more from the cache on disk.
        typed = write_pdf(Path(work) / "typed.pdf", pages)
        scanned = image_only(typed, Path(work) / "scanned.pdf")
        loader = DeckLoader()
        # The engine's models loaded outside the timing, on another page: a page read once
        # is kept, and would be read from memory.
        warm = write_pdf(Path(work) / "warm-typed.pdf", [[Placed("Models loaded", 60, 520, 30)]])
        loader.load_file(image_only(warm, Path(work) / "warm.pdf"), "warm.pdf")
        started = time.perf_counter()
        slides, _ = loader.load_file(scanned, "scanned.pdf")
        read = time.perf_counter() - started
        ocr_module._read.clear()  # what a new process knows: only the cache on disk
        started = time.perf_counter()
        loader.load_file(scanned, "scanned.pdf")
        again = time.perf_counter() - started
        started = time.perf_counter()
        loader.load_file(typed, "typed.pdf")
        layer = time.perf_counter() - started
    table.row("OCR pages per second", len(slides) / read, "p/s", len(pages) / layer, better="higher")
    table.row("OCR pages per second, read again", len(slides) / again, "p/s", len(pages) / layer, better="higher")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions (warm)")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=3000, help="passages for the throughput comparison")
    parser.add_argument("--slides", type=int, default=5000, help="slides in the scale corpus")
    parser.add_argument("--no-scale", action="store_true", help="skip the throughput and scale parts")
    parser.add_argument("--no-decks", action="store_true", help="skip indexing each real deck")
    parser.add_argument("--ocr-pages", type=int, default=4, help="image-only pages read for OCR's speed")
    parser.add_argument("--ocr-only", action="store_true", help="measure only OCR's speed (seconds)")
    parser.add_argument(
        "--stores", action="store_true", help="also each index store at --store-units units (bench/stores.py; minutes)"
    )
    parser.add_argument("--store-units", type=int, default=55_000, help="units of the synthetic corpus for --stores")
    args = parser.parse_args()

    print(f"cpu cores: {os.cpu_count()}; python {sys.version.split()[0]}")
    table = Table()
    ocr(table, args)
    if args.ocr_only:
        return 0
    shipped(table, args)
    if not args.no_decks:
        builds(table, args)
        decks(table, args)
    if not args.no_scale:
        sys.path.insert(0, str(ROOT / "bench"))
        from make_corpus import write_corpus

        write_corpus(SCALE_CORPUS, args.slides, 10)
        throughput(table, args)
        scale(table, args)
    if args.stores:
        sys.path.insert(0, str(ROOT / "bench"))
        import stores

        stores.stores_table(args.store_units, ["local", "lite"], 50, server=True)
        stores.incremental(["local", "lite"])
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

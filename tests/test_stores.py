"""The same contract over every store: a local folder, Milvus Lite in a file, and a Milvus server.

The server is Milvus Lite's own gRPC server (``milvus-lite server``), started as a
separate process by a fixture: the same protocol pymilvus speaks to Milvus
Standalone and Distributed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import NEW_DECK, OTHER_DECK, CountingLoader, FakeEmbedder

from egov_qa.answer.retriever import HybridRetriever
from egov_qa.assistant import Assistant
from egov_qa.errors import IndexInvalidError
from egov_qa.index.opener import build_index, open_index
from egov_qa.index.store import IndexBuilder
from egov_qa.index.stores import IndexStore, LocalStore, is_milvus, open_store, store_spec

QUESTIONS = ["budget in 2010", "how long does passport renewal take", "national ID card", "open data portal"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    """A Milvus server process (Milvus Lite's gRPC server) on a free port, stopped at the end."""
    pytest.importorskip("milvus_lite")
    port = _free_port()
    data = tmp_path_factory.mktemp("milvus-server")
    process = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data / "data"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the Milvus server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the Milvus server did not listen within 60 s")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(params=["local", "milvus-lite", "milvus-server"])
def store(request, tmp_path) -> IndexStore:
    if request.param == "local":
        return LocalStore(tmp_path / "index")
    if request.param == "milvus-lite":
        return open_store(str(tmp_path / "index.db"))
    from egov_qa.index.milvus import MilvusStore

    # One server for the module: each test its own collections.
    return MilvusStore(request.getfixturevalue("milvus_server"), f"t_{tmp_path.name[-24:].replace('-', '_')}")


def _ranked(index, question: str, sources=None):
    found = HybridRetriever(index, FakeEmbedder()).retrieve(question, sources)
    return [(u.unit.id, round(u.score, 9), round(u.dense, 6), round(u.lexical, 6)) for u in found.units], [
        (s.slide.source, s.slide.number, round(s.score, 9)) for s in found.slides
    ]


class TestStoreContract:
    def test_nothing_stored_is_a_clear_error(self, store):
        with pytest.raises(IndexInvalidError, match="no index"):
            store.load()
        assert store.generation() is None

    def test_load_gives_back_what_the_build_made_and_retrieval_matches_the_local_store(self, store, decks, tmp_path):
        built = build_index(IndexBuilder(FakeEmbedder()), decks, store)
        local = build_index(IndexBuilder(FakeEmbedder()), decks, tmp_path / "reference")
        loaded = store.load(IndexBuilder(FakeEmbedder()).fingerprint(decks))
        assert loaded.slides == built.slides == local.slides
        assert loaded.units == built.units == local.units
        assert loaded.vocabulary == local.vocabulary
        assert np.allclose(loaded.text_vectors, local.text_vectors)
        assert np.allclose(loaded.vocabulary_vectors, local.vocabulary_vectors)
        for question in QUESTIONS:
            assert _ranked(loaded, question) == _ranked(local, question)
            assert _ranked(loaded, question, {"identity.md"}) == _ranked(local, question, {"identity.md"})

    def test_a_changed_corpus_is_stale(self, store, decks):
        build_index(IndexBuilder(FakeEmbedder()), decks, store)
        (decks / "cloud.md").write_text(NEW_DECK, encoding="utf-8")
        with pytest.raises(IndexInvalidError, match=r"cloud\.md added"):
            store.load(IndexBuilder(FakeEmbedder()).fingerprint(decks))

    def test_add_replace_remove_one_deck_reads_that_deck_alone(self, store, decks, tmp_path):
        build_index(IndexBuilder(FakeEmbedder()), decks, store)
        first = store.generation()
        for change, expected_read in (
            (lambda: (decks / "cloud.md").write_text(NEW_DECK, encoding="utf-8"), ["cloud.md"]),
            (
                lambda: (decks / "identity.md").write_text(OTHER_DECK.replace("9 million", "11 million")),
                ["identity.md"],
            ),
            (lambda: (decks / "agency.md").unlink(), []),
        ):
            change()
            loader = CountingLoader()
            build_index(IndexBuilder(FakeEmbedder(), loader), decks, store)
            assert loader.read == expected_read
            fresh = build_index(
                IndexBuilder(FakeEmbedder()), decks, tmp_path / f"fresh-{len(expected_read)}-{time.time()}"
            )
            loaded = store.load(IndexBuilder(FakeEmbedder()).fingerprint(decks))
            assert loaded.units == fresh.units and loaded.slides == fresh.slides
            for question in QUESTIONS:
                assert _ranked(loaded, question) == _ranked(fresh, question)
        assert store.generation() != first
        assert {u.source for u in store.load().units} == {"identity.md", "cloud.md"}

    def test_open_index_builds_once_then_loads(self, store, decks):
        embedder = FakeEmbedder()
        open_index(IndexBuilder(embedder), decks, store)
        calls = embedder.calls
        open_index(IndexBuilder(embedder), decks, store)
        assert embedder.calls == calls

    def test_an_assistant_answers_from_the_store(self, store, decks, tmp_path):
        assistant = Assistant(decks, tmp_path / "unused", embedder=FakeEmbedder(), threshold=0.0, store=store)
        answer = assistant.ask("How long does passport renewal take online?")
        assert not answer.abstained and "3 days" in answer.answer


class TestMilvusStore:
    @pytest.fixture
    def lite(self, tmp_path):
        return open_store(str(tmp_path / "index.db"))

    def test_a_save_that_dies_midway_leaves_the_old_index_and_is_cleaned_up(self, lite, decks, monkeypatch):
        from egov_qa.index import milvus

        build_index(IndexBuilder(FakeEmbedder()), decks, lite)
        before, generation = lite.load(), lite.generation()
        (decks / "cloud.md").write_text(NEW_DECK, encoding="utf-8")
        real = milvus.MilvusStore._insert

        def dies_after_units(self, what, rows):
            real(self, what, rows)
            if what == "units":
                raise ConnectionError("the connection dropped")

        monkeypatch.setattr(milvus.MilvusStore, "_insert", dies_after_units)
        with pytest.raises(Exception, match="index there is unchanged"):
            build_index(IndexBuilder(FakeEmbedder()), decks, lite)
        assert lite.generation() == generation
        after = lite.load()
        assert after.units == before.units  # the half-written deck is not seen
        monkeypatch.setattr(milvus.MilvusStore, "_insert", real)
        build_index(IndexBuilder(FakeEmbedder()), decks, lite)
        count = lite.client.query("egov_qa_units", filter="", output_fields=["count(*)"])[0]["count(*)"]
        assert count == len(lite.load().units)  # the dead save's rows are gone

    def test_a_damaged_manifest_is_reported_and_a_build_replaces_it(self, lite, decks):
        build_index(IndexBuilder(FakeEmbedder()), decks, lite)
        generation = lite.generation()
        lite.client.delete("egov_qa_meta", filter=f'key == "manifest:{generation}:0"')
        with pytest.raises(IndexInvalidError, match="damaged"):
            lite.load()
        index = open_index(IndexBuilder(FakeEmbedder()), decks, lite)
        assert lite.load().units == index.units
        count = lite.client.query("egov_qa_units", filter="", output_fields=["count(*)"])[0]["count(*)"]
        assert count == len(index.units)

    def test_large_decks_and_many_decks_are_read_in_windows(self, lite, decks, monkeypatch):
        from egov_qa.index import milvus

        local = build_index(IndexBuilder(FakeEmbedder()), decks, decks.parent / "reference")
        build_index(IndexBuilder(FakeEmbedder()), decks, lite)
        monkeypatch.setattr(milvus, "QUERY_ROWS", 3)  # every deck and the vocabulary over a window
        loaded = lite.load()
        assert loaded.units == local.units and loaded.slides == local.slides and loaded.vocabulary == local.vocabulary

    def test_the_question_model_is_stored_and_fetched_once(self, lite, decks, tmp_path, monkeypatch):
        export = tmp_path / "export"
        export.mkdir()
        (export / "query_model.onnx").write_bytes(b"\x08\x01" * 70_000)
        (export / "query_tokenizer.json").write_text("{}", encoding="utf-8")
        index = IndexBuilder(FakeEmbedder()).build(decks)
        index.query_model = export
        index.manifest["query_model"] = {"max_length": 8}
        lite.save(index)
        loaded = lite.load()
        assert loaded.query_model is not None and loaded.query_model != export
        assert (loaded.query_model / "query_model.onnx").read_bytes() == (export / "query_model.onnx").read_bytes()


class TestUnavailable:
    def test_a_milvus_lite_folder_held_by_another_process_is_a_message_not_a_build(self, tmp_path, decks):
        from egov_qa.errors import StoreUnavailableError

        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time; from pymilvus import MilvusClient; MilvusClient(sys.argv[1]); "
                "print('held', flush=True); time.sleep(60)",
                str(tmp_path / "held.db"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            embedder = FakeEmbedder()
            with pytest.raises(StoreUnavailableError, match="milvus-lite server"):
                open_index(IndexBuilder(embedder), decks, str(tmp_path / "held.db"))
            assert embedder.calls == 0  # nothing was embedded for a store that cannot be used
        finally:
            holder.kill()
            holder.wait()

    def test_a_server_that_does_not_answer_is_a_message(self, decks):
        from egov_qa.errors import StoreUnavailableError
        from egov_qa.index.milvus import MilvusStore

        with pytest.raises(StoreUnavailableError, match="server runs"):
            MilvusStore(f"http://127.0.0.1:{_free_port()}").load()


class TestChoosingAStore:
    def test_specs(self, tmp_path, monkeypatch):
        assert is_milvus("x.db") and is_milvus("http://localhost:19530") and not is_milvus("index")
        assert isinstance(open_store(tmp_path / "x.db"), LocalStore)  # a Path is a folder
        assert isinstance(open_store(str(tmp_path / "folder")), LocalStore)
        monkeypatch.setenv("EGOV_QA_STORE", "y.db")
        assert store_spec(None) == "y.db" and store_spec("z.db") == "z.db"
        monkeypatch.delenv("EGOV_QA_STORE")
        assert store_spec(None) is None

    def test_an_empty_spec_is_refused(self):
        with pytest.raises(IndexInvalidError, match="--store"):
            open_store("  ")

    @pytest.mark.parametrize("spec", ["ftp://host/index", "s3://bucket/index", "file:///tmp/index"])
    def test_an_address_no_store_reads_is_refused_not_made_a_folder(self, spec, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        with pytest.raises(IndexInvalidError, match=r"is an address egov-qa cannot keep an index at: .*PATH\.db"):
            open_store(spec)
        assert list(tmp_path.iterdir()) == []

    def test_nothing_of_milvus_is_imported_for_a_local_store(self):
        code = (
            "import sys; from egov_qa.index.stores import open_store; from egov_qa.assistant import Assistant; "
            "open_store('index'); print([m for m in sys.modules if 'milvus' in m])"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == "[]"


OTHER_PROCESS = """
import sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from conftest import FakeEmbedder
from test_incremental import NEW_DECK
from egov_qa.assistant import Assistant
from egov_qa.index.milvus import MilvusStore
from egov_qa.index.opener import build_index

corpus, store = Path(sys.argv[2]), MilvusStore(sys.argv[3], sys.argv[4])
assistant = Assistant(corpus, corpus.parent / "unused", embedder=FakeEmbedder(), threshold=0.0, store=store)
print(assistant.ask("How long does passport renewal take online?").answer)
(corpus / "cloud.md").write_text(NEW_DECK, encoding="utf-8")
build_index(assistant.builder, corpus, store)
print(store.generation())
"""


def test_two_processes_on_one_server_both_answer_and_see_a_deck_added_by_one(milvus_server, decks, tmp_path):
    from egov_qa.index.milvus import MilvusStore

    name = f"two_{tmp_path.name[-20:].replace('-', '_')}"
    here = Assistant(
        decks, tmp_path / "unused", embedder=FakeEmbedder(), threshold=0.0, store=MilvusStore(milvus_server, name)
    )
    here.refresh_seconds = 0.0
    asked = "How many systems moved to the government cloud?"
    assert "730" not in (here.ask(asked).answer or "")
    other = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, str(Path(__file__).parent), str(decks), milvus_server, name],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert other.returncode == 0, other.stderr[-2000:]
    answered, generation = other.stdout.strip().splitlines()[-2:]
    assert "3 days" in answered
    assert here.ask(asked).answer and "730" in here.ask(asked).answer
    assert here.store.generation() == generation
    assert "3 days" in here.ask("How long does passport renewal take online?").answer

"""The ONNX export cache, an index build reusing the vectors of unchanged passages, and the
temporary folder a build copies the export into."""

import gc
import tempfile

import numpy as np
import pytest
from conftest import FakeEmbedder

from egov_qa import paths
from egov_qa.errors import Terminated
from egov_qa.index import export_cache
from egov_qa.index.embedder import ONNX_MODEL, ONNX_TOKENIZER, OnnxExport
from egov_qa.index.opener import build_index
from egov_qa.index.store import IndexBuilder, load_index


class Recording(FakeEmbedder):
    """The fake embedder, remembering every text it was asked to embed."""

    def __init__(self, name: str = FakeEmbedder.name) -> None:
        super().__init__()
        self.name = name
        self.seen: list[str] = []

    def embed(self, texts):
        self.seen.extend(texts)
        return super().embed(texts)


class Exporting:
    """An embedder whose 'export' writes two small files and counts how often it ran."""

    def __init__(self, model_folder) -> None:
        self.name = str(model_folder)
        self.exports = 0

    def export_onnx(self, folder):
        self.exports += 1
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ONNX_MODEL).write_bytes(b"model bytes")
        (folder / ONNX_TOKENIZER).write_text("{}")
        return OnnxExport(("input_ids",), 128, 0, "[PAD]", 0.9999)


@pytest.fixture
def model_folder(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    return folder


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


class TestExportCache:
    def test_second_export_is_copied_from_the_cache(self, model_folder, cache, tmp_path):
        embedder = Exporting(model_folder)
        first = export_cache.export_model(embedder, tmp_path / "a")
        second = export_cache.export_model(embedder, tmp_path / "b")
        assert embedder.exports == 1
        assert first == second
        assert (tmp_path / "b" / ONNX_MODEL).read_bytes() == b"model bytes"

    def test_a_changed_model_is_exported_again(self, model_folder, cache, tmp_path):
        embedder = Exporting(model_folder)
        export_cache.export_model(embedder, tmp_path / "a")
        (model_folder / "config.json").write_text('{"changed": true}')
        export_cache.export_model(embedder, tmp_path / "b")
        assert embedder.exports == 2

    def test_a_half_written_entry_is_not_used(self, model_folder, cache, tmp_path):
        embedder = Exporting(model_folder)
        export_cache.export_model(embedder, tmp_path / "a")
        (cache / export_cache.model_key(embedder.name) / export_cache.SETTINGS).unlink()
        assert export_cache.export_model(embedder, tmp_path / "b") is not None
        assert embedder.exports == 2

    def test_an_unwritable_cache_only_costs_the_export(self, model_folder, tmp_path, monkeypatch):
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        monkeypatch.setenv(paths.CACHE_ENV, str(blocker / "cache"))
        embedder = Exporting(model_folder)
        assert export_cache.export_model(embedder, tmp_path / "a") is not None
        assert export_cache.export_model(embedder, tmp_path / "b") is not None
        assert embedder.exports == 2

    def test_a_tuned_model_reads_its_base_models_folder_and_has_its_own_export(self, model_folder):
        base = export_cache.model_key(str(model_folder))
        tuned = export_cache.model_key("m+bitfit-0123", str(model_folder))
        other = export_cache.model_key("m+bitfit-4567", str(model_folder))
        assert None not in (base, tuned, other) and len({base, tuned, other}) == 3

    def test_a_model_without_a_local_folder_has_no_key(self):
        assert export_cache.model_key("no-such-model-anywhere") is None

    def test_the_cache_folder_follows_the_environment(self, monkeypatch, tmp_path):
        monkeypatch.delenv(paths.CACHE_ENV, raising=False)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        assert paths.cache_dir() == tmp_path / "egov-qa"


class TestVectorReuse:
    def test_adding_a_deck_embeds_only_that_deck(self, tiny_corpus, tmp_path):
        index_dir = tmp_path / "index"
        build_index(IndexBuilder(Recording()), tiny_corpus, index_dir)
        (tiny_corpus / "more.md").write_text("# Parks\n\nThe city opened 14 parks in 2012.\n")
        again = Recording()
        index = build_index(IndexBuilder(again), tiny_corpus, index_dir)
        assert again.seen, "the new deck's passages are embedded"
        # Passages and lines of the new deck, and the words it brings to the corpus.
        assert all("parks" in text.lower() or text in {"city", "opened"} for text in again.seen)
        fresh = IndexBuilder(FakeEmbedder()).build(tiny_corpus)
        ours = index.unit_vectors.reconstruct_n(0, index.unit_vectors.ntotal)
        theirs = fresh.unit_vectors.reconstruct_n(0, fresh.unit_vectors.ntotal)
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
        assert load_index(index_dir).manifest["counts"]["units"] == len(fresh.units)

    def test_vectors_of_another_model_are_not_reused(self, tiny_corpus, tmp_path):
        index_dir = tmp_path / "index"
        build_index(IndexBuilder(Recording()), tiny_corpus, index_dir)
        (tiny_corpus / "more.md").write_text("# Parks\n\nThe city opened 14 parks in 2012.\n")
        other = Recording("another-model")
        build_index(IndexBuilder(other), tiny_corpus, index_dir)
        assert any("passport" in text.lower() for text in other.seen)

    def test_a_damaged_previous_index_is_built_over(self, tiny_corpus, tmp_path):
        index_dir = tmp_path / "index"
        build_index(IndexBuilder(Recording()), tiny_corpus, index_dir)
        (index_dir / "units.faiss").write_bytes(b"garbage")
        (tiny_corpus / "more.md").write_text("# Parks\n\nThe city opened 14 parks in 2012.\n")
        again = Recording()
        build_index(IndexBuilder(again), tiny_corpus, index_dir)
        assert any("passport" in text.lower() for text in again.seen)


class TestTokenBatches:
    def test_shortest_first_within_count_and_token_budget(self):
        from egov_qa.index.embedder import token_batches

        lengths = [300, 5, 5, 40, 5, 256, 12]
        batches = token_batches(lengths, most=3, budget=100)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert batches[0] == [1, 2, 4]
        for batch in batches:
            assert len(batch) <= 3
            assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 100
        assert [0] in batches and [5] in batches  # a text over the budget runs alone

    def test_no_texts_no_batches(self):
        from egov_qa.index.embedder import token_batches

        assert token_batches([], most=8) == []


class ExportingFake(FakeEmbedder):
    """The fake embedder with an 'export' of two small files, embedding as the fake does."""

    def export_onnx(self, folder):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ONNX_MODEL).write_bytes(b"model bytes")
        (folder / ONNX_TOKENIZER).write_text("{}")
        return OnnxExport(("input_ids",), 128, 0, "[PAD]", 0.9999)


class TestExportFolder:
    """A build copies the export into a temporary folder; nothing may stay there once it is done."""

    @pytest.fixture
    def temporary(self, tmp_path, monkeypatch, cache):
        from egov_qa.index import store

        folder = tmp_path / "tmp"
        folder.mkdir()
        monkeypatch.setattr(tempfile, "tempdir", str(folder))
        # The fake export is no model ONNX Runtime could open: the fake embeds in its place.
        monkeypatch.setattr(store, "OnnxEmbedder", lambda path, name, export: FakeEmbedder())
        return folder

    def test_a_build_keeps_its_export_while_the_index_lives(self, tiny_corpus, temporary):
        index = IndexBuilder(ExportingFake()).build(tiny_corpus)
        assert index.query_model is not None and index.query_model.parent == temporary
        assert (index.query_model / ONNX_MODEL).is_file()
        del index
        gc.collect()
        assert not list(temporary.iterdir())

    @pytest.mark.parametrize("stop", [KeyboardInterrupt, Terminated, MemoryError])
    def test_an_interrupted_build_leaves_no_export(self, tiny_corpus, temporary, monkeypatch, stop):
        from egov_qa.index import store

        def interrupted(*args, **kwargs):
            raise stop

        monkeypatch.setattr(store, "embed_texts", interrupted)
        with pytest.raises(stop):
            IndexBuilder(ExportingFake()).build(tiny_corpus)
        assert not list(temporary.iterdir())

    def test_an_export_interrupted_while_copied_leaves_no_folder(self, tiny_corpus, temporary, monkeypatch):
        def interrupted(embedder, folder):
            (folder / ONNX_MODEL).write_bytes(b"half")
            raise KeyboardInterrupt

        monkeypatch.setattr(export_cache, "export_model", interrupted)
        with pytest.raises(KeyboardInterrupt):
            IndexBuilder(ExportingFake()).build(tiny_corpus)
        assert not list(temporary.iterdir())

    def test_a_saved_index_shares_the_cached_export_instead_of_copying_it(
        self, tiny_corpus, temporary, cache, tmp_path, model_folder
    ):
        embedder = ExportingFake()
        embedder.name = str(model_folder)  # a model with a local folder, so its export is cached
        first = build_index(IndexBuilder(embedder), tiny_corpus, tmp_path / "one")
        second = build_index(IndexBuilder(embedder), tiny_corpus, tmp_path / "two")
        cached = cache / export_cache.model_key(embedder.name) / ONNX_MODEL
        inodes = {(folder / ONNX_MODEL).stat().st_ino for folder in (tmp_path / "one", tmp_path / "two", cached.parent)}
        assert len(inodes) == 1
        assert load_index(tmp_path / "two").manifest["files"][ONNX_MODEL]["bytes"] == len(b"model bytes")
        del first, second

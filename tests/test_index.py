"""The index: round trip, manifest, and missing, stale, damaged or half-written indexes."""

import json

import pytest

from egov_qa.assistant import Assistant
from egov_qa.errors import CorpusError, IndexInvalidError
from egov_qa.index import MANIFEST, UNIT_VECTORS, UNITS_FILE, IndexBuilder, load_index, save_index


@pytest.fixture
def built(tiny_corpus, tmp_path, fake_embedder):
    builder = IndexBuilder(fake_embedder)
    index = builder.build(tiny_corpus)
    save_index(index, tmp_path / "index")
    return builder, tiny_corpus, tmp_path / "index"


class TestIndexRoundTrip:
    def test_load_gives_back_what_was_saved(self, built):
        builder, corpus, index_dir = built
        index = load_index(index_dir, builder.fingerprint(corpus))
        assert len(index.slides) == 2
        assert index.unit_vectors.ntotal == len(index.units) == index.manifest["counts"]["units"]
        assert index.slide_vectors.ntotal == 2

    def test_loaded_records_equal_built_records(self, built):
        builder, corpus, index_dir = built
        fresh = builder.build(corpus)
        loaded = load_index(index_dir, builder.fingerprint(corpus))
        assert loaded.slides == fresh.slides
        assert loaded.units == fresh.units

    def test_manifest_records_how_it_was_built(self, built):
        _, _, index_dir = built
        manifest = json.loads((index_dir / MANIFEST).read_text())
        assert manifest["model"] == "fake-hash-64"
        assert manifest["dimension"] == 64
        assert set(manifest["corpus"]["files"]) == {"deck.md"}
        assert manifest["chunking"] == {"max_chars": 300}
        assert {"faiss", "bm25s", "numpy"} <= set(manifest["versions"])
        assert UNIT_VECTORS in manifest["files"]

    def test_no_pickle_and_no_leftover_staging(self, built):
        _, _, index_dir = built
        names = [p.name for p in index_dir.iterdir()]
        assert not any(n.endswith((".pkl", ".pickle")) or n.startswith(".build-") for n in names)


class TestInvalidIndex:
    def test_missing(self, tmp_path):
        with pytest.raises(IndexInvalidError, match="no index"):
            load_index(tmp_path)

    def test_stale_when_the_corpus_changes(self, built):
        builder, corpus, index_dir = built
        (corpus / "deck.md").write_text("# Changed\n\nNew text.\n")
        with pytest.raises(IndexInvalidError, match=r"stale: the corpus changed \(deck.md changed\)"):
            load_index(index_dir, builder.fingerprint(corpus))

    def test_stale_when_the_model_changes(self, built, fake_embedder):
        _, corpus, index_dir = built
        fake_embedder.name = "another-model"
        with pytest.raises(IndexInvalidError, match="model"):
            load_index(index_dir, IndexBuilder(fake_embedder).fingerprint(corpus))

    def test_truncated_file(self, built):
        _, _, index_dir = built
        path = index_dir / UNIT_VECTORS
        path.write_bytes(path.read_bytes()[:100])
        with pytest.raises(IndexInvalidError, match=r"damaged: units.faiss does not match"):
            load_index(index_dir)

    def test_counts_that_do_not_match(self, built):
        _, _, index_dir = built
        manifest = json.loads((index_dir / MANIFEST).read_text())
        manifest["counts"]["units"] += 1
        (index_dir / MANIFEST).write_text(json.dumps(manifest))
        with pytest.raises(IndexInvalidError, match="counts do not match"):
            load_index(index_dir)

    def test_garbage_manifest(self, built):
        _, _, index_dir = built
        (index_dir / MANIFEST).write_text("{not json")
        with pytest.raises(IndexInvalidError, match=r"manifest .* is damaged"):
            load_index(index_dir)


class TestAssistantRebuilds:
    @pytest.mark.parametrize("damage", ["missing", "stale", "truncated", "mismatched"])
    def test_rebuilds_with_a_message(self, built, fake_embedder, damage):
        _, corpus, index_dir = built
        if damage == "missing":
            (index_dir / MANIFEST).unlink()
        elif damage == "stale":
            (corpus / "extra.md").write_text("# Extra\n\nAn extra slide about dams.\n")
        elif damage == "truncated":
            (index_dir / UNITS_FILE).write_text("[")
        else:
            manifest = json.loads((index_dir / MANIFEST).read_text())
            manifest["counts"]["slides"] = 99
            (index_dir / MANIFEST).write_text(json.dumps(manifest))
        messages = []
        assistant = Assistant(corpus, index_dir, embedder=fake_embedder, progress=messages.append)
        assert len(messages) == 1 and "building the index" in messages[0]
        assert load_index(index_dir, assistant.builder.fingerprint(corpus)).manifest["counts"]
        again = []
        Assistant(corpus, index_dir, embedder=fake_embedder, progress=again.append)
        assert again == []

    def test_failed_rebuild_keeps_the_old_index(self, built, fake_embedder):
        _, corpus, index_dir = built
        before = {p.name: p.read_bytes() for p in index_dir.iterdir() if p.is_file()}
        for path in corpus.iterdir():
            path.write_text("")
        with pytest.raises(CorpusError, match="none readable"):
            Assistant(corpus, index_dir, embedder=fake_embedder)
        after = {p.name: p.read_bytes() for p in index_dir.iterdir() if p.is_file()}
        after.pop(".lock")  # the build's lock file, empty
        assert after == before


def test_unit_context_is_what_a_reader_sees_around_the_unit():
    from egov_qa.index import unit_context
    from egov_qa.loader import split_markdown
    from egov_qa.splitter import UnitSplitter

    md = "# Title\n\n## Section\n\n- Parent bullet\n  - Child bullet\n\n※ A note\n\n## Other\n\n- Lone bullet\n"
    (slide,) = split_markdown(md, "d.md")
    context = {u.text: unit_context(u, slide) for u in UnitSplitter().split(slide)}
    assert context["Title"] == []
    assert context["Section"] == ["Title"]
    assert context["Child bullet"] == ["Title", "Section", "Parent bullet"]
    assert context["A note"] == ["Title", "Section", "Child bullet"]
    assert context["Lone bullet"] == ["Title", "Other"]

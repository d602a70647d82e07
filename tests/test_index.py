"""The index: round trip, manifest, and missing, stale, damaged or half-written indexes."""

import json

import numpy as np
import pytest
from conftest import FakeEmbedder

from egov_qa.assistant import Assistant
from egov_qa.errors import CorpusError, IndexInvalidError, IndexWriteError
from egov_qa.index.opener import build_index
from egov_qa.index.store import (
    MANIFEST,
    TEXT_VECTORS,
    UNIT_VECTORS,
    UNITS_FILE,
    IndexBuilder,
    corpus_vocabulary,
    load_index,
    save_index,
)
from egov_qa.ingest.loader import DeckLoader


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

    def test_each_unit_text_has_its_own_vector(self, built, fake_embedder):
        builder, corpus, index_dir = built
        loaded = load_index(index_dir, builder.fingerprint(corpus))
        assert TEXT_VECTORS in loaded.manifest["files"]
        expected = fake_embedder.embed([u.text for u in loaded.units])
        assert np.allclose(np.asarray(loaded.text_vectors), expected, atol=1e-6)

    def test_each_word_of_the_corpus_has_its_vector(self, built, fake_embedder):
        builder, corpus, index_dir = built
        loaded = load_index(index_dir, builder.fingerprint(corpus))
        assert loaded.vocabulary == corpus_vocabulary(loaded.slides)
        assert loaded.manifest["counts"]["words"] == len(loaded.vocabulary) > 0
        assert np.allclose(np.asarray(loaded.vocabulary_vectors), fake_embedder.embed(loaded.vocabulary), atol=1e-6)

    def test_a_rebuild_by_code_that_reads_other_words_reuses_the_old_vectors_safely(self, built, monkeypatch):
        from egov_qa.index import store

        builder, corpus, index_dir = built
        previous = load_index(index_dir)
        # Newer reading code may find other words on the same slides than the index stored.
        monkeypatch.setattr(store, "corpus_vocabulary", lambda slides: ["entirely", "other", "words"])
        rebuilt = builder.build(corpus, previous=previous)
        assert rebuilt.vocabulary == ["entirely", "other", "words"]
        assert np.allclose(rebuilt.vocabulary_vectors, builder.embedder.embed(rebuilt.vocabulary), atol=1e-6)
        assert np.allclose(np.asarray(rebuilt.text_vectors), np.asarray(previous.text_vectors), atol=1e-6)

    def test_a_rebuild_with_nothing_new_to_embed_draws_no_empty_bar(self, built, monkeypatch, caplog):
        import logging

        from egov_qa.index import progress

        builder, corpus, index_dir = built
        previous = load_index(index_dir)
        monkeypatch.setattr(progress, "_terminal", lambda: False)
        with caplog.at_level(logging.INFO, logger="egov_qa.index.progress"):
            builder.build(corpus, previous=previous)
        lines = [r.getMessage() for r in caplog.records if r.name == "egov_qa.index.progress"]
        assert not [line for line in lines if line.startswith("passages embedded")], lines

    def test_the_vocabulary_holds_each_word_once_in_the_form_used_most(self):
        from egov_qa.documents import Slide

        slides = [Slide("d.md", 1, "Meetings", "Meetings and meeting notes: the meetings of 2024", ())]
        assert corpus_vocabulary(slides) == ["meetings", "notes"]

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

    def test_stale_when_the_code_that_reads_decks_changes(self, built, monkeypatch):
        from egov_qa.ingest import loader

        builder, corpus, index_dir = built
        assert len(loader.reading_code_digest()) == 16
        monkeypatch.setattr(loader, "reading_code_digest", lambda: "another version")
        with pytest.raises(IndexInvalidError, match="code that reads decks changed"):
            load_index(index_dir, builder.fingerprint(corpus))

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

    def test_a_word_count_that_does_not_match(self, built):
        _, _, index_dir = built
        manifest = json.loads((index_dir / MANIFEST).read_text())
        manifest["counts"]["words"] += 1
        (index_dir / MANIFEST).write_text(json.dumps(manifest))
        with pytest.raises(IndexInvalidError, match=r"counts do not match.*word vectors"):
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
    from egov_qa.index.store import unit_context
    from egov_qa.ingest.markdown import split_markdown
    from egov_qa.ingest.splitter import UnitSplitter

    md = "# Title\n\n## Section\n\n- Parent bullet\n  - Child bullet\n\n※ A note\n\n## Other\n\n- Lone bullet\n"
    (slide,) = split_markdown(md, "d.md")
    context = {u.text: unit_context(u, slide) for u in UnitSplitter().split(slide)}
    assert context["Title"] == []
    assert context["Section"] == ["Title"]
    assert context["Child bullet"] == ["Title", "Section", "Parent bullet"]
    assert context["A note"] == ["Title", "Section", "Child bullet"]
    assert context["Lone bullet"] == ["Title", "Other"]


@pytest.mark.parametrize(
    "shape",
    [
        lambda m: [m],
        lambda m: {**m, "files": list(m["files"])},
        lambda m: {**m, "files": {n: {"sha256": i["sha256"]} for n, i in m["files"].items()}},
        lambda m: {**m, "files": {**m["files"], "../../etc/passwd": next(iter(m["files"].values()))}},
        lambda m: {**m, "counts": {"slides": "2", "units": m["counts"]["units"]}},
        lambda m: {k: v for k, v in m.items() if k != "counts"},
        lambda m: {**m, "dimension": "64"},
        lambda m: {**m, "corpus": ["deck.md"]},
        lambda m: {**m, "corpus": {**m["corpus"], "files": None}},
    ],
    ids=[
        "a-list",
        "files-a-list",
        "file-without-bytes",
        "file-outside",
        "count-as-text",
        "no-counts",
        "dimension-as-text",
        "corpus-a-list",
        "corpus-files-null",
    ],
)
def test_a_manifest_of_the_wrong_shape_is_damaged_and_rebuilt(built, fake_embedder, shape):
    builder, corpus, index_dir = built
    manifest = json.loads((index_dir / MANIFEST).read_text())
    (index_dir / MANIFEST).write_text(json.dumps(shape(manifest)))
    with pytest.raises(IndexInvalidError, match=r"the index manifest in .* is damaged"):
        load_index(index_dir, builder.fingerprint(corpus))
    messages = []
    Assistant(corpus, index_dir, embedder=fake_embedder, progress=messages.append)
    assert "is damaged" in messages[0]
    assert load_index(index_dir, builder.fingerprint(corpus)).manifest["counts"] == manifest["counts"]


def test_a_staging_folder_left_by_a_killed_build_is_removed_by_the_next(built, fake_embedder):
    builder, corpus, index_dir = built
    left = index_dir / ".build-killed"
    left.mkdir()
    (left / UNITS_FILE).write_text("[]")
    build_index(builder, corpus, index_dir)
    assert not left.exists()
    assert load_index(index_dir, builder.fingerprint(corpus))


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    """A folder on a disk about to be full: a small tmpfs when it can be mounted
    (as root), else a disk whose JSON writes fail with ENOSPC once ``fill`` is called."""
    import errno
    import os
    import subprocess

    import egov_qa.index.store as index_module

    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True
        ).returncode
        == 0
    )

    def fill() -> None:
        if not mounted:

            def no_space(path, data):
                raise OSError(errno.ENOSPC, "No space left on device", str(path))

            monkeypatch.setattr(index_module, "_write_json", no_space)
            return
        # Fill the disk, then free a little: the next save gets some way, then runs out.
        with open(folder / "filler", "wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0" * 4096)
            except OSError:
                pass
        os.truncate(folder / "filler", (folder / "filler").stat().st_size - 8192)

    yield folder, fill
    if mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_a_message_and_the_old_index_is_kept(tiny_corpus, fake_embedder, full_disk, capsys):
    from egov_qa import cli
    from egov_qa.index import embedder

    folder, fill = full_disk
    index_dir = folder / "index"
    builder = IndexBuilder(fake_embedder)
    build_index(builder, tiny_corpus, index_dir)
    before = {p.name: p.read_bytes() for p in index_dir.iterdir() if p.is_file()}
    fill()
    (tiny_corpus / "more.md").write_text("# More\n\n" + "A further fact about the agency. " * 200)
    with pytest.raises(IndexWriteError, match=rf"the disk is full: cannot save the index in {index_dir}"):
        build_index(builder, tiny_corpus, index_dir)
    after = {p.name: p.read_bytes() for p in index_dir.iterdir() if p.is_file()}
    assert after == before
    assert not list(index_dir.glob(".build-*"))
    assert load_index(index_dir).manifest["counts"]["slides"] == 2

    embedder_factory = embedder.load_embedder
    try:
        embedder.load_embedder = lambda name=None: fake_embedder
        code = cli.main(["--corpus", str(tiny_corpus), "--index", str(index_dir), "index"])
    finally:
        embedder.load_embedder = embedder_factory
    err = capsys.readouterr().err
    assert code == 1 and "the disk is full" in err and "Traceback" not in err


class TestProgressInALog:
    def test_a_bar_is_written_as_lines_where_stderr_is_no_terminal(self, monkeypatch, caplog):
        import logging

        from egov_qa.index import progress

        monkeypatch.setattr(progress, "_terminal", lambda: False)
        with caplog.at_level(logging.INFO, logger="egov_qa.index.progress"):
            for _ in progress.bar(range(5), desc="passages embedded", unit="passage"):
                pass
        lines = [r.getMessage() for r in caplog.records if r.name == "egov_qa.index.progress"]
        assert lines and all("\r" not in line for line in lines)
        assert lines[-1].startswith("passages embedded: 100%") and "5/5" in lines[-1]

    def test_asked_for_or_turned_off_it_is_a_bar_or_nothing(self, monkeypatch, caplog):
        import logging

        from egov_qa.index import progress

        monkeypatch.setattr(progress, "_terminal", lambda: False)
        with caplog.at_level(logging.INFO, logger="egov_qa.index.progress"):
            assert progress.bar(range(2), desc="d", unit="u", show_progress=False).disable
            assert not progress.bar(range(2), desc="d", unit="u", show_progress=True).disable
        assert not [r for r in caplog.records if r.name == "egov_qa.index.progress"]


class TestPagesRead:
    def test_pages_are_counted_without_reading_the_deck(self, tmp_path, tiny_corpus):
        from pdf_maker import Placed, write_pdf
        from test_pptx_deck import make_deck

        from egov_qa.ingest.pages import page_count

        pdf = write_pdf(tmp_path / "three.pdf", [[Placed(f"Page {n} text", 72, 700)] for n in range(1, 4)])
        assert page_count(pdf) == 3
        assert page_count(make_deck(tmp_path / "deck.pptx")) == 3
        assert page_count(tiny_corpus / "deck.md") == len(
            DeckLoader().load_from(tiny_corpus / "deck.md", tiny_corpus)[0]
        )
        (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
        assert page_count(tmp_path / "broken.pdf") == 1  # its reader says what is wrong

    def test_the_bar_counts_every_page_and_reaches_its_total(self, tmp_path, tiny_corpus, monkeypatch, caplog):
        import logging

        from pdf_maker import Placed, write_pdf

        from egov_qa.index import progress

        write_pdf(tiny_corpus / "five.pdf", [[Placed(f"Page {n} says {n * 7} items", 72, 700)] for n in range(1, 6)])
        slides = len(DeckLoader().load_from(tiny_corpus / "deck.md", tiny_corpus)[0])
        monkeypatch.setattr(progress, "_terminal", lambda: False)
        with caplog.at_level(logging.INFO, logger="egov_qa.index.progress"):
            IndexBuilder(FakeEmbedder()).build(tiny_corpus)
        lines = [r.getMessage() for r in caplog.records if r.name == "egov_qa.index.progress"]
        read = [line for line in lines if line.startswith("pages read")]
        assert read and read[-1].startswith("pages read: 100%")
        assert f"{slides + 5}/{slides + 5}" in read[-1]

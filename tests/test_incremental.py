"""Adding, replacing or removing one deck reads and embeds that deck alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import NEW_DECK, OTHER_DECK, CountingLoader, FakeEmbedder

from egov_qa.index.opener import build_index
from egov_qa.index.store import IndexBuilder, load_index


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, remembering every text it embedded."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return super().embed(texts)


def _fresh(corpus: Path, index_dir: Path):
    """The index of ``corpus`` built from nothing, for comparison."""
    return build_index(IndexBuilder(FakeEmbedder()), corpus, index_dir)


def _same(a, b) -> None:
    assert a.slides == b.slides
    assert a.units == b.units
    assert a.vocabulary == b.vocabulary
    assert a.manifest["corpus"] == b.manifest["corpus"]
    assert a.manifest["deck_warnings"] == b.manifest["deck_warnings"]
    assert np.allclose(
        a.unit_vectors.reconstruct_n(0, a.unit_vectors.ntotal), b.unit_vectors.reconstruct_n(0, b.unit_vectors.ntotal)
    )
    assert np.allclose(
        a.slide_vectors.reconstruct_n(0, a.slide_vectors.ntotal),
        b.slide_vectors.reconstruct_n(0, b.slide_vectors.ntotal),
    )
    assert np.allclose(a.text_vectors, b.text_vectors)
    assert np.allclose(a.vocabulary_vectors, b.vocabulary_vectors)


class TestIncrementalDecks:
    def _rebuild(self, corpus: Path, index_dir: Path):
        loader, embedder = CountingLoader(), CountingEmbedder()
        index = build_index(IndexBuilder(embedder, loader), corpus, index_dir)
        return index, loader.read, embedder.texts

    def test_adding_a_deck_reads_and_embeds_that_deck_alone(self, decks, tmp_path):
        index_dir = tmp_path / "index"
        first, read, _ = self._rebuild(decks, index_dir)
        assert sorted(read) == ["agency.md", "identity.md"]
        (decks / "cloud.md").write_text(NEW_DECK, encoding="utf-8")
        index, read, texts = self._rebuild(decks, index_dir)
        assert read == ["cloud.md"]
        old_texts = {u.text for u in first.units} | {s.text for s in first.slides}
        assert texts and not old_texts & set(texts)
        assert {u.source for u in index.units} == {"agency.md", "identity.md", "cloud.md"}
        _same(index, _fresh(decks, tmp_path / "fresh"))
        _same(index, load_index(index_dir))

    def test_replacing_a_deck_reads_that_deck_alone(self, decks, tmp_path):
        index_dir = tmp_path / "index"
        self._rebuild(decks, index_dir)
        (decks / "identity.md").write_text(OTHER_DECK.replace("9 million", "11 million"), encoding="utf-8")
        index, read, texts = self._rebuild(decks, index_dir)
        assert read == ["identity.md"]
        assert texts and all("Budget" not in t and "Passport" not in t for t in texts)
        assert any("11 million" in u.text for u in index.units)
        assert not any("9 million" in u.text for u in index.units)
        _same(index, _fresh(decks, tmp_path / "fresh"))

    def test_removing_a_deck_reads_and_embeds_nothing(self, decks, tmp_path):
        index_dir = tmp_path / "index"
        self._rebuild(decks, index_dir)
        (decks / "identity.md").unlink()
        index, read, texts = self._rebuild(decks, index_dir)
        assert read == []
        # Only a word whose most used form changed with the deck gone can need a vector.
        assert all(" " not in t for t in texts)
        assert {u.source for u in index.units} == {"agency.md"}
        _same(index, _fresh(decks, tmp_path / "fresh"))

    def test_a_deck_read_with_other_limits_is_read_again(self, decks, tmp_path):
        index_dir = tmp_path / "index"
        self._rebuild(decks, index_dir)
        loader = CountingLoader()
        loader.max_slides = 1
        build_index(IndexBuilder(FakeEmbedder(), loader), decks, index_dir)
        assert sorted(loader.read) == ["agency.md", "identity.md"]

    def test_a_deck_warning_is_kept_when_the_deck_is_taken_over(self, decks, tmp_path):
        index_dir = tmp_path / "index"
        (decks / "empty.md").write_text("", encoding="utf-8")
        first, _, _ = self._rebuild(decks, index_dir)
        assert any("empty.md" in w for w in first.manifest["warnings"])
        (decks / "cloud.md").write_text(NEW_DECK, encoding="utf-8")
        index, read, _ = self._rebuild(decks, index_dir)
        assert read == ["cloud.md"]
        assert index.manifest["deck_warnings"]["empty.md"] == first.manifest["deck_warnings"]["empty.md"]
        assert any("empty.md" in w for w in index.manifest["warnings"])

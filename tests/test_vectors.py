"""Embedding a corpus (once per distinct text) and the FAISS index chosen for its size."""

import faiss
import numpy as np
from conftest import FakeEmbedder

from egov_qa.index import store as index_module


class TestVectorIndex:
    def test_flat_up_to_the_limit(self):
        vectors = _unit_vectors(50)
        assert isinstance(index_module.vector_index(vectors), faiss.IndexFlatIP)

    def test_hnsw_above_the_limit_finds_what_exact_search_finds(self, monkeypatch):
        monkeypatch.setattr(index_module, "FLAT_MAX_VECTORS", 100)
        vectors = _unit_vectors(500)
        graph = index_module.vector_index(vectors)
        assert isinstance(graph, faiss.IndexHNSWFlat)
        _, found = graph.search(vectors[:20], 10)
        exact = np.argsort(-(vectors[:20] @ vectors.T), axis=1)[:, :10]
        recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
        assert recall >= 0.95
        # Vectors read back from the graph are the vectors put in (dense scores stay exact).
        assert np.allclose(graph.reconstruct(7), vectors[7])


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, texts):
        self.texts += list(texts)
        return super().embed(texts)


def test_embed_texts_embeds_each_text_once_and_keeps_the_order():
    embedder = CountingEmbedder()
    texts = ["budget in 2010", "a", "budget in 2010", "passport renewal takes 3 days", "a"]
    vectors = index_module.embed_texts(embedder, texts, show_progress=False)
    assert sorted(embedder.texts) == sorted(set(texts))
    assert np.allclose(vectors, FakeEmbedder().embed(texts))


def _unit_vectors(count: int) -> np.ndarray:
    vectors = np.random.default_rng(7).normal(size=(count, 16)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

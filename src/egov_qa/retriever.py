"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused by reciprocal rank fusion."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from egov_qa.documents import ScoredSlide, ScoredUnit
from egov_qa.embedder import Embedder
from egov_qa.index import Index
from egov_qa.text import terms


@dataclass(frozen=True)
class Retrieval:
    """Ranked units and slides for one question, with every unit's raw scores.

    ``dense`` holds the cosine similarity of the question with every unit passage,
    ``bm25`` every unit's BM25 score divided by the best one (both by unit position).
    """

    question: str
    units: tuple[ScoredUnit, ...]
    slides: tuple[ScoredSlide, ...]
    dense: np.ndarray = field(compare=False, repr=False)
    bm25: np.ndarray = field(compare=False, repr=False)
    slide_rank: dict[int, int] = field(compare=False, repr=False, default_factory=dict)


def rrf(rankings: list[list[int]], k: int) -> dict[int, float]:
    """Reciprocal rank fusion: each ranking gives item at rank r (0-based) 1/(k + r + 1)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank + 1)
    return fused


class HybridRetriever:
    """Ranks units and slides for a question by fusing dense and BM25 rankings.

    Args:
        index: a loaded :class:`Index`.
        embedder: the model the index was built with (it embeds the question).
        rrf_k: the fusion constant; larger flattens the rank weights.
        pool: how deep each ranking goes before fusion.
    """

    def __init__(self, index: Index, embedder: Embedder, rrf_k: int = 60, pool: int = 40) -> None:
        if rrf_k < 1:
            raise ValueError(f"rrf_k must be at least 1, not {rrf_k!r}")
        if pool < 1:
            raise ValueError(f"pool must be at least 1, not {pool!r}")
        self.index = index
        self.embedder = embedder
        self.rrf_k = rrf_k
        self.pool = pool
        self._unit_matrix = index.unit_vectors.reconstruct_n(0, index.unit_vectors.ntotal)

    def _bm25(self, model, query: list[str], size: int) -> np.ndarray:
        known = [t for t in query if t in model.vocab_dict]
        if not known:
            return np.zeros(size, dtype=np.float32)
        return np.asarray(model.get_scores(known), dtype=np.float32)

    def retrieve(self, question: str) -> Retrieval:
        """Rank the index's units and slides for ``question``."""
        index = self.index
        query = self.embedder.embed([question])
        qterms = terms(question)
        n_units, n_slides = len(index.units), len(index.slides)

        dense = self._unit_matrix @ query[0]
        unit_dense_rank = list(np.argsort(-dense)[: self.pool])
        _, slide_hits = index.slide_vectors.search(query, min(self.pool, n_slides))
        slide_dense_rank = [int(i) for i in slide_hits[0] if i >= 0]

        bm25 = self._bm25(index.unit_bm25, qterms, n_units)
        top = float(bm25.max()) if n_units else 0.0
        bm25_norm = bm25 / top if top > 0 else bm25
        unit_bm25_rank = [int(i) for i in np.argsort(-bm25)[: self.pool] if bm25[i] > 0]
        slide_bm25 = self._bm25(index.slide_bm25, qterms, n_slides)
        slide_bm25_rank = [int(i) for i in np.argsort(-slide_bm25)[: self.pool] if slide_bm25[i] > 0]

        unit_scores = rrf([[int(i) for i in unit_dense_rank], unit_bm25_rank], self.rrf_k)
        ranked_units = sorted(unit_scores, key=lambda i: -unit_scores[i])
        # A slide also ranks by its best unit, so a slide with one exact fact is
        # not outranked by a long slide that is only broadly on topic.
        by_best_unit: list[int] = []
        for i in ranked_units:
            slide_pos = int(index.unit_slide[i])
            if slide_pos not in by_best_unit:
                by_best_unit.append(slide_pos)
        slide_scores = rrf([slide_dense_rank, slide_bm25_rank, by_best_unit], self.rrf_k)
        ranked_slides = sorted(slide_scores, key=lambda i: -slide_scores[i])

        units = tuple(
            ScoredUnit(index.units[i], unit_scores[i], float(dense[i]), float(bm25_norm[i])) for i in ranked_units
        )
        slides = tuple(ScoredSlide(index.slides[i], slide_scores[i], rank) for rank, i in enumerate(ranked_slides))
        return Retrieval(question, units, slides, dense, bm25_norm, {i: rank for rank, i in enumerate(ranked_slides)})

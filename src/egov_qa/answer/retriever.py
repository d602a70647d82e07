"""Hybrid retrieval: dense (FAISS) and BM25 rankings fused by reciprocal rank fusion.

A question's work is two searches (FAISS and BM25) and a few dozen vectors read
back for the candidates: nothing in it walks every unit's vector.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from egov_qa.documents import ScoredSlide, ScoredUnit
from egov_qa.index.embedder import Embedder
from egov_qa.index.store import Index
from egov_qa.text import terms


@dataclass(frozen=True)
class Retrieval:
    """Ranked units and slides for one question, with every unit's raw scores.

    ``dense`` gives the cosine similarity of the question with any unit passage,
    ``bm25`` every unit's BM25 score divided by the best one (both by unit position).
    """

    question: str
    units: tuple[ScoredUnit, ...]
    slides: tuple[ScoredSlide, ...]
    dense: DenseScores = field(compare=False, repr=False)
    bm25: np.ndarray = field(compare=False, repr=False)
    slide_rank: dict[int, int] = field(compare=False, repr=False, default_factory=dict)


class DenseScores:
    """The cosine of a question with each unit passage, read back from the index when asked.

    The units the dense search returned are known already; any other is one vector
    reconstructed from FAISS (exact for flat and HNSW indexes) and one dot product.
    """

    def __init__(self, vectors, query: np.ndarray, known: dict[int, float] | None = None) -> None:
        self._vectors = vectors
        self._query = np.asarray(query, dtype=np.float32)
        self._known = dict(known or {})

    @property
    def query(self) -> np.ndarray:
        """The question's vector."""
        return self._query

    def __getitem__(self, unit_pos: int) -> float:
        score = self._known.get(unit_pos)
        if score is None:
            score = float(self._vectors.reconstruct(int(unit_pos)) @ self._query)
            self._known[unit_pos] = score
        return score


def top(scores: np.ndarray, k: int) -> list[int]:
    """Positions of the ``k`` highest ``scores``, best first (ties by position)."""
    if len(scores) > k:
        chosen = np.argpartition(-scores, k - 1)[:k]
        return [int(i) for i in chosen[np.lexsort((chosen, -scores[chosen]))]]
    return [int(i) for i in np.argsort(-scores, kind="stable")]


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

    def _bm25(self, model, query: list[str], size: int) -> np.ndarray:
        known = [t for t in query if t in model.vocab_dict]
        if not known:
            return np.zeros(size, dtype=np.float32)
        return np.asarray(model.get_scores(known), dtype=np.float32)

    def retrieve(self, question: str, sources: Collection[str] | None = None) -> Retrieval:
        """Rank the index's units and slides for ``question``.

        Args:
            sources: rank only the slides of these deck files (default: every deck).
        """
        index = self.index
        query = self.embedder.embed([question])
        qterms = terms(question)
        n_units, n_slides = len(index.units), len(index.slides)
        # Limited to some decks, each ranking is searched in full and then cut to
        # the pool, so that a small deck is not crowded out by the others.
        depth_units, depth_slides = (n_units, n_slides) if sources is not None else (self.pool, self.pool)
        keep_slide = (lambda i: index.slides[i].source in sources) if sources is not None else (lambda i: True)

        def keep_unit(i: int) -> bool:
            return keep_slide(int(index.unit_slide[i]))

        unit_scores_dense, unit_hits = index.unit_vectors.search(query, min(depth_units, n_units))
        found = [int(i) for i in unit_hits[0] if i >= 0]
        dense = DenseScores(
            index.unit_vectors, query[0], dict(zip(found, map(float, unit_scores_dense[0]), strict=False))
        )
        unit_dense_rank = [i for i in found if keep_unit(i)][: self.pool]
        _, slide_hits = index.slide_vectors.search(query, min(depth_slides, n_slides))
        slide_dense_rank = [int(i) for i in slide_hits[0] if i >= 0 and keep_slide(int(i))][: self.pool]

        bm25 = self._bm25(index.unit_bm25, qterms, n_units)
        best = float(bm25.max()) if n_units else 0.0
        bm25_norm = bm25 / best if best > 0 else bm25
        unit_bm25_rank = [i for i in top(bm25, depth_units) if bm25[i] > 0 and keep_unit(i)][: self.pool]
        slide_bm25 = self._bm25(index.slide_bm25, qterms, n_slides)
        slide_bm25_rank = [i for i in top(slide_bm25, depth_slides) if slide_bm25[i] > 0 and keep_slide(i)][: self.pool]

        unit_scores = rrf([unit_dense_rank, unit_bm25_rank], self.rrf_k)
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

        units = tuple(ScoredUnit(index.units[i], unit_scores[i], dense[i], float(bm25_norm[i])) for i in ranked_units)
        slides = tuple(ScoredSlide(index.slides[i], slide_scores[i], rank) for rank, i in enumerate(ranked_slides))
        return Retrieval(question, units, slides, dense, bm25_norm, {i: rank for rank, i in enumerate(ranked_slides)})

"""The baseline the report compares against: what a plain dense RAG pipeline does.

Each deck's slides are joined into one text and cut into fixed-size overlapping
chunks that ignore slide and table boundaries; the question retrieves the
closest chunk by cosine similarity alone (no BM25, no fusion), and the answer is
the chunk's sentence or line closest to the question. It never abstains. Its
citation is the slide where that sentence starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from egov_qa.documents import Answer, Citation, Slide
from egov_qa.index.embedder import Embedder

_PIECE = re.compile(r"[^\n]+?(?:[.!?](?=\s)|$)", re.MULTILINE)


@dataclass(frozen=True)
class _Sentence:
    text: str
    slide: Slide
    start: int  # in the slide's text


class ChunkBaseline:
    """Dense-only retrieval over fixed-size chunks, answering with the best sentence.

    Args:
        slides: the corpus's slides.
        embedder: the same model the assistant uses.
        chunk_chars: the chunk size in characters.
        overlap: characters shared by consecutive chunks.
    """

    def __init__(self, slides: list[Slide], embedder: Embedder, chunk_chars: int = 500, overlap: int = 100):
        if not 0 <= overlap < chunk_chars:
            raise ValueError(f"overlap must be within [0, chunk_chars), not {overlap!r}")
        self.embedder = embedder
        self.chunks: list[list[_Sentence]] = []
        by_source: dict[str, list[Slide]] = {}
        for slide in slides:
            by_source.setdefault(slide.source, []).append(slide)
        for deck in by_source.values():
            text, owners = "", []
            for slide in deck:
                owners.append((len(text), slide))
                text += slide.text + "\n\n"
            sentences = []
            for match in _PIECE.finditer(text):
                owner_start, owner = max((o for o in owners if o[0] <= match.start()), key=lambda o: o[0])
                piece = match.group().strip()
                if piece:
                    start = match.start() + len(match.group()) - len(match.group().lstrip())
                    sentences.append((start, _Sentence(piece, owner, start - owner_start)))
            step = chunk_chars - overlap
            for begin in range(0, max(len(text) - overlap, 1), step):
                chunk = [s for pos, s in sentences if begin <= pos < begin + chunk_chars]
                if chunk:
                    self.chunks.append(chunk)
        chunk_texts = [" ".join(s.text for s in chunk) for chunk in self.chunks]
        self.sentences = [s for chunk in self.chunks for s in chunk]
        vectors = embedder.embed(chunk_texts + [s.text for s in self.sentences])
        self.chunk_vectors = vectors[: len(chunk_texts)]
        self.sentence_vectors = vectors[len(chunk_texts) :]
        self._offsets = np.cumsum([0] + [len(c) for c in self.chunks])

    def ask(self, question: str, top_k: int = 5) -> Answer:
        query = self.embedder.embed([question])[0]
        chunk_scores = self.chunk_vectors @ query
        order = np.argsort(-chunk_scores)
        best = int(order[0])
        lo, hi = self._offsets[best], self._offsets[best + 1]
        sentence_scores = self.sentence_vectors[lo:hi] @ query
        sentence = self.sentences[lo + int(np.argmax(sentence_scores))]
        citations, seen = [], set()
        first = Citation(
            sentence.slide.source,
            sentence.slide.number,
            sentence.slide.title,
            sentence.slide.text,
            sentence.start,
            sentence.start + len(sentence.text),
            float(chunk_scores[best]),
        )
        citations.append(first)
        seen.add((first.source, first.slide))
        for i in order[1:]:
            for s in self.chunks[int(i)]:
                key = (s.slide.source, s.slide.number)
                if key not in seen and len(citations) < top_k:
                    seen.add(key)
                    citations.append(
                        Citation(key[0], key[1], s.slide.title, s.slide.text, None, None, float(chunk_scores[i]))
                    )
        return Answer(question, sentence.text, False, float(chunk_scores[best]), tuple(citations))

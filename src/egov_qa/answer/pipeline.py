"""The answering stack, built in one place: serving, training and evaluation all call it.

A question is read (misspellings, follow-ups, parts: :mod:`egov_qa.answer.reading`),
each part is retrieved (:mod:`egov_qa.answer.retriever`), its candidate lines are
described (:mod:`egov_qa.answer.features`) and ranked by the fitted reader, which
quotes the best or abstains (:mod:`egov_qa.answer.extractor`). Training asks
:meth:`Pipeline.candidates`, which reads a question exactly as :meth:`Pipeline.answer`
does, so the reader is fit on what it will be shown.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from egov_qa.answer.extractor import AnswerExtractor
from egov_qa.answer.features import Candidate, FeatureMaker
from egov_qa.answer.question import Question, analyze
from egov_qa.answer.reader import Reader, ReaderModel
from egov_qa.answer.reading import QuestionReader, corpus_words
from egov_qa.answer.retriever import HybridRetriever, Retrieval
from egov_qa.answer.scorer import AnswerScorer
from egov_qa.documents import Answer
from egov_qa.index.embedder import Embedder
from egov_qa.index.store import Index


@dataclass(frozen=True)
class Described:
    """What the pipeline makes of one question before the reader ranks: its first part's analysis
    and retrieval (``retrieval.question`` is that part, as read), and its candidate lines."""

    question: Question
    retrieval: Retrieval
    candidates: list[Candidate]


@dataclass(frozen=True)
class Pipeline:
    """The stages that answer questions over one index.

    ``extractor`` is None for a pipeline without a reader (training describes
    candidates; it cannot answer before the reader is fit).
    """

    index: Index
    embedder: Embedder
    reading: QuestionReader
    retriever: HybridRetriever
    features: FeatureMaker
    extractor: AnswerExtractor | None = None

    @property
    def threshold(self) -> float:
        if self.extractor is None:
            raise ValueError("this pipeline has no reader: build it with one to answer")
        return self.extractor.threshold

    def retrieve(self, question: str, sources: Collection[str] | None = None) -> Retrieval:
        """Read ``question`` as :meth:`answer` does and retrieve its first part (whose answer is the headline)."""
        return self.retriever.retrieve(self.reading.read(question).questions[0], sources)

    def candidates(self, question: str, sources: Collection[str] | None = None) -> Described:
        """Read ``question`` as :meth:`answer` does and describe the candidates of its first part."""
        retrieval = self.retrieve(question, sources)
        analyzed = analyze(retrieval.question)
        return Described(analyzed, retrieval, self.features.candidates(analyzed, retrieval))

    def answer(
        self,
        question: str,
        top_k: int,
        threshold: float | None = None,
        sources: Collection[str] | None = None,
        previous: str | None = None,
    ) -> Answer:
        """Answer ``question`` (asked after ``previous``) with a quote and cited slides, or abstain.

        Each part of a question that asks several things is answered on its own
        (``Answer.parts``); the first part's answer is the headline.
        """
        if self.extractor is None:
            raise ValueError("this pipeline has no reader: build it with one to answer")
        reading = self.reading.read(question, previous)
        answers = [
            self.extractor.extract(self.retriever.retrieve(part, sources), top_k=top_k, threshold=threshold)
            for part in reading.questions
        ]
        return replace(
            answers[0],
            question=question,
            read_as=reading.text if reading.changed else None,
            corrections=reading.corrections,
            follow_up=reading.follow_up,
            parts=tuple(answers) if reading.parts else (),
        )

    def with_index(self, index: Index) -> Pipeline:
        """The same stages and settings over another index (a corpus rebuilt with a deck added)."""
        reader = self.extractor.reader.model if self.extractor is not None else None
        scorer = self.extractor.reader.scorer if self.extractor is not None else None
        threshold = self.extractor.threshold if self.extractor is not None else None
        old = self.reading
        # A new deck's words are words of the corpus now: never "corrected" to old ones.
        reading = QuestionReader(corpus_words(s.text for s in index.slides), old.common, old.min_length, old.max_parts)
        return build_pipeline(
            index, self.embedder, reader, threshold, reading, self.retriever.rrf_k, self.retriever.pool, scorer
        )


def build_pipeline(
    index: Index,
    embedder: Embedder,
    reader: ReaderModel | None = None,
    threshold: float | None = None,
    reading: QuestionReader | None = None,
    rrf_k: int = 60,
    pool: int = 40,
    scorer: AnswerScorer | None = None,
) -> Pipeline:
    """The answering stack over ``index``; ``embedder`` embeds questions (the index's own model).

    Args:
        reader: the fitted reader model; None for a pipeline that only describes candidates.
        threshold: the least confidence to answer with (default: the reader model's).
        reading: reads questions (default: one over the index's words).
        rrf_k, pool: the retriever's fusion constant and candidate pool.
        scorer: the answer scorer, for a reader that reranks with it.
    """
    features = FeatureMaker(index, embedder)
    extractor = (
        AnswerExtractor(index, Reader(reader, scorer=scorer), features, threshold) if reader is not None else None
    )
    return Pipeline(
        index,
        embedder,
        reading or QuestionReader(corpus_words(s.text for s in index.slides)),
        HybridRetriever(index, embedder, rrf_k, pool),
        features,
        extractor,
    )

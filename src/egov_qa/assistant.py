"""The public entry point: ``Assistant(corpus_dir, index_dir).ask(question) -> Answer``."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from egov_qa.answer.extractor import AnswerExtractor
from egov_qa.answer.pipeline import Pipeline, build_pipeline
from egov_qa.answer.reader import ReaderModel, load_reader_model, warn_if_trained_with_another
from egov_qa.answer.reading import QuestionReader
from egov_qa.answer.retriever import HybridRetriever
from egov_qa.answer.scorer import AnswerScorer
from egov_qa.documents import Answer
from egov_qa.errors import QuestionError
from egov_qa.index import embedder as embedding
from egov_qa.index.opener import open_index
from egov_qa.index.store import Index, IndexBuilder
from egov_qa.index.stores import IndexStore, LocalStore, open_store
from egov_qa.ingest.loader import DeckLoader
from egov_qa.ingest.splitter import UnitSplitter
from egov_qa.paths import default_corpus_dir, default_reader_path, index_dir_for, scorer_dir_for

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500
T = TypeVar("T")


def _in_background(make: Callable[..., T], *args: object) -> Future[T]:
    """``make(*args)`` run in a thread of its own; ``.result()`` gives what it returns or raises."""
    runner = ThreadPoolExecutor(1, thread_name_prefix="load")
    try:
        return runner.submit(make, *args)
    finally:
        runner.shutdown(wait=False)


def _is_share(value: object) -> bool:
    """Whether ``value`` is a number from 0 to 1 (a threshold)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value <= 1.0


def validate_question(question: object, limit: int = MAX_QUESTION_CHARS) -> str:
    """Return the question stripped, or raise :class:`QuestionError` saying what is wrong."""
    if not isinstance(question, str):
        raise QuestionError(f"a question must be text, not {type(question).__name__}")
    text = " ".join(question.split())
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Invalid UTF-8 on a command line arrives as lone surrogates; no model can read them.
        raise QuestionError(
            f"the question holds a character that is not valid text (at position {exc.start + 1}: "
            "invalid UTF-8 or a lone surrogate): type it again as plain text"
        ) from exc
    if not text:
        raise QuestionError("the question is empty: type a question about the deck")
    if not any(ch.isalnum() for ch in text):
        # "?" or "..." alone: nothing to look up, and an abstention would blame the deck.
        raise QuestionError("the question has no word or number in it: type a question about the deck")
    if len(text) > limit:
        raise QuestionError(f"the question is {len(text)} characters long; the limit is {limit}: ask something shorter")
    return text


class Assistant:
    """Answers questions about the decks in a corpus folder by quoting them.

    The index in ``index_dir`` is loaded, or built when it is missing, stale or
    damaged (with a message through ``progress``).

    Args:
        corpus_dir: the decks (default: the shipped ``corpus/``).
        index_dir: where the index lives (default: ``index/``).
        model: an embedding model name or folder (default: ``$EGOV_QA_MODEL`` or
            all-MiniLM-L6-v2).
        embedder: an embedder to use instead of loading ``model`` (tests use a fake).
        top_k: how many slides to cite by default.
        threshold: the least confidence to answer with (default: the reader model's).
        reader: the fitted reader model, or the path of its file (default:
            ``$EGOV_QA_READER`` or the reader shipped in the package).
        progress: called with a message when the index is being built.
        question_reader: reads questions (misspellings, follow-ups, parts); default:
            one over the corpus's words.
        store: where the index lives instead of ``index_dir``: an
            :class:`~egov_qa.index.stores.IndexStore`, or a spec (``PATH.db`` for Milvus
            Lite, ``http://HOST:PORT`` for a Milvus server, else a folder). An index in
            Milvus may be changed by another process: it is reloaded, before a
            question, once a save has landed (checked at most every ``refresh_seconds``).

    Raises:
        CorpusError, ModelLoadError, EgovQAError: the index could not be loaded or built.
        ReaderModelError: the reader model file is missing or not valid.
    """

    def __init__(
        self,
        corpus_dir: Path | str | None = None,
        index_dir: Path | str | None = None,
        *,
        model: str | None = None,
        embedder: embedding.Embedder | None = None,
        top_k: int = 3,
        threshold: float | None = None,
        reader: ReaderModel | Path | str | None = None,
        progress: Callable[[str], None] | None = None,
        loader: DeckLoader | None = None,
        splitter: UnitSplitter | None = None,
        question_reader: QuestionReader | None = None,
        store: IndexStore | str | None = None,
        refresh_seconds: float = 2.0,
    ) -> None:
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a whole number of at least 1, not {top_k!r}")
        if threshold is not None and not _is_share(threshold):
            raise ValueError(f"threshold must be within [0, 1], not {threshold!r}")
        self.corpus_dir = Path(corpus_dir) if corpus_dir else default_corpus_dir()
        self.index_dir = Path(index_dir) if index_dir else index_dir_for(corpus_dir)
        self.store: IndexStore = open_store(store) if store is not None else LocalStore(self.index_dir)
        self.refresh_seconds = refresh_seconds
        self._refreshing = threading.Lock()
        self.top_k = top_k
        self.progress = progress or (lambda message: log.info("%s", message))
        reader_path = None
        if not isinstance(reader, ReaderModel):
            reader_path = Path(reader) if reader else default_reader_path()
            reader = load_reader_model(reader_path)
        # The answer scorer (onnxruntime, no torch) loads only for a reader that reranks with it, in
        # a thread while the index and the question embedder load: a tenth of a second less of a
        # cold ask on two cores (docs/speed.md).
        scorer = _in_background(AnswerScorer, scorer_dir_for(reader_path)) if reader.reranker is not None else None
        # The builder's embedder loads torch only if the index has to be (re)built.
        self.builder = IndexBuilder(embedder or embedding.load_embedder(model), loader, splitter)
        self.index = self._open()
        self._generation = self.store.generation()
        self._checked = time.monotonic()
        asker = embedder or self.store.question_embedder(self.index) or self.builder.embedder
        if reader_path is not None:
            warn_if_trained_with_another(reader, reader_path, asker.name)
        self.pipeline: Pipeline = build_pipeline(
            self.index, asker, reader, threshold, question_reader, scorer=scorer.result() if scorer else None
        )

    @property
    def threshold(self) -> float:
        return self.pipeline.threshold

    @property
    def embedder(self) -> embedding.Embedder:
        """What embeds questions: the index's ONNX export when it has one."""
        return self.pipeline.embedder

    @property
    def retriever(self) -> HybridRetriever:
        return self.pipeline.retriever

    @property
    def extractor(self) -> AnswerExtractor:
        assert self.pipeline.extractor is not None  # an assistant's pipeline always has its reader
        return self.pipeline.extractor

    @property
    def question_reader(self) -> QuestionReader:
        return self.pipeline.reading

    def _open(self) -> Index:
        return open_index(self.builder, self.corpus_dir, self.store, self.progress)

    def refresh(self) -> bool:
        """Reload the index when another process saved a new one into a shared store (Milvus).

        A local folder is served by the process that builds it, so it is not
        checked. Returns whether the index was reloaded.
        """
        if isinstance(self.store, LocalStore) or time.monotonic() - self._checked < self.refresh_seconds:
            return False
        with self._refreshing:
            self._checked = time.monotonic()
            generation = self.store.generation()
            if generation is None or generation == self._generation:
                return False
            index = self.store.load()
            log.info("the index in %s changed (generation %s): reloaded", self.store.location, generation)
            self.index, self.pipeline, self._generation = index, self.pipeline.with_index(index), generation
            return True

    @property
    def decks(self) -> list[str]:
        """The corpus's deck files (their names relative to the corpus folder), in index order."""
        return list(dict.fromkeys(slide.source for slide in self.index.slides))

    def with_index(self, index: Index, corpus_dir: Path | None = None, index_dir: Path | None = None) -> Assistant:
        """A copy of this assistant that answers from ``index`` (its corpus rebuilt), sharing the models.

        ``corpus_dir`` and ``index_dir`` say where ``index`` came from and lives,
        when that is not where this assistant's index does.

        This assistant is left as it was, so a question it is answering finishes on
        the old index; whoever serves it replaces the one reference, and the next
        question gets the new index, retriever and extractor together.
        """
        other = copy.copy(self)
        other.index = index
        other.corpus_dir = Path(corpus_dir) if corpus_dir else self.corpus_dir
        other.index_dir = Path(index_dir) if index_dir else self.index_dir
        if index_dir and isinstance(self.store, LocalStore):
            other.store = LocalStore(other.index_dir)
        other._generation = other.store.generation()
        other.pipeline = self.pipeline.with_index(index)
        return other

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        threshold: float | None = None,
        deck: str | None = None,
        previous: str | None = None,
    ) -> Answer:
        """Answer ``question`` with a verbatim quote and its cited slides, or abstain.

        The question is read first (:mod:`egov_qa.answer.reading`): misspelled words are
        corrected to corpus words, a follow-up of ``previous`` is read with its
        context, and each part of a question that asks several things is answered
        on its own (``Answer.parts``). ``Answer.read_as`` says how it was read.

        Args:
            top_k: how many distinct slides to cite (default: the constructor's).
            threshold: overrides the abstention threshold for this call.
            deck: answer from this deck file only (default: every deck of the corpus).
            previous: the question asked before this one (as it was read), for a follow-up.

        Raises:
            QuestionError: the question (or the previous one) is empty or too long, ``top_k``
                or ``threshold`` is out of range, or ``deck`` is not in the corpus.
        """
        text = validate_question(question)
        self.refresh()
        before = None
        if previous is not None and (not isinstance(previous, str) or previous.strip()):
            try:
                before = validate_question(previous)
            except QuestionError as exc:
                raise QuestionError(f"the previous question cannot be used: {exc}") from exc
        k = self.top_k if top_k is None else top_k
        if not isinstance(k, int) or k < 1:
            raise QuestionError(f"top_k must be a whole number of at least 1, not {k!r}")
        if threshold is not None and not _is_share(threshold):
            raise QuestionError(f"threshold must be within [0, 1], not {threshold!r}")
        sources = None
        if deck:
            if deck not in self.decks:
                raise QuestionError(f"there is no deck {deck!r} in the corpus: choose one of {', '.join(self.decks)}")
            sources = {deck}
        return self.pipeline.answer(text, k, threshold, sources, before)

    def warm_up(self) -> None:
        """Answer one question now, so that the first person to ask waits no longer than the next.

        The embedding runtime's first run and the answer scorer's caches cost
        more than later questions; an app calls this before it says it is ready.
        """
        self.ask(self.sample_question())

    def sample_question(self) -> str:
        """A question about the served corpus, made from its first titled slide (for a warm-up or a demo)."""
        title = next((s.title for s in self.index.slides if s.title.strip()), "")
        return f"What does the deck say about {title}?" if title else "What is this deck about?"

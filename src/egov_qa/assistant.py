"""The public entry point: ``Assistant(corpus_dir, index_dir).ask(question) -> Answer``."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from egov_qa import embedder as embedding
from egov_qa.documents import Answer, content_hash
from egov_qa.errors import IndexInvalidError, QuestionError
from egov_qa.extractor import AnswerExtractor
from egov_qa.features import FeatureMaker
from egov_qa.index import Index, IndexBuilder, index_lock, load_index, not_a_file, save_index
from egov_qa.loader import DeckLoader
from egov_qa.reader import Reader, ReaderModel, load_reader_model
from egov_qa.reading import QuestionReader, corpus_words
from egov_qa.retriever import HybridRetriever
from egov_qa.splitter import UnitSplitter

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_QUESTION_CHARS = 500
READER_ENV = "EGOV_QA_READER"


def _default_dir(name: str, env: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    shipped = PROJECT_ROOT / name
    return shipped if (PROJECT_ROOT / "corpus").is_dir() else Path.cwd() / name


def default_corpus_dir() -> Path:
    """``$EGOV_QA_CORPUS``, else the shipped ``corpus/``."""
    return _default_dir("corpus", "EGOV_QA_CORPUS")


def default_index_dir() -> Path:
    """``$EGOV_QA_INDEX``, else the project's ``index/``."""
    return _default_dir("index", "EGOV_QA_INDEX")


def index_dir_for(corpus_dir: Path | str | None) -> Path:
    """Where a corpus's index lives when none is named: the default index for the default
    corpus; for another, a folder of its own under ``index/corpora/``, named after the
    corpus folder, so that asking about one's own decks never writes over the shipped
    deck's index (nor one corpus's over another's)."""
    default = default_index_dir()
    if corpus_dir is None:
        return default
    corpus = Path(corpus_dir).resolve()
    if corpus == default_corpus_dir().resolve():
        return default
    return default / "corpora" / f"{corpus.name or 'root'}-{content_hash(str(corpus), length=8)}"


def default_reader_path() -> Path:
    """``$EGOV_QA_READER``, else ``evals/reader.json`` (written by ``egov-qa train``)."""
    return _default_dir("evals/reader.json", READER_ENV)


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
            ``$EGOV_QA_READER`` or ``evals/reader.json``).
        progress: called with a message when the index is being built.
        question_reader: reads questions (misspellings, follow-ups, parts); default:
            one over the corpus's words.

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
    ) -> None:
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a whole number of at least 1, not {top_k!r}")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], not {threshold!r}")
        self.corpus_dir = Path(corpus_dir) if corpus_dir else default_corpus_dir()
        self.index_dir = Path(index_dir) if index_dir else index_dir_for(corpus_dir)
        self.top_k = top_k
        self.progress = progress or (lambda message: log.info("%s", message))
        # The builder's embedder loads torch only if the index has to be (re)built.
        self.builder = IndexBuilder(embedder or embedding.load_embedder(model), loader, splitter)
        self.index = self._open()
        self.embedder = embedder or query_embedder(self.index, self.index_dir) or self.builder.embedder
        self.retriever = HybridRetriever(self.index, self.embedder)
        if not isinstance(reader, ReaderModel):
            reader = load_reader_model(Path(reader) if reader else default_reader_path(), self.embedder.name)
        self.extractor = AnswerExtractor(self.index, Reader(reader), FeatureMaker(self.index, self.embedder), threshold)
        self.question_reader = question_reader or QuestionReader(corpus_words(s.text for s in self.index.slides))

    @property
    def threshold(self) -> float:
        return self.extractor.threshold

    def _open(self) -> Index:
        return open_index(self.builder, self.corpus_dir, self.index_dir, self.progress)

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
        other.retriever = HybridRetriever(index, self.embedder, self.retriever.rrf_k, self.retriever.pool)
        other.extractor = AnswerExtractor(
            index, self.extractor.reader, FeatureMaker(index, self.embedder), self.extractor.threshold
        )
        # A new deck's words are words of the corpus now: never "corrected" to old ones.
        reader = self.question_reader
        other.question_reader = QuestionReader(
            corpus_words(s.text for s in index.slides), reader.common, reader.min_length, reader.max_parts
        )
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

        The question is read first (:mod:`egov_qa.reading`): misspelled words are
        corrected to corpus words, a follow-up of ``previous`` is read with its
        context, and each part of a question that asks several things is answered
        on its own (``Answer.parts``). ``Answer.read_as`` says how it was read.

        Args:
            top_k: how many distinct slides to cite (default: the constructor's).
            threshold: overrides the abstention threshold for this call.
            deck: answer from this deck file only (default: every deck of the corpus).
            previous: the question asked before this one (as it was read), for a follow-up.

        Raises:
            QuestionError: the question (or the previous one) is empty or too long, or
                ``deck`` is not in the corpus.
        """
        text = validate_question(question)
        before = None
        if previous is not None and (not isinstance(previous, str) or previous.strip()):
            try:
                before = validate_question(previous)
            except QuestionError as exc:
                raise QuestionError(f"the previous question cannot be used: {exc}") from exc
        k = self.top_k if top_k is None else top_k
        if not isinstance(k, int) or k < 1:
            raise QuestionError(f"top_k must be a whole number of at least 1, not {k!r}")
        sources = None
        if deck:
            if deck not in self.decks:
                raise QuestionError(f"there is no deck {deck!r} in the corpus: choose one of {', '.join(self.decks)}")
            sources = {deck}
        reading = self.question_reader.read(text, before)
        answers = [
            self.extractor.extract(self.retriever.retrieve(part, sources), top_k=k, threshold=threshold)
            for part in reading.questions
        ]
        return replace(
            answers[0],
            question=text,
            read_as=reading.text if reading.changed else None,
            corrections=reading.corrections,
            follow_up=reading.follow_up,
            parts=tuple(answers) if reading.parts else (),
        )

    def warm_up(self) -> None:
        """Answer one question now, so that the first person to ask waits no longer than the next.

        The embedding runtime's first run and the answer scorer's caches cost
        more than later questions; an app calls this before it says it is ready.
        """
        self.ask(WARM_UP_QUESTION)


WARM_UP_QUESTION = "How long does export customs clearance take now?"


def query_embedder(index: Index, index_dir: Path) -> embedding.Embedder | None:
    """The ONNX export saved with ``index`` (in ``index_dir``), which embeds without torch; None if none."""
    settings = index.manifest.get("query_model")
    if not settings or embedding.ONNX_MODEL not in index.manifest.get("files", {}):
        return None
    return embedding.OnnxEmbedder(Path(index_dir), index.manifest["model"], embedding.OnnxExport.from_dict(settings))


def open_index(
    builder: IndexBuilder, corpus_dir: Path, index_dir: Path, progress: Callable[[str], None] | None = None
) -> Index:
    """The index of ``corpus_dir`` in ``index_dir``: loaded, or built when missing, stale or damaged."""
    not_a_file(index_dir)
    expected = builder.fingerprint(corpus_dir)
    try:
        return load_index(index_dir, expected)
    except IndexInvalidError as exc:
        if progress is not None:
            progress(f"{exc}; building the index (this takes a moment)")
        return build_index(builder, corpus_dir, index_dir, expected)


def build_index(
    builder: IndexBuilder,
    corpus_dir: Path,
    index_dir: Path,
    expected: dict | None = None,
    show_progress: bool | None = None,
) -> Index:
    """Build and save the index under the folder's lock.

    Another process may have built it while this one waited for the lock; then
    that index is loaded instead of building it twice. The index that was there
    lends the vectors of passages that did not change, and a failed build leaves
    it untouched.
    """
    with index_lock(Path(index_dir)):
        if expected is not None:
            try:
                return load_index(index_dir, expected)
            except IndexInvalidError:
                pass
        try:
            previous = load_index(index_dir)
        except IndexInvalidError:
            previous = None
        index = builder.build(corpus_dir, show_progress, previous)
        save_index(index, index_dir)
        return index

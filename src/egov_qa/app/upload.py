"""Adding a deck to the corpus being served: checked, copied in, indexed, and asked about at once.

A file is checked before anything is written: its type, its size, its name, and a
read by the corpus's own loader (a deck the loader cannot read is refused with the
loader's message). It is then copied into the corpus folder under its own name,
atomically, and the index is rebuilt the normal way (under the index's lock, saved
atomically). Until the new index is saved, questions are answered from the old
one; then the assistant answering from the new index is served in its place. A
failed build removes the copied file, and the old index stays as it was.

A name already in the corpus is refused rather than versioned: a deck's file name
is what every answer cites, and two decks named ``deck.pdf`` and ``deck-2.pdf``
with the same title would leave a reader unable to tell which was meant.

The shipped corpus and the eval sets' deck folders are measured by their eval
sets, so a deck is never added to them: it goes to a workspace of one's own
(``data/decks/``, beside the feedback log), which starts as a copy of the decks
being served, with its index in ``data/index/``; from then on the app serves the
workspace. ``python app.py --corpus data/decks --index data/index`` serves it again after a restart.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from egov_qa.app.shelf import DeckShelf
from egov_qa.assistant import Assistant
from egov_qa.errors import DeckUploadError
from egov_qa.evaluation.examples import eval_set_for
from egov_qa.files import file_sha256
from egov_qa.index.opener import build_index
from egov_qa.index.stores import LocalStore
from egov_qa.ingest.loader import MAX_FILE_BYTES, size_text

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".pdf", ".pptx", ".md", ".txt")
# The loader's own limit per deck file: a deck the app takes is one the folder would take.
MAX_UPLOAD_BYTES = MAX_FILE_BYTES
_KINDS = "PDF (.pdf), PowerPoint (.pptx), Markdown (.md) or text (.txt)"


def limits_text(max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """The upload limits in words, as the app states them."""
    return f"{_KINDS}, up to {max_bytes // (1024 * 1024)} MB"


def measured(corpus_dir: Path, evals_dir: Path, shipped_corpus: Path) -> bool:
    """Whether ``corpus_dir`` is measured by an eval set (the shipped corpus, an eval set's decks).

    A deck added there would change what the set measures, and the figures
    reported for it would no longer reproduce: decks go to a workspace instead.
    """
    corpus = Path(corpus_dir).resolve()
    return corpus == Path(shipped_corpus).resolve() or eval_set_for(corpus, evals_dir, shipped_corpus) is not None


def workspace_note(workspace: Path) -> str:
    """What the app says about where decks added to a measured corpus go."""
    return (
        f"This corpus is measured by an eval set, so it stays as it is: a deck you add goes to "
        f"{workspace / 'decks'} with a copy of the decks here, and the app answers from there. "
        f"Start the app with --corpus {workspace / 'decks'} --index {workspace / 'index'} to ask them again later."
    )


@dataclass(frozen=True)
class CheckedDeck:
    """A deck file that may be added: its name in the corpus, its slides, and the loader's warnings."""

    name: str
    slides: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class AddedDecks:
    """Decks added together, the files refused with why, and the assistant serving them (None if none was added)."""

    added: tuple[CheckedDeck, ...]
    refused: tuple[str, ...]
    assistant: Assistant | None


@dataclass(frozen=True)
class AddedDeck:
    """A deck added to the corpus, and the assistant that answers from the index holding it."""

    name: str
    slides: int
    warnings: tuple[str, ...]
    assistant: Assistant


class DeckAdder:
    """Adds one deck file at a time to the corpus of the assistant being served.

    Args:
        current: returns the assistant being served.
        serve: puts an assistant in its place (called with the one answering from
            the new index, once it is saved).
        max_bytes: a larger file is refused (default: the loader's limit per deck).
        suffixes: the file types taken.
        workspace: where decks go when the served corpus is measured by an eval
            set (``workspace/decks``, indexed in ``workspace/index``); None refuses them.
        measured: whether a corpus folder is measured by an eval set (default: never).
        shelf: where the decks' given titles and added times are kept (default: nowhere).

    Raises:
        ValueError: a setting that is not valid (the message names it).
    """

    def __init__(
        self,
        current: Callable[[], Assistant],
        serve: Callable[[Assistant], None],
        max_bytes: int = MAX_UPLOAD_BYTES,
        suffixes: tuple[str, ...] = UPLOAD_SUFFIXES,
        workspace: Path | None = None,
        measured: Callable[[Path], bool] | None = None,
        shelf: DeckShelf | None = None,
    ) -> None:
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1:
            raise ValueError(f"max_bytes must be a whole number of at least 1, not {max_bytes!r}")
        if isinstance(suffixes, str) or not suffixes:
            raise ValueError(f"suffixes must be a tuple of file suffixes, not {suffixes!r}")
        self.current = current
        self.serve = serve
        self.max_bytes = max_bytes
        self.suffixes = tuple(s.lower() for s in suffixes)
        self.workspace = Path(workspace) if workspace else None
        self.measured = measured or (lambda corpus: False)
        self.shelf = shelf
        # One deck at a time: the name check, the copy, the build and the swap go together.
        self._lock = threading.Lock()

    def target(self, assistant: Assistant) -> tuple[Path, Path]:
        """The corpus folder a deck is added to, and its index folder: the served ones, or the
        workspace's when the served corpus is measured by an eval set.

        Raises:
            DeckUploadError: the served corpus is measured and there is no workspace.
        """
        corpus = Path(assistant.corpus_dir)
        if not self.measured(corpus):
            return corpus, Path(assistant.index_dir)
        if self.workspace is None:
            raise DeckUploadError("this corpus is measured by an eval set: start the app on a folder of your own")
        return self.workspace / "decks", self.workspace / "index"

    def check(
        self, path: Path, name: str | None = None, assistant: Assistant | None = None, replacing: bool = False
    ) -> CheckedDeck:
        """Check the file ``path`` (named ``name``, default its own name) as a deck of the served corpus
        (``replacing`` the deck of that name, which then may be there).

        Nothing is written. Raises:
            DeckUploadError: the type, size or name is refused, or the loader cannot
                read a slide from it (with the loader's message).
        """
        assistant = assistant or self.current()
        loader = assistant.builder.loader
        path = Path(path)
        name = Path(name or path.name).name.strip()
        if not name or name.startswith("."):
            raise DeckUploadError(
                f"{name or 'the file'} has no usable name: give the file a name that does not start with a dot"
            )
        if Path(name).suffix.lower() not in self.suffixes:
            raise DeckUploadError(f"{name} is not a deck the app reads: upload a {_KINDS} file")
        if any(fnmatch.fnmatch(name, pattern) for pattern in loader.exclude):
            raise DeckUploadError(
                f"{name} would not be read as a deck (the corpus leaves out files named like it: "
                f"{', '.join(loader.exclude)}): rename the file"
            )
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise DeckUploadError(f"{name} cannot be read ({exc.strerror or exc}): upload it again") from exc
        limit = min(self.max_bytes, loader.max_file_bytes)
        if size > limit:
            raise DeckUploadError(
                f"{name} is {size_text(size)}, over the limit of {size_text(limit)} per deck: "
                "split it into smaller decks"
            )
        corpus = self.target(assistant)[0]
        if not corpus.is_dir():
            corpus = Path(assistant.corpus_dir)  # the workspace starts as a copy of the served decks
        if (corpus / name).exists() and not replacing:
            raise DeckUploadError(
                f"there is already a deck named {name} in the corpus: rename the file to add it as another deck"
            )
        digest = _hash(path)
        same = next((p for p in loader.files(corpus) if _hash(p) == digest), None)
        if same is not None:
            raise DeckUploadError(f"{name} is already in the corpus, as {same.relative_to(corpus).as_posix()}")
        slides, warnings = loader.load_file(path, name)
        if not slides:
            reason = warnings[0].removeprefix(f"skipped {name}: ") if warnings else "it holds no text"
            raise DeckUploadError(f"{name} was not added: {reason}")
        return CheckedDeck(name, len(slides), tuple(warnings))

    def add(self, path: Path, name: str | None = None) -> AddedDeck:
        """Check ``path``, copy it into the corpus as ``name`` and rebuild the index (its progress bars
        are tqdm's, shown even without a terminal, so that the app can show them in the page); then serve it.

        Raises:
            DeckUploadError: the file is refused (nothing copied), it cannot be copied,
                or indexing failed (the copy removed, the old index kept).
        """
        with self._lock:
            assistant = self.current()
            checked = self.check(path, name, assistant)
            corpus, index_dir = self.target(assistant)
            if not corpus.is_dir():
                _copy_decks(assistant, corpus)
            target = corpus / checked.name
            _copy_new(Path(path), target)
            log.warning("added %s to %s; indexing the corpus", checked.name, corpus)
            try:
                index = self._build(assistant, corpus, index_dir)
                served = assistant.with_index(index, corpus, index_dir)
            except Exception as exc:
                # Whatever failed, the corpus goes back to what the saved index was built from.
                target.unlink(missing_ok=True)
                log.warning("indexing with %s failed; it was removed: %s", checked.name, exc)
                raise DeckUploadError(
                    f"{checked.name} was not added: indexing failed ({exc}); the corpus and its index are as they were"
                ) from exc
            except BaseException:
                target.unlink(missing_ok=True)
                raise
            self.serve(served)
            if self.shelf is not None:
                self.shelf.added(corpus, checked.name)
        return AddedDeck(checked.name, checked.slides, checked.warnings, served)

    def add_many(self, files: list[tuple[Path, str]]) -> AddedDecks:
        """Add several deck files (each a path and the name it is added as) with one index build.

        Each file is checked as :meth:`check` does; a refused file is said with why and the
        others are added. Raises:
            DeckUploadError: indexing failed (every copy removed, the old index kept).
        """
        with self._lock:
            assistant = self.current()
            checked: list[tuple[Path, CheckedDeck]] = []
            refused: list[str] = []
            for path, name in files:
                try:
                    deck = self.check(path, name, assistant)
                except DeckUploadError as exc:
                    refused.append(str(exc))
                    continue
                if any(deck.name == other.name for _, other in checked):
                    refused.append(f"{deck.name} was chosen twice: it is added once")
                    continue
                checked.append((Path(path), deck))
            if not checked:
                return AddedDecks((), tuple(refused), None)
            corpus, index_dir = self.target(assistant)
            if not corpus.is_dir():
                _copy_decks(assistant, corpus)
            copied: list[Path] = []

            def undo() -> None:
                for target in copied:
                    target.unlink(missing_ok=True)

            try:
                for path, deck in checked:
                    _copy_new(path, corpus / deck.name)
                    copied.append(corpus / deck.name)
            except DeckUploadError:
                undo()
                raise
            names = ", ".join(deck.name for _, deck in checked)
            log.warning("added %s to %s; indexing the corpus", names, corpus)
            served = self._rebuild(assistant, corpus, index_dir, undo, f"{names} were not added")
            if self.shelf is not None:
                for _, deck in checked:
                    self.shelf.added(corpus, deck.name)
        return AddedDecks(tuple(deck for _, deck in checked), tuple(refused), served)

    def remove(self, source: str) -> Assistant:
        """Remove the deck ``source`` from the corpus and rebuild the index; returns the assistant serving the rest.

        Raises:
            DeckUploadError: there is no such deck, it is the only one, or indexing failed
                (the deck put back, the old index kept).
        """
        with self._lock:
            assistant = self.current()
            self._served_deck(assistant, source)
            if len(assistant.decks) < 2:
                raise DeckUploadError(f"{source} is the only deck: add another deck before removing it")
            corpus, index_dir = self._writable(assistant)
            aside = _set_aside(corpus / source)
            served = self._rebuild(
                assistant, corpus, index_dir, lambda: os.replace(aside, corpus / source), f"{source} was not removed"
            )
            aside.unlink(missing_ok=True)
            if self.shelf is not None:
                self.shelf.forget(corpus, source)
        return served

    def replace(self, source: str, path: Path) -> AddedDeck:
        """Put the file ``path`` in the place of the deck ``source`` (same name, same type) and rebuild the index.

        Raises:
            DeckUploadError: there is no such deck, the file is refused (as :meth:`check`
                says), or indexing failed (the old deck put back, the old index kept).
        """
        with self._lock:
            assistant = self.current()
            self._served_deck(assistant, source)
            path = Path(path)
            if path.suffix.lower() != Path(source).suffix.lower():
                raise DeckUploadError(
                    f"{path.name} cannot replace {source}: a deck is replaced by a file of the same type "
                    f"({Path(source).suffix}); add it as a deck of its own instead"
                )
            corpus, index_dir = self._writable(assistant)
            checked = self.check(path, Path(source).name, assistant, replacing=True)
            aside = _set_aside(corpus / source)

            def undo() -> None:
                (corpus / source).unlink(missing_ok=True)
                os.replace(aside, corpus / source)

            try:
                _copy_new(path, corpus / source)
            except DeckUploadError:
                os.replace(aside, corpus / source)
                raise
            log.warning("replaced %s in %s; indexing the corpus", source, corpus)
            served = self._rebuild(assistant, corpus, index_dir, undo, f"{source} was not replaced")
            aside.unlink(missing_ok=True)
            if self.shelf is not None:
                self.shelf.added(corpus, source)
        return AddedDeck(source, checked.slides, checked.warnings, served)

    @staticmethod
    def _served_deck(assistant: Assistant, source: str) -> None:
        if source not in assistant.decks:
            raise DeckUploadError(f"there is no deck {source!r}: choose one of {', '.join(assistant.decks)}")

    def _writable(self, assistant: Assistant) -> tuple[Path, Path]:
        """The corpus folder to change and its index folder (the workspace, started when needed)."""
        corpus, index_dir = self.target(assistant)
        if not corpus.is_dir():
            _copy_decks(assistant, corpus)
        return corpus, index_dir

    @staticmethod
    def _build(assistant: Assistant, corpus: Path, index_dir: Path):
        """Index ``corpus`` after a change: into the served store when it is shared (Milvus), so the
        other app processes on it see the change too, else into ``index_dir``."""
        shared = corpus == Path(assistant.corpus_dir) and not isinstance(assistant.store, LocalStore)
        return build_index(assistant.builder, corpus, assistant.store if shared else index_dir, show_progress=True)

    def _rebuild(
        self, assistant: Assistant, corpus: Path, index_dir: Path, undo: Callable[[], None], failed: str
    ) -> Assistant:
        """Rebuild the index of ``corpus`` and serve it; on any failure ``undo`` the change to the folder.

        Raises:
            DeckUploadError: indexing failed (the folder put back, the old index kept).
        """
        try:
            index = self._build(assistant, corpus, index_dir)
            served = assistant.with_index(index, corpus, index_dir)
        except Exception as exc:
            undo()
            log.warning("indexing failed; the corpus is as it was: %s", exc)
            raise DeckUploadError(
                f"{failed}: indexing failed ({exc}); the corpus and its index are as they were"
            ) from exc
        except BaseException:
            undo()
            raise
        self.serve(served)
        return served


def _set_aside(path: Path) -> Path:
    """Move a deck to a hidden file beside it (which the loader does not read); returns where it went.

    Raises:
        DeckUploadError: it cannot be moved.
    """
    aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.aside")
    try:
        os.replace(path, aside)
    except OSError as exc:
        raise DeckUploadError(
            f"{path.name} cannot be moved in {path.parent} ({exc.strerror or exc}): "
            "check that the folder can be written"
        ) from exc
    return aside


def _copy_decks(assistant: Assistant, corpus: Path) -> None:
    """Start the workspace ``corpus`` as a copy of the served decks, whole or not at all.

    Raises:
        DeckUploadError: the folder cannot be written.
    """
    source = Path(assistant.corpus_dir)
    staging = None
    try:
        corpus.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".decks-", dir=corpus.parent))
        for path in assistant.builder.loader.files(source):
            if not path.exists():  # a dangling link: nothing to copy, and the loader skips it anyway
                continue
            try:  # a deck the server cannot read is skipped, as the loader skips it; only writing fails here
                deck = path.open("rb")
            except OSError as exc:
                log.warning("%s is left out of the workspace: it cannot be read (%s)", path, exc.strerror or exc)
                continue
            destination = staging / path.relative_to(source)
            with deck:  # closed too when the folder or the copy cannot be made
                destination.parent.mkdir(parents=True, exist_ok=True)
                with destination.open("wb") as copy:
                    shutil.copyfileobj(deck, copy)
            shutil.copystat(path, destination)
        os.replace(staging, corpus)
        staging = None
    except OSError as exc:
        raise DeckUploadError(
            f"cannot start a workspace in {corpus} ({exc.strerror or exc}): check that the folder can be written"
        ) from exc
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _hash(path: Path) -> str | None:
    """The file's hash, or None when it cannot be read (the loader then says why)."""
    try:
        return file_sha256(path)
    except OSError:
        return None


def _copy_new(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` through a hidden file beside it; never replaces a file at ``target``.

    Raises:
        DeckUploadError: the copy failed, or ``target`` appeared meanwhile.
    """
    handle, staging = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".upload", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out, open(source, "rb") as data:
            shutil.copyfileobj(data, out)
            out.flush()
            os.fsync(out.fileno())
        try:
            # A hard link fails if the name is taken: no other writer's file is replaced.
            os.link(staging, target)
        except FileExistsError as exc:
            raise DeckUploadError(f"there is already a deck named {target.name} in the corpus") from exc
        except OSError:
            if target.exists():
                raise DeckUploadError(f"there is already a deck named {target.name} in the corpus") from None
            os.replace(staging, target)
    except DeckUploadError:
        raise
    except OSError as exc:
        raise DeckUploadError(
            f"{target.name} could not be copied into {target.parent} ({exc.strerror or exc}): "
            "check that the folder can be written"
        ) from exc
    finally:
        Path(staging).unlink(missing_ok=True)

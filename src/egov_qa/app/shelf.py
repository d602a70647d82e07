"""The decks' shelf: the name each deck is shown by and when it was added, kept beside the feedback log.

A deck is shown by a short name: a title its user gave it, else its file name
without the extension ("egov_korea" for ``egov_korea.md``). The titles given and
the times decks were added live in one small JSON file (``decks.json`` in the data
folder), keyed by the corpus folder, so the decks themselves and the corpus's
index are never touched by a rename. The file is rewritten atomically; a file that
cannot be read is set aside with a warning rather than stopping the app.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from egov_qa.app.render import deck_name
from egov_qa.errors import DeckUploadError
from egov_qa.files import write_atomic

log = logging.getLogger(__name__)

SHELF_FILE = "decks.json"
MAX_TITLE_CHARS = 60


@dataclass(frozen=True)
class ShelvedDeck:
    """A served deck as the app lists it: its file, short name, slide count and when it was added."""

    source: str
    name: str
    slides: int
    added: str | None


class DeckShelf:
    """Reads and writes the decks' given titles and added times.

    Args:
        path: the JSON file (``data/decks.json``).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("the deck names in %s cannot be read (%s): decks are shown by their file names", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _key(corpus: Path) -> str:
        return str(Path(corpus).resolve())

    def _entries(self, corpus: Path) -> dict:
        decks = self._read().get(self._key(corpus), {})
        return decks if isinstance(decks, dict) else {}

    def names(self, corpus: Path) -> dict[str, str]:
        """The titles given to the decks of ``corpus`` (deck file → title)."""
        entries = self._entries(corpus)
        return {s: str(e["title"]) for s, e in entries.items() if isinstance(e, dict) and e.get("title")}

    def decks(self, corpus: Path, sources: list[str], counts: dict[str, int]) -> list[ShelvedDeck]:
        """The served decks ``sources`` of ``corpus`` with their names, slide counts and added times."""
        entries, names = self._entries(corpus), self.names(corpus)
        shelved = []
        for source in sources:
            entry = entries.get(source)
            added = entry.get("added") if isinstance(entry, dict) else None
            shelved.append(ShelvedDeck(source, deck_name(source, names), counts.get(source, 0), added))
        return shelved

    def _update(self, corpus: Path, change: Callable[[dict], object]) -> None:
        """Apply ``change`` to the corpus's entries and rewrite the file atomically."""
        with self._lock:
            data = self._read()
            decks = data.get(self._key(corpus))
            if not isinstance(decks, dict):
                decks = data[self._key(corpus)] = {}
            change(decks)
            try:
                write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
            except OSError as exc:
                raise DeckUploadError(
                    f"the deck names cannot be saved in {self.path} ({exc.strerror or exc}): check that the folder "
                    "can be written"
                ) from exc

    def _set(self, corpus: Path, source: str, **fields: str | None) -> None:
        def change(decks: dict) -> None:
            kept = decks.get(source)
            entry: dict = kept if isinstance(kept, dict) else {}
            for field, value in fields.items():
                if value is None:
                    entry.pop(field, None)
                else:
                    entry[field] = value
            decks[source] = entry

        self._update(corpus, change)

    def added(self, corpus: Path, source: str, title: str | None = None) -> None:
        """Note that ``source`` was added to ``corpus`` now (with the title given to it, if any)."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        fields = {"added": stamp}
        if title and clean_title(title):
            fields["title"] = clean_title(title)
        self._set(corpus, source, **fields)

    def rename(self, corpus: Path, source: str, title: str) -> str:
        """Show ``source`` as ``title`` from now on (an empty title goes back to the file's name);
        returns the name it is shown by.

        Raises:
            DeckUploadError: the title is too long or cannot be saved.
        """
        cleaned = clean_title(title)
        self._set(corpus, source, title=cleaned or None)
        return cleaned or deck_name(source)

    def forget(self, corpus: Path, source: str) -> None:
        """Drop what is kept about ``source`` (it was removed from ``corpus``)."""
        self._update(corpus, lambda decks: decks.pop(source, None))


def clean_title(title: str) -> str:
    """A deck title as it is kept: on one line, trimmed.

    Raises:
        DeckUploadError: it is longer than :data:`MAX_TITLE_CHARS`.
    """
    cleaned = " ".join(str(title or "").split())
    if len(cleaned) > MAX_TITLE_CHARS:
        raise DeckUploadError(
            f"the title is {len(cleaned)} characters long; the limit is {MAX_TITLE_CHARS}: give a shorter one"
        )
    return cleaned

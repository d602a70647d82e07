"""What the chat says about the corpus it serves: its title, the input's hint and example questions.

All of it comes from the corpus: decks are shown by the titles given to them or
their file names (a single deck by its first slide's title), and example questions
come from the corpus's eval set when there is one (the shipped deck's
``evals/known_facts.jsonl``, or ``evals/sets/NAME.jsonl`` for the decks in
``evals/decks/NAME/``), else from each deck's eval set or its slide titles.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from egov_qa.app.render import deck_name
from egov_qa.documents import Slide
from egov_qa.errors import EgovQAError
from egov_qa.evaluation.examples import EXAMPLE_COUNT, eval_set_for, example_questions
from egov_qa.evaluation.scoring import find_suites
from egov_qa.files import file_sha256

log = logging.getLogger(__name__)

# Punctuation a title slide leaves at the end of its first line ("Annual Report :").
_TRAILING = " :;,-–—|·"
# The page title names this many decks, then says how many more.
SHOWN_DECKS = 3


@dataclass(frozen=True)
class CorpusGuide:
    """The words the chat shows for a corpus.

    ``decks`` pairs each deck file with its short name, in index order.
    """

    title: str
    placeholder: str
    examples: tuple[str, ...]
    decks: tuple[tuple[str, str], ...]


def deck_title(slides: list[Slide], source: str) -> str:
    """A deck's title: its first slide's title, else the file's name without its suffix."""
    first = next((s for s in slides if s.source == source), None)
    title = (first.title if first else "").strip().rstrip(_TRAILING).strip()
    return title or Path(source).stem


def describe(
    slides: list[Slide],
    corpus_dir: Path,
    evals_dir: Path,
    shipped_corpus: Path,
    names: Mapping[str, str] | None = None,
) -> CorpusGuide:
    """The chat's words for the corpus in ``corpus_dir`` whose slides are ``slides``.

    ``names`` holds the titles given to decks; the others are shown by their file names
    without the extension. One deck is named by the title given to it, else by its first
    slide's title; several decks by their short names. The examples come from the
    corpus's eval set, else from each deck's (the eval set whose deck folder holds a file
    of that name), else from the deck's slide titles.
    """
    sources = list(dict.fromkeys(s.source for s in slides))
    decks = tuple((source, deck_name(source, names)) for source in sources)
    if len(decks) == 1:
        name = (names or {}).get(sources[0]) or deck_title(slides, sources[0])
        title, placeholder = f"{name}: ask the deck", f"Ask about {name}…"
    else:
        shown = [name for _, name in decks[:SHOWN_DECKS]]
        rest = len(decks) - len(shown)
        if rest:
            listed = f"{', '.join(shown)} and {rest} more"
        else:
            listed = f"{', '.join(shown[:-1])} and {shown[-1]}"
        title, placeholder = f"Ask {listed}", f"Ask about these {len(decks)} decks…"
    examples = example_questions(eval_set_for(corpus_dir, evals_dir, shipped_corpus))
    if not examples:
        examples = _deck_examples(slides, decks, corpus_dir, evals_dir, shipped_corpus)
    return CorpusGuide(title, placeholder, examples, decks)


def _deck_examples(
    slides: list[Slide], decks: tuple[tuple[str, str], ...], corpus_dir: Path, evals_dir: Path, shipped_corpus: Path
) -> tuple[str, ...]:
    """Examples taken in turn from each deck: the questions of the eval set whose deck folder holds the
    same file (same name, same bytes), else questions on the deck's slide titles."""
    try:
        suites = find_suites(evals_dir, shipped_corpus)
    except EgovQAError:
        suites = []
    per_deck = []
    for source, name in decks:
        suite = next((s for s in suites if _same_file(Path(s.corpus) / source, Path(corpus_dir) / source)), None)
        asked = list(example_questions(suite.eval_set, EXAMPLE_COUNT)) if suite else []
        if not asked:
            titles = [s.title.strip() for s in slides if s.source == source and s.number > 1 and s.title.strip()]
            picked = list(dict.fromkeys(titles))
            spread = dict.fromkeys(picked[len(picked) * i // 3] for i in (1, 2)) if picked else {}
            asked = [f"What does {name} say about {t}?" for t in spread]
        per_deck.append(asked[: max(1, EXAMPLE_COUNT // max(1, len(decks)))])
    mixed = [q for row in zip_longest(*per_deck) for q in row if q]
    return tuple(dict.fromkeys(mixed))[:EXAMPLE_COUNT]


def _same_file(one: Path, other: Path) -> bool:
    """Whether both files exist and hold the same bytes."""
    try:
        return one.is_file() and other.is_file() and file_sha256(one) == file_sha256(other)
    except OSError:
        return False

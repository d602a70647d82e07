"""What the chat says about the corpus it serves: its title, the input's hint and example questions.

All of it comes from the corpus: deck titles from the decks' first slides, and
example questions from the corpus's eval set when there is one (the shipped
deck's ``evals/known_facts.jsonl``, or ``evals/sets/NAME.jsonl`` for the decks
in ``evals/decks/NAME/``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from egov_qa.documents import Slide
from egov_qa.evaluation.examples import eval_set_for, example_questions

log = logging.getLogger(__name__)

# Punctuation a title slide leaves at the end of its first line ("Annual Report :").
_TRAILING = " :;,-–—|·"


@dataclass(frozen=True)
class CorpusGuide:
    """The words the chat shows for a corpus.

    ``decks`` pairs each deck file with its title, in index order.
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


def describe(slides: list[Slide], corpus_dir: Path, evals_dir: Path, shipped_corpus: Path) -> CorpusGuide:
    """The chat's words for the corpus in ``corpus_dir`` whose slides are ``slides``."""
    sources = list(dict.fromkeys(s.source for s in slides))
    decks = tuple((source, deck_title(slides, source)) for source in sources)
    if len(decks) == 1:
        name = decks[0][1]
        title, placeholder = f"{name}: ask the deck", f"Ask about {name}…"
    else:
        title, placeholder = f"Ask {len(decks)} decks", f"Ask about these {len(decks)} decks…"
    examples = example_questions(eval_set_for(corpus_dir, evals_dir, shipped_corpus))
    return CorpusGuide(title, placeholder, examples, decks)

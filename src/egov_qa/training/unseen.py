"""Retrieval on articles nobody tuned on: what the encoder tuning must not cost.

The encoder tuning is fit on the eval sets' questions, and people ask about decks of
every field. A tuning that pulls the model toward our decks' questions can rank the
right slide lower everywhere else, so before a tuning ships, ``egov-qa train``
measures the hybrid retrieval on the SQuAD pool's held-out articles as decks (one
slide per paragraph, :func:`egov_qa.evaluation.squad.write_decks`): how often each
question's own paragraph is the first slide retrieved (recall@1) and among the first
five (recall@5), through the model as published and as tuned. A tuning that ranks
fewer of them first or in the first five than the published model (by more than
:data:`TOLERANCE`) is not shipped: the model is used as published, and the reader is
fit through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from egov_qa.answer.pipeline import build_pipeline
from egov_qa.evaluation import squad
from egov_qa.index.embedder import Embedder
from egov_qa.index.opener import open_index, query_embedder
from egov_qa.index.store import IndexBuilder

# A difference smaller than this is taken as none: about one standard error of the difference
# of two recalls near 0.8 over the held-out articles' 1,867 questions.
TOLERANCE = 0.005


@dataclass(frozen=True)
class Retrieval:
    """How often a question's own slide comes first, and among the first five."""

    recall_at_1: float
    recall_at_5: float
    questions: int


def retrieval(
    embedder: Embedder,
    articles: dict[str, list[squad.Paragraph]],
    folder: Path,
    progress: Callable[[str], None] = lambda message: None,
) -> Retrieval:
    """Index ``articles`` as decks in ``folder`` through ``embedder`` and ask each question of them.

    The decks are written to ``folder/decks`` and indexed in ``folder/index``; an index
    already there for the same decks and model is reused.
    """
    corpus = squad.write_decks(articles, Path(folder) / "decks")
    index_dir = Path(folder) / "index"
    index = open_index(IndexBuilder(embedder), corpus, index_dir, progress)
    retriever = build_pipeline(index, query_embedder(index, index_dir) or embedder).retriever
    first = top5 = asked = 0
    for title, paragraphs in articles.items():
        for number, paragraph in enumerate(paragraphs, 1):
            target = (f"{title}.md", number)
            for question in paragraph.questions:
                ranked = [(hit.slide.source, hit.slide.number) for hit in retriever.retrieve(question.text).slides[:5]]
                asked += 1
                first += bool(ranked) and ranked[0] == target
                top5 += target in ranked
    if not asked:
        raise ValueError("no question to measure retrieval on")
    return Retrieval(first / asked, top5 / asked, asked)


def cost(published: Retrieval, tuned: Retrieval, tolerance: float = TOLERANCE) -> str | None:
    """What the tuning costs on the unseen articles, in words, or None when it costs nothing."""
    lost = [
        f"{name} {getattr(tuned, field):.3f} against {getattr(published, field):.3f} as published"
        for name, field in (("recall@1", "recall_at_1"), ("recall@5", "recall_at_5"))
        if getattr(tuned, field) < getattr(published, field) - tolerance
    ]
    return "; ".join(lost) or None


def record(published: Retrieval, tuned: Retrieval, tolerance: float = TOLERANCE) -> dict:
    """The check as the training record keeps it."""
    return {
        "articles": "the SQuAD pool's held-out articles as decks, each question against its paragraph's slide",
        "published": asdict(published),
        "tuned": asdict(tuned),
        "tolerance": tolerance,
        "cost": cost(published, tuned, tolerance),
    }

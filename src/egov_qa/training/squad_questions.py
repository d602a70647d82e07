"""SQuAD articles' questions, asked as the eval sets are, to fit the reader on besides them.

The eval sets hold some 960 questions, and few of their unanswerable ones are near misses
(the deck talks about the subject but not the name or number asked). Half of the SQuAD
articles the answer scorer never saw (:func:`squad.reader_articles`), each a deck of one
slide per paragraph, give the reader some 1,300 more: each question, and the near miss
made from it (a name or number changed to one its article lacks). They are asked through
the index and the scorer the reader serves with, and each article is a group of its own,
so the reader's held-out fit (the reranker, the confidence, the threshold) learns from
them too. They are never reported (``Asked.fit_only``); the other half of those articles,
which nothing trained on, is what ``egov-qa squad`` measures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from egov_qa.answer.pipeline import build_pipeline
from egov_qa.answer.scorer import AnswerScorer
from egov_qa.evaluation import squad
from egov_qa.evaluation.scoring import EvalItem
from egov_qa.index.embedder import Embedder
from egov_qa.index.opener import open_index, query_embedder
from egov_qa.index.store import IndexBuilder
from egov_qa.training.fit import Asked, ask_all, scored

# Before an article's title in the suite name of its questions: "squad:Oxygen".
SUITE_PREFIX = "squad:"


def eval_items(articles: dict[str, list[squad.Paragraph]], seed: int = 0) -> dict[str, list[EvalItem]]:
    """Each article's questions and near misses (:func:`squad.asked_questions`) as eval items: an
    answerable one's evidence is the sentence of its paragraph that holds its first answer."""
    contexts = {q.id: p.context for paragraphs in articles.values() for p in paragraphs for q in p.questions}
    items: dict[str, list[EvalItem]] = {}
    for title, question in squad.asked_questions(articles, seed):
        if question.answers:
            context = contexts[question.id]
            found = squad.answer_sentence(context, question.starts[0])
            evidence = context[found[0] : found[1]] if found else question.answers[0]
            item = EvalItem(question.id, question.text, question.answers, evidence, True, type="squad")
        else:
            item = EvalItem(question.id, question.text, (), "", False, type="near-miss")
        items.setdefault(title, []).append(item)
    return items


def squad_asked(
    encoder: Embedder,
    scorer_dir: Path | None,
    folder: Path,
    progress: Callable[[str], None] = lambda message: None,
    articles: dict[str, list[squad.Paragraph]] | None = None,
) -> list[Asked]:
    """The reader articles' questions asked through ``encoder``'s index of their decks (kept in
    ``folder``), with the scorer in ``scorer_dir`` reading their candidates (None: no scorer).

    ``articles`` defaults to :func:`squad.reader_articles` of the SQuAD pool.
    """
    if articles is None:
        pool = squad.load_articles()
        articles = {t: pool[t] for t in sorted(squad.reader_articles(list(pool)))}
    corpus = squad.write_decks(articles, folder / "decks")
    index = open_index(IndexBuilder(encoder), corpus, folder / "index", progress)
    pipeline = build_pipeline(index, query_embedder(index, folder / "index") or encoder)
    asked: list[Asked] = []
    for title, items in eval_items(articles).items():
        progress(f"asking the SQuAD article {title} ({len(items)} questions) to fit the reader on")
        asked += [replace(a, fit_only=True) for a in ask_all(SUITE_PREFIX + title, items, pipeline)]
    if scorer_dir is not None:
        progress("reading the SQuAD articles' candidates with the answer scorer")
        asked = scored(asked, AnswerScorer(scorer_dir))
    return asked

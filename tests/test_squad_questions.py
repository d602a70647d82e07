"""SQuAD articles' questions asked to fit the reader on besides the eval sets, and never reported."""

import numpy as np
from conftest import FakeEmbedder
from test_squad import OTHER, PARAGRAPH

from egov_qa.answer.features import FEATURES
from egov_qa.evaluation import squad
from egov_qa.evaluation.scoring import EvalItem
from egov_qa.training import fit
from egov_qa.training.squad_questions import SUITE_PREFIX, eval_items, squad_asked

ARTICLES = {
    "Super_Bowl_50": [PARAGRAPH, OTHER],
    "Harbours": [
        squad.Paragraph(
            "Harbours",
            "The harbour of Busan opened in 1876. Ships from Osaka arrived weekly.",
            (squad.Question("h1", "When did the harbour of Busan open?", ("1876",), (32,)),),
        )
    ],
}


def test_each_question_is_an_item_with_its_answer_sentence_as_evidence_and_a_near_miss_beside_it():
    items = eval_items(ARTICLES)
    answerable = {i.id: i for got in items.values() for i in got if i.answerable}
    assert answerable["q1"].evidence == "The game was played in Santa Clara."
    assert answerable["h1"].evidence == "The harbour of Busan opened in 1876."
    misses = [i for got in items.values() for i in got if not i.answerable]
    assert misses and all(i.id.endswith("-near-miss") and i.type == "near-miss" for i in misses)
    assert all(i.question not in {a.question for a in answerable.values()} for i in misses)


def test_the_questions_are_asked_through_their_decks_index_as_fit_only_groups(tmp_path):
    asked = squad_asked(FakeEmbedder(), None, tmp_path, articles=ARTICLES)
    assert {a.suite for a in asked} == {SUITE_PREFIX + "Super_Bowl_50", SUITE_PREFIX + "Harbours"}
    assert all(a.fit_only and a.scores is None for a in asked)
    found = next(a for a in asked if a.item.id == "q1")
    right = [t.line for t, ok in zip(found.texts, found.right, strict=True) if ok]
    assert right and all("The game was played in Santa Clara." in line for line in right)
    assert sorted(p.name for p in (tmp_path / "decks").iterdir()) == ["Harbours.md", "Super_Bowl_50.md"]


def _asked(suite: str, right_at: int, fit_only: bool = False, n: int = 8) -> list[fit.Asked]:
    """``n`` questions of two candidates each, the right one at ``right_at`` (and the other half unanswerable)."""
    found = []
    for k in range(n):
        answerable = k % 2 == 0
        item = EvalItem(f"{suite}-{k}", f"question {k}?", ("x",) if answerable else (), "x", answerable)
        rows = np.zeros((2, len(FEATURES)))
        rows[0, FEATURES.index("dense")] = rows[1, FEATURES.index("lexical")] = 1.0 + 0.01 * k
        ok = np.array([right_at == 0, right_at == 1]) & answerable
        found.append(fit.Asked(suite, item, rows, ok, ok | (not answerable), True, fit_only=fit_only))
    return found


def test_fit_only_questions_join_every_fit_and_are_scored_in_none(tmp_path):
    sets = _asked("alpha", 0) + _asked("beta", 0)
    extra = _asked(SUITE_PREFIX + "A", 1, fit_only=True, n=16)
    figures = fit.leave_one_deck_out(sets + extra, folds=2)
    assert set(figures) == {"alpha", "beta"}
    with_extra, without = fit.fit_reader(sets + extra, 2), fit.fit_reader(sets, 2)
    assert with_extra.ranker.coef != without.ranker.coef
    model = fit.train([], sets + extra, "fake", tmp_path, folds=2)
    assert set(model.meta["leave_one_deck_out"]["sets"]) == {"alpha", "beta"}
    assert set(model.meta["in_sample"]) == {"alpha", "beta"}
    trained_on = model.meta["trained_on"]
    assert (trained_on["questions"], trained_on["squad_questions"]) == (16, 16)
    assert trained_on["squad_articles"] == [SUITE_PREFIX + "A"]

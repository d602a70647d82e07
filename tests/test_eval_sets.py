"""The eval sets of real decks: their brief, and every fact found on exactly its slide."""

from __future__ import annotations

import pytest
from conftest import ROOT

from egov_qa.evaluation.scoring import SHIPPED, find_suites, load_eval_set, plain
from egov_qa.ingest.loader import DeckLoader
from egov_qa.text import normalize

ALL_SUITES = find_suites(ROOT / "evals", ROOT / "corpus")
SUITES = [s for s in ALL_SUITES if s.name != SHIPPED]


def test_every_real_deck_has_an_eval_set():
    decks = sorted(p.name for p in (ROOT / "evals" / "decks").iterdir() if p.is_dir())
    assert decks == sorted(s.name for s in SUITES)
    assert len(SUITES) == 8


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_eval_set_meets_its_brief(suite):
    items = plain(load_eval_set(suite.eval_set))
    answerable = [i for i in items if i.answerable]
    unanswerable = [i for i in items if not i.answerable]
    assert len(answerable) >= 30
    assert sum(i.paraphrase for i in answerable) * 3 >= len(answerable)
    assert len(unanswerable) >= 10
    assert sum(i.type == "near-miss" for i in unanswerable) * 2 >= len(unanswerable)
    forms = {i.form for i in load_eval_set(suite.eval_set)} - {None}
    assert forms == {"follow-up", "typo", "two-part"}


def test_the_shipped_set_has_conversational_items_of_every_form():
    items = load_eval_set(ROOT / "evals" / "known_facts.jsonl")
    forms = [i.form for i in items if i.form]
    assert {form: forms.count(form) for form in set(forms)} == {"follow-up": 4, "typo": 4, "two-part": 4}


@pytest.mark.decks
@pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda s: s.name)
def test_every_fact_is_on_exactly_its_slide(suite):
    """Read as egov-qa reads the deck, each evidence string stands on its slide and no other,
    and each accepted answer stands on that slide (the shipped set gives the slide of its
    conversational items only). The sets were written from what the decks type: words read
    from a picture (a screenshot of code that also shows a field's name) do not count as
    another slide holding the evidence."""
    slides = DeckLoader().load(suite.corpus).slides
    texts = {s.number: normalize(s.text) for s in slides}
    typed = {
        s.number: normalize("\n".join(s.text[b.start : b.end] for b in s.blocks if b.origin != "picture"))
        for s in slides
    }
    problems = []
    for item in load_eval_set(suite.eval_set):
        if suite.name == SHIPPED and item.slide is None:
            continue
        facts = [(item.answers, item.evidence, item.slide), *((p.answers, p.evidence, p.slide) for p in item.parts)]
        for answers, evidence, slide in facts if item.answerable else []:
            found = [n for n, text in typed.items() if normalize(evidence) in text]
            if found != [slide]:
                problems.append(f"{item.id}: evidence {evidence!r} on slides {found}, expected [{slide}]")
            missing = [a for a in answers if normalize(a) not in texts.get(slide, "")]
            if missing:
                problems.append(f"{item.id}: answers {missing} not on slide {slide}")
    assert not problems, "\n".join(problems)

"""The gate: the committed reader is current, and its figures on decks it never saw meet the floors.

`make train` fits the reader and records in its file what it was fit on (the eval
sets' digests, the feature code's digest) and its figures on each deck left out of
the fit. This suite never retrains: it checks that record against the tree and
against the floors kept in ``evals/floors.json``.
"""

import json

import pytest
from conftest import ROOT

from egov_qa.answer.reader import load_reader_model
from egov_qa.evaluation.report import README_END, README_START, with_readme_figures
from egov_qa.evaluation.scoring import find_suites, load_eval_set
from egov_qa.paths import default_reader_path
from egov_qa.training.fit import eval_set_hashes, feature_code_digest

pytestmark = pytest.mark.gate

FLOORS = ROOT / "evals" / "floors.json"
EVAL_SET = ROOT / "evals" / "known_facts.jsonl"
# The floors file may be raised, never lowered below these.
LEAST = {
    "shipped": {"answer_accuracy": 0.5, "citation_accuracy": 0.85, "abstention_accuracy": 0.5},
    "real_decks_pooled": {"answer_accuracy": 0.45, "citation_accuracy": 0.82, "abstention_accuracy": 0.5},
}


@pytest.fixture(scope="module")
def record() -> dict:
    return load_reader_model(default_reader_path()).meta


def floors() -> dict:
    return json.loads(FLOORS.read_text(encoding="utf-8"))


def below(figures: dict, wanted: dict) -> dict:
    return {name: (round(figures[name], 3), floor) for name, floor in wanted.items() if figures[name] < floor}


def test_the_floors_are_no_lower_than_required():
    found = floors()
    for group, least in LEAST.items():
        assert set(found[group]) == set(least)
        assert not below(found[group], least), f"{group}: a floor under the least allowed"


def test_the_committed_reader_was_fit_on_the_committed_eval_sets(record):
    hashes = eval_set_hashes(find_suites(ROOT / "evals", ROOT / "corpus"), ROOT)
    assert record["eval_sets"] == hashes, "the shipped reader was fit on other eval sets: run make train"


def test_the_committed_reader_was_fit_on_the_current_feature_code(record):
    assert record.get("feature_code") == feature_code_digest(), (
        "the code that makes the reader's features changed since the reader was fit: run make train"
    )


def test_shipped_deck_left_out_meets_the_floors(record):
    failing = below(record["leave_one_deck_out"]["sets"]["shipped"], floors()["shipped"])
    assert not failing, f"below the floors (got, floor): {failing}"


def test_real_decks_pooled_left_out_meet_the_floors(record):
    assert len(record["leave_one_deck_out"]["sets"]) == 9
    failing = below(record["leave_one_deck_out"]["real_decks_pooled"], floors()["real_decks_pooled"])
    assert not failing, f"below the floors (got, floor): {failing}"


def test_the_digest_sees_code_and_not_comments(tmp_path, monkeypatch):
    module = tmp_path / "probe_features.py"
    module.write_text('"""Doc."""\n\nTERMS = 3  # a comment\n', encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = feature_code_digest(("probe_features",))
    module.write_text('"""Other doc."""\n\n\nTERMS = 3  # another comment\n', encoding="utf-8")
    assert feature_code_digest(("probe_features",)) == first
    module.write_text('"""Doc."""\n\nTERMS = 4\n', encoding="utf-8")
    assert feature_code_digest(("probe_features",)) != first


def test_eval_set_meets_its_brief():
    items = load_eval_set(EVAL_SET)
    assert len(items) >= 100
    assert sum(i.paraphrase for i in items) >= 30
    unanswerable = [i for i in items if not i.answerable]
    assert len(unanswerable) >= 20
    assert sum(i.type == "near-miss" for i in unanswerable) * 2 >= len(unanswerable)


def test_every_content_slide_and_every_table_cell_is_asked_about():
    from egov_qa.ingest.loader import DeckLoader
    from egov_qa.text import normalize

    items = [i for i in load_eval_set(EVAL_SET) if i.answerable]
    slides = DeckLoader().load(ROOT / "corpus").slides
    asked = " ".join(normalize(f"{i.question} {' '.join(i.answers)} {i.evidence}") for i in items)
    answers = [normalize(a) for i in items for a in i.answers]
    for slide in slides:
        if len(slide.blocks) > 1:  # a slide of one line is a divider or a picture's title
            text = normalize(slide.text)
            assert any(normalize(i.evidence) in text for i in items), f"no question on slide {slide.number}"
        for block in slide.blocks:
            row = normalize(slide.text[block.start : block.end])
            row_asked = any(normalize(i.evidence) in row for i in items)
            for cell in block.cells:
                # A value cell is asked about when a question names it or an accepted answer
                # lies in it; a row's label (no header) when a question's evidence is its row.
                value = normalize(slide.text[cell.start : cell.end])
                covered = value in asked or any(answer in value for answer in answers)
                covered = covered or (not cell.header and row_asked)
                assert covered, f"cell {slide.text[cell.start : cell.end]!r} on slide {slide.number}"


def test_the_readme_figures_are_the_committed_readers_record():
    model = load_reader_model(default_reader_path())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert with_readme_figures(readme, model.meta, model.threshold) == readme, (
        "the README's held-out figures are not the shipped reader's: they are written by make train"
    )


def test_the_readme_figures_block_is_replaced_whole():
    meta = {"leave_one_deck_out": {"sets": {"shipped": {"n": 4, "answer_accuracy": 0.5}}}, "created": "then"}
    readme = f"intro\n{README_START}\n| stale | 1 |\n{README_END}\nrest\n"
    updated = with_readme_figures(readme, meta, 0.5)
    assert "stale" not in updated and "| shipped deck, left out | 4 | 0.500 |" in updated
    assert updated.startswith("intro\n") and updated.endswith(f"{README_END}\nrest\n")
    with pytest.raises(ValueError, match="marker"):
        with_readme_figures("no block here", meta, 0.5)


def test_a_reranking_reader_was_fit_with_the_shipped_scorer(record):
    from egov_qa.answer.scorer import SCORER_MODEL
    from egov_qa.files import file_sha256
    from egov_qa.paths import default_scorer_dir

    if not record.get("scorer"):
        pytest.skip("the shipped reader reads without the answer scorer")
    assert record["scorer"]["sha256"] == file_sha256(default_scorer_dir() / SCORER_MODEL), (
        "the answer scorer changed since the reader was fit with it: run make train"
    )

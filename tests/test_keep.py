"""A refit replaces the installed reader only when it does no worse on the decks left out."""

from __future__ import annotations

import json

import pytest
from test_reader import faked_training, unseen_recall

from egov_qa import cli
from egov_qa.training import keep, unseen


def figures(answer: float, abstention: float, false_abstention: float, answerable: int = 8, unanswerable: int = 4):
    return {
        "n": answerable + unanswerable,
        "n_answerable": answerable,
        "n_unanswerable": unanswerable,
        "answer_accuracy": answer,
        "abstention_accuracy": abstention,
        "false_abstention_rate": false_abstention,
    }


def record(**sets: dict) -> dict:
    return {
        "eval_sets": {"a.jsonl": "1"},
        "feature_code": "f",
        "embedding_model": "m",
        "leave_one_deck_out": {"sets": sets},
    }


class TestHeldOutUtility:
    def test_counts_right_answers_and_abstentions_against_wrong_answers(self):
        # 8 answerable: 6 answered, 4 of them right; 4 unanswerable: 3 abstained on, 1 answered.
        assert keep.held_out_utility(figures(0.5, 0.75, 0.25)) == pytest.approx(4 + 3 - (2 + 1))

    def test_a_wrong_answer_costs_what_the_fit_says(self):
        assert keep.held_out_utility(figures(0.5, 0.75, 0.25), cost=0.25) == pytest.approx(4 + 3 - 0.75)


class TestCompare:
    def test_sums_every_deck_left_out(self):
        found = keep.compare(
            record(a=figures(0.5, 0.75, 0.25), b=figures(1.0, 1.0, 0.0)),
            record(a=figures(1.0, 1.0, 0.0), b=figures(1.0, 1.0, 0.0)),
        )
        assert found is not None and found.refit_is_worse
        assert (found.refit, found.installed) == pytest.approx((4 + 12, 12 + 12))
        assert str(found) == "utility on the decks left out 16 against 24 for the reader installed before"

    def test_says_where_each_scorer_was_trained_when_not_on_the_same_cpu(self):
        sets = {"a": figures(0.5, 0.75, 0.25)}
        here, there = {"scorer": {"device": "cpu (AMD EPYC, AVX2)"}}, {"scorer": {"device": "cpu (Xeon, AVX512)"}}
        found = keep.compare({**record(**sets), **here}, {**record(**sets), **there})
        assert str(found).endswith(
            "; the refit's scorer was trained on cpu (AMD EPYC, AVX2), the installed one's on cpu (Xeon, AVX512)"
        )
        # An installed reader whose scorer's record predates the device: said as not recorded.
        found = keep.compare({**record(**sets), **here}, {**record(**sets), "scorer": {"sha256": "x"}})
        assert str(found).endswith("the installed one's on a CPU not recorded")
        # The same CPU (or none recorded on either side): nothing added.
        assert str(keep.compare({**record(**sets), **here}, {**record(**sets), **here})).endswith("installed before")

    def test_a_tie_is_not_worse(self):
        same = record(a=figures(0.5, 0.75, 0.25))
        found = keep.compare(same, same)
        assert found is not None and not found.refit_is_worse

    @pytest.mark.parametrize(
        "change",
        [
            {"eval_sets": {"a.jsonl": "2"}},
            {"feature_code": "g"},
            {"embedding_model": "another"},
            {"leave_one_deck_out": {"sets": {"b": figures(1.0, 1.0, 0.0)}}},
            {"leave_one_deck_out": {"sets": {"a": {"n": 1}}}},
        ],
        ids=[
            "another eval set",
            "other feature code",
            "another embedding model",
            "other decks left out",
            "an older record",
        ],
    )
    def test_records_of_other_questions_or_features_do_not_compare(self, change):
        refit = record(a=figures(0.5, 0.75, 0.25))
        assert keep.compare(refit, {**refit, **change}) is None

    def test_nothing_installed_or_unreadable(self, tmp_path):
        assert keep.compare(record(), None) is None
        assert keep.installed_record(tmp_path / "none.json") is None
        (tmp_path / "bad.json").write_text("{not json")
        assert keep.installed_record(tmp_path / "bad.json") is None


def test_train_keeps_a_better_installed_reader_and_writes_the_refit_beside_the_index(tmp_path, monkeypatch, capsys):
    _, argv, out = faked_training(tmp_path, monkeypatch)
    monkeypatch.setattr(unseen, "retrieval", unseen_recall(0.81))
    assert cli.main(argv) == 0
    assert "installed" not in capsys.readouterr().out  # nothing to compare with the first time
    assert cli.main(argv) == 0  # the same fit again: a tie replaces it
    assert "installed the refit: utility on the decks left out 12 against 12" in capsys.readouterr().out

    before, encoder = out.read_bytes(), (tmp_path / "encoder.json").read_bytes()
    installed = json.loads(before)
    # A refit that does worse on the decks left out than the reader installed.
    monkeypatch.setattr(keep, "compare", lambda refit, there: keep.Comparison(10.0, 12.0) if there else None)
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "kept the installed reader: utility on the decks left out 10 against 12" in printed
    assert "to install it: train again with --replace" in printed
    assert out.read_bytes() == before and (tmp_path / "encoder.json").read_bytes() == encoder
    candidate = tmp_path / "i" / "candidate"
    assert json.loads((candidate / "reader.json").read_text())["eval_sets"] == installed["eval_sets"]
    assert (candidate / "reports" / "reader.md").is_file() and (candidate / "encoder.json").is_file()
    assert f"EGOV_QA_READER={candidate / 'reader.json'}" in printed

    out.write_text(json.dumps({**installed, "marked": True}))
    assert cli.main([*argv, "--replace"]) == 0
    assert "installed the refit: utility on the decks left out 10 against 12" in capsys.readouterr().out
    assert "marked" not in json.loads(out.read_text())

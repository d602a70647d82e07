"""Eval scoring, the eval set's schema, calibration and the eval command."""

import json

import pytest
from conftest import FakeEmbedder

from egov_qa import cli, embedder
from egov_qa.documents import Answer, Citation
from egov_qa.errors import EvalSetError
from egov_qa.evaluate import (
    EvalItem,
    QuestionResult,
    answer_correct,
    calibrate,
    citation_correct,
    fit_threshold,
    fold_of,
    load_eval_set,
    metrics,
    selective_curve,
)
from egov_qa.text import normalize


def item(answerable=True, answers=("2-min",), evidence="After: 2-min", id="q1"):
    return EvalItem(
        id,
        "How long does customs take?",
        answers if answerable else (),
        evidence if answerable else "",
        answerable,
    )


def answer(text, slide_text="Customs | Before: 1+days | After: 2-min", confidence=0.9):
    citation = Citation("d.md", 1, "T", slide_text, 0, len(slide_text), 1.0)
    return Answer("q", text, text is None, confidence, (citation,))


class TestNormalize:
    def test_exact_definition(self):
        assert normalize("  Before: 1+Days (2-min) ~ 9.8%  $3M / x ") == "before1+days2min~9.8%$3m/x"


class TestScoring:
    def test_answer_correct_requires_containment_after_normalizing(self):
        assert answer_correct(item(), answer("Customs | After: 2-MIN"))
        assert not answer_correct(item(), answer("After: 3-min"))

    def test_abstained_or_too_long_or_unanswerable_is_not_a_correct_answer(self):
        assert not answer_correct(item(), answer(None))
        assert not answer_correct(item(), answer("2-min " + "x" * 300))
        assert not answer_correct(item(answerable=False), answer("2-min"))

    def test_citation_correct_checks_the_first_citation(self):
        assert citation_correct(item(), answer("x"))
        assert not citation_correct(item(), answer("x", slide_text="another slide"))

    def test_metrics(self):
        results = [
            QuestionResult(item(id="a"), answer("2-min"), answer("2-min"), True, True, 1, 10.0),
            QuestionResult(item(id="b"), answer(None), answer("x"), False, True, 3, 20.0),
            QuestionResult(item(False, id="c"), answer(None), answer("x"), True, False, None, 30.0),
            QuestionResult(item(False, id="d"), answer("x"), answer("x"), False, False, None, 40.0),
        ]
        m = metrics(results)
        assert m["answer_accuracy"] == 0.5
        assert m["citation_accuracy"] == 1.0
        assert m["abstention_accuracy"] == 0.5
        assert m["false_abstention_rate"] == 0.5
        assert (m["recall@1"], m["recall@3"], m["mrr"]) == (0.5, 1.0, pytest.approx((1 + 1 / 3) / 2))
        assert m["p50_ms"] == 20.0 and m["p95_ms"] == 40.0


def synthetic(n=40):
    """Answerable questions answered right with high confidence, unanswerable ones with low."""
    results = []
    for i in range(n):
        answerable = i % 4 != 0
        raw = answer("2-min" if answerable else "something", confidence=0.7 + (i % 7) / 30 if answerable else 0.2)
        results.append(QuestionResult(item(answerable, id=f"q{i}"), raw, raw, answerable, answerable, 1, 1.0))
    return results


class TestCalibration:
    def test_fit_finds_a_threshold_between_the_groups(self):
        assert 0.2 < fit_threshold(synthetic()) <= 0.7

    def test_cross_validation_scores_held_out_folds_only(self):
        result = calibrate(synthetic(), folds=4)
        assert result["folds"] == 4
        assert sum(f["n_test"] for f in result["per_fold"]) == 40
        assert result["cross_validated"]["answer_accuracy"] == 1.0
        assert result["cross_validated"]["abstention_accuracy"] == 1.0

    def test_folds_are_stable(self):
        assert [fold_of(f"q{i}", 5) for i in range(10)] == [fold_of(f"q{i}", 5) for i in range(10)]

    def test_curve_goes_from_full_coverage_to_none(self):
        curve = selective_curve(synthetic())
        assert curve[0]["coverage"] == 1.0 and curve[-1]["coverage"] == 0.0


class TestEvalSetSchema:
    def write(self, tmp_path, *rows):
        return write_set(tmp_path / "set.jsonl", rows)

    def test_reads_a_valid_set(self, tmp_path):
        good = {"id": "a", "question": "q?", "answers": ["x"], "evidence": "x", "answerable": True}
        none = {"id": "b", "question": "q?", "answers": [], "evidence": "", "answerable": False}
        items = load_eval_set(self.write(tmp_path, good, none))
        assert [i.id for i in items] == ["a", "b"]

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            ("{not json", "line 1: not JSON"),
            (
                {"id": "a", "question": "q", "answers": "x", "evidence": "x", "answerable": True},
                "'answers' must be",
            ),
            (
                {"id": "a", "question": "q", "answers": [], "evidence": "x", "answerable": True},
                "needs answers",
            ),
            (
                {"id": "a", "question": "q", "answers": ["x"], "evidence": "", "answerable": False},
                "unanswerable",
            ),
        ],
    )
    def test_bad_lines_are_named(self, tmp_path, row, message):
        with pytest.raises(EvalSetError, match=message):
            load_eval_set(self.write(tmp_path, row))

    def test_missing_file(self, tmp_path):
        with pytest.raises(EvalSetError, match="cannot read"):
            load_eval_set(tmp_path / "none.jsonl")


def write_set(path, rows):
    """An eval set file: dicts as JSON lines, strings as written."""
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows))
    return path


@pytest.fixture
def eval_command(tiny_corpus, tmp_path, monkeypatch):
    """Run `egov-qa eval` on the tiny deck with the fake embedder: rows in, exit status out."""
    monkeypatch.setattr(embedder, "load_embedder", lambda name=None: FakeEmbedder())

    def run(rows, *options):
        eval_set = write_set(tmp_path / "set.jsonl", rows)
        argv = ["--corpus", str(tiny_corpus), "--index", str(tmp_path / "i"), "eval", "--set", str(eval_set)]
        return cli.main([*argv, "--out", str(tmp_path / "reports"), *options])

    return run


def test_eval_command_prints_json_and_writes_reports(eval_command, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EGOV_QA_CONFIG", str(tmp_path / "calibration.json"))
    rows = [
        {
            "id": "a",
            "question": "How many days does passport renewal take online?",
            "answers": ["3 days"],
            "evidence": "Passport renewal takes 3 days",
            "answerable": True,
        },
        {
            "id": "b",
            "question": "What was the budget in 2009?",
            "answers": ["2009: 100"],
            "evidence": "Budget | 2009: 100",
            "answerable": True,
        },
        {
            "id": "c",
            "question": "What is the capital of France?",
            "answers": [],
            "evidence": "",
            "answerable": False,
        },
    ]
    assert eval_command(rows, "--json", "--calibrate", "--folds", "2") == 0
    out = tmp_path / "reports"
    data = json.loads(capsys.readouterr().out)
    for key in (
        "n",
        "answer_accuracy",
        "citation_accuracy",
        "abstention_accuracy",
        "false_abstention_rate",
        "recall@1",
        "recall@3",
        "recall@5",
        "mrr",
        "p50_ms",
        "p95_ms",
        "per_question",
    ):
        assert key in data
    assert data["n"] == 3 and data["abstention_accuracy"] == 1.0
    first = data["per_question"][0]
    for key in (
        "id",
        "question",
        "answerable",
        "answer",
        "abstained",
        "confidence",
        "correct",
        "cited_correct",
        "citations",
    ):
        assert key in first
    assert {p.name for p in out.iterdir()} >= {"latest.md", "latest.json", "latest.png"}
    assert "| answer accuracy |" in (out / "latest.md").read_text()
    assert json.loads((tmp_path / "calibration.json").read_text())["threshold"] == data["threshold"]


def test_eval_command_prints_a_table_with_failures(eval_command, capsys):
    rows = [
        {
            "id": "right",
            "question": "How many days does passport renewal take online?",
            "answers": ["3 days"],
            "evidence": "Passport renewal takes 3 days",
            "answerable": True,
            "type": "number",
        },
        {
            "id": "wrong",
            "question": "How many days does passport renewal take online?",
            "answers": ["9 weeks"],
            "evidence": "Passport renewal takes 3 days",
            "answerable": True,
            "type": "number",
        },
    ]
    assert eval_command(rows, "--no-baseline") == 0
    out = capsys.readouterr().out
    assert "answer accuracy" in out and "0.500" in out
    assert "failures (1):" in out and "- wrong [answer]" in out and "expected: 9 weeks" in out
    assert "cited:    Slide 2: Online Services" in out
    assert "latency per question: p50" in out and "report:" in out


def test_eval_command_names_a_bad_line_in_the_set(eval_command, capsys):
    assert eval_command(['{"id": 1}']) == 1
    assert "line 1: 'id' must be a str" in capsys.readouterr().err

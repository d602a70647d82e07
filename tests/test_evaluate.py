"""Eval scoring, the eval set's schema, suites and the eval command."""

import json
from typing import ClassVar

import pytest
from conftest import FakeEmbedder

from egov_qa import cli
from egov_qa.documents import Answer, Citation
from egov_qa.errors import EvalSetError
from egov_qa.evaluation.report import pool, pool_forms
from egov_qa.evaluation.scoring import (
    EvalItem,
    QuestionResult,
    answer_correct,
    citation_correct,
    find_suites,
    fold_of,
    form_rows,
    load_eval_set,
    metrics,
    plain,
    run_conversational,
    selective_curve,
)
from egov_qa.index import embedder
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


class TestFoldsAndCurve:
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


def test_eval_command_prints_json_and_writes_reports(eval_command, tmp_path, capsys):
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
    assert eval_command(rows, "--json") == 0
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
    # The one unanswerable question's outcome is the abstention figure (whether the fake
    # embedder's scores clear the shipped reader's threshold is the reader's business).
    unanswerable = next(q for q in data["per_question"] if q["id"] == "c")
    assert data["n"] == 3 and data["abstention_accuracy"] == float(unanswerable["abstained"])
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
    # One right of two answerable: the Wilson interval says how little two questions tell.
    printed = {" ".join(line.split()[:2]): line.split()[2:] for line in out.splitlines()}
    assert printed["answer accuracy"][:4] == ["0.500", "0.095", "to", "0.905"]
    assert printed["slide MRR"][1] == "-"  # not a share of questions
    assert "failures (1):" in out and "- wrong [answer]" in out and "expected: 9 weeks" in out
    assert "cited:    Slide 2: Online Services" in out
    assert "latency per question: p50" in out and "report:" in out


def test_eval_command_names_a_bad_line_in_the_set(eval_command, capsys):
    assert eval_command(['{"id": 1}']) == 1
    assert "line 1: 'id' must be a str" in capsys.readouterr().err


class TestSuites:
    def test_finds_the_shipped_set_and_every_deck_set(self, tmp_path):
        (tmp_path / "known_facts.jsonl").write_text("{}")
        (tmp_path / "sets").mkdir()
        (tmp_path / "sets" / "b.jsonl").write_text("{}")
        (tmp_path / "decks" / "b").mkdir(parents=True)
        suites = find_suites(tmp_path, tmp_path / "corpus")
        assert [(s.name, s.corpus.name) for s in suites] == [("shipped", "corpus"), ("b", "b")]

    def test_a_set_without_its_decks_is_named(self, tmp_path):
        (tmp_path / "sets").mkdir()
        (tmp_path / "sets" / "lost.jsonl").write_text("{}")
        with pytest.raises(EvalSetError, match=r"lost\.jsonl has no deck folder"):
            find_suites(tmp_path, tmp_path / "corpus")

    def test_pool_weights_each_share_by_its_questions(self):
        one = {"n": 3, "n_answerable": 2, "n_unanswerable": 1, "answer_accuracy": 1.0, "citation_accuracy": 1.0}
        two = {"n": 5, "n_answerable": 2, "n_unanswerable": 3, "answer_accuracy": 0.0, "citation_accuracy": 0.5}
        for figures in (one, two):
            figures.update({"abstention_accuracy": figures["answer_accuracy"], "false_abstention_rate": 0.0})
            figures["recall@1"] = 1.0
        pooled = pool([one, two])
        assert pooled["n"] == 8 and pooled["answer_accuracy"] == 0.5 and pooled["citation_accuracy"] == 0.75
        assert pooled["abstention_accuracy"] == 0.25  # 1 of 4 unanswerable questions


FOLLOW_UP = {"id": "f", "question": "and in 2011?", "answers": ["x"], "evidence": "x", "answerable": True}


class TestConversationalItems:
    base: ClassVar[dict] = FOLLOW_UP

    def test_forms_are_read_with_what_they_need(self, tmp_path):
        rows = [
            {**self.base, "form": "follow-up", "previous": "What was it in 2010?", "slide": 2},
            {
                **self.base,
                "id": "t",
                "form": "two-part",
                "parts": [{"answers": ["x"], "evidence": "x", "slide": 1}, {"answers": ["y"], "evidence": "y"}],
            },
            {**self.base, "id": "p"},
        ]
        items = load_eval_set(write_set(tmp_path / "s.jsonl", rows))
        assert (items[0].form, items[0].previous, items[0].slide) == ("follow-up", "What was it in 2010?", 2)
        assert [p.answers for p in items[1].parts] == [("x",), ("y",)]
        assert [i.id for i in plain(items)] == ["p"]

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            ({"form": "follow-up"}, "needs 'previous'"),
            ({"form": "riddle"}, "'form' must be one of"),
            ({"form": "two-part", "parts": [{"answers": ["x"], "evidence": "x"}]}, "two or more"),
            ({"slide": 0}, "'slide' must be a slide number"),
        ],
    )
    def test_bad_forms_are_named(self, tmp_path, extra, message):
        with pytest.raises(EvalSetError, match=message):
            load_eval_set(write_set(tmp_path / "s.jsonl", [{**self.base, **extra}]))


PASSPORT = {
    "answers": ["3 days"],
    "evidence": "Passport renewal takes 3 days",
    "answerable": True,
    "slide": 2,
}
TAX = {"answers": ["2008"], "evidence": "Tax filing moved online in 2008", "slide": 2}
BUDGET_2009 = {"answers": ["2009: 100"], "evidence": "Budget | 2009: 100", "slide": 1}
CONVERSATION = [
    {"id": "f", "question": "And in 2009?", **BUDGET_2009, "answerable": True, "form": "follow-up",
     "previous": "What was the budget in 2010?"},
    {"id": "t", "question": "How many days does pasport renewal take online?", **PASSPORT, "form": "typo"},
    {"id": "p", "question": "How many days does passport renewal take online, and when did tax filing move online?",
     **PASSPORT, "form": "two-part", "parts": [{k: PASSPORT[k] for k in ("answers", "evidence", "slide")}, TAX]},
    {"id": "w", "question": "How many days does passport renewal take online, and when did tax filing move online?",
     **PASSPORT, "form": "two-part", "parts": [{k: PASSPORT[k] for k in ("answers", "evidence", "slide")},
                                                {**TAX, "answers": ["1999"]}]},
]  # fmt: skip


class TestConversationalScoring:
    @pytest.fixture
    def results(self, tiny_corpus, tmp_path, fake_embedder):
        from egov_qa.assistant import Assistant

        assistant = Assistant(tiny_corpus, tmp_path / "index", embedder=fake_embedder, threshold=0.0)
        items = load_eval_set(write_set(tmp_path / "c.jsonl", CONVERSATION))
        return {r.item.id: r for r in run_conversational(assistant, items)}

    def test_a_follow_up_is_asked_after_its_previous_question(self, results):
        assert results["f"].correct and results["f"].cited_correct
        assert results["f"].answer.read_as == "What was the budget in 2009?"

    def test_a_misspelled_question_is_asked_as_typed(self, results):
        assert results["t"].correct and results["t"].answer.corrections

    def test_a_two_part_question_is_right_only_when_every_part_is(self, results):
        assert results["p"].correct and results["p"].cited_correct and results["p"].parts_right == 2
        assert not results["w"].correct and results["w"].parts_right == 1 and results["w"].cited_correct

    def test_a_part_not_answered_on_its_own_is_wrong(self, tiny_corpus, tmp_path, fake_embedder):
        from egov_qa.assistant import Assistant

        assistant = Assistant(tiny_corpus, tmp_path / "index", embedder=fake_embedder, threshold=0.0)
        row = {**CONVERSATION[2], "question": "How many days does passport renewal take online?"}
        (result,) = run_conversational(assistant, load_eval_set(write_set(tmp_path / "c.jsonl", [row])))
        assert result.parts_right == 1 and result.parts == 2 and not result.correct

    def test_rows_per_form(self, results):
        rows = {r["form"]: r for r in form_rows(list(results.values()))}
        assert list(rows) == ["follow-up", "typo", "two-part"]
        assert rows["two-part"] == {
            "form": "two-part",
            "n": 2,
            "answer_accuracy": 0.5,
            "citation_accuracy": 1.0,
            "parts": 4,
            "parts_right": 0.75,
        }
        assert rows["typo"]["n"] == 1 and rows["typo"]["parts"] == 1

    def test_pooled_rows_weight_each_set_by_its_items(self):
        one = [
            {"form": "typo", "n": 1, "answer_accuracy": 1.0, "citation_accuracy": 1.0, "parts": 1, "parts_right": 1.0}
        ]
        three = [{"form": "typo", "n": 3, "answer_accuracy": 0.0, "citation_accuracy": 1 / 3, "parts": 3,
                  "parts_right": 0.0}]  # fmt: skip
        (pooled,) = pool_forms([one, three])
        assert pooled["n"] == 4 and pooled["answer_accuracy"] == 0.25 and pooled["citation_accuracy"] == 0.5


def test_eval_command_reports_conversational_rows_apart(eval_command, tmp_path, capsys):
    plain_row = {"id": "a", "question": "How many days does passport renewal take online?", **PASSPORT}
    assert eval_command([plain_row, *CONVERSATION], "--no-baseline", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n"] == 1 and data["conversational"] == 4
    assert [r["form"] for r in data["forms"]] == ["follow-up", "typo", "two-part"]
    assert {q["id"] for q in data["conversational_questions"]} == {"f", "t", "p", "w"}
    report = (tmp_path / "reports" / "latest.md").read_text()
    assert "## Conversational questions" in report and "| two-part | 2 | 0.500 | 1.000 | 0.750 |" in report
    assert "What was the budget in 2009?" in report  # how the follow-up was read
    assert eval_command([plain_row, *CONVERSATION], "--no-baseline") == 0
    table = capsys.readouterr().out
    assert "conversational questions" in table and "conversational failures (1):" in table
    assert "- w [two-part]" in table and "expected: 1999" in table


def test_eval_all_reports_every_set_and_a_pooled_row(tiny_corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(embedder, "load_embedder", lambda name=None: FakeEmbedder())
    evals = tmp_path / "evals"
    (evals / "decks" / "other").mkdir(parents=True)
    (evals / "decks" / "other" / "deck.md").write_text("# Parks\n\nThe city has 12 parks.\n")
    passport = {
        "id": "a",
        "question": "How many days does passport renewal take online?",
        "answers": ["3 days"],
        "evidence": "Passport renewal takes 3 days",
        "answerable": True,
    }
    parks = {"id": "p", "question": "How many parks does the city have?", "answers": ["12"], "evidence": "12 parks"}
    write_set(evals / "known_facts.jsonl", [passport])
    (evals / "sets").mkdir()
    write_set(evals / "sets" / "other.jsonl", [{**parks, "answerable": True}])
    argv = ["--corpus", str(tiny_corpus), "--index", str(tmp_path / "i"), "eval", "--all", "--evals", str(evals)]
    assert cli.main([*argv, "--out", str(tmp_path / "reports"), "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in view["sets"]] == ["shipped", "other"]
    assert view["pooled"]["egov_qa"]["n"] == 1
    reports = tmp_path / "reports"
    assert (reports / "all.md").is_file() and (reports / "latest.json").is_file()
    assert (reports / "decks" / "other" / "latest.md").is_file()
    assert "| real decks, pooled |" in (reports / "all.md").read_text()
    assert (tmp_path / "i" / "evals" / "other" / "manifest.json").is_file()


def test_eval_all_gives_conversational_rows_per_set_and_pooled(tiny_corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(embedder, "load_embedder", lambda name=None: FakeEmbedder())
    evals = tmp_path / "evals"
    (evals / "decks" / "copy").mkdir(parents=True)
    (evals / "decks" / "copy" / "deck.md").write_text((tiny_corpus / "deck.md").read_text())
    write_set(evals / "known_facts.jsonl", CONVERSATION[:2])
    (evals / "sets").mkdir()
    write_set(evals / "sets" / "copy.jsonl", [{"id": "a", "question": "How many days?", **PASSPORT}, *CONVERSATION])
    argv = ["--corpus", str(tiny_corpus), "--index", str(tmp_path / "i"), "eval", "--all", "--evals", str(evals)]
    assert cli.main([*argv, "--out", str(tmp_path / "reports"), "--no-baseline"]) == 0
    out = capsys.readouterr().out
    assert "conversational questions" in out
    assert [r["form"] for r in json.loads((tmp_path / "reports" / "all.json").read_text())["pooled"]["forms"]] == [
        "follow-up",
        "typo",
        "two-part",
    ]
    overview = (tmp_path / "reports" / "all.md").read_text()
    assert "| real decks, pooled | two-part | 2 | 0.500 | 1.000 | 0.750 |" in overview
    assert "| shipped | typo | 1 | 1.000 | 1.000 | - |" in overview


@pytest.mark.parametrize("command", [["eval"], ["eval", "--all"], ["squad"]], ids=" ".join)
def test_a_report_folder_that_is_a_file_is_said_before_anything_is_asked(tmp_path, monkeypatch, capsys, command):
    from egov_qa import assistant

    def never(*args, **kwargs):
        raise AssertionError("the assistant was built before the report folder was checked")

    monkeypatch.setattr(assistant, "Assistant", never)
    monkeypatch.setattr(cli, "_assistant", never)
    monkeypatch.setattr(embedder, "load_embedder", lambda name=None: FakeEmbedder())
    (tmp_path / "taken").write_text("a file")
    assert cli.main(["--index", str(tmp_path / "i"), *command, "--out", str(tmp_path / "taken")]) == 1
    assert f"{tmp_path / 'taken'} is a file, not a folder: pass --out DIR" in capsys.readouterr().err
    assert (tmp_path / "taken").read_text() == "a file"

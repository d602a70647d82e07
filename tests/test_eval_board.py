"""The Evals tab's functions: reports per eval set, a run, failures linked to slides, and thumbs-down
answers completed into eval questions."""

import json

import pytest
from conftest import TINY_DECK, FakeEmbedder

from egov_qa import cli
from egov_qa.app.chat import ChatApp
from egov_qa.app.evals_tab import EvalBoard
from egov_qa.assistant import Assistant
from egov_qa.errors import EgovQAError, EvalSetError
from egov_qa.evaluation import runner as eval_run
from egov_qa.evaluation.feedback import EvalLine, add_to_eval_set, completed, export_candidates, record, thumbs_down
from egov_qa.evaluation.scoring import load_eval_set
from egov_qa.index import embedder

ITEMS = [
    {
        "id": "t1",
        "question": "How much did the agency spend in 2010?",
        "answers": ["120 million dollars"],
        "evidence": "The agency spent 120 million dollars in 2010",
        "answerable": True,
        "type": "number",
    },
    {
        "id": "t2",
        "question": "How long does passport renewal take online?",
        "answers": ["3 days"],
        "evidence": "Passport renewal takes 3 days online",
        "answerable": True,
        "type": "number",
    },
    {
        "id": "t3",
        "question": "When did tax filing move online?",
        "answers": ["2008"],
        "evidence": "Tax filing moved online in 2008",
        "answerable": True,
        "type": "year",
    },
    {"id": "t4", "question": "What is the capital of France?", "answers": [], "evidence": "", "answerable": False},
    {
        "id": "t5",
        "question": "and in 2009?",
        "answers": ["100"],
        "evidence": "Budget: 100",
        "answerable": True,
        "form": "follow-up",
        "previous": "What was the budget in 2010?",
    },
]


FIGURES = {
    "answer_accuracy": 0.75,
    "citation_accuracy": 1.0,
    "abstention_accuracy": 1.0,
    "false_abstention_rate": 0.0,
}


@pytest.fixture
def evals(tmp_path):
    """An eval folder with one set, ``tiny``, on a folder of its own decks."""
    folder = tmp_path / "evals"
    (folder / "decks" / "tiny").mkdir(parents=True)
    (folder / "sets").mkdir()
    (folder / "decks" / "tiny" / "deck.md").write_text(TINY_DECK, encoding="utf-8")
    (folder / "sets" / "tiny.jsonl").write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    return folder


@pytest.fixture
def board(evals, tmp_path):
    # No shipped corpus in this folder: only the ``tiny`` set.
    return EvalBoard(evals, tmp_path / "no-shipped-corpus", reader_path=evals / "reader.json")


@pytest.fixture
def chat(evals, tmp_path):
    """The chat serving the tiny set's decks, never abstaining (so the off-topic question fails)."""
    assistant = Assistant(evals / "decks" / "tiny", tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
    return ChatApp(assistant, data_dir=tmp_path / "data", evals_dir=evals)


class TestReports:
    def test_before_a_run_each_set_says_it_was_not_run(self, board, evals, chat):
        (suite,) = board.suites()
        assert suite.name == "tiny" and board.served(chat.assistant.corpus_dir) == suite
        latest = board.latest(suite)
        assert latest.summary is None and latest.plot is None
        assert "| tiny (served) | not run yet |" in board.overview(suite)
        assert "no report yet" in board.metrics(latest)
        assert board.failures(latest) == ""

    def test_a_run_writes_the_reports_and_shows_them(self, board, evals, chat, monkeypatch):
        import tqdm

        bars = []
        real = tqdm.tqdm

        def watched(*args, **kwargs):
            bars.append((kwargs.get("desc"), kwargs.get("total")))
            return real(*args, **kwargs)

        monkeypatch.setattr(tqdm, "tqdm", watched)
        (suite,) = board.suites()
        latest = board.run(chat.assistant, suite)
        folder = evals / "reports" / "decks" / "tiny"
        assert latest.folder == folder
        assert {p.name for p in folder.glob("latest.*")} == {"latest.json", "latest.md", "latest.png"}
        assert latest.plot == folder / "latest.png"
        # One step per plain question, for egov-qa and for the baseline.
        assert ("questions asked", 4) in bars and ("baseline asked", 4) in bars
        summary = latest.summary
        assert (summary["n"], summary["n_answerable"], summary["conversational"]) == (4, 3, 1)
        metrics = board.metrics(latest)
        assert "| answer accuracy |" in metrics and "1 conversational questions are scored apart" in metrics
        overview = board.overview(suite)
        assert "| tiny (served) |" in overview and "not run yet" not in overview

    def test_the_figures_are_labelled_in_sample_beside_the_held_out_ones(self, board, evals):
        assert "in-sample" in board.overview()
        meta = {"leave_one_deck_out": {"sets": {"tiny": {**FIGURES, "n": 4}}}}
        (evals / "reader.json").write_text(json.dumps(meta), encoding="utf-8")
        overview = board.overview()
        assert "in-sample" in overview and "never saw" in overview
        assert "| tiny (left out) | 4 | 0.750 |" in overview

    def test_failures_link_to_their_cited_slide_when_the_set_is_served(self, board, chat):
        (suite,) = board.suites()
        latest = board.run(chat.assistant, suite, baseline=False)
        failed = [q for q in latest.summary["per_question"] if q["id"] == "t4"]
        assert failed and not failed[0]["correct"]  # never abstaining, it answers the off-topic question
        cited = failed[0]["citations"][0]
        number = chat.locate(cited["source"], cited["slide"])
        linked = board.failures(latest, chat.locate)
        assert "t4 wrong answer: What is the capital of France?" in linked
        assert f"]({number})" in linked and number.startswith("?deck=")
        assert "(?deck=" not in board.failures(latest, None)

    def test_a_run_is_refused_on_a_corpus_the_set_does_not_ask_about(self, board, tiny_corpus, tmp_path):
        other = Assistant(tiny_corpus, tmp_path / "other-index", embedder=FakeEmbedder())
        (suite,) = board.suites()
        with pytest.raises(EgovQAError, match="not the served corpus"):
            board.run(other, suite)

    def test_the_app_and_the_command_write_the_same_report(self, evals, tmp_path, monkeypatch):
        monkeypatch.setattr(embedder, "load_embedder", lambda name=None: FakeEmbedder())
        corpus, eval_set = evals / "decks" / "tiny", evals / "sets" / "tiny.jsonl"
        out = tmp_path / "cli-reports"
        argv = ["eval", "--set", str(eval_set), "--corpus", str(corpus), "--index", str(tmp_path / "i"), "--out"]
        assert cli.main([*argv, str(out), "-q"]) == 0
        from_cli = json.loads((out / "latest.json").read_text())
        board = EvalBoard(evals, tmp_path / "no-shipped-corpus")
        app = Assistant(corpus, tmp_path / "i", embedder=FakeEmbedder())
        from_app = board.run(app, board.suites()[0]).summary

        def timeless(summary):
            # Everything but the clock: when it ran and how long each question took.
            drop = {"created", "p50_ms", "p95_ms", "per_question"}
            kept = {k: v for k, v in summary.items() if k not in drop}
            kept["baseline"] = {k: v for k, v in summary["baseline"].items() if k not in drop}
            kept["conversational_questions"] = [
                {k: v for k, v in q.items() if k != "ms"} for q in summary["conversational_questions"]
            ]
            return kept

        assert timeless(from_cli) == timeless(from_app)
        assert [q["answer"] for q in from_cli["per_question"]] == [q["answer"] for q in from_app["per_question"]]

    def test_the_served_corpus_without_a_set_is_told_how_to_add_one(self, board, tiny_corpus):
        note = board.served_note(tiny_corpus)
        assert "has no eval set" in note and "evals/sets/NAME.jsonl" in note and "evals/decks/NAME/" in note

    def test_a_damaged_report_reads_as_not_run(self, board, evals):
        folder = evals / "reports" / "decks" / "tiny"
        folder.mkdir(parents=True)
        (folder / "latest.json").write_text("{not json", encoding="utf-8")
        assert board.latest(board.suites()[0]).summary is None

    def test_report_text_is_escaped(self, board, evals):
        (suite,) = board.suites()
        summary = {
            "per_question": [
                {
                    "id": "x",
                    "question": "<img src=x onerror=alert(1)>",
                    "answerable": True,
                    "expected": ["[a](javascript:alert(1))"],
                    "answer": "**b**",
                    "abstained": False,
                    "reason": "",
                    "correct": False,
                    "cited_correct": False,
                    "citations": [{"source": "deck.md", "slide": 1, "title": "<script>"}],
                }
            ]
        }
        from egov_qa.app.evals_tab import SetReport

        shown = EvalBoard.failures(SetReport(suite, evals, summary), lambda source, number: 1)
        assert "<img" not in shown and "<script" not in shown and "](javascript" not in shown


def ask_and_vote_down(chat, question):
    _, answers, *_ = chat.ask(question, [], [])
    record(answers[-1], False, chat.data_dir)
    return answers[-1]


class TestThumbsDown:
    def test_votes_down_are_listed_once_each_and_only_on_the_served_decks(self, board, chat, tmp_path):
        ask_and_vote_down(chat, "Who founded the agency?")
        ask_and_vote_down(chat, "Who founded the agency?")
        _, answers, *_ = chat.ask("When did tax filing move online?", [], [])
        record(answers[-1], True, chat.data_dir)
        with open(chat.data_dir / "feedback.jsonl", "a", encoding="utf-8") as log:
            other = {"vote": "down", "question": "Elsewhere?", "citations": [{"source": "x.pdf", "slide": 1}]}
            log.write(json.dumps({**other, "citations": [{**other["citations"][0], "title": "X"}]}) + "\n")
        assert [v.question for v in thumbs_down(chat.data_dir)] == ["Who founded the agency?", "Elsewhere?"]
        (vote,) = board.downvotes(chat.data_dir, chat.assistant.decks)
        assert vote.question == "Who founded the agency?" and vote.id.startswith("fb-")
        (suite,) = board.suites()
        assert "| no |" in board.downvote_table([vote], suite)
        assert board.pending([vote], suite) == [vote]
        # The command line's export is unchanged.
        assert [c["question"] for c in export_candidates(chat.data_dir)] == [
            "Who founded the agency?",
            "Elsewhere?",
        ]

    def test_no_votes_yet_is_said(self, board, chat):
        assert thumbs_down(chat.data_dir) == []
        assert "No thumbs-down answers" in board.downvote_table([], None)

    def test_a_completed_question_is_added_and_the_retrain_is_asked_for(self, board, chat, evals):
        ask_and_vote_down(chat, "How many staff did the agency have in 2010?")
        eval_set = evals / "sets" / "tiny.jsonl"
        before = eval_set.read_text(encoding="utf-8")
        (vote,) = board.downvotes(chat.data_dir, chat.assistant.decks)
        line = completed(vote.question, "55\n", "Staff | 2009: 40 | 2010: 55 ", True, "number")
        message = board.add(board.suites()[0], line, chat.slides)
        assert "make train" in message and "6 questions now" in message
        after = eval_set.read_text(encoding="utf-8")
        assert after.startswith(before) and after.count("\n") == before.count("\n") + 1
        added = load_eval_set(eval_set)[-1]
        assert (added.id, added.question, added.answers, added.evidence) == (
            vote.id,
            "How many staff did the agency have in 2010?",
            ("55",),
            "Staff | 2009: 40 | 2010: 55",
        )
        assert "| yes |" in board.downvote_table([vote], board.suites()[0])
        assert board.pending([vote], board.suites()[0]) == []

    def test_an_unanswerable_question_is_added_without_answers(self, chat, evals):
        eval_set = evals / "sets" / "tiny.jsonl"
        item = add_to_eval_set(eval_set, completed("Who founded the agency?", "", "", False, "off-topic"), chat.slides)
        assert not item.answerable and item.answers == () and item.type == "off-topic"

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            (EvalLine("Who runs it?", (), "", True), "fill in the accepted answers and the evidence"),
            (EvalLine("Who runs it?", ("55",), "", True), "fill in the accepted answers and the evidence"),
            (EvalLine("Who runs it?", (), "Staff", True), "fill in the accepted answers and the evidence"),
            (EvalLine("Who runs it?", ("55",), "Staff", False), "has no answers and no evidence"),
            (EvalLine("", ("55",), "Staff", True), "the question is empty"),
            (EvalLine("Who runs it?", ("55",), "The agency has 55 robots", True), "not on any slide"),
            (EvalLine("Who runs it?", ("61",), "Staff | 2009: 40", True), "no accepted answer is on the slide"),
            (EvalLine("How long does passport renewal take online?", ("3 days",), "3 days", True), "already in"),
        ],
    )
    def test_a_half_filled_or_wrong_question_is_never_written(self, chat, evals, line, message):
        eval_set = evals / "sets" / "tiny.jsonl"
        before = eval_set.read_bytes()
        with pytest.raises(EvalSetError, match=message):
            add_to_eval_set(eval_set, line, chat.slides)
        assert eval_set.read_bytes() == before
        assert sorted(p.name for p in eval_set.parent.iterdir()) == ["tiny.jsonl"]

    def test_the_set_s_own_rules_check_the_new_line(self, evals, tmp_path):
        eval_set = evals / "sets" / "tiny.jsonl"
        # Without the corpus at hand, the schema still refuses an answer that normalizes to nothing.
        with pytest.raises(EvalSetError, match=r"tiny\.jsonl, line 6: every answer must be non-empty text"):
            add_to_eval_set(eval_set, EvalLine("Which sign?", ("§",), "the § sign", True))
        assert len(load_eval_set(eval_set)) == 5

    def test_a_set_without_a_final_newline_stays_one_line_a_question(self, chat, evals):
        eval_set = evals / "sets" / "tiny.jsonl"
        eval_set.write_text(eval_set.read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8")
        add_to_eval_set(eval_set, completed("Who founded it?", "", "", False, "off-topic"), chat.slides)
        assert [i.id for i in load_eval_set(eval_set)][-2:] == ["t5", EvalLine("Who founded it?", (), "", False).id]

    def test_a_broken_set_is_named_and_left_alone(self, chat, evals):
        eval_set = evals / "sets" / "tiny.jsonl"
        eval_set.write_text(eval_set.read_text(encoding="utf-8") + "{oops\n", encoding="utf-8")
        before = eval_set.read_bytes()
        with pytest.raises(EvalSetError, match=r"tiny\.jsonl, line 6: not JSON"):
            add_to_eval_set(eval_set, completed("Who founded it?", "", "", False, "off-topic"), chat.slides)
        assert eval_set.read_bytes() == before

    def test_without_a_set_there_is_nothing_to_add_to(self, board, chat):
        with pytest.raises(EgovQAError, match="no eval set to add to"):
            board.add(None, completed("Who founded it?", "", "", False, "off-topic"), chat.slides)

    def test_answer_types_offer_the_usual_and_the_set_s_own(self, board):
        types = board.answer_types(board.suites()[0])
        assert types[0] == "other" and "near-miss" in types and "year" in types


def test_report_dir_puts_the_shipped_set_at_the_top(tmp_path):
    from egov_qa.evaluation.scoring import SHIPPED, Suite

    assert eval_run.report_dir(tmp_path, Suite(SHIPPED, tmp_path / "k.jsonl", tmp_path)) == tmp_path
    assert eval_run.report_dir(tmp_path, Suite("x", tmp_path / "x.jsonl", tmp_path)) == tmp_path / "decks" / "x"


class TestTheHeadline:
    def test_a_run_from_the_tab_writes_under_the_data_folder_and_the_committed_report_stays(
        self, evals, tmp_path, chat
    ):
        runs = tmp_path / "data" / "reports"
        board = EvalBoard(evals, tmp_path / "no-shipped-corpus", reader_path=evals / "reader.json", runs_dir=runs)
        (suite,) = board.suites()
        committed = evals / "reports" / "decks" / "tiny"
        committed.mkdir(parents=True)
        (committed / "latest.json").write_text(json.dumps({**FIGURES, "n": 9}), encoding="utf-8")
        assert board.latest(suite).summary["n"] == 9
        latest = board.run(chat.assistant, suite, baseline=False)
        assert latest.folder == runs / "decks" / "tiny" and (latest.folder / "latest.json").is_file()
        assert json.loads((committed / "latest.json").read_text(encoding="utf-8"))["n"] == 9
        assert board.latest(suite).summary["n"] == 4  # the run here is shown in its place
        assert "data/reports" in board.served_note(chat.assistant.corpus_dir).replace("\\", "")

    def test_the_headline_says_the_figures_in_words(self, board):
        (suite,) = board.suites()
        latest = board.latest(suite)
        assert board.headline(latest) == "**tiny** has not been run yet."
        summary = {**FIGURES, "n": 215, "n_answerable": 200, "n_unanswerable": 15, "created": "2026-12-02"}
        summary.update(answer_accuracy=0.9, abstention_accuracy=0.75)
        words = board.headline(type(latest)(suite, latest.folder, summary))
        assert words.startswith(
            "### Right on 90% of the 200 questions the decks answer; "
            "says “I don't know” on 75% of the 15 questions they do not answer."
        )
        assert board.headline(None) == "No eval set measures the decks served here."

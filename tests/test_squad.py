"""The SQuAD pool as training and measuring data: sentences, near misses, the pairs, and SQuAD 2.0 scoring."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from egov_qa.evaluation import squad
from egov_qa.training.scorer import ScorerSettings, pairs

CONTEXT = (
    "The Broncos won Super Bowl 50 in 2016. The game was played in Santa Clara. "
    "Peyton Manning was the quarterback of Denver."
)
PARAGRAPH = squad.Paragraph(
    "Super_Bowl_50",
    CONTEXT,
    (
        squad.Question("q1", "Where was the game played?", ("Santa Clara",), (CONTEXT.index("Santa Clara"),)),
        squad.Question("q2", "Who won Super Bowl 50?", ("The Broncos",), (0,)),
    ),
)
OTHER = squad.Paragraph("Super_Bowl_50", "Carolina lost to the Broncos in 2016 in California.", ())


class TestPool:
    def test_the_pool_is_shipped_and_a_quarter_of_it_is_kept_out(self):
        articles = squad.load_articles()
        kept = squad.held_out(list(articles))
        assert len(articles) == 32 and len(kept) == 8
        assert sum(len(p.questions) for a in articles.values() for p in a) == 7595

    def test_half_the_articles_kept_out_may_join_the_readers_fit(self):
        titles = list(squad.load_articles())
        fit = squad.reader_articles(titles)
        assert len(fit) == 4 and fit < squad.held_out(titles)

    def test_the_articles_a_reader_was_fit_on_are_read_from_its_record(self, tmp_path):
        reader = tmp_path / "reader.json"
        reader.write_text('{"trained_on": {"questions": 9, "squad_articles": ["squad:Oxygen", "squad:Teacher"]}}')
        assert squad.fit_on(reader) == {"Oxygen", "Teacher"}
        reader.write_text('{"trained_on": {"questions": 9}}')
        assert squad.fit_on(reader) == set()
        assert squad.fit_on(tmp_path / "none.json") == set()

    def test_decks_written_again_drop_an_earlier_runs_other_articles(self, tmp_path):
        squad.write_decks({"A": [PARAGRAPH], "B": [OTHER]}, tmp_path)
        squad.write_decks({"B": [OTHER]}, tmp_path)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["B.md"]

    def test_sentences_and_the_one_that_holds_the_answer(self):
        spans = squad.sentences(CONTEXT)
        assert [CONTEXT[s:e] for s, e in spans][1] == "The game was played in Santa Clara."
        assert squad.answer_sentence(CONTEXT, CONTEXT.index("Santa Clara")) == spans[1]

    def test_a_near_miss_changes_a_name_to_one_the_paragraph_lacks(self):
        pool = squad.entity_pool([PARAGRAPH, OTHER])
        changed = squad.altered("Who won Super Bowl 50 in Denver?", CONTEXT, pool, random.Random(0))
        assert changed is not None and changed != "Who won Super Bowl 50 in Denver?"
        new = [h for h in squad.hinges(changed) if h not in squad.hinges("Who won Super Bowl 50 in Denver?")]
        assert new and all(h.lower() not in CONTEXT.lower() for h in new)

    def test_a_question_with_nothing_to_change_has_no_near_miss(self):
        assert squad.altered("what was played?", CONTEXT, ["Carolina"], random.Random(0)) is None


class TestScoring:
    @pytest.mark.parametrize(
        ("prediction", "answers", "exact", "f1"),
        [
            ("the Broncos", ("Broncos",), 1.0, 1.0),  # articles and case do not count
            ("Denver Broncos team", ("Denver Broncos",), 0.0, 0.8),
            ("", (), 1.0, 1.0),  # an abstention on an unanswerable question
            ("Broncos", (), 0.0, 0.0),  # an answer to an unanswerable question
            ("", ("Broncos",), 0.0, 0.0),
        ],
    )
    def test_squad_2_exact_match_and_f1(self, prediction, answers, exact, f1):
        assert squad.exact_match(prediction, answers) == exact
        assert squad.f1(prediction, answers) == pytest.approx(f1)

    def test_auroc_counts_pairs_ranked_right_and_ties_as_half(self):
        assert squad.auroc([3.0, 2.0], [1.0, 0.0]) == 1.0
        assert squad.auroc([1.0], [1.0]) == 0.5
        assert squad.auroc([0.0], [1.0, 2.0]) == 0.0

    def test_scores_of_an_abstaining_reader(self):
        asked = [("a", PARAGRAPH.questions[0]), ("a", squad.Question("n", "Where?", (), ()))]
        figures = squad.score_answers(asked, [("", 0.1), ("", 0.2)])
        assert figures["f1"] == 0.5 and figures["answerable_f1"] == 0.0 and figures["unanswerable_abstained"] == 1.0


def test_training_pairs_hold_the_answer_sentence_its_span_and_negatives():
    articles = {"Super_Bowl_50": [PARAGRAPH, OTHER]}
    made = pairs(articles, ["Super_Bowl_50"], ScorerSettings(same_paragraph=1, other_paragraph=1, near_misses=1))
    positives = [p for p in made if p.answers]
    assert {p.line for p in positives} == {
        "The game was played in Santa Clara.",
        "The Broncos won Super Bowl 50 in 2016.",
    }
    for p in positives:
        assert p.span is not None and p.line[p.span[0] : p.span[1]] in {"Santa Clara", "The Broncos"}
    negatives = [p for p in made if not p.answers]
    assert negatives and all(p.span is None for p in negatives)
    assert all(p.title == "Super Bowl 50" for p in made)


def test_each_training_line_carries_the_sentence_before_it_in_its_paragraph():
    articles = {"Super_Bowl_50": [PARAGRAPH, OTHER]}
    settings = ScorerSettings(same_paragraph=2, other_paragraph=1, near_misses=1, line_before=True)
    made = pairs(articles, ["Super_Bowl_50"], settings)
    sentences = [CONTEXT[s:e] for s, e in squad.sentences(CONTEXT)] + [OTHER.context]
    ahead = {line: sentences[i - 1] if 0 < i < 3 else "" for i, line in enumerate(sentences)}
    assert {p.line: p.before for p in made if p.line in ahead} == ahead
    # The answer sentence without its answer, and its near miss, are read after the same sentence.
    removed = [p for p in made if p.line == "The game was played in."]
    assert removed and all(p.before == sentences[0] for p in removed)
    # Every pair carries the line before; whether it is read is decided as the batch is encoded.
    assert pairs(articles, ["Super_Bowl_50"], dataclasses.replace(settings, line_before=False)) == made


def test_the_line_before_is_read_only_where_the_settings_say():
    from egov_qa.paths import default_scorer_dir
    from egov_qa.training.scorer import Pair, _encode, _tokenizer

    tokenizer = _tokenizer(default_scorer_dir() / "scorer_tokenizer.json", 48)
    batch = [Pair("Where was it played?", "Game", "Played in Santa Clara", True, (10, 21), "Broncos won")]
    read, _, _, _ = _encode(tokenizer, batch, before=True)
    plain, _, _, _ = _encode(tokenizer, batch, before=False)
    assert "broncos" in tokenizer.decode(read["input_ids"][0].tolist())
    assert "broncos" not in tokenizer.decode(plain["input_ids"][0].tolist())


def test_the_line_before_is_read_last_and_cut_so_that_a_long_pair_loses_it_first():
    from egov_qa.answer.scorer import BEFORE_CHARS, line_before, second_text

    assert second_text("Budget", "It grew.") == "Budget. It grew."
    assert second_text("Budget", "It grew.", "Spending:") == "Budget. It grew. [SEP] Spending:"
    assert second_text("", "It grew.", "Spending:") == "It grew. [SEP] Spending:"
    long = "The fund " + "grew again " * 20
    cut = line_before(long)
    assert len(cut) <= BEFORE_CHARS and long.startswith(cut) and not cut.endswith(" ")
    # The one text training and serving both read: the line before cut there, whoever calls it.
    assert second_text("Budget", "It grew.", long) == f"Budget. It grew. [SEP] {cut}"
    assert line_before("  Spending\n by year: ") == "Spending by year:"


def test_a_span_past_the_answer_the_line_lost_to_the_cut_is_not_learned():
    from egov_qa.paths import default_scorer_dir
    from egov_qa.training.scorer import Pair, _encode, _tokenizer

    tokenizer = _tokenizer(default_scorer_dir() / "scorer_tokenizer.json", 24)
    line = "The fund " + "grew again " * 20 + "in 2011"
    batch = [
        Pair("When did it grow?", "Fund", line, True, (line.index("2011"), len(line))),
        Pair("Where was it played?", "Game", "Played in Santa Clara", True, (10, 21), "A line before"),
    ]
    arrays, starts, ends, spanned = _encode(tokenizer, batch, before=True)
    assert spanned.tolist() == [False, True]
    ids = arrays["input_ids"][1][starts[1] : ends[1] + 1].tolist()
    assert tokenizer.decode(ids) == "santa clara"


def test_the_scorer_never_reads_its_span_off_the_line_before():
    import numpy as np

    from egov_qa.answer.scorer import _span, pair_tokenizers, second_text
    from egov_qa.paths import default_scorer_dir

    tokenizer, _ = pair_tokenizers(default_scorer_dir() / "scorer_tokenizer.json", 80)
    line, before = "Played in Santa Clara", "The Broncos won in 2016"
    encoding = tokenizer.encode("Who won?", second_text("Game", line, before))
    start, end = np.zeros(len(encoding.ids)), np.zeros(len(encoding.ids))
    # The logits peak on "Broncos", in the line before: the span stays inside the line.
    at = encoding.tokens.index("broncos")
    start[at] = end[at] = 10.0
    _, (lo, hi) = _span(encoding, start, end, len(second_text("Game", "")), len(line))
    assert 0 <= lo < hi <= len(line)


def test_a_line_too_long_for_one_read_gives_its_key_span_from_the_rest():
    from egov_qa.answer.scorer import AnswerScorer, Reading, second_text
    from egov_qa.paths import default_scorer_dir

    scorer = AnswerScorer(default_scorer_dir(), threads=1)
    question = "Where was the game played?"
    filler = " ".join(f"The committee met again on day {n} of the season to talk about tickets." for n in range(8))
    line = f"{filler} The game was played in Santa Clara."
    first = scorer.tokenizer.encode(question, second_text("Super Bowl 50", line))
    assert first.overflowing, "the line must be longer than one read"
    (scored,) = scorer.score(question, [Reading("Super Bowl 50", line)])
    assert "Santa Clara" in scored.span_text(line)
    # The answer logit is the first read's, as before: the reader's features do not move.
    assert scored.logit == scorer._run(first)[0]


def test_the_span_logit_is_the_key_spans_start_and_end_logits_summed():
    from egov_qa.answer.scorer import NO_SPAN_LOGIT, AnswerScorer, Reading, _span, second_text
    from egov_qa.paths import default_scorer_dir

    scorer = AnswerScorer(default_scorer_dir(), threads=1)
    question = "Where was the game played?"
    read = Reading("Super Bowl 50", "The game was played in Santa Clara.")
    encoding = scorer.tokenizer.encode(question, second_text(read.title, read.line))
    _, start, end = scorer._run(encoding)
    summed, _ = _span(encoding, start, end, len(second_text(read.title, "")), len(read.line))
    held, empty = scorer.score(question, [read, Reading("Super Bowl 50", "")])
    assert held.span_logit == summed > NO_SPAN_LOGIT
    # A line with no token to point at has no span, and the least span logit.
    assert empty.span is None and empty.span_logit == NO_SPAN_LOGIT


def test_a_very_long_line_costs_a_bounded_number_of_reads():
    from egov_qa.answer.scorer import MAX_SPAN_WINDOWS, AnswerScorer, Reading, pair_tokenizers
    from egov_qa.paths import default_scorer_dir

    scorer = AnswerScorer(default_scorer_dir(), threads=1)
    # A scorer of few tokens, asked a long question of a line of 5,000 characters.
    scorer.max_tokens = 32
    scorer.tokenizer, scorer.question_tokens = pair_tokenizers(default_scorer_dir() / "scorer_tokenizer.json", 32)
    runs = []
    run = scorer._run
    scorer._run = lambda encoding: runs.append(encoding) or run(encoding)
    question = "What did the committee say about the tickets for the game on the last day of the season?"
    (scored,) = scorer.score(question, [Reading("Super Bowl 50", "The game was played in Santa Clara. " * 140)])
    assert 1 < len(runs) <= 1 + MAX_SPAN_WINDOWS
    assert scored.span is not None


def test_a_scorer_trained_without_the_line_before_is_given_none():
    from egov_qa.answer.scorer import AnswerScorer, Reading
    from egov_qa.paths import default_scorer_dir

    scorer = AnswerScorer(default_scorer_dir())
    question = "Where was the game played?"
    plain = Reading("Super Bowl 50", "The game was played in Santa Clara.")
    after = plain._replace(before="The Broncos won Super Bowl 50 in 2016.")
    scorer.reads_before = False
    assert scorer.score(question, [after]) == scorer.score(question, [plain])
    scorer.reads_before = True
    assert scorer.score(question, [after])[0].logit != scorer.score(question, [plain])[0].logit


def test_a_scorer_folder_without_its_files_is_a_clear_error(tmp_path):
    from egov_qa.answer.scorer import AnswerScorer
    from egov_qa.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="make train-scorer"):
        AnswerScorer(tmp_path)


@pytest.mark.parametrize("damaged", ["scorer.onnx", "scorer_tokenizer.json", "scorer.json"])
def test_a_scorer_with_a_damaged_file_is_a_clear_error(tmp_path, damaged):
    import shutil

    from egov_qa.answer.scorer import AnswerScorer
    from egov_qa.errors import ModelLoadError
    from egov_qa.paths import default_scorer_dir

    shutil.copytree(default_scorer_dir(), tmp_path / "scorer")
    (tmp_path / "scorer" / damaged).write_text("not what it should be")
    with pytest.raises(ModelLoadError, match=r"cannot load the answer scorer in .*scorer .*make train-scorer"):
        AnswerScorer(tmp_path / "scorer")


def test_a_scorer_that_reads_too_few_tokens_is_a_clear_error(tmp_path):
    import json
    import shutil

    from egov_qa.answer.scorer import SCORER_RECORD, AnswerScorer
    from egov_qa.errors import ModelLoadError
    from egov_qa.paths import default_scorer_dir

    shutil.copytree(default_scorer_dir(), tmp_path / "scorer")
    record = json.loads((tmp_path / "scorer" / SCORER_RECORD).read_text())
    record["settings"]["max_tokens"] = 8
    (tmp_path / "scorer" / SCORER_RECORD).write_text(json.dumps(record))
    with pytest.raises(ModelLoadError, match="max_tokens 8, fewer than 16"):
        AnswerScorer(tmp_path / "scorer")


def test_the_shipped_scorer_reads_a_question_longer_than_it_reads_by_cutting_it():
    from egov_qa.answer.scorer import AnswerScorer
    from egov_qa.paths import default_scorer_dir

    scorer = AnswerScorer(default_scorer_dir())
    assert scorer._question("What was the budget?") == "What was the budget?"
    long = "What was the budget" + " and the fund" * 100 + "?"
    cut = scorer._question(long)
    assert long.startswith(cut) and len(scorer.question_tokens.encode(cut).ids) <= scorer.max_tokens // 2 + 2
    found = scorer.score(long, [("Budget", "Budget grew to 7 units in 2011"), ("Notes", "Notes")])
    assert len(found) == 2 and all(math.isfinite(f.logit) for f in found)


def test_a_line_reads_the_same_whatever_else_is_read_with_it():
    from egov_qa.answer.scorer import AnswerScorer
    from egov_qa.paths import default_scorer_dir

    scorer = AnswerScorer(default_scorer_dir())
    question = "When did the Broncos win Super Bowl 50?"
    line = ("Super Bowl 50", "The Broncos won Super Bowl 50 in 2016.")
    alone = scorer.score(question, [line])[0]
    longest = ("Notes", "The game was played in Santa Clara, " * 6 + "in front of 71,088 people.")
    for others in ([longest, line], [line, ("", "Denver")], [longest] * 5 + [line]):
        read = [r for r, c in zip(scorer.score(question, others), others, strict=True) if c == line]
        assert read and all(r == alone for r in read)


def test_the_answer_sentence_without_its_answer_is_a_negative_that_repeats_the_question():
    from egov_qa.training.scorer import without_answer

    articles = {"Super_Bowl_50": [PARAGRAPH, OTHER]}
    settings = ScorerSettings(same_paragraph=0, other_paragraph=0, near_misses=0)
    made = pairs(articles, ["Super_Bowl_50"], settings)
    assert {p.line for p in made if not p.answers} == {"The game was played in.", "won Super Bowl 50 in 2016."}
    off = pairs(articles, ["Super_Bowl_50"], dataclasses.replace(settings, answers_removed=False))
    assert all(p.answers for p in off)
    line = "The system, called KONEPS, was launched in 2002."
    at = line.index("KONEPS")
    assert without_answer(line, at, at + 6) == "The system, called, was launched in 2002."
    # An answer that is most of its line, or leaves too little, makes no negative.
    assert without_answer("It opened in 2002.", 13, 17) is None
    assert without_answer("Seoul.", 0, 5) is None


def test_the_scorers_int8_products_are_exact_on_every_cpu():
    import numpy as np
    import onnx
    import onnxruntime
    from onnx import helper, numpy_helper

    from egov_qa.answer.scorer import session_options

    # Signed weights against unsigned activations at the top of their range: where a CPU without
    # VNNI sums two products in 16 bits and saturates, unless told to be exact.
    rng = np.random.default_rng(0)
    weights = rng.integers(-127, 128, (384, 16)).astype(np.int8)
    activations = np.concatenate([rng.integers(0, 256, (1, 192)), np.full((1, 192), 255)], axis=1).astype(np.uint8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w", "az"], ["y"])],
        "g",
        [helper.make_tensor_value_info("a", onnx.TensorProto.UINT8, [1, 384])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.INT32, [1, 16])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.array(117, np.uint8), "az")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), session_options(), providers=["CPUExecutionProvider"]
    )
    (found,) = session.run(None, {"a": activations})
    assert np.array_equal(found, (activations.astype(np.int64) - 117) @ weights.astype(np.int64))


def test_a_scorers_record_names_the_cpu_model_it_was_trained_on(tmp_path, monkeypatch):
    from egov_qa.training import scorer

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD  EPYC 7B13\nflags\t\t: avx2\n")
    assert scorer.cpu_model(cpuinfo) == "AMD EPYC 7B13"
    # Where Linux does not say (another system, or no model line), what the platform says.
    monkeypatch.setattr(scorer.platform, "processor", lambda: "arm")
    assert scorer.cpu_model(tmp_path / "missing") == "arm"
    cpuinfo.write_text("processor\t: 0\n")
    assert scorer.cpu_model(cpuinfo) == "arm"

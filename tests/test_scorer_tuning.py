"""The answer scorer trained further on the eval sets, fold by fold."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from egov_qa.answer.features import FEATURES
from egov_qa.evaluation.scoring import EvalItem
from egov_qa.training.fit import Asked
from egov_qa.training.scorer_tuning import answer_span, eval_pairs


def _asked(suite, number, right, copy_of=None, answerable=True):
    item = EvalItem(f"{suite}-{number}", "Who runs it?", ("the PMO",), "PMO", answerable, "other", False)
    texts = (("Roles", "The PMO runs it"), ("Roles", "Who runs it?"), ("Other", "Agencies apply"))
    ok = np.array([i == right for i in range(3)])
    rows = np.zeros((3, len(FEATURES)))
    return Asked(suite, item, rows, ok, ok | True, True, None, copy_of, "Who runs it?", texts)


def test_the_span_is_the_accepted_answer_found_case_aside():
    item = EvalItem("q", "Who?", ("the PMO", "PMO"), "PMO", True, "other", False)
    assert answer_span(item, "The PMO runs it") == (0, 7)
    assert answer_span(item, "Agencies apply") is None


def test_every_candidate_of_a_deck_is_a_pair_and_copies_are_never_trained_on():
    asked = [_asked("a", 0, 0), _asked("a", 1, None, answerable=False), _asked("a-copy", 2, 0, copy_of="a")]
    pairs = eval_pairs(asked)
    assert len(pairs) == 6
    right = [p for p in pairs if p.answers]
    assert [(p.line, p.span) for p in right] == [("The PMO runs it", (0, 7))]
    # The heading that repeats the question is a wrong line, as are all lines of an unanswerable question.
    assert all(p.span is None for p in pairs if not p.answers)
    assert sorted(p.line for p in pairs if not p.answers) == sorted(
        ["Who runs it?", "Agencies apply", "The PMO runs it", "Who runs it?", "Agencies apply"]
    )


def test_the_wrong_lines_kept_are_those_of_the_evidence_slide_then_the_best_retrieved():
    from egov_qa.training.scorer_tuning import hardest_wrong

    rows = np.zeros((5, len(FEATURES)))
    rows[:, FEATURES.index("slide_rank")] = [0.5, 0.2, 1.0, 0.5, 0.1]
    rows[:, FEATURES.index("unit_rank")] = [0.5, 0.9, 0.1, 0.3, 0.2]
    right = np.array([True, False, False, False, False])
    on_evidence = np.array([True, False, False, False, True])
    item = EvalItem("q", "Who?", ("PMO",), "PMO", True, "other", False)
    asked = Asked("s", item, rows, right, on_evidence, True, None, None, "Who?", (("t", "l"),) * 5)
    # 4 is on the evidence slide; then 2 (the best slide), 3 (the next), 1 (the worst slide).
    assert hardest_wrong(asked, 3) == [4, 2, 3]
    assert hardest_wrong(asked, 9) == [4, 2, 3, 1]


def _untrained_scorer(folder: Path) -> Path:
    """A scorer as `train-scorer` writes one, untrained: its heads start at random."""
    from egov_qa.answer.scorer import SCORER_FORMAT, SCORER_RECORD
    from egov_qa.index.embedder import DEFAULT_MODEL, resolve_model
    from egov_qa.training import scorer as training

    folder.mkdir(parents=True)
    path = Path(resolve_model(DEFAULT_MODEL))
    training._save(training._build_model(str(path), 6), path / "tokenizer.json", folder, 32)
    record = {"format": SCORER_FORMAT, "created": "then", "base_model": DEFAULT_MODEL, "settings": {"max_tokens": 32}}
    (folder / SCORER_RECORD).write_text(json.dumps(record), encoding="utf-8")
    return folder


@pytest.mark.model
def test_each_fold_is_read_by_a_scorer_trained_without_it(tmp_path):
    from egov_qa.answer.scorer import SCORER_MODEL, SCORER_RECORD, AnswerScorer
    from egov_qa.training.scorer_tuning import SETTINGS, fold_scored, trained_further

    base = _untrained_scorer(tmp_path / "base")

    # Read on every core up to 8, as the question embedder is, one core a run; or on as many as asked.
    every = AnswerScorer(base)
    assert every.threads == min(os.cpu_count() or 1, 8)
    assert every.session.get_session_options().intra_op_num_threads == 1
    assert AnswerScorer(base, threads=1).threads == 1

    asked = [_asked("a", 0, 0), _asked("b", 1, 0), _asked("b-copy", 2, 0, copy_of="b")]
    quick = type(SETTINGS)(epochs=1, batch_size=4, frozen_layers=6, max_tokens=8)
    said: list[str] = []
    found = fold_scored(asked, {"a": 0, "b": 1}, base, tmp_path / "work", quick, progress=said.append)
    assert [a.suite for a in found] == ["a", "b", "b-copy"]
    assert [m.split(",")[0] for m in said] == [
        "training the answer scorer further on 3 pairs of the sets outside fold 0",
        "training the answer scorer further on 3 pairs of the sets outside fold 1",
    ]
    assert all(a.scores is not None and a.scores.shape == (3,) for a in found)
    for number, left_out in ((0, ["a"]), (1, ["b"])):
        written = json.loads((tmp_path / "work" / f"fold-{number}" / SCORER_RECORD).read_text(encoding="utf-8"))
        assert written["fine_tuned"]["eval_sets_left_out"] == left_out
        assert written["fine_tuned"]["pairs"] == 3  # the other fold's deck only: never its copy
        assert written["settings"]["max_tokens"] == 32  # as the scorer it starts from reads
    # A copy is read by the scorer of its deck's fold.
    assert np.allclose(found[1].scores, found[2].scores)
    # A rerun on the same pairs keeps the fold scorers; other pairs train again.
    model = tmp_path / "work" / "fold-0" / SCORER_MODEL
    stamp = model.stat().st_mtime_ns
    said.clear()
    fold_scored(asked, {"a": 0, "b": 1}, base, tmp_path / "work", quick, progress=said.append)
    assert model.stat().st_mtime_ns == stamp
    # Saying so: a rerun that trains nothing takes seconds, one that trains takes minutes.
    assert len(said) == 2 and all(" is kept: " in m and "same base, settings and pairs" in m for m in said)
    # A kept scorer exported before its weights were quantized per channel is exported again
    # from its float weights, not trained again: the same training record, another model file.
    from egov_qa.training.scorer import QUANTIZATION

    record_file = tmp_path / "work" / "fold-0" / SCORER_RECORD
    written = json.loads(record_file.read_text(encoding="utf-8"))
    assert written["quantization"] == QUANTIZATION == "int8 per channel"
    before = {k: v for k, v in written.items() if k != "quantization"}
    record_file.write_text(json.dumps(before), encoding="utf-8")
    said.clear()
    fold_scored(asked, {"a": 0, "b": 1}, base, tmp_path / "work", quick, progress=said.append)
    assert any(m.startswith(f"exporting {tmp_path / 'work' / 'fold-0'} again") for m in said)
    assert json.loads(record_file.read_text(encoding="utf-8")) == {**before, "quantization": QUANTIZATION}
    assert model.stat().st_mtime_ns != stamp
    AnswerScorer(tmp_path / "work" / "fold-0").score("Who runs it?", [("Roles", "The PMO runs it")])
    stamp = model.stat().st_mtime_ns
    # Also when the settings ask for another length: the scorer reads as its base does, so nothing changed.
    fold_scored(asked, {"a": 0, "b": 1}, base, tmp_path / "work", dataclasses.replace(quick, max_tokens=16))
    assert model.stat().st_mtime_ns == stamp
    # And when only how SQuAD pairs are drawn differs: training further never reads it.
    from egov_qa.training.scorer import PAIR_SETTINGS

    assert PAIR_SETTINGS <= set(dataclasses.asdict(quick))
    fold_scored(asked, {"a": 0, "b": 1}, base, tmp_path / "work", dataclasses.replace(quick, near_misses=5))
    assert model.stat().st_mtime_ns == stamp
    fold_scored([*asked[:2], _asked("b", 3, 1)], {"a": 0, "b": 1}, base, tmp_path / "work", quick)
    assert model.stat().st_mtime_ns != stamp
    # The scorer a reader reads with is trained on every set's pairs.
    every = trained_further(base, tmp_path / "every", asked, quick)
    written = json.loads((every / SCORER_RECORD).read_text(encoding="utf-8"))
    assert written["fine_tuned"]["eval_sets"] == ["a", "b"] and written["fine_tuned"]["pairs"] == 6


def test_a_scorer_is_installed_beside_its_reader_without_its_float_weights(tmp_path):
    from egov_qa.answer.scorer import SCORER_MODEL, SCORER_RECORD, SCORER_TOKENIZER, SCORER_WEIGHTS, install
    from egov_qa.paths import default_scorer_dir, scorer_dir_for

    source = tmp_path / "trained"
    source.mkdir()
    for name in (SCORER_MODEL, SCORER_TOKENIZER, SCORER_RECORD, SCORER_WEIGHTS):
        (source / name).write_bytes(name.encode())
    target = scorer_dir_for(tmp_path / "out" / "reader.json")
    assert target == tmp_path / "out" / "scorer"
    assert scorer_dir_for(None) == default_scorer_dir()
    install(source, target)
    assert sorted(p.name for p in target.iterdir()) == sorted([SCORER_MODEL, SCORER_TOKENIZER, SCORER_RECORD])
    assert (target / SCORER_MODEL).read_bytes() == SCORER_MODEL.encode()


@pytest.mark.model
def test_a_soup_is_the_mean_of_runs_that_differ_only_by_seed_and_order(tmp_path):
    from safetensors.numpy import load_file

    from egov_qa.answer.scorer import SCORER_RECORD, SCORER_WEIGHTS, AnswerScorer
    from egov_qa.training.scorer import device_name, fine_tune
    from egov_qa.training.scorer_tuning import SETTINGS, eval_pairs

    base = _untrained_scorer(tmp_path / "base")
    found = eval_pairs([_asked("a", 0, 0), _asked("b", 1, 2), _asked("c", 2, 1)])
    quick = type(SETTINGS)(epochs=1, batch_size=2, frozen_layers=5, max_tokens=8, learning_rate=1e-3)
    fine_tune(base, tmp_path / "single", found, quick, {})
    record = fine_tune(base, tmp_path / "soup", found, dataclasses.replace(quick, soup=2), {})
    assert record["fine_tuned"]["settings"]["soup"] == 2
    # Which CPU trained it: the same recipe and seed trained on another has other weights.
    assert record["fine_tuned"]["device"] == device_name("cpu") and device_name("cpu").startswith("cpu (")

    def weights(folder):
        return load_file(str(folder / SCORER_WEIGHTS))

    single, soup = weights(tmp_path / "single"), weights(tmp_path / "soup")
    runs = [weights(tmp_path / "soup" / "runs" / str(k)) for k in range(2)]
    trained = "encoder.encoder.layer.5.output.dense.weight"  # a layer left free to train
    # The first run is the single run; the second starts from the same weights but reads the pairs
    # in another order with another seed, so it ends elsewhere; the soup is their mean.
    assert np.array_equal(runs[0][trained], single[trained])
    assert not np.allclose(runs[1][trained], runs[0][trained])
    for name in (trained, "answer.weight", "span.bias"):
        assert np.allclose(soup[name], (runs[0][name] + runs[1][name]) / 2, atol=1e-6)
    assert AnswerScorer(tmp_path / "soup").record["fine_tuned"]["settings"]["soup"] == 2
    seeds = [
        json.loads((run / SCORER_RECORD).read_text())["fine_tuned"]["settings"]["seed"]
        for run in (tmp_path / "soup" / "runs" / "0", tmp_path / "soup" / "runs" / "1")
    ]
    assert seeds == [0, 1]
    # A soup of more runs, asked for later, keeps the runs already trained on the same pairs and
    # trains only those it lacks; runs of other pairs are trained again.
    stamps = [(tmp_path / "soup" / "runs" / str(k) / SCORER_WEIGHTS).stat().st_mtime_ns for k in range(2)]
    # One of them as if trained on another CPU: the soup's record names both.
    first = tmp_path / "soup" / "runs" / "0" / SCORER_RECORD
    elsewhere = json.loads(first.read_text())
    elsewhere["fine_tuned"]["device"] = "cpu (Another CPU, AVX512)"
    first.write_text(json.dumps(elsewhere))
    record = fine_tune(base, tmp_path / "soup", found, dataclasses.replace(quick, soup=3), {})
    assert record["fine_tuned"]["settings"]["soup"] == 3
    assert record["fine_tuned"]["device"] == f"cpu (Another CPU, AVX512); {device_name('cpu')}"
    assert [(tmp_path / "soup" / "runs" / str(k) / SCORER_WEIGHTS).stat().st_mtime_ns for k in range(2)] == stamps
    third = weights(tmp_path / "soup" / "runs" / "2")
    soup = weights(tmp_path / "soup")
    assert np.allclose(soup[trained], (runs[0][trained] + runs[1][trained] + third[trained]) / 3, atol=1e-6)
    fine_tune(base, tmp_path / "soup", found[1:], dataclasses.replace(quick, soup=2), {})
    assert (tmp_path / "soup" / "runs" / "0" / SCORER_WEIGHTS).stat().st_mtime_ns != stamps[0]

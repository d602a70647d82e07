"""Tuning the encoder: its examples, its file, how it is applied and named, and a real tuning."""

from __future__ import annotations

import logging
import random

import numpy as np
import pytest
import torch

from egov_qa import paths
from egov_qa.errors import ModelLoadError
from egov_qa.index import embedder
from egov_qa.index.tuning import Tuning
from egov_qa.training import encoder as encoder_training
from egov_qa.training.crossfit import folds_of
from egov_qa.training.encoder import Example, Settings, examples


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_each_answer_line_is_paired_with_the_untuned_models_best_wrong_lines():
    lines = ["What are validations?", "Validations are automated checks.", "They run nightly.", "Contact us"]
    line_vectors = np.stack([unit(1, 0, 0), unit(0.8, 0.6, 0), unit(0, 1, 0), unit(0, 0, 1)])
    questions = [("What are validations?", [1]), ("When do they run?", [2]), ("Unanswered here", [])]
    question_vectors = np.stack([unit(1, 0.1, 0), unit(0, 0.2, 1), unit(1, 0, 0)])
    found = examples(questions, lines, question_vectors, line_vectors)
    assert found == [
        # The line that repeats the question is the untuned model's best wrong line.
        Example("What are validations?", lines[1], lines[0]),
        Example("What are validations?", lines[1], lines[2]),
        Example("What are validations?", lines[1], lines[3]),
        Example("When do they run?", lines[2], lines[3]),
        Example("When do they run?", lines[2], lines[1]),
        Example("When do they run?", lines[2], lines[0]),
    ]


def test_at_most_two_answer_lines_per_question_each_against_three_wrong_ones():
    lines = [f"line {i}" for i in range(6)]
    vectors = np.eye(6, dtype=np.float32)
    question = unit(1, 1, 1, 0.4, 0.3, 0.2)
    found = examples([("q", [0, 1, 2])], lines, question[None, :], vectors)
    assert [(e.answer, e.other) for e in found] == [(lines[a], lines[o]) for a in (0, 1) for o in (3, 4, 5)]
    assert (Settings().positives_per_question, Settings().negatives_per_question) == (2, 3)


def test_batches_hold_no_text_twice_and_deal_every_example_once():
    found = [Example(f"q{i % 5}", f"answer {i}", f"other {i % 7}") for i in range(40)]
    dealt = list(encoder_training.batches(found, 4, random.Random(0)))
    assert sorted(e.answer for chunk in dealt for e in chunk) == sorted(e.answer for e in found)
    assert all(len(chunk) <= 4 for chunk in dealt)
    for chunk in dealt:
        texts = [t for e in chunk for t in (e.question, e.answer, e.other)]
        assert len(texts) == len(set(texts)), chunk
    assert max(len(chunk) for chunk in dealt) == 4


def test_folds_deal_sorted_sets_in_turn():
    assert folds_of(["c", "a", "b", "d"]) == {"a": 0, "b": 1, "c": 2, "d": 0}
    assert folds_of(["b", "a"]) == {"a": 0, "b": 1}
    assert folds_of(["only"]) == {"only": 0}


def tuned(value: float = 0.5) -> Tuning:
    return Tuning("base-model", {"layer.bias": np.full(3, value, dtype=np.float32)}, {"eval_sets": {"x": "1"}})


def test_a_tuning_survives_its_file_and_is_named_by_its_differences(tmp_path):
    saved = tuned().save(tmp_path / "encoder.json")
    loaded = Tuning.load(saved)
    assert loaded.base_model == "base-model" and loaded.meta == {"eval_sets": {"x": "1"}}
    np.testing.assert_array_equal(loaded.biases["layer.bias"], tuned().biases["layer.bias"])
    assert loaded.model_name == tuned().model_name
    assert loaded.model_name.startswith("base-model+bitfit-")
    assert tuned(0.25).model_name != tuned().model_name


@pytest.mark.parametrize(
    "text", ["{not json", '{"format": 99, "base_model": "m", "biases": {}}', '{"format": 1}', "[]"]
)
def test_a_damaged_tuning_file_says_to_train_again(tmp_path, text):
    path = tmp_path / "encoder.json"
    path.write_text(text)
    with pytest.raises(ModelLoadError, match="egov-qa train"):
        Tuning.load(path)


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 3)


def test_applying_adds_the_differences_to_the_bias_terms_only():
    model = Tiny()
    weight, bias = model.layer.weight.detach().clone(), model.layer.bias.detach().clone()
    tuned().apply(model)
    assert torch.equal(model.layer.weight, weight)
    assert torch.allclose(model.layer.bias, bias + 0.5)


def test_a_tuning_that_does_not_fit_the_model_changes_nothing():
    model = Tiny()
    bias = model.layer.bias.detach().clone()
    wrong = Tuning("base-model", {"layer.bias": np.zeros(3, np.float32), "other.bias": np.zeros(4, np.float32)}, {})
    with pytest.raises(ModelLoadError, match="does not fit"):
        wrong.apply(model)
    assert torch.equal(model.layer.bias, bias)


def test_the_project_tuning_applies_only_to_the_model_it_was_made_from(tmp_path, monkeypatch, caplog):
    path = tmp_path / "encoder.json"
    monkeypatch.setenv(paths.TUNING_ENV, str(path))
    assert embedder.SentenceTransformerEmbedder("base-model").name == "base-model"  # no file: untuned
    tuned().save(path)
    assert embedder.SentenceTransformerEmbedder("base-model").name == tuned().model_name
    assert embedder.SentenceTransformerEmbedder("another-model").name == "another-model"
    assert embedder.SentenceTransformerEmbedder("base-model", tuning=None).name == "base-model"
    path.write_text("{damaged")
    with caplog.at_level(logging.WARNING):
        assert embedder.SentenceTransformerEmbedder("base-model").name == "base-model"
    assert "used untuned" in caplog.text


@pytest.mark.model
def test_tuning_the_real_model_brings_answers_nearer_their_questions():
    """A few passes over four examples: the answer lines climb above the lines that repeat the question."""
    found = [
        Example("What are validations?", "Validations are automated checks of content.", "What are validations?"),
        Example("Which formats are supported?", "FedRAMP supports JSON, XML and YAML.", "Supported formats"),
        Example("Who can attend the meeting?", "Developers and vendors are welcome.", "Who can attend?"),
        Example("When is the next session?", "It takes place on March 7.", "Next session"),
    ]
    base = embedder.SentenceTransformerEmbedder(tuning=None)
    got = encoder_training.tune(base.base, embedder.resolve_model(base.base), found, Settings(epochs=4))
    assert sum(d.size for d in got.biases.values()) == 26112  # every bias term, nothing else
    after = embedder.SentenceTransformerEmbedder(tuning=got)
    assert after.name == got.model_name != base.name

    def margins(model) -> np.ndarray:
        q, a, o = (model.embed([getattr(e, f) for e in found]) for f in ("question", "answer", "other"))
        return (q * a).sum(axis=1) - (q * o).sum(axis=1)

    assert margins(after).mean() > margins(base).mean() + 0.05

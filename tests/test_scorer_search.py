"""Choosing the answer scorer's settings: on dev articles of its training pool, never on the held-out ones."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from egov_qa.evaluation import squad
from egov_qa.training.scorer import ScorerSettings
from egov_qa.training.scorer_search import dev_split, figure, search

CONTEXT = (
    "The {name} Bridge was opened in {year}. It crosses the river near the old market. "
    "Its main span is {span} metres long."
)


def paragraph(name: str, year: str, span: str) -> dict:
    context = CONTEXT.format(name=name, year=year, span=span)
    qas = [
        {"id": f"{name}y", "question": f"When was the {name} Bridge opened?", "answer": year},
        {"id": f"{name}s", "question": f"How long is the main span of the {name} Bridge?", "answer": span},
    ]
    for qa in qas:
        answer = qa.pop("answer")
        qa["answers"] = [{"text": answer, "answer_start": context.index(answer)}]
    return {"context": context, "qas": qas}


def small_pool(path: Path, count: int = 16) -> Path:
    """A pool of ``count`` articles of two paragraphs, two questions each (the other paragraph's
    names and numbers make the near misses)."""
    data = [
        {
            "title": f"Article{i}",
            "paragraphs": [
                paragraph(f"North{chr(65 + i)}", str(1900 + i), str(100 + 7 * i)),
                paragraph(f"South{chr(65 + i)}", str(1950 + i), str(300 + 11 * i)),
            ],
        }
        for i in range(count)
    ]
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump({"data": data}, handle)
    return path


def test_the_dev_articles_are_training_articles_and_never_held_out():
    titles = [f"t{i:02d}" for i in range(32)]
    training = [t for t in titles if t not in squad.held_out(titles)]
    fitted, dev = dev_split(training)
    assert len(dev) == 6 and len(fitted) == 18
    assert not set(dev) & set(fitted)
    assert not set(dev) & squad.held_out(titles)
    assert set(dev) | set(fitted) == set(training)


def test_the_choice_goes_by_the_mean_of_the_three_dev_figures():
    measured = {"answer_sentence_chosen": 0.9, "span_f1_in_answer_sentence": 0.6, "auroc_answerable_vs_near_miss": 0.3}
    assert figure(measured) == pytest.approx(0.6)


@pytest.mark.model
def test_each_candidate_is_trained_and_read_on_the_dev_articles_best_first(tmp_path):
    pool = small_pool(tmp_path / "pool.json.gz")
    candidates = {
        "short": ScorerSettings(questions=4, batch_size=4),
        "longer": ScorerSettings(questions=8, batch_size=4, epochs=2, frozen_layers=0, line_before=True),
    }
    found = search("cpu", candidates, pool=pool)
    articles = squad.load_articles(pool)
    held_out = squad.held_out(list(articles))
    assert found["dev_articles"] and not set(found["dev_articles"]) & held_out
    assert found["fitted_articles"] + len(found["dev_articles"]) + len(held_out) == len(articles)
    rows = found["candidates"]
    assert {row["candidate"] for row in rows} == set(candidates)
    assert [row["figure"] for row in rows] == sorted((row["figure"] for row in rows), reverse=True)
    for row in rows:
        # Each dev question's answer sentence read, with a near miss of it.
        assert row["dev"]["questions"] == 4 * len(found["dev_articles"])
        assert row["dev"]["near_misses"] > 0
        assert np.isfinite(row["figure"]) and 0 <= row["figure"] <= 1
        assert row["settings"] == {**candidates[row["candidate"]].__dict__}

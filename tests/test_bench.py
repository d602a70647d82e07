"""The benchmark's stand-ins work where the parts they replace do (its figures are read, never tested)."""

import importlib.util
from pathlib import Path

from egov_qa.assistant import Assistant

ROOT = Path(__file__).resolve().parents[1]


def load_bench():
    spec = importlib.util.spec_from_file_location("egov_qa_bench", ROOT / "bench" / "bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_stand_in_for_the_answer_scorer_answers_in_its_place(tiny_corpus, tmp_path, fake_embedder):
    assistant = Assistant(tiny_corpus, tmp_path / "index", embedder=fake_embedder, threshold=0.0)
    reader = assistant.extractor.reader
    assert reader.scorer is not None, "the shipped reader reads with the answer scorer"
    reader.scorer = load_bench().ConstantScorer()
    answer = assistant.ask("How many days does passport renewal take online?")
    assert not answer.abstained
    assert answer.answer == "Passport renewal takes 3 days online"

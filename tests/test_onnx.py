"""The ONNX export that embeds questions without torch: parity with the model, and no torch on the query path."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SHIPPED_CORPUS

from egov_qa.assistant import Assistant
from egov_qa.index.embedder import ONNX_MODEL, OnnxEmbedder, SentenceTransformerEmbedder

pytestmark = pytest.mark.model

EVAL_SET = ROOT / "evals" / "known_facts.jsonl"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The shipped deck's index, built with the real model; returns (corpus, index folder, assistant)."""
    index_dir = tmp_path_factory.mktemp("onnx-index")
    return SHIPPED_CORPUS, index_dir, Assistant(SHIPPED_CORPUS, index_dir)


def test_the_index_holds_the_export_with_its_hash(built):
    _, index_dir, assistant = built
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["query_model"]["cosine"] >= 0.999
    assert manifest["files"][ONNX_MODEL]["bytes"] == (index_dir / ONNX_MODEL).stat().st_size
    assert isinstance(assistant.embedder, OnnxEmbedder)


def test_question_vectors_agree_with_sentence_transformers(built):
    _, _, assistant = built
    questions = [json.loads(line)["question"] for line in EVAL_SET.read_text().splitlines() if line.strip()]
    reference = assistant.builder.embedder
    assert isinstance(reference, SentenceTransformerEmbedder)
    ours = np.vstack([assistant.embedder.embed([q]) for q in questions])
    theirs = reference.embed(questions)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, questions[int(cosines.argmin())]


QUERY_PATH = """
import sys
from egov_qa.cli import main
corpus, index = sys.argv[1], sys.argv[2]
assert main(["-q", "--corpus", corpus, "--index", index, "ask", "What does MOPAS stand for?"]) == 0
from egov_qa.assistant import Assistant
assistant = Assistant(corpus, index)
assert not assistant.ask("How many e-villages were established?").abstained
from egov_qa.app.chat import build_app
build_app(assistant)
print(sorted(m for m in ("torch", "sentence_transformers") if m in sys.modules))
"""


def test_asking_imports_neither_torch_nor_sentence_transformers(built):
    corpus, index_dir, _ = built
    result = subprocess.run(
        [sys.executable, "-c", QUERY_PATH, str(corpus), str(index_dir)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "Ministry of Public Administration" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"

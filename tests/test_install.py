"""An installed copy (not the source tree) answers with the reader and tuning it ships as package data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, SHIPPED_CORPUS

pytestmark = pytest.mark.model

ASK = """
import json, sys
import egov_qa
from egov_qa import Assistant
from egov_qa.paths import default_reader_path
answer = Assistant(sys.argv[1], sys.argv[2]).ask("What does MOPAS stand for?")
print(json.dumps({"package": egov_qa.__file__, "reader": str(default_reader_path()),
                  "abstained": answer.abstained, "answer": answer.answer}))
"""


def test_a_wheel_installed_elsewhere_answers_with_its_shipped_reader(tmp_path):
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("egov_qa-*.whl")
    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    corpus = shutil.copytree(SHIPPED_CORPUS, elsewhere / "corpus")
    # The installed copy comes first on the path; the working folder holds no source tree.
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    for name in ("EGOV_QA_READER", "EGOV_QA_ENCODER", "EGOV_QA_CORPUS", "EGOV_QA_INDEX"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", ASK, str(corpus), str(elsewhere / "index")],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["package"].startswith(str(site)) and got["reader"].startswith(str(site))
    assert not got["abstained"] and "Ministry of Public Administration" in got["answer"]

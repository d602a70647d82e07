"""The real model on the shipped deck, through the library and the installed command."""

import json
import os
import subprocess
import sys

import pytest
from conftest import SHIPPED_CORPUS

from egov_qa.assistant import Assistant
from egov_qa.errors import ModelLoadError

pytestmark = pytest.mark.model


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("shipped-index")


@pytest.fixture(scope="session")
def assistant(index_dir):
    return Assistant(SHIPPED_CORPUS, index_dir)


@pytest.mark.parametrize(
    ("question", "quote_part", "span"),
    [
        ("When did Korea start digitizing public administration?", "1975 Korea commenced", "1975"),
        ("What does MOPAS stand for?", "Ministry of Public Administration & Security", None),
        ("What was the e-Government budget in 2005?", "2005: 20,272", "20,272"),
        ("How many e-villages were established?", "363 e-villages", "363 e-villages"),
    ],
)
def test_answers_from_the_right_slide(assistant, question, quote_part, span):
    answer = assistant.ask(question)
    assert not answer.abstained, answer.reason
    assert quote_part in answer.answer
    first = answer.citations[0]
    assert first.text[first.start : first.end] == answer.answer
    if span:
        assert answer.span.text == span


def test_abstains_on_what_the_deck_never_says(assistant):
    answer = assistant.ask("What is the capital of France?")
    assert answer.abstained and answer.answer is None
    assert answer.citations


def test_a_name_the_deck_never_mentions_lowers_the_confidence(assistant):
    # The reader weighs a missing name; it does not always abstain on it (see the README's failures).
    lacking = assistant.ask("What was Japan's rank in the UN e-Government index?")
    held = assistant.ask("What was Korea's rank in the UN e-Government index?")
    assert lacking.confidence < held.confidence


def test_every_answer_is_a_verbatim_slice(assistant):
    questions = ["customs clearance", "UN Public Service Awards", "NCIA security", "smart government vision"]
    for question in questions:
        answer = assistant.ask(question, top_k=5)
        if answer.answer is not None:
            first = answer.citations[0]
            assert first.text[first.start : first.end] == answer.answer
            assert len(answer.answer) <= 300
        assert len({(c.source, c.slide) for c in answer.citations}) == len(answer.citations) <= 5


def test_a_model_that_cannot_load_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="cannot load embedding model 'no/such-model'") as failed:
        Assistant(SHIPPED_CORPUS, tmp_path / "index", model="no/such-model")
    # One line that says what to do offline, not the hub's advice to check the connection.
    assert "it is not a local folder, and the hub is offline" in str(failed.value)
    assert "\n" not in str(failed.value) and "internet" not in str(failed.value)


def test_console_script_prints_json(index_dir):
    command = [os.path.join(os.path.dirname(sys.executable), "egov-qa"), "--index", str(index_dir)]
    result = subprocess.run([*command, "ask", "What is NIA?", "--json"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["question"] == "What is NIA?"
    assert "Traceback" not in result.stderr


def test_console_script_bad_model_is_a_message(tmp_path):
    command = [os.path.join(os.path.dirname(sys.executable), "egov-qa"), "--index", str(tmp_path / "i")]
    result = subprocess.run(
        [*command, "--model", str(tmp_path / "nothing"), "ask", "hi"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "cannot load embedding model" in result.stderr and "Traceback" not in result.stderr


def test_concurrent_questions_share_one_assistant_safely(assistant):
    from concurrent.futures import ThreadPoolExecutor

    questions = [
        "What does MOPAS stand for?",
        "How many e-villages were established?",
        "What was the e-Government budget in 2005?",
        "When did Korea start digitizing public administration?",
    ] * 3
    alone = {q: assistant.ask(q).to_dict() for q in set(questions)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda q: assistant.ask(q).to_dict(), questions))
    for question, result in zip(questions, together, strict=True):
        assert result == alone[question]


def test_app_on_a_busy_port_is_a_message(tiny_corpus, tmp_path):
    import socket

    from conftest import ROOT

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [
            sys.executable,
            str(ROOT / "app.py"),
            "--corpus",
            str(tiny_corpus),
            "--index",
            str(tmp_path / "i"),
            "--port",
            str(port),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_app_stopped_by_sigterm_leaves_nothing_in_the_temporary_folder(tiny_corpus, tmp_path):
    """A service manager stops the chat with SIGTERM: its index build's model export (some 90 MB)
    goes with it, as it does on Ctrl+C."""
    import socket

    from conftest import ROOT

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    command = [sys.executable, str(ROOT / "app.py"), "--corpus", str(tiny_corpus), "--index", str(tmp_path / "i")]
    env = {**os.environ, "TMPDIR": str(temporary), "HF_HUB_OFFLINE": "1", "EGOV_QA_DATA": str(tmp_path / "data")}
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "chat at http" in line:
                break
        assert "chat at http" in lines[-1], "".join(lines)
        assert list(temporary.glob("egov-qa-onnx-*")), "the build serves from an export in the temporary folder"
        process.terminate()
        # 0 when the server was serving (it closes), 143 when the signal came just before: both stop
        # cleanly; Python's own SIGTERM would end it at once (-15), leaving the folder.
        assert process.wait(timeout=60) in (0, 143)
    finally:
        process.kill()
    assert not list(temporary.glob("egov-qa-onnx-*"))


def test_answers_from_a_real_pdf_deck_with_the_page_cited(tmp_path):
    import shutil

    from conftest import DATA

    corpus = tmp_path / "pdf"
    corpus.mkdir()
    shutil.copy(DATA / "nist-oscal-slides-2020-03-26.pdf", corpus / "oscal.pdf")
    answer = Assistant(corpus, tmp_path / "index").ask(
        "When was Milestone 2, the System Security Plan model, completed?"
    )
    assert not answer.abstained, answer.reason
    first = answer.citations[0]
    assert (first.source, first.slide) == ("oscal.pdf", 5)
    assert first.text[first.start : first.end] == answer.answer
    assert "10/1/2019" in answer.answer


@pytest.mark.parametrize(
    ("question", "source", "slide", "quote"),
    [
        (
            # Asked as "What are the outcomes of the discussion of the namespace?", the reader
            # quotes another outcome bullet of the slide ("Productive discussion around OSCAL"):
            # a ranking miss, not a reading one, so the question names this bullet's subject.
            "What understanding of namespace collisions was an outcome?",
            "fedramp-developer-data-bites-2024-03-07.pdf",
            2,
            "Shared understanding of the namespace collisions on validations",
        ),
        (
            "Which personnel can rapidly verify that systems comply with security requirements?",
            "nist-oscal-high-level-overview-2018-01.pptx",
            4,
            "Operations personnel: rapidly verify that systems comply with organizational security requirements",
        ),
    ],
    ids=["pdf", "pptx"],
)
def test_a_folder_of_real_pdf_and_powerpoint_decks_is_quoted_whole(real_decks, question, source, slide, quote):
    answer = real_decks.ask(question)
    assert not answer.abstained, answer.reason
    first = answer.citations[0]
    assert (first.source, first.slide) == (source, slide)
    assert answer.answer == quote  # the whole bullet, joined back from its printed lines
    assert first.text[first.start : first.end] == answer.answer


@pytest.fixture(scope="module")
def real_decks(tmp_path_factory):
    import shutil

    from conftest import DATA

    tmp = tmp_path_factory.mktemp("real")
    corpus = tmp / "decks"
    corpus.mkdir()
    for name in ("fedramp-developer-data-bites-2024-03-07.pdf", "nist-oscal-high-level-overview-2018-01.pptx"):
        shutil.copy(DATA / name, corpus / name)
    return Assistant(corpus, tmp / "index")

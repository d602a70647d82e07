"""The egov-qa command, run in-process with the fake embedder."""

import json
import os
import signal
import threading
import time

import pytest
from conftest import FakeEmbedder

from egov_qa import cli
from egov_qa.app import render
from egov_qa.index import embedder


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    monkeypatch.setattr(embedder, "load_embedder", lambda name=None: FakeEmbedder())


@pytest.fixture
def dirs(tiny_corpus, tmp_path):
    return ["--corpus", str(tiny_corpus), "--index", str(tmp_path / "index")]


@pytest.mark.parametrize("where", ["before", "after"])
def test_ask_json_prints_one_object(dirs, capsys, where):
    question = "How many days does passport renewal take online?"
    argv = [*dirs, "ask", question, "--json"] if where == "before" else ["ask", question, "--json", *dirs]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert out.count("\n") == 1
    first = data["citations"][0]
    assert data["question"] == question
    assert first["text"][first["start"] : first["end"]] == data["answer"]


def test_ask_top_k(dirs, capsys):
    assert cli.main([*dirs, "ask", "online services budget", "--json", "--top-k", "1"]) == 0
    assert len(json.loads(capsys.readouterr().out)["citations"]) == 1


def test_ask_answers_from_the_one_deck_named(tiny_corpus, dirs, capsys):
    (tiny_corpus / "parks.md").write_text("# Parks\n\nPassport renewal at the parks office takes 9 days.\n")
    question = "How many days does passport renewal take?"
    assert cli.main([*dirs, "ask", question, "--json", "--deck", "parks.md"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert {c["source"] for c in answer["citations"]} == {"parks.md"} and "9 days" in answer["answer"]
    assert cli.main([*dirs, "ask", question, "--deck", "nope.md"]) == 1
    assert "there is no deck 'nope.md' in the corpus: choose one of deck.md, parks.md" in capsys.readouterr().err


def test_ask_plain_names_the_slide(dirs, capsys):
    assert cli.main([*dirs, "ask", "How many days does passport renewal take online?"]) == 0
    out = capsys.readouterr().out
    assert "“Passport renewal takes 3 days online”" in out
    assert "Slide 2: Online Services" in out
    assert "Confidence:" in out


def test_ask_without_a_question_asks_one_about_the_corpus(dirs, capsys):
    # The tiny corpus has no eval set: the question is made from its first slide's title.
    assert cli.main([*dirs, "ask"]) == 0
    assert capsys.readouterr().out.startswith("Q: What does the deck say about Budget of the Agency?")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "   "], "the question is empty"),
        (["ask", "x" * 600], "the limit is 500"),
        (["ask", "what?", "--top-k", "0"], "--top-k must be at least 1"),
        # Invalid UTF-8 on a command line reaches Python as lone surrogates.
        (["ask", os.fsdecode(b"budget \xff?")], "not valid text"),
        # Refused before anything is trained or written.
        (["train-scorer", "--device", "tpu9"], "cannot train on device 'tpu9'"),
        (["squad"], "squad makes its decks from the SQuAD articles and indexes them itself: leave out --corpus"),
    ],
)
def test_bad_input_is_a_message_not_a_traceback(dirs, capsys, argv, message):
    assert cli.main([*dirs, *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train-scorer", "--out", "{file}"], "{file} is a file, not a folder: pass --out DIR"),
        (["train", "--out", "{folder}"], "{folder} is a folder: pass --out FILE, the reader's file"),
        (["train", "--encoder", "{folder}"], "{folder} is a folder: pass --encoder FILE"),
        (["train", "--report", "{file}"], "{file} is a file, not a folder: pass --report DIR"),
    ],
)
def test_training_refuses_a_place_it_cannot_write_before_it_trains(dirs, tmp_path, capsys, argv, message):
    places = {"file": tmp_path / "a-file", "folder": tmp_path}
    places["file"].write_text("kept")
    assert cli.main([*dirs, *(a.format(**places) for a in argv)]) == 1
    err = capsys.readouterr().err
    assert message.format(**places) in err and "Traceback" not in err
    assert places["file"].read_text() == "kept"


def test_missing_corpus_is_a_message(tmp_path, capsys):
    code = cli.main(["--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "i"), "ask", "hi"])
    assert code == 1
    assert "does not exist" in capsys.readouterr().err


def test_index_builds_then_reports_current(dirs, capsys):
    assert cli.main([*dirs, "index"]) == 0
    assert "built index" in capsys.readouterr().out
    assert cli.main([*dirs, "index"]) == 0
    assert "is current" in capsys.readouterr().out
    assert cli.main([*dirs, "index", "--force"]) == 0
    assert "built index" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["frobnicate"])
    assert exit_info.value.code == 2


def test_an_unreadable_deck_is_skipped_with_a_warning(dirs, tiny_corpus, make_unreadable, capsys, caplog):
    secret = tiny_corpus / "secret.md"
    secret.write_text("# Secret\n\nNothing to see.\n")
    make_unreadable(secret)
    assert cli.main([*dirs, "index"]) == 0
    captured = capsys.readouterr()
    assert "built index" in captured.out and "2 slides" in captured.out
    # Said once, as the deck is read (the log goes to stderr; pytest holds it here).
    assert caplog.text.count("skipped secret.md: cannot be read (Permission denied)") == 1
    assert "skipped" not in captured.err  # and not again after the build
    assert cli.main([*dirs, "ask", "How many days does passport renewal take online?"]) == 0
    assert "Passport renewal takes 3 days online" in capsys.readouterr().out


def test_a_deck_named_in_invalid_utf8_is_skipped_with_a_warning(dirs, tiny_corpus, capsys, caplog):
    with open(os.path.join(os.fsencode(tiny_corpus), b"deck-\xff.md"), "w") as handle:
        handle.write("# Other\n\nAnother slide.\n")
    for argv in (["index"], ["ask", "How many days does passport renewal take online?", "--json"]):
        assert cli.main([*dirs, *argv]) == 0
        err = capsys.readouterr().err
        assert "Traceback" not in err
    caplog.clear()
    assert cli.main([*dirs, "index", "--force"]) == 0
    assert caplog.text.count("skipped deck-\\xff.md: its file name is not valid UTF-8; rename it") == 1


def test_ask_previous_reads_a_follow_up_and_says_how(dirs, capsys):
    argv = [*dirs, "ask", "And in 2009?", "--previous", "What was the budget in 2010?"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("Taken with your previous question: What was the budget in 2009?\n")
    assert "2009: 100" in out
    assert cli.main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["read_as"] == "What was the budget in 2009?" and data["follow_up"] is True


def test_ask_shows_corrections_and_each_part(dirs, capsys):
    question = "How many days does pasport renewal take online, and when did tax filing move online?"
    assert cli.main([*dirs, "ask", question]) == 0
    out = capsys.readouterr().out
    assert "(pasport → passport)" in out.splitlines()[0]
    assert "1. How many days does passport renewal take online?" in out
    assert "2. When did tax filing move online?" in out
    assert "“Passport renewal takes 3 days online”" in out and "“Tax filing moved online in 2008”" in out


def test_a_reader_that_goes_away_is_no_error(dirs, capsys, monkeypatch):
    # `egov-qa ask … | head -1`: the pipe closes before everything is printed.
    def closed_pipe(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "cmd_ask", closed_pipe)
    argv = ["ask", *dirs, "How long does renewal take?"]
    assert cli.build_parser().parse_args(argv).func is closed_pipe
    assert cli.main(argv) == 0
    assert "error" not in capsys.readouterr().err


@pytest.mark.parametrize("command", [["ask", "hi"], ["index"]])
def test_a_file_given_for_a_folder_is_said_to_be_one_and_left_alone(command, tiny_corpus, tmp_path, capsys):
    deck = tiny_corpus / sorted(p.name for p in tiny_corpus.iterdir())[0]
    before = deck.read_bytes()
    assert cli.main(["--corpus", str(deck), "--index", str(tmp_path / "index"), *command]) == 1
    assert f"corpus {deck} is a file, not a folder" in capsys.readouterr().err
    assert cli.main(["--corpus", str(tiny_corpus), "--index", str(deck), *command]) == 1
    err = capsys.readouterr().err
    assert f"{deck} is a file, not a folder: pass --index DIR" in err and "Traceback" not in err
    assert "building" not in err
    assert deck.read_bytes() == before


def test_an_index_folder_holding_other_files_is_left_alone(tiny_corpus, tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    (home / "units.json").write_text("mine too")
    assert cli.main(["--corpus", str(tiny_corpus), "--index", str(home), "ask", "hi"]) == 1
    err = capsys.readouterr().err
    assert "holds files that are not an index's (notes.txt)" in err and "Traceback" not in err
    assert sorted(p.name for p in home.iterdir()) == ["notes.txt", "units.json"]
    assert (home / "units.json").read_text() == "mine too"


def test_see_also_names_the_deck_of_a_slide_from_another_deck():
    from egov_qa.documents import Answer, Citation

    def cited(source, slide, title):
        return Citation(source, slide, title, title, 0, len(title), 0.9)

    answer = Answer(
        "Who?",
        "Open Security",
        False,
        0.9,
        (cited("a.pdf", 6, "Open Security"), cited("a.pdf", 7, "Roadmap"), cited("b.pdf", 6, "Review")),
    )
    shown = render._text_one(answer)
    assert "— Slide 6: Open Security [a.pdf]" in shown
    assert "See also: Slide 7: Roadmap; Slide 6: Review [b.pdf]" in shown


def test_the_index_command_counts_the_decks_it_read_apart_from_those_it_skipped(tiny_corpus, tmp_path, capsys, caplog):
    assert cli.main(["--corpus", str(tiny_corpus), "--index", str(tmp_path / "one"), "index"]) == 0
    assert "from 1 file, model" in capsys.readouterr().out
    (tiny_corpus / "broken.pdf").write_text("not a PDF")
    assert cli.main(["--corpus", str(tiny_corpus), "--index", str(tmp_path / "two"), "index"]) == 0
    assert "skipped broken.pdf: not a readable PDF" in caplog.text
    assert "from 1 of 2 files (1 skipped), model" in capsys.readouterr().out


def test_a_corpus_asked_about_without_an_index_gets_its_own_and_leaves_the_default_alone(
    tiny_corpus, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("EGOV_QA_INDEX", str(tmp_path / "index"))
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "manifest.json").write_text("the shipped deck's")
    assert cli.main(["--corpus", str(tiny_corpus), "index"]) == 0
    (own,) = (tmp_path / "index" / "corpora").iterdir()
    assert own.name.startswith("corpus-") and (own / "manifest.json").is_file()
    assert (tmp_path / "index" / "manifest.json").read_text() == "the shipped deck's"
    assert f"built index in {own}" in capsys.readouterr().out
    assert cli.main(["--corpus", str(tiny_corpus), "ask", "How many days does passport renewal take online?"]) == 0
    assert "Passport renewal takes 3 days online" in capsys.readouterr().out
    assert [p.name for p in (tmp_path / "index" / "corpora").iterdir()] == [own.name]


def test_the_libraries_chatter_is_dropped_also_where_it_comes_through_the_root_logger():
    import logging
    from pathlib import Path

    import onnxruntime

    quantize = str(Path(onnxruntime.__file__).parent / "quantization" / "quantize.py")

    def kept(name: str, level: int, pathname: str) -> bool:
        return cli._quiet_libraries(logging.LogRecord(name, level, pathname, 1, "Please consider", None, None))

    # onnxruntime's quantization advises on the root logger (`make train` exports a dozen scorers).
    assert not kept("root", logging.WARNING, quantize)
    assert kept("root", logging.ERROR, quantize)
    assert kept("root", logging.WARNING, str(Path(cli.__file__)))
    assert not kept("faiss.loader", logging.WARNING, str(Path(cli.__file__)))
    assert kept("egov_qa.cli", logging.WARNING, str(Path(cli.__file__)))


def test_sigterm_stops_a_command_as_an_interrupt_does(dirs, capsys, monkeypatch):
    def terminated_while_building(args):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the signal is raised here, well before this ends
        return 0

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(cli, "cmd_index", terminated_while_building)
    assert cli.main([*dirs, "index"]) == 143
    assert capsys.readouterr().err == "egov-qa: stopped (SIGTERM)\n"
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_is_left_alone_outside_the_main_thread():
    seen = []

    def inside():
        with cli.terminate_as_interrupt():
            seen.append(signal.getsignal(signal.SIGTERM))

    worker = threading.Thread(target=inside)
    worker.start()
    worker.join()
    assert seen == [signal.getsignal(signal.SIGTERM)]


def test_squad_questions_in_the_fit_need_the_scorer_to_read_them(capsys):
    assert cli.main(["train", "--squad"]) == 1
    assert "add --tune-scorer or --scorer" in capsys.readouterr().err

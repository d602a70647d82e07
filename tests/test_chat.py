"""The chat's behaviour without a browser: rendering, escaping, slides, feedback, the /ask API."""

import json
import socket
import urllib.error
import urllib.request

import gradio
import pytest
from conftest import FakeEmbedder

from egov_qa import cli
from egov_qa.app.chat import MAX_UPLOAD, ChatApp, build_app, launch, listen_problem
from egov_qa.app.render import answer_markdown as format_answer
from egov_qa.app.render import md_text
from egov_qa.app.slide_card import slide_card
from egov_qa.assistant import Assistant
from egov_qa.index import embedder
from egov_qa.ingest.markdown import split_markdown

INJECTION = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert('x')</script>"
HOSTILE_DECK = f"""\
# Security Notes

The portal rejects {INJECTION} in forms.

{SCRIPT}

- The agency blocked 42 attacks in 2010

---

# Second Slide

- Budget grew to 7 units in 2011
"""


@pytest.fixture
def hostile_corpus(tmp_path):
    corpus = tmp_path / "hostile"
    corpus.mkdir()
    (corpus / "deck.md").write_text(HOSTILE_DECK, encoding="utf-8")
    return corpus


@pytest.fixture
def chat(hostile_corpus, tmp_path):
    assistant = Assistant(hostile_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
    return ChatApp(assistant, data_dir=tmp_path / "data")


class TestRendering:
    def test_md_text_makes_html_and_markdown_inert(self):
        rendered = md_text(f"{INJECTION} **bold** [link](x)")
        assert "<" not in rendered and "&lt;img" in rendered
        assert "\\*\\*bold\\*\\*" in rendered and "\\[link\\]" in rendered

    def test_slide_card_escapes_the_deck_and_marks_the_quote(self):
        (slide,) = split_markdown(f"# T\n\nbefore {INJECTION} after\n", "d.md")
        start = slide.text.index("before")
        end = len(slide.text)
        rendered = slide_card(slide, (start, end), (start, start + 6))
        assert "<img" not in rendered
        assert html_unescaped_contains(rendered, INJECTION)
        assert "<mark><b>before</b>" in rendered and rendered.count("</mark>") == 1

    def test_abstention_says_so_and_lists_closest_slides(self, chat):
        answer = chat.assistant.ask("What is the capital of France?", threshold=0.99)
        message = format_answer(answer)
        assert message.startswith("**The deck does not say.**")
        assert "Closest slides:" in message


def html_unescaped_contains(rendered: str, text: str) -> bool:
    import html

    return text in html.unescape(rendered)


class TestChatApp:
    def test_ask_quotes_and_shows_the_cited_slide(self, chat):
        history, _answers, labels, chosen, image, shown, position, number, where, link, deck = chat.ask(
            "How many attacks did the agency block in 2010?", [], []
        )
        assert history[-1]["role"] == "assistant"
        assert "The agency blocked **42 attacks** in 2010" in history[-1]["content"].replace("\\", "")
        assert labels[0].startswith("1. deck · Slide 1: Security Notes") and chosen == labels[0]
        assert image is None  # a Markdown deck has no page image
        assert "<mark>" in shown and position == 0 and number == 1 and where == "Slide 1 of 2 in deck"
        assert link == "[Link to this slide](?deck=deck.md&slide=1)" and deck == "deck.md"

    def test_an_index_reloaded_from_a_shared_store_is_followed_by_the_slide_browser(self, chat, hostile_corpus):
        from test_incremental import NEW_DECK

        from egov_qa.index.store import IndexBuilder

        # As Assistant.refresh does when another process saved a new index into the store.
        (hostile_corpus / "cloud.md").write_text(NEW_DECK, encoding="utf-8")
        assistant = chat.assistant
        assistant.index = IndexBuilder(FakeEmbedder()).build(hostile_corpus)
        assistant.pipeline = assistant.pipeline.with_index(assistant.index)
        position, last = [(i, s) for i, s in enumerate(assistant.index.slides) if s.source == "cloud.md"][-1]
        *_, number, where, _, deck = chat.view(position, None)
        assert deck == "cloud.md" and number == last.number
        assert where == f"Slide {last.number} of {last.number} in cloud"

    def test_hostile_deck_text_is_never_html(self, chat):
        history, answers, labels, *_ = chat.ask("What does the portal reject in forms?", [], [])
        _, shown, *_ = chat.open_citation(labels[0], answers)
        for text in (history[-1]["content"], shown):
            assert "<img" not in text and "<script" not in text

    def test_question_is_escaped_and_bad_questions_get_a_message(self, chat):
        history, *_ = chat.ask(SCRIPT, [], [])
        assert "<script" not in history[0]["content"]
        history, *_ = chat.ask("   ", [], [])
        assert "the question is empty" in history[-1]["content"]

    def test_browse_previous_next_and_go_to(self, chat):
        assert chat.step(0, 1, [])[2] == 1
        assert chat.step(1, 1, [])[2] == 1  # stays on the last slide
        assert chat.step(0, -1, [])[2] == 0
        assert chat.goto(2, [])[2] == 1
        assert chat.goto("nonsense", [])[2] == 0

    def test_clicking_a_citation_opens_that_slide(self, chat):
        _, answers, labels, *_ = chat.ask("How much did the budget grow in 2011?", [], [])
        second = next(label for label in labels if "Slide 1" in label)
        assert chat.open_citation(second, answers)[2] == 0

    def test_votes_are_logged_and_exported(self, chat, tmp_path, capsys):
        _, answers, *_ = chat.ask("How many attacks did the agency block in 2010?", [], [])
        assert chat.vote(answers, 1, False).startswith("Thanks")
        assert chat.vote(answers, 1, True).startswith("Thanks")
        assert chat.vote(answers, 0, True) == "Nothing to rate there."
        log = [json.loads(line) for line in (tmp_path / "data" / "feedback.jsonl").read_text().splitlines()]
        assert [e["vote"] for e in log] == ["down", "up"]
        assert log[0]["question"] == "How many attacks did the agency block in 2010?"
        assert log[0]["citations"][0]["slide"] == 1
        assert cli.main(["feedback", "export", "--data", str(tmp_path / "data")]) == 0
        (candidate,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert candidate["question"] == log[0]["question"]
        assert candidate["answers"] == [] and candidate["evidence"] == "" and candidate["got"]

    def test_a_line_that_is_not_a_vote_is_skipped_and_the_rest_exported(self, tmp_path, capsys, caplog):
        data = tmp_path / "data"
        data.mkdir()
        vote = {"vote": "down", "question": "Who runs it?", "answer": None, "abstained": True, "citations": []}
        lines = ['{"vote": "down", "quest', "[1, 2]", json.dumps(vote), '{"vote": "down"}']
        (data / "feedback.jsonl").write_text("\n".join(lines) + "\n")
        assert cli.main(["feedback", "export", "--data", str(data)]) == 0
        (candidate,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert candidate["question"] == "Who runs it?"
        for number, why in ((1, "not JSON"), (2, "not a vote on a question"), (4, "not a vote on a question")):
            assert f"feedback.jsonl, line {number} skipped: {why}" in caplog.text

    def test_a_vote_that_cannot_be_saved_is_said_not_raised(self, chat, tmp_path, caplog):
        import shutil

        _, answers, *_ = chat.ask("How many attacks did the agency block in 2010?", [], [])
        shutil.rmtree(tmp_path / "data", ignore_errors=True)
        (tmp_path / "data").write_text("replaced by a file while serving")
        assert chat.vote(answers, 1, False).startswith("Your feedback could not be saved (")
        assert "feedback not saved" in caplog.text

    def test_export_without_feedback_is_a_message(self, tmp_path, capsys):
        assert cli.main(["feedback", "export", "--data", str(tmp_path / "none")]) == 1
        assert "no feedback yet" in capsys.readouterr().err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ask_endpoint_through_gradio_client(hostile_corpus, tmp_path, monkeypatch):
    from gradio_client import Client

    monkeypatch.setattr(embedder, "load_embedder", lambda name=None: FakeEmbedder())
    assistant = Assistant(hostile_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
    demo = build_app(assistant, data_dir=tmp_path / "data")
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        assert "/ask" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        result = client.predict("How many attacks did the agency block in 2010?", 2, api_name="/ask")
        expected = assistant.ask("How many attacks did the agency block in 2010?", top_k=2).to_dict()
        assert result == json.loads(json.dumps(expected))
        # Programs pass the previous question (and a deck) as the chat does.
        previous = "How many attacks did the agency block in 2010?"
        result = client.predict("And in 2011?", 3, "deck.md", previous, api_name="/ask")
        assert result["read_as"] == "How many attacks did the agency block in 2011?" and result["follow_up"]
        assert result == json.loads(json.dumps(assistant.ask("And in 2011?", previous=previous).to_dict()))
        with pytest.raises(Exception, match="the question is empty"):
            client.predict("  ", 3, api_name="/ask")
        for path in ("/etc/passwd", str(hostile_corpus / "deck.md"), "README.md"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/file={path}", timeout=10)
            assert refused.value.code in (403, 404)
    finally:
        demo.close()


def test_pdf_slides_show_their_page_and_nothing_outside_the_corpus(tmp_path):
    import shutil

    from conftest import DATA

    from egov_qa.app.page_image import render_page

    corpus = tmp_path / "pdfs"
    corpus.mkdir()
    shutil.copy(DATA / "nist-oscal-slides-2020-03-26.pdf", corpus / "oscal.pdf")
    assistant = Assistant(corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
    image, shown, *_ = ChatApp(assistant).view(2, None)
    assert image is not None and image.size[0] > 100
    assert "Slide 3:" in shown
    (tmp_path / "outside.pdf").write_bytes((corpus / "oscal.pdf").read_bytes())
    assert render_page(str(corpus.resolve()), "../outside.pdf", 1) is None


class TestBadInputInTheChat:
    def test_a_question_past_the_limit_is_cut_on_a_word_and_says_so(self, chat):
        history, answers, *_ = chat.ask("why " * 25_000, [], [])
        assert history[-1]["content"].startswith("_Your question was 99,999 characters long; only its first 499 ")
        assert len(history[0]["content"]) <= 500 and answers[-1] is not None

    def test_the_word_cut_at_the_limit_is_dropped_not_corrected(self, chat):
        lead = "How many attacks did the agency block in 2010? " + "Please say it plainly. " * 20
        question = lead[:495] + " attacks and more words after the limit"
        assert question[495:505].strip() and len(question) > 500
        history, answers, *_ = chat.ask(question, [], [])
        assert not answers[-1].corrections and "Your question was" in history[-1]["content"]
        assert answers[-1].question.endswith(lead[:495].rsplit(" ", 1)[0].split()[-1])

    @pytest.mark.parametrize("question", ["How many attacks \udcff?", "How many \ud800 attacks?"])
    def test_a_question_that_is_not_valid_text_gets_a_message(self, chat, question):
        history, *_ = chat.ask(question, [], [])
        assert "not valid text" in history[-1]["content"]
        json.dumps(history, ensure_ascii=False).encode("utf-8")  # can be sent to the browser
        with pytest.raises(gradio.Error, match="not valid text"):
            chat.api_ask(question)

    @pytest.mark.parametrize(("number", "position", "shown"), [(0, 0, "slide 0"), (99, 1, "slide 99"), (-3, 0, "")])
    def test_go_to_a_slide_outside_the_deck_opens_the_nearest_and_says_the_range(self, chat, number, position, shown):
        demo = build_app(chat.assistant)
        (box,) = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "goto"]
        # What Gradio hands the event from the box: it must accept any whole number.
        value = box.preprocess(number)
        *_, at, _, where, _, _ = chat.goto(value, [])
        assert at == position
        assert "slides run from 1 to 2" in where and shown in where.replace("\\", "")


def test_page_renders_are_capped_in_size_and_cached_by_bytes(tmp_path, monkeypatch):
    import cachetools
    from pypdf import PdfWriter

    from egov_qa.app import page_image as chat_module

    corpus = tmp_path / "pdfs"
    corpus.mkdir()
    huge = PdfWriter()
    huge.add_blank_page(14_400, 14_400)  # the largest page box PDF allows: 200 inches square
    huge.add_blank_page(14_400, 7_200)
    huge.add_blank_page(600, 400)
    with open(corpus / "huge.pdf", "wb") as handle:
        huge.write(handle)
    budget = 2 * chat_module.MAX_PAGE_PIXELS**2 * 3
    monkeypatch.setattr(chat_module, "_pages", cachetools.LRUCache(budget, getsizeof=chat_module._image_bytes))
    sizes = [chat_module.render_page(str(corpus.resolve()), "huge.pdf", n).size for n in (1, 2, 3)]
    assert sizes[0] == (chat_module.MAX_PAGE_PIXELS, chat_module.MAX_PAGE_PIXELS)
    assert sizes[1] == (chat_module.MAX_PAGE_PIXELS, chat_module.MAX_PAGE_PIXELS // 2)
    assert sizes[2] == (720, 480)  # a normal page keeps its scale
    assert chat_module._pages.currsize <= budget
    assert chat_module._pages.currsize == sum(chat_module._image_bytes(i) for i in chat_module._pages.values())
    assert chat_module.PAGE_CACHE_BYTES <= 256 * 1024 * 1024


def test_user_errors_are_one_log_line_not_a_traceback(hostile_corpus, tmp_path, capfd, caplog):
    from gradio_client import Client

    assistant = Assistant(hostile_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
    demo = build_app(assistant, data_dir=tmp_path / "data")
    port = free_port()
    launch(demo, "127.0.0.1", port)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for question, top_k in (("  ", 3), ("x" * 600, 3), ("What?", 0)):
            with pytest.raises(Exception, match=r"the question is empty|the limit is 500|top_k"):
                client.predict(question, top_k, api_name="/ask")
    finally:
        demo.close()
    refused = [r for r in caplog.records if r.name.startswith("egov_qa") and "refused" in r.getMessage()]
    assert len(refused) == 3
    assert "Traceback" not in capfd.readouterr().err


def test_the_app_sends_no_analytics_and_bounds_uploads(hostile_corpus, tmp_path):
    import httpx

    assistant = Assistant(hostile_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
    demo = build_app(assistant, data_dir=tmp_path / "data")
    assert demo.analytics_enabled is False
    port = free_port()
    launch(demo, "127.0.0.1", port)
    try:
        url = f"http://127.0.0.1:{port}/gradio_api/upload"
        # The route takes a deck of the loader's largest size, and nothing larger.
        big = httpx.post(url, files={"files": ("big.bin", b"\0" * (MAX_UPLOAD + 1))}, timeout=60)
        assert big.status_code == 413
        # A 40 MB deck is refused by the server before the app sees it; a small one is taken.
        deck = httpx.post(url, files={"files": ("slides.pdf", b"%PDF" + b"\0" * (40 * 1024 * 1024))}, timeout=60)
        assert deck.status_code == 413
        small = httpx.post(url, files={"files": ("slides.md", b"# A slide\n")}, timeout=60)
        assert small.status_code == 200 and small.json()[0].endswith("slides.md")
    finally:
        demo.close()


class TestLogin:
    def test_a_hash_checks_its_password_and_its_user_only(self):
        from egov_qa.app.login import Login, hash_password, parse_login

        stored = hash_password("correct horse")
        assert stored.startswith("scrypt$") and "correct" not in stored and stored != hash_password("correct horse")
        login = parse_login(f"ana:{stored}")
        assert login == Login("ana", stored)
        assert login("ana", "correct horse") and not login("ana", "wrong") and not login("bob", "correct horse")
        with pytest.raises(ValueError, match="empty"):
            hash_password("")

    @pytest.mark.parametrize(
        ("text", "problem"),
        [("ana", "no user"), (":scrypt$a$b", "no user"), ("ana:secret", "not a password hash"), ("ana:scrypt$!$b", "")],
    )
    def test_a_login_that_is_not_user_and_hash_is_a_clear_error(self, text, problem):
        from egov_qa.app.login import parse_login
        from egov_qa.errors import EgovQAError

        with pytest.raises(EgovQAError, match=f"not USER:HASH.*{problem}.*--hash-password"):
            parse_login(text)

    def test_with_a_login_nothing_is_served_before_it(self, hostile_corpus, tmp_path):
        import httpx

        from egov_qa.app.login import hash_password, parse_login

        assistant = Assistant(hostile_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
        demo = build_app(assistant, data_dir=tmp_path / "data")
        port = free_port()
        launch(demo, "127.0.0.1", port, parse_login(f"ana:{hash_password('s3cret')}"))
        base = f"http://127.0.0.1:{port}"
        try:
            assert httpx.get(f"{base}/config", timeout=10).status_code == 401
            assert (
                httpx.post(f"{base}/gradio_api/upload", files={"files": ("a.md", b"x")}, timeout=10).status_code == 401
            )
            wrong = httpx.post(f"{base}/login", data={"username": "ana", "password": "nope"}, timeout=10)
            assert wrong.status_code >= 400
            with httpx.Client(base_url=base, timeout=10) as client:
                assert client.post("/login", data={"username": "ana", "password": "s3cret"}).status_code == 200
                assert client.get("/config").status_code == 200
        finally:
            demo.close()


def test_app_py_takes_a_login_from_the_environment_and_refuses_a_bad_one(monkeypatch, capsys):
    from egov_qa.app.login import hash_password

    app = load_app()
    stored = hash_password("pw")
    monkeypatch.setenv("EGOV_QA_AUTH", f"ana:{stored}")
    assert app.parse_args([]).auth == f"ana:{stored}"
    monkeypatch.setenv("EGOV_QA_AUTH", "ana:plain-password")
    assert app.main(["--port", str(free_port())]) == 2
    assert "the login is not USER:HASH" in capsys.readouterr().err


def load_app():
    """``app.py`` as a module (it is a script at the top of the project, not in the package)."""
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("egov_qa_app", ROOT / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    return app


@pytest.mark.parametrize("port", ["99999", "-5", "0", "http"])
def test_a_port_that_is_no_port_is_a_usage_error(port, capsys):
    with pytest.raises(SystemExit) as stopped:
        load_app().parse_args(["--port", port])
    assert stopped.value.code == 2
    assert f"{port!r} is not a port: give a whole number from 1 to 65535" in capsys.readouterr().err


def test_a_port_from_the_environment_that_is_no_port_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("EGOV_QA_PORT", "http")
    with pytest.raises(SystemExit) as stopped:
        load_app().parse_args([])
    assert stopped.value.code == 2
    assert "'http' is not a port: give a whole number from 1 to 65535 (--port N, or EGOV_QA_PORT=N)" in (
        capsys.readouterr().err
    )


def test_what_keeps_the_chat_from_listening_is_said_as_what_it_is():
    port = free_port()
    assert listen_problem("127.0.0.1", port) is None
    assert "no such host" in listen_problem("no-such-host.invalid", port)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert "the port is already in use" in listen_problem("127.0.0.1", taken.getsockname()[1])


def test_a_host_not_of_this_machine_is_said_before_the_model_loads(monkeypatch, capsys):
    app = load_app()
    monkeypatch.setattr(embedder, "load_embedder", lambda name=None: pytest.fail("the model was loaded"))
    assert app.main(["--host", "no-such-host.invalid", "--port", str(free_port())]) == 1
    captured = capsys.readouterr()
    assert "cannot listen on no-such-host.invalid: no such host" in captured.err
    assert "--host" in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize("option", ["--data", "--evals"])
def test_a_folder_option_naming_a_file_is_said_before_the_model_loads(tmp_path, monkeypatch, capsys, option):
    app = load_app()
    monkeypatch.setattr(embedder, "load_embedder", lambda name=None: pytest.fail("the model was loaded"))
    (tmp_path / "taken").write_text("a file")
    assert app.main(["--port", str(free_port()), option, str(tmp_path / "taken")]) == 1
    captured = capsys.readouterr()
    assert f"{tmp_path / 'taken'} is a file, not a folder: pass {option} DIR" in captured.err
    assert "Traceback" not in captured.err and (tmp_path / "taken").read_text() == "a file"


def test_a_port_in_use_is_said_before_any_address_is_printed(tiny_corpus, tmp_path, monkeypatch, capsys):
    app = load_app()
    monkeypatch.setattr(embedder, "load_embedder", lambda name=None: FakeEmbedder())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = app.main(["--port", str(port), "--corpus", str(tiny_corpus), "--index", str(tmp_path / "index")])
    captured = capsys.readouterr()
    assert code == 1
    assert "chat at" not in captured.out
    assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in captured.err
    assert "--port" in captured.err and "EGOV_QA_PORT" in captured.err


def test_a_pdf_answer_shows_its_page_with_the_quote_boxed(tmp_path):
    import shutil

    from conftest import DATA

    from egov_qa.app.page_image import render_page

    corpus = tmp_path / "pdfs"
    corpus.mkdir()
    shutil.copy(DATA / "nist-oscal-slides-2020-03-26.pdf", corpus / "oscal.pdf")
    app = ChatApp(Assistant(corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0))
    _, answers, _, _, image, shown, position, *_ = app.ask("What are the goals of the OSCAL lunch?", [], [])
    cited = answers[-1].citations[0]
    plain = render_page(str(corpus.resolve()), "oscal.pdf", cited.slide)
    assert image is not None and image.size == plain.size
    assert image.tobytes() != plain.convert("RGB").tobytes()  # the quote's boxes are drawn
    assert "<mark>" in shown
    # Browsing away and back: another slide has no boxes; the cited one has them again.
    other, *_ = app.step(position, 1 if position == 0 else -1, answers)
    assert other is not None and "<mark>" not in app.step(position, 1 if position == 0 else -1, answers)[1]
    back, *_ = app.view(position, answers[-1])
    assert back.tobytes() == image.tobytes()


class TestAnyDeck:
    @pytest.fixture
    def two_decks(self, tmp_path):
        corpus = tmp_path / "two"
        corpus.mkdir()
        (corpus / "alpha.md").write_text("# Alpha Program :\n\n- Alpha launched in 2004\n", encoding="utf-8")
        (corpus / "beta.md").write_text("# Beta Program\n\n- Beta launched in 2009\n", encoding="utf-8")
        return corpus

    def test_title_placeholder_and_examples_come_from_the_corpus(self, hostile_corpus, tmp_path):
        from egov_qa.app.guide import describe

        assistant = Assistant(hostile_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
        evals = tmp_path / "evals"
        (evals / "sets").mkdir(parents=True)
        (evals / "decks").mkdir()
        items = [
            {"id": f"q{i}", "question": f"Question {i}?", "answers": ["x"], "evidence": "x", "answerable": True}
            for i in range(10)
        ]
        items[3].update(answers=[], evidence="", answerable=False)
        (evals / "sets" / "hostile.jsonl").write_text("\n".join(json.dumps(i) for i in items), encoding="utf-8")
        (evals / "decks" / "hostile").symlink_to(hostile_corpus)
        guide = describe(list(assistant.index.slides), hostile_corpus, evals, tmp_path / "elsewhere")
        assert guide.title == "Security Notes: ask the deck" and guide.placeholder == "Ask about Security Notes…"
        assert len(guide.examples) == 6 and "Question 3?" in guide.examples  # one the deck cannot answer
        # A corpus with no eval set of its own, and no deck of an eval set: examples on its slide titles.
        examples = describe(list(assistant.index.slides), tmp_path / "other", evals, tmp_path).examples
        assert examples == ("What does deck say about Second Slide?",)
        demo = build_app(assistant)
        (box,) = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "question"]
        assert "Korea" not in box.placeholder and "Security Notes" in box.placeholder

    def test_the_shipped_deck_gets_its_own_title_and_eval_questions(self, shipped_corpus, tmp_path):
        from egov_qa.app.guide import describe
        from egov_qa.evaluation.scoring import load_eval_set
        from egov_qa.paths import PROJECT_ROOT

        assistant = Assistant(shipped_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
        guide = describe(list(assistant.index.slides), shipped_corpus, PROJECT_ROOT / "evals", shipped_corpus)
        assert guide.title == "e-Government of Korea: ask the deck"
        known = {item.question for item in load_eval_set(PROJECT_ROOT / "evals" / "known_facts.jsonl")}
        assert guide.examples and set(guide.examples) <= known

    def test_a_deck_filter_limits_answers_to_that_deck(self, two_decks, tmp_path):
        from egov_qa.errors import QuestionError

        assistant = Assistant(two_decks, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
        assert assistant.decks == ["alpha.md", "beta.md"]
        for deck in ("alpha.md", "beta.md"):
            answer = assistant.ask("When was the program launched?", deck=deck)
            assert answer.citations and {c.source for c in answer.citations} == {deck}
        both = assistant.ask("When was the program launched?", top_k=2)
        assert {c.source for c in both.citations} == {"alpha.md", "beta.md"}
        with pytest.raises(QuestionError, match=r"no deck .gamma\.md.*alpha\.md, beta\.md"):
            assistant.ask("When?", deck="gamma.md")
        app = ChatApp(assistant, data_dir=tmp_path / "data")
        assert app.guide.title == "Ask alpha and beta" and app.guide.decks[0] == ("alpha.md", "alpha")
        _, answers, *_ = app.ask("When was the program launched?", [], [], "beta.md")
        assert answers[-1].citations[0].source == "beta.md"
        # A title given to a deck names it everywhere: the page title, the chips, the browser.
        app.shelf.rename(assistant.corpus_dir, "beta.md", "  Beta   Plan ")
        app.serve(assistant)
        assert app.guide.title == "Ask alpha and Beta Plan"
        history, answers, labels, *_, where, _link, deck = app.ask("When was the program launched?", [], [], "beta.md")
        assert "`1` Beta Plan · Slide 1" in history[-1]["content"] and labels[0].startswith("1. Beta Plan · Slide 1")
        assert deck == "beta.md" and where.startswith("Slide 1 of ") and where.endswith(" in Beta Plan")

    def test_slides_are_numbered_within_their_deck_and_links_name_the_deck(self, two_decks, tmp_path):
        assistant = Assistant(two_decks, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
        app = ChatApp(assistant, data_dir=tmp_path / "data")
        second = app.deck_slides["beta.md"]
        *_, where, link, deck = app.goto(1, [], "beta.md")
        assert (where, deck) == (f"Slide 1 of {len(second)} in beta", "beta.md")
        assert link == "[Link to this slide](?deck=beta.md&slide=1)"
        assert app.choose_deck("beta.md", [])[2] == second[0]
        # A link opens a slide of the deck it names, by file or short name; an unknown one the first deck.
        assert app.find("beta.md", "1") == app.find("beta", 1) == second[0]
        assert app.find("nothing", "1") == 0 and app.find(None, None) == 0 and app.find("beta", "x") == second[0]
        assert app.locate("beta.md", 1) == "?deck=beta.md&slide=1" and app.locate("beta.md", 99) is None


def test_thumbs_are_given_back_to_the_chat_for_each_assistant_message():
    from egov_qa.app.chat import feedback_values

    history = [{"role": r, "content": "x"} for r in ("user", "assistant", "user", "assistant")]
    assert feedback_values(history, {3: "Like"}) == [None, "Like"]
    assert feedback_values([], {}) == []


class TestQuestionsAsPeopleAskThem:
    def test_a_follow_up_takes_the_sessions_last_question_and_says_how_it_was_read(self, chat):
        history, answers, *_ = chat.ask("How many attacks did the agency block in 2010?", [], [])
        history, answers, *_ = chat.ask("And in 2011?", history, answers)
        assert history[-2]["content"] == "And in 2011?"
        assert history[-1]["content"].startswith(
            "_Taken with your previous question: How many attacks did the agency block in 2011?_"
        )
        assert answers[-1].follow_up
        # The next follow-up leans on the question as it was read, not as it was typed.
        history, answers, *_ = chat.ask("what about 2012?", history, answers)
        assert answers[-1].read_as == "How many attacks did the agency block in 2012?"

    def test_a_question_read_as_typed_shows_no_reading(self, chat):
        history, *_ = chat.ask("How many attacks did the agency block in 2010?", [], [])
        assert "Read as" not in history[-1]["content"]

    def test_a_misspelled_word_is_shown_corrected(self, chat):
        history, _answers, *_ = chat.ask("How many atacks did the agency block in 2010?", [], [])
        assert (
            "Read as: How many attacks did the agency block in 2010? \\(atacks → attacks\\)" in history[-1]["content"]
        )

    def test_each_part_has_its_quote_and_slide_and_both_slides_are_listed(self, chat):
        question = "How many attacks did the agency block in 2010, and how many units did the budget grow to?"
        history, answers, labels, _chosen, _image, card, *_ = chat.ask(question, [], [])
        message = history[-1]["content"]
        assert "**1\\. How many attacks did the agency block in 2010?**" in message
        assert "**2\\. How many units did the budget grow to?**" in message
        assert "Slide 1: Security Notes" in message and "Slide 2: Second Slide" in message
        assert labels[:2] == ["1. deck · Slide 1: Security Notes", "2. deck · Slide 2: Second Slide"]
        # Opening the second part's slide highlights that part's quote.
        _, card, *_ = chat.open_citation(labels[1], answers)
        assert "<mark>" in card and "7 units" in card

    def test_the_api_takes_the_previous_question_and_a_deck(self, chat):
        data = chat.api_ask("And in 2011?", 3, "deck.md", "How many attacks did the agency block in 2010?")
        assert data["read_as"] == "How many attacks did the agency block in 2011?"
        with pytest.raises(gradio.Error, match="no deck"):
            chat.api_ask("And in 2011?", 3, "other.md", None)


def test_clearing_keeps_the_slide_open_without_its_highlight(chat):
    _, answers, *_ = chat.ask("How many attacks did the agency block in 2010?", [], [])
    assert "<mark>" in chat.view(0, answers[-1])[1]
    _, shown, position, *_ = chat.view(0, None)  # what Clear chat shows
    assert "<mark>" not in shown and position == 0


def test_a_port_taken_after_the_check_is_still_a_message(tiny_corpus, tmp_path, monkeypatch, capsys):
    from egov_qa.app import chat

    app = load_app()
    monkeypatch.setattr(embedder, "load_embedder", lambda name=None: FakeEmbedder())

    def refused(demo, host, port, login=None):
        raise OSError("Cannot find empty port")

    monkeypatch.setattr(chat, "launch", refused)
    port = free_port()
    code = app.main(["--port", str(port), "--corpus", str(tiny_corpus), "--index", str(tmp_path / "index")])
    captured = capsys.readouterr()
    assert code == 1 and "chat at" not in captured.out
    assert f"cannot listen on 127.0.0.1:{port}: Cannot find empty port" in captured.err


class TestAnswerWords:
    """The answer as a person reads it: the short answer first, chips that name the deck, plain reasons."""

    @staticmethod
    def _answer(**changes):
        from dataclasses import replace

        from egov_qa.documents import Answer, Citation, Span

        text = "Budget\n| | 2005 |\nTotal | 2005: 29,052\n(Unit: KRW 100 million)\nOther words here"
        start = text.index("Total")
        fact = text.index("29,052")
        citation = Citation("korea.md", 8, "Budget", text, start, start + len("Total | 2005: 29,052"), 1.0)
        other = Citation("mosip.pdf", 8, "ASYMMETRIC AMOEBA", "ASYMMETRIC AMOEBA\nA body of text", None, None, 0.5)
        answer = Answer(
            "What was the total in 2005?",
            "Total | 2005: 29,052",
            False,
            0.93,
            (citation, other),
            Span(fact, fact + 6, "29,052"),
        )
        return replace(answer, **changes)

    def test_the_short_answer_comes_first_in_bold_with_the_slides_unit(self):
        message = format_answer(self._answer(), {"korea.md": "Korea e-Gov"}, decks=2)
        first, quote, cite = message.split("\n\n")
        assert first == "**29,052 \\(KRW 100 million\\)**"
        assert quote.startswith("“Total") and "**29,052**" in quote
        assert cite.startswith("— `1` Korea e\\-Gov · Slide 8: Budget")

    def test_cells_of_figures_take_the_slides_unit_and_other_cells_do_not(self):
        from egov_qa.app.render import key_fact
        from egov_qa.documents import Span

        answer = self._answer()
        cells = self._answer(span=Span(0, 0, "2002: 12,155 | 2005: 29,052"))
        assert key_fact(cells) == "2002: 12,155 | 2005: 29,052 (KRW 100 million)"
        times = self._answer(span=Span(0, 0, "Before: 36 month(1997) | After: 9.8 month(2006)"))
        assert key_fact(times) == "Before: 36 month(1997) | After: 9.8 month(2006)"
        assert key_fact(self._answer(span=Span(0, 0, "at 10:30"))) == "at 10:30"
        assert key_fact(answer) == "29,052 (KRW 100 million)"

    def test_a_figure_without_a_unit_line_stays_bare(self):
        from dataclasses import replace

        answer = self._answer()
        plain = replace(answer.citations[0], text=answer.citations[0].text.replace("(Unit: KRW 100 million)", "x"))
        message = format_answer(replace(answer, citations=(plain,)))
        assert message.startswith("**29,052**\n\n")

    def test_an_abstention_over_several_decks_names_each_closest_slides_deck_with_a_snippet(self):
        answer = self._answer(answer=None, abstained=True, span=None, reason="No slide mentions G4C.")
        message = format_answer(answer, decks=3)
        assert message.startswith("**The decks do not say.**\n\nNo slide mentions G4C\\.")
        assert "- `1` korea · Slide 8: Budget: _" in message
        assert "- `2` mosip · Slide 8: ASYMMETRIC AMOEBA: _A body of text_" in message
        assert format_answer(answer, decks=1).startswith("**The deck does not say.**")

    def test_a_slide_without_a_title_is_named_by_its_deck_and_number(self):
        from egov_qa.app.render import citation_words, snippet

        citation = self._answer().citations[1]
        assert citation_words(citation) == "mosip · Slide 8: ASYMMETRIC AMOEBA"
        long = type(citation)("a.md", 1, "", "word " * 50, None, None, 0.1)
        assert citation_words(long) == "a · Slide 1"
        assert snippet(long).endswith("…") and len(snippet(long)) <= 91

    def test_a_title_cut_short_is_given_back_in_full_in_citations(self):
        from egov_qa.app.render import citation_words
        from egov_qa.documents import Citation

        heading = "In 2009, over 70% of public procurement was conducted through KONEPS"
        text = f"Bidding is online\n{heading}\nUsers: 191,000 businesses"
        cut = Citation("korea.md", 19, "In 2009, over 70% of public procurement was…", text, None, None, 0.4)
        assert citation_words(cut) == f"korea · Slide 19: {heading}"
        elsewhere = Citation("korea.md", 19, "Not on the slide…", text, None, None, 0.4)
        assert citation_words(elsewhere) == "korea · Slide 19: Not on the slide…"

    def test_a_snippet_leaves_out_the_title_line_but_keeps_a_row_that_starts_with_it(self):
        from egov_qa.app.render import snippet
        from egov_qa.documents import Citation

        row = Citation("k.md", 8, "Budget", "Budget | 2002: 12,155\nFund | 2002: 7,053", None, None, 0.3)
        assert snippet(row) == "Budget | 2002: 12,155 Fund | 2002: 7,053"
        titled = Citation("k.md", 9, "Budget", "Budget\nThe budget grew", None, None, 0.3)
        assert snippet(titled) == "The budget grew"

"""The chat's behaviour without a browser: rendering, escaping, slides, feedback, the /ask API."""

import json
import socket
import urllib.error
import urllib.request

import pytest
from conftest import FakeEmbedder

from egov_qa import cli, embedder
from egov_qa.assistant import Assistant
from egov_qa.chat import ChatApp, build_app, format_answer, md_text, slide_html
from egov_qa.loader import split_markdown

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

    def test_slide_html_escapes_the_deck_and_marks_the_quote(self):
        (slide,) = split_markdown(f"# T\n\nbefore {INJECTION} after\n", "d.md")
        start = slide.text.index("before")
        end = len(slide.text)
        rendered = slide_html(slide, (start, end), (start, start + 6))
        assert "<img" not in rendered
        assert html_unescaped_contains(rendered, INJECTION)
        assert "<mark><b>before</b>" in rendered and rendered.count("</mark>") == 1

    def test_abstention_says_so_and_lists_closest_slides(self, chat):
        answer = chat.assistant.ask("What is the capital of France?")
        message = format_answer(answer)
        assert message.startswith("**The deck does not say.**")
        assert "Closest slides:" in message


def html_unescaped_contains(rendered: str, text: str) -> bool:
    import html

    return text in html.unescape(rendered)


class TestChatApp:
    def test_ask_quotes_and_shows_the_cited_slide(self, chat):
        history, _answers, labels, chosen, image, shown, position, number, where, link = chat.ask(
            "How many attacks did the agency block in 2010?", [], []
        )
        assert history[-1]["role"] == "assistant"
        assert "The agency blocked **42 attacks** in 2010" in history[-1]["content"].replace("\\", "")
        assert labels[0].startswith("1. Slide 1: Security Notes") and chosen == labels[0]
        assert image is None  # a Markdown deck has no page image
        assert "<mark>" in shown and position == 0 and number == 1 and where == "Slide 1 of 2"
        assert link == "[Link to this slide](?slide=1)"

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

    from egov_qa.chat import _render_page

    corpus = tmp_path / "pdfs"
    corpus.mkdir()
    shutil.copy(DATA / "nist-oscal-slides-2020-03-26.pdf", corpus / "oscal.pdf")
    assistant = Assistant(corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
    image, shown, *_ = ChatApp(assistant).view(2, None)
    assert image is not None and image.size[0] > 100
    assert "Slide 3:" in shown
    (tmp_path / "outside.pdf").write_bytes((corpus / "oscal.pdf").read_bytes())
    assert _render_page(str(corpus.resolve()), "../outside.pdf", 1) is None

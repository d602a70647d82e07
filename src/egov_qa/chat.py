"""The Gradio chat: quoted answers on one side, the cited slides on the other.

The app is a thin shell over :class:`egov_qa.Assistant`: one assistant (model and
index) is shared by every session. Nothing from a deck or a question is ever
rendered as HTML: every piece of text is escaped before it is put on the page,
and Gradio's own sanitizing stays on.
"""

import html
import logging
import re
from pathlib import Path

from egov_qa.assistant import MAX_QUESTION_CHARS, PROJECT_ROOT, Assistant
from egov_qa.cli import confidence_words, read_as_note
from egov_qa.corpus_guide import CorpusGuide, describe
from egov_qa.documents import Answer, Citation, Slide
from egov_qa.errors import EgovQAError
from egov_qa.feedback import record
from egov_qa.page_image import draw_marks, find_marks, render_page
from egov_qa.slide_card import CARD_CSS, slide_card

log = logging.getLogger(__name__)

# On a phone the two columns stack: the chat is shortened, the blurb and the panel's
# heading are hidden and the citation list moves under the slide, so the latest
# answer and the top of its cited slide fit on one screen (390 x 844).
CSS = (
    CARD_CSS
    + """
@media (max-width: 640px) {
  #intro, #cited-heading { display: none !important; }
  #chat { height: 36vh !important; }
  #cited > .form:has(#citations) { order: 10; }
}
"""
)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
# A refused question is shown back only this far: it may be any size.
ECHO_CHARS = 200
# The app has no upload control; Gradio's upload route still takes files, so bound them.
MAX_UPLOAD = "1mb"


def md_text(text: str) -> str:
    """``text`` made inert for a Markdown message: HTML escaped, Markdown marks escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def echo(question: object) -> str:
    """A refused question as shown back in the chat: valid text, at most :data:`ECHO_CHARS` long."""
    text = question if isinstance(question, str) else ""
    # Lone surrogates cannot be sent to the browser: show them as replacement marks.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= ECHO_CHARS else f"{text[:ECHO_CHARS]}… ({len(text):,} characters)"


def format_answer(answer: Answer) -> str:
    """The chat message for an answer: how the question was read when that differs from
    what was typed, then the quote (key span in bold), its slide and the confidence; for a
    question of several parts, each part with its own answer."""
    lines = []
    note = read_as_note(answer)
    if note:
        lines.append(f"_{md_text(note)}_")
    if answer.parts:
        for number, part in enumerate(answer.parts, 1):
            lines.append(f"**{number}\\. {md_text(part.question)}**\n\n{_format_one(part)}")
    else:
        lines.append(_format_one(answer))
    return "\n\n".join(lines)


def _format_one(answer: Answer) -> str:
    if answer.abstained:
        lines = ["**The deck does not say.**"]
        if answer.reason:
            lines.append(f"_{md_text(answer.reason)}_")
        if answer.citations:
            lines.append(
                "Closest slides: " + "; ".join(md_text(f"Slide {c.slide}: {c.title}") for c in answer.citations)
            )
        return "\n\n".join(lines)
    first = answer.citations[0]
    quote = md_text(answer.answer or "")
    if answer.span is not None and answer.span.text != answer.answer:
        before = first.text[first.start : answer.span.start]
        after = first.text[answer.span.end : first.end]
        quote = f"{md_text(before)}**{md_text(answer.span.text)}**{md_text(after)}"
    reference = md_text(f"Slide {first.slide}: {first.title}" + (" (speaker notes)" if first.notes else ""))
    words = confidence_words(answer.confidence)
    return f"“{quote}”\n\n— {reference} · confidence: {words} ({answer.confidence:.2f})"


def cited(answer: Answer) -> list[tuple[Answer, Citation]]:
    """Each slide an answer cites, with the answer (or the part's answer) that cites it; a
    question of several parts lists each part's quoted slide first, then the others."""
    answers = answer.parts or (answer,)
    found: dict[tuple[str, int], tuple[Answer, Citation]] = {}
    for rank in range(max(len(a.citations) for a in answers)):
        for part in answers:
            if rank < len(part.citations):
                citation = part.citations[rank]
                found.setdefault((citation.source, citation.slide), (part, citation))
    return list(found.values())


def previous_question(answers: list) -> str | None:
    """The session's last question as it was read (its last part, for one of several parts)."""
    answer = _latest(answers)
    if answer is None:
        return None
    if answer.parts:
        return answer.parts[-1].question
    return answer.read_as or answer.question


class ChatApp:
    """The chat's behaviour, apart from its layout, so it can be tested without a browser.

    Args:
        assistant: the shared assistant.
        data_dir: where feedback is logged (default: ``$EGOV_QA_DATA`` or ``data/``).
        evals_dir: where the corpus's eval set is looked for, for example questions
            (default: the project's ``evals/``).
    """

    def __init__(self, assistant: Assistant, data_dir: Path | None = None, evals_dir: Path | None = None) -> None:
        self.assistant = assistant
        self.data_dir = data_dir
        self.slides = assistant.index.slides
        self.guide: CorpusGuide = describe(
            list(self.slides), assistant.corpus_dir, evals_dir or PROJECT_ROOT / "evals", PROJECT_ROOT / "corpus"
        )

    def position(self, source: str, number: int) -> int:
        return self.assistant.index.slide_position.get((source, number), 0)

    def ask(self, question: str, history: list, answers: list, deck: str | None = None):
        """Answer ``question`` (from ``deck`` only, when given); returns the new history,
        answers, citation labels and slide view."""
        history = list(history or [])
        answers = list(answers or [])
        try:
            answer = self.assistant.ask(question, deck=deck or None, previous=previous_question(answers))
        except EgovQAError as exc:
            log.warning("question refused: %s", exc)
            history += [
                {"role": "user", "content": md_text(echo(question))},
                {"role": "assistant", "content": f"⚠️ {md_text(str(exc))}"},
            ]
            answers += [None, None]
            return history, answers, [], None, *self.view(0, None)
        history += [
            {"role": "user", "content": md_text(answer.question)},
            {"role": "assistant", "content": format_answer(answer)},
        ]
        answers += [None, answer]
        labels = [self.citation_label(i, c) for i, (_, c) in enumerate(cited(answer))]
        first = answer.citations[0] if answer.citations else None
        position = self.position(first.source, first.slide) if first else 0
        return history, answers, labels, labels[0] if labels else None, *self.view(position, answer)

    @staticmethod
    def citation_label(rank: int, citation) -> str:
        return f"{rank + 1}. Slide {citation.slide}: {citation.title}"

    def open_citation(self, label: str | None, answers: list):
        """Show the cited slide named by ``label`` (from the latest answer)."""
        answer = _latest(answers)
        if not label or answer is None:
            return self.view(0, None)
        rank = int(label.split(".", 1)[0]) - 1
        slides = cited(answer)
        if not 0 <= rank < len(slides):
            return self.view(0, None)
        _, citation = slides[rank]
        return self.view(self.position(citation.source, citation.slide), answer)

    def view(self, position: int, answer: Answer | None):
        """The slide viewer's content: page image, text with highlights, position, its
        1-based number (for the go-to box), where it is, and a link to it."""
        position = max(0, min(int(position), len(self.slides) - 1))
        slide = self.slides[position]
        quote = span = None
        quoting = None
        # The answer (or the part of a question of several) whose quote is on this slide.
        for part in (answer.parts or (answer,)) if answer is not None else ():
            first = part.citations[0] if part.citations else None
            if part.abstained or first is None or first.start is None:
                continue
            if (first.source, first.slide) == (slide.source, slide.number):
                quote = (first.start, first.end or first.start)
                span = (part.span.start, part.span.end) if part.span else None
                quoting = part
                break
        image = self.page_image(slide, quoting)
        where = f"Slide {position + 1} of {len(self.slides)}"
        link = f"[Link to this slide](?slide={position + 1})"
        return image, slide_card(slide, quote, span), position, position + 1, where, link

    def step(self, position: int, delta: int, answers: list):
        answer = _latest(answers)
        return self.view(int(position or 0) + delta, answer)

    def goto(self, number, answers: list):
        """Open slide ``number`` (1-based); a number outside the deck opens the nearest end, saying the range."""
        answer = _latest(answers)
        try:
            position = int(number) - 1
        except (TypeError, ValueError, OverflowError):
            position = 0
        shown = self.view(position, answer)
        if not 0 <= position < len(self.slides):
            image, text, at, box, where, link = shown
            asked = "that number" if number is None else f"slide {number}"
            where = f"There is no {md_text(str(asked))}: slides run from 1 to {len(self.slides)}. {where}"
            shown = (image, text, at, box, where, link)
        return shown

    def page_image(self, slide: Slide, answer: Answer | None = None):
        """A PDF slide's page rendered as an image (None for other decks), the quote of
        ``answer`` boxed where it is printed when ``answer`` quotes this slide."""
        if not slide.source.lower().endswith(".pdf"):
            return None
        corpus = str(self.assistant.corpus_dir.resolve())
        image = render_page(corpus, slide.source, slide.number)
        if image is None or answer is None or not answer.answer:
            return image
        span = answer.span.text if answer.span else None
        marks = find_marks(corpus, slide.source, slide.number, answer.answer, span)
        return image if marks is None else draw_marks(image, marks)

    def vote(self, answers: list, index, liked: bool) -> str:
        """Log a thumbs up or down on the assistant message at ``index``."""
        position = index[0] if isinstance(index, list | tuple) else index
        answers = answers or []
        if not isinstance(position, int) or not 0 <= position < len(answers) or answers[position] is None:
            return "Nothing to rate there."
        path = record(answers[position], bool(liked), self.data_dir)
        log.info("feedback saved to %s", path)
        return "Thanks: your feedback was saved."

    def api_ask(self, question: str, top_k: int = 3, deck: str | None = None, previous: str | None = None) -> dict:
        """The ``/ask`` endpoint: the same JSON object as ``egov-qa ask --json``.

        ``deck`` limits the answer to one deck file; ``previous`` is the question asked
        before, so that a follow-up is read with its context.
        """
        import gradio as gr

        try:
            return self.assistant.ask(
                question, top_k=int(top_k), deck=deck or None, previous=previous or None
            ).to_dict()
        except (EgovQAError, ValueError, TypeError, OverflowError) as exc:
            # A caller's mistake: one log line, not a traceback.
            log.warning("/ask refused: %s", exc)
            raise gr.Error(str(exc), print_exception=False) from exc


def feedback_values(history: list, votes: dict) -> list[str | None]:
    """The thumbs chosen for each assistant message of ``history`` (by message index), in order."""
    return [votes.get(i) for i, message in enumerate(history or []) if _role(message) == "assistant"]


def _role(message) -> str | None:
    return message.get("role") if isinstance(message, dict) else getattr(message, "role", None)


def _latest(answers: list) -> Answer | None:
    """The session's most recent answer (user turns and errors are kept as None)."""
    return next((a for a in reversed(answers or []) if a is not None), None)


def build_app(assistant: Assistant, data_dir: Path | None = None, concurrency: int = 2, queue_size: int = 32):
    """Lay out the chat around a :class:`ChatApp`; returns the ``gr.Blocks``."""
    import gradio as gr

    app = ChatApp(assistant, data_dir)
    guide = app.guide
    # No telemetry: the app talks to nobody but its users.
    with gr.Blocks(title=f"egov-qa: {guide.title}", analytics_enabled=False) as demo:
        answers = gr.State([])
        votes = gr.State({})
        gr.Markdown(f"## {md_text(guide.title)}", elem_id="app-title")
        gr.Markdown(
            "Answers are quoted word for word from the slides, with the slide cited. "
            "When the deck does not say, the assistant says so.",
            elem_id="intro",
        )
        # The chat is the first tab; tabs for the people who run the evals sit beside it.
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Chat", id="chat-tab", elem_id="chat-tab"):
                with gr.Row(elem_id="main"):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label="Chat",
                            height=520,
                            sanitize_html=True,
                            feedback_options=("Like", "Dislike"),
                            elem_id="chat",
                        )
                        deck = gr.Dropdown(
                            [("All decks", ""), *((f"{title} ({source})", source) for source, title in guide.decks)],
                            value="",
                            label="Ask",
                            visible=len(guide.decks) > 1,
                            elem_id="deck",
                        )
                        question = gr.Textbox(
                            placeholder=guide.placeholder,
                            show_label=False,
                            max_length=MAX_QUESTION_CHARS,
                            elem_id="question",
                            submit_btn=True,
                        )
                        with gr.Row():
                            clear = gr.Button("Clear chat", elem_id="clear")
                        status = gr.Markdown("", elem_id="status")
                        with gr.Accordion(
                            "Examples", open=True, visible=bool(guide.examples), elem_id="examples"
                        ) as examples:
                            if guide.examples:
                                gr.Examples([[q] for q in guide.examples], inputs=question, label=None)
                    with gr.Column(scale=2, elem_id="cited"):
                        gr.Markdown("### Cited slides", elem_id="cited-heading")
                        citations = gr.Radio([], label="Citations (click to open)", elem_id="citations")
                        page = gr.Image(label="Page", visible=False, height=320, interactive=False, elem_id="page")
                        slide = gr.HTML(elem_id="slide")
                        with gr.Row():
                            previous = gr.Button("◀ Previous", elem_id="previous")
                            following = gr.Button("Next ▶", elem_id="next")
                        with gr.Row():
                            # No minimum or maximum: Gradio would refuse 0 with an error badge on
                            # every output; ChatApp.goto opens the nearest slide and says the range.
                            number = gr.Number(value=1, label="Go to slide", precision=0, elem_id="goto")
                            where = gr.Markdown(elem_id="where")
                        link = gr.Markdown(elem_id="link")
                        position = gr.State(0)

        view = [page, slide, position, number, where, link]

        def shown(image, *rest):
            # Only PDF decks have a page to show; Markdown and text slides hide the frame.
            return gr.Image(value=image, visible=image is not None), *rest

        def respond(text, history, kept, chosen_deck, voted):
            new_history, new_answers, labels, chosen, *seen = app.ask(text, history, kept, chosen_deck)
            # The chat is drawn again: the thumbs already chosen are given back to it.
            chat = gr.Chatbot(value=new_history, feedback_value=feedback_values(new_history, voted))
            # Once asked, the examples fold away so the answer and its slide come first on a phone.
            return (
                "",
                chat,
                new_answers,
                gr.Radio(choices=labels, value=chosen),
                gr.Accordion(open=False),
                *shown(*seen),
            )

        question.submit(
            respond,
            [question, chatbot, answers, deck, votes],
            [question, chatbot, answers, citations, examples, *view],
            api_visibility="private",
        )
        citations.input(
            lambda c, a: shown(*app.open_citation(c, a)), [citations, answers], view, api_visibility="private"
        )
        previous.click(lambda p, a: shown(*app.step(p, -1, a)), [position, answers], view, api_visibility="private")
        following.click(lambda p, a: shown(*app.step(p, 1, a)), [position, answers], view, api_visibility="private")
        # A number typed or stepped opens its slide at once; Enter does too.
        for event in (number.submit, number.input):
            event(lambda n, a: shown(*app.goto(n, a)), [number, answers], view, api_visibility="private")

        def on_clear(at):
            # The slide stays open, without the highlight of an answer that is gone.
            return (
                [],
                [],
                {},
                gr.Radio(choices=[], value=None),
                "",
                gr.Accordion(open=True),
                *shown(*app.view(at, None)),
            )

        clear.click(
            on_clear,
            [position],
            [chatbot, answers, votes, citations, status, examples, *view],
            api_visibility="private",
        )

        def on_like(kept, history, voted, data: gr.LikeData):
            # ``liked`` is True or False for the thumbs (a string for other feedback options).
            message = app.vote(kept, data.index, data.liked is True)
            position = data.index[0] if isinstance(data.index, list | tuple) else data.index
            voted = {**(voted or {}), position: "Like" if data.liked is True else "Dislike"}
            return message, voted, gr.Chatbot(feedback_value=feedback_values(history, voted))

        chatbot.like(on_like, [answers, chatbot, votes], [status, votes, chatbot], api_visibility="private")

        def on_load(request: gr.Request):
            requested = request.query_params.get("slide") if request else None
            try:
                start = int(requested) - 1 if requested else 0
            except ValueError:
                start = 0
            return shown(*app.view(start, None))

        demo.load(on_load, None, view, api_visibility="private")
        gr.api(app.api_ask, api_name="ask")
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    return demo


def launch(demo, host: str, port: int) -> None:
    """Start serving ``demo`` on ``host:port`` in the background; returns once it listens.

    Raises:
        OSError: the port cannot be listened on (already in use).
    """
    demo.launch(
        server_name=host,
        server_port=port,
        css=CSS,
        footer_links=["api"],
        quiet=True,
        max_file_size=MAX_UPLOAD,
        prevent_thread_lock=True,
    )

"""The Gradio chat: quoted answers on one side, the cited slides on the other.

The app is a thin shell over :class:`egov_qa.Assistant`: one assistant (model and
index) is shared by every session. Nothing from a deck or a question is ever
rendered as HTML: every piece of text is escaped before it is put on the page,
and Gradio's own sanitizing stays on.
"""

import errno
import logging
import socket
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from egov_qa.app.guide import CorpusGuide, describe
from egov_qa.app.page_image import draw_marks, find_marks, render_page
from egov_qa.app.render import answer_markdown, citation_words, deck_name, md_text
from egov_qa.app.shelf import SHELF_FILE, DeckShelf, ShelvedDeck
from egov_qa.app.slide_card import CARD_CSS, slide_card
from egov_qa.app.upload import MAX_UPLOAD_BYTES, UPLOAD_SUFFIXES, DeckAdder, limits_text, measured, workspace_note
from egov_qa.assistant import MAX_QUESTION_CHARS, Assistant
from egov_qa.documents import Answer, Citation, Slide
from egov_qa.errors import EgovQAError
from egov_qa.evaluation.feedback import default_data_dir, record
from egov_qa.paths import PROJECT_ROOT
from egov_qa.text import counted

log = logging.getLogger(__name__)

# On a phone the two columns stack: the chat is shortened, the blurb and the panel's
# heading are hidden and the citation list moves under the slide, so the latest
# answer and the top of its cited slide fit on one screen (390 x 844).
CSS = (
    CARD_CSS
    + """
@media (max-width: 640px) {
  #intro, #cited-heading { display: none !important; }
  /* The title on one line (cut with an ellipsis), so the answer and its slide get the room. */
  #app-title h2 { font-size: 1.05rem !important; margin: 0 !important; white-space: nowrap; overflow: hidden;
    text-overflow: ellipsis; }
  /* Tall enough for a question and its answer together. */
  #chat { height: 47vh !important; }
  #cited > .form:has(#citations) { order: 10; }
  #decks { display: none !important; }
  /* The buttons under the question share a row instead of one full-width row each. */
  #main .row:has(#clear) { flex-wrap: nowrap !important; }
  #clear, #add-deck, #previous, #next { min-width: 0 !important; flex: 1 1 0 !important; padding: 4px 6px !important; }
}
/* Room for the progress bars of added decks, of deck changes and of an eval run, so that
   their text is never drawn over the line under them. */
#deck-status, #manage-status, #run-status { min-height: 5.5em; }
@media (max-width: 640px) {
  #deck-status { min-height: 0; font-size: 0.75em; }
}
/* A citation's number as a chip in the answer. */
#chat .message code { border-radius: 999px; padding: 0 0.5em; font-weight: 600; }
"""
)
# A refused question is shown back only this far: it may be any size.
ECHO_CHARS = 200
# The question box takes a paste this long; the app reads the first MAX_QUESTION_CHARS of it and says so.
MAX_PASTE_CHARS = 4 * MAX_QUESTION_CHARS
# Gradio's upload route takes files of the size a deck may be, and no larger.
MAX_UPLOAD = MAX_UPLOAD_BYTES


def echo(question: object) -> str:
    """A refused question as shown back in the chat: valid text, at most :data:`ECHO_CHARS` long."""
    text = question if isinstance(question, str) else ""
    # Lone surrogates cannot be sent to the browser: show them as replacement marks.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= ECHO_CHARS else f"{text[:ECHO_CHARS]}… ({len(text):,} characters)"


def cut_question(question: str, limit: int = MAX_QUESTION_CHARS) -> tuple[str, str | None]:
    """A question over ``limit`` characters cut to its whole words within the limit, and a note that
    says so (None when it is not cut). The last word is dropped rather than cut, so a cut word is
    never read as a misspelling."""
    if not isinstance(question, str):
        return question, None
    text = " ".join(question.split())
    if len(text) <= limit:
        return question, None
    kept = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[: limit + 1] else text[:limit]
    return kept, (
        f"Your question was {len(text):,} characters long; only its first {len(kept):,} "
        f"(up to “{kept[-40:].lstrip()}”) were read. Ask the rest on its own."
    )


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
        self.data_dir = data_dir
        self.evals_dir = evals_dir or PROJECT_ROOT / "evals"
        workspace = Path(data_dir or default_data_dir())
        self.shelf = DeckShelf(workspace / SHELF_FILE)
        shipped = PROJECT_ROOT / "corpus"
        self.adder = DeckAdder(
            lambda: self.assistant,
            self.serve,
            workspace=workspace,
            measured=lambda corpus: measured(corpus, self.evals_dir, shipped),
            shelf=self.shelf,
        )
        self.serve(assistant)

    def serve(self, assistant: Assistant) -> None:
        """Answer from ``assistant`` from now on (its corpus gained a deck): the slides and the
        chat's words follow. Questions being answered finish on the assistant they started with."""
        names = self.shelf.names(assistant.corpus_dir)
        guide: CorpusGuide = describe(
            list(assistant.index.slides), assistant.corpus_dir, self.evals_dir, PROJECT_ROOT / "corpus", names
        )
        slides = assistant.index.slides
        # Each deck's slides in the index's order: the browser numbers slides within their deck.
        decks: dict[str, list[int]] = {}
        for position, shown in enumerate(slides):
            decks.setdefault(shown.source, []).append(position)
        self.guide, self.slides, self.names, self.deck_slides = guide, slides, names, decks
        self.assistant = assistant
        self._served_index = assistant.index

    def follow(self) -> None:
        """Serve the assistant's index anew when it reloaded one that another process saved into a
        shared store (Milvus): the slide browser, the deck names and the chat's words follow it."""
        if self.assistant.index is not self._served_index:
            self.serve(self.assistant)

    def shelved(self) -> list[ShelvedDeck]:
        """The served decks with their names, slide counts and when they were added."""
        counts = {source: len(positions) for source, positions in self.deck_slides.items()}
        return self.shelf.decks(self.assistant.corpus_dir, list(self.deck_slides), counts)

    def decks_markdown(self) -> str:
        """The served decks as a Markdown list: name, file, slide count and when it was added."""
        return "\n".join(
            f"- **{md_text(deck.name)}** ({md_text(deck.source)}, {counted(deck.slides, 'slide')}"
            + (f", added {md_text(deck.added)}" if deck.added else "")
            + ")"
            for deck in self.shelved()
        )

    def add_decks(self, uploads: list | None) -> str:
        """Add the uploaded files (paths) as decks with one index build; returns what happened, in Markdown."""
        files = [(Path(str(u)), Path(str(u)).name) for u in (uploads or [])]
        if not files:
            return ""
        try:
            outcome = self.adder.add_many(files)
        except EgovQAError as exc:
            log.warning("decks refused: %s", exc)
            return f"⚠️ {md_text(str(exc))}"
        lines = []
        if outcome.added:
            listed = ", ".join(f"{deck_name(d.name)} ({counted(d.slides, 'slide')})" for d in outcome.added)
            lines.append(f"Added {md_text(listed)}: ask about {'it' if len(outcome.added) == 1 else 'them'} now.")
            lines += [f"_{md_text(w)}_" for d in outcome.added for w in d.warnings]
        lines += [f"⚠️ {md_text(refusal)}" for refusal in outcome.refused]
        return "\n\n".join(lines)

    def remove_deck(self, source: str | None) -> str:
        """Remove the deck ``source`` from the served corpus; returns what happened, in Markdown."""
        if not source:
            return "⚠️ Choose a deck to remove first."
        name = deck_name(source, self.names)
        try:
            self.adder.remove(source)
        except EgovQAError as exc:
            log.warning("deck not removed: %s", exc)
            return f"⚠️ {md_text(str(exc))}"
        self.serve(self.assistant)  # its name is forgotten too
        return f"Removed {md_text(name)} ({md_text(source)}); answers come from the other decks."

    def replace_deck(self, source: str | None, upload: object) -> str:
        """Put the uploaded file in the place of the deck ``source``; returns what happened, in Markdown."""
        if not source:
            return "⚠️ Choose the deck to replace first."
        if not upload:
            return ""
        try:
            replaced = self.adder.replace(source, Path(str(upload)))
        except EgovQAError as exc:
            log.warning("deck not replaced: %s", exc)
            return f"⚠️ {md_text(str(exc))}"
        name = deck_name(source, self.names)
        notes = "".join(f"\n\n_{md_text(w)}_" for w in replaced.warnings)
        return f"Replaced {md_text(name)} with the new file ({counted(replaced.slides, 'slide')}).{notes}"

    def rename_deck(self, source: str | None, title: str | None) -> str:
        """Show the deck ``source`` as ``title`` (empty: by its file name again); returns what happened."""
        if not source or source not in self.deck_slides:
            return "⚠️ Choose a deck to rename first."
        try:
            shown = self.shelf.rename(self.assistant.corpus_dir, source, title or "")
        except EgovQAError as exc:
            return f"⚠️ {md_text(str(exc))}"
        self.serve(self.assistant)
        return f"{md_text(source)} is shown as {md_text(shown)}."

    def deck_choices(self) -> list[tuple[str, str]]:
        """The slide browser's deck chooser: each deck's short name (and its file when two share a name)."""
        named = [(deck_name(source, self.names), source) for source in self.deck_slides]
        twice = {name for name, count in Counter(name for name, _ in named).items() if count > 1}
        return [(f"{name} ({source})" if name in twice else name, source) for name, source in named]

    def locate(self, source: str, number: int) -> str | None:
        """A link to slide ``number`` of deck ``source`` (``?deck=FILE&slide=N``), or None if it is not served."""
        if (source, number) not in self.assistant.index.slide_position:
            return None
        return "?" + urlencode({"deck": source, "slide": number})

    def find(self, deck: str | None, number: object) -> int:
        """The position of slide ``number`` of ``deck`` (its file or short name; default: the first deck),
        for a link; the deck's first slide when there is no such slide."""
        source = self.source_named(deck) or next(iter(self.deck_slides), None)
        positions = self.deck_slides.get(source or "", [0])
        try:
            index = int(str(number)) - 1 if number not in (None, "") else 0
        except ValueError:
            index = 0
        return positions[index] if 0 <= index < len(positions) else positions[0]

    def source_named(self, deck: str | None) -> str | None:
        """The deck file named ``deck`` (its file name, or its short name), or None."""
        if not deck:
            return None
        if deck in self.deck_slides:
            return deck
        wanted = deck.strip().casefold()
        return next((s for s in self.deck_slides if deck_name(s, self.names).casefold() == wanted), None)

    def position(self, source: str, number: int) -> int:
        return self.assistant.index.slide_position.get((source, number), 0)

    def ask(self, question: str, history: list, answers: list, deck: str | None = None):
        """Answer ``question`` (from ``deck`` only, when given); returns the new history,
        answers, citation labels and slide view."""
        history = list(history or [])
        answers = list(answers or [])
        asked, cut_note = cut_question(question)
        try:
            answer = self.assistant.ask(asked, deck=deck or None, previous=previous_question(answers))
        except EgovQAError as exc:
            log.warning("question refused: %s", exc)
            history += [
                {"role": "user", "content": md_text(echo(question))},
                {"role": "assistant", "content": f"⚠️ {md_text(str(exc))}"},
            ]
            answers += [None, None]
            return history, answers, [], None, *self.view(0, None)
        self.follow()
        listed = cited(answer)
        numbers = {(c.source, c.slide): i + 1 for i, (_, c) in enumerate(listed)}
        decks = 1 if deck else len(self.deck_slides)
        message = answer_markdown(answer, self.names, decks, numbers)
        history += [
            {"role": "user", "content": md_text(answer.question)},
            {"role": "assistant", "content": f"_{md_text(cut_note)}_\n\n{message}" if cut_note else message},
        ]
        answers += [None, answer]
        labels = [self.citation_label(i, c) for i, (_, c) in enumerate(listed)]
        first = answer.citations[0] if answer.citations else None
        position = self.position(first.source, first.slide) if first else 0
        return history, answers, labels, labels[0] if labels else None, *self.view(position, answer)

    def citation_label(self, rank: int, citation: Citation) -> str:
        """``1. egov_korea · Slide 9: Services to the People``: the chip's number, the deck, the slide."""
        return f"{rank + 1}. {citation_words(citation, self.names)}"

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
        self.follow()
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
        total = len(self.deck_slides.get(slide.source, ()))
        where = f"Slide {slide.number} of {total} in {md_text(deck_name(slide.source, self.names))}"
        link = f"[Link to this slide]({self.locate(slide.source, slide.number)})"
        card = slide_card(slide, quote, span)
        return image, card, position, slide.number, where, link, slide.source

    def step(self, position: int, delta: int, answers: list):
        answer = _latest(answers)
        return self.view(int(position or 0) + delta, answer)

    def goto(self, number, answers: list, deck: str | None = None):
        """Open slide ``number`` (1-based) of ``deck`` (default: the first deck); a number outside the
        deck opens its nearest end, saying the range."""
        answer = _latest(answers)
        source = self.source_named(deck) or next(iter(self.deck_slides))
        positions = self.deck_slides[source]
        try:
            index = int(number) - 1
        except (TypeError, ValueError, OverflowError):
            index = 0
        shown = self.view(positions[max(0, min(index, len(positions) - 1))], answer)
        if not 0 <= index < len(positions):
            image, text, at, box, where, link, chosen = shown
            asked = "that number" if number is None else f"slide {number}"
            where = f"There is no {md_text(str(asked))}: slides run from 1 to {len(positions)}. {where}"
            shown = (image, text, at, box, where, link, chosen)
        return shown

    def choose_deck(self, deck: str | None, answers: list):
        """Open the first slide of ``deck`` in the slide browser."""
        return self.goto(1, answers, deck)

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
        try:
            path = record(answers[position], bool(liked), self.data_dir)
        except OSError as exc:  # a full disk, a folder made read-only or replaced while serving
            log.warning("feedback not saved: %s", exc)
            return f"Your feedback could not be saved ({exc.strerror or exc}); the log says where."
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


def deck_choices(app: ChatApp) -> list[tuple[str, str]]:
    """The deck filter's choices: every deck, then each deck by its short name."""
    return [("All decks", ""), *app.deck_choices()]


def _latest(answers: list) -> Answer | None:
    """The session's most recent answer (user turns and errors are kept as None)."""
    return next((a for a in reversed(answers or []) if a is not None), None)


def build_app(
    assistant: Assistant,
    data_dir: Path | None = None,
    concurrency: int = 2,
    queue_size: int = 32,
    evals_dir: Path | None = None,
):
    """Lay out the chat around a :class:`ChatApp`; returns the ``gr.Blocks``.

    ``evals_dir`` is the eval folder the Evals tab reads and runs (default: the project's ``evals/``).
    """
    import gradio as gr

    from egov_qa.app.evals_tab import EvalBoard

    app = ChatApp(assistant, data_dir, evals_dir)
    guide = app.guide
    shipped = PROJECT_ROOT / "corpus"
    workspace = Path(data_dir or default_data_dir())
    # A measured corpus (the shipped one, an eval set's decks) stays as it is: added decks go to a workspace.
    in_workspace = measured(assistant.corpus_dir, app.evals_dir, shipped)
    # No telemetry: the app talks to nobody but its users. Uploaded files are removed after a day.
    with gr.Blocks(title=f"egov-qa: {guide.title}", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        answers = gr.State([])
        votes = gr.State({})
        title = gr.Markdown(f"## {md_text(guide.title)}", elem_id="app-title")
        gr.Markdown(
            "Answers are quoted word for word from the slides, with the slide cited. "
            "When the slides do not say, the assistant says so.",
            elem_id="intro",
        )
        # The chat is the first tab; tabs for the people who run the evals sit beside it.
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Chat", id="chat-tab", elem_id="chat-tab"):
                with gr.Row(elem_id="main"):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label="Chat",
                            show_label=False,
                            # A copy button on each message; no toolbar drawn over the first message.
                            buttons=["copy"],
                            height=520,
                            sanitize_html=True,
                            feedback_options=("Like", "Dislike"),
                            elem_id="chat",
                        )
                        deck = gr.Dropdown(
                            deck_choices(app),
                            value="",
                            label="Ask",
                            show_label=False,
                            visible=len(guide.decks) > 1,
                            elem_id="deck",
                        )
                        question = gr.Textbox(
                            placeholder=guide.placeholder,
                            show_label=False,
                            # Longer than a question may be: a long paste reaches the app, which says it was cut.
                            max_length=MAX_PASTE_CHARS,
                            elem_id="question",
                            submit_btn=True,
                        )
                        with gr.Row():
                            clear = gr.Button("Clear chat", elem_id="clear")
                            add_deck = gr.UploadButton(
                                "Add decks…",
                                file_types=list(UPLOAD_SUFFIXES),
                                file_count="multiple",
                                elem_id="add-deck",
                            )
                        # Where an added deck's progress bar and outcome show (the limits until then).
                        deck_status = gr.Markdown(
                            f"Add decks: {md_text(limits_text())} each.",
                            elem_id="deck-status",
                        )
                        status = gr.Markdown("", elem_id="status")
                        with gr.Accordion(
                            "Examples", open=True, visible=bool(guide.examples), elem_id="examples"
                        ) as examples:
                            # Always made, so that its questions can follow the decks served.
                            example_set = gr.Examples(
                                [[q] for q in guide.examples] or [[""]], inputs=question, label=None
                            )
                        with gr.Accordion(f"Decks ({len(guide.decks)})", open=False, elem_id="decks") as shelf:
                            decks = gr.Markdown(app.decks_markdown(), elem_id="deck-list")
                            managed = gr.Dropdown(
                                app.deck_choices(), value=None, label="Deck to change", elem_id="manage-deck"
                            )
                            with gr.Row(elem_id="manage-row"):
                                new_title = gr.Textbox(
                                    label="Show it as", placeholder="a short name", max_lines=1, elem_id="deck-title"
                                )
                                rename = gr.Button("Rename", size="sm", elem_id="rename-deck")
                            with gr.Row():
                                replace = gr.UploadButton(
                                    "Replace with a new version…",
                                    file_types=list(UPLOAD_SUFFIXES),
                                    size="sm",
                                    elem_id="replace-deck",
                                )
                                remove = gr.Button("Remove", variant="stop", size="sm", elem_id="remove-deck")
                            manage_status = gr.Markdown(elem_id="manage-status")
                            gr.Markdown(
                                f"Add decks with the button under the question: {md_text(limits_text())} each. "
                                "They are read, copied into the corpus folder and indexed; questions are answered "
                                "from the decks already there until they are ready. Choose a deck above to "
                                "rename it (the name it is shown by), replace it with a new version of the "
                                "same type, or remove it."
                                + (f" {md_text(workspace_note(workspace))}" if in_workspace else ""),
                                elem_id="deck-note",
                            )
                    with gr.Column(scale=2, elem_id="cited"):
                        gr.Markdown("### Cited slides", elem_id="cited-heading")
                        citations = gr.Radio([], label="Citations (click to open)", elem_id="citations")
                        browsing = gr.Dropdown(
                            app.deck_choices(),
                            value=next(iter(app.deck_slides)),
                            label="Deck",
                            visible=len(app.deck_slides) > 1,
                            elem_id="browse-deck",
                        )
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
            with gr.Tab("Evals", id="evals-tab", elem_id="evals-tab") as evals_tab:
                _evals_tab(gr, app, EvalBoard(app.evals_dir, shipped, runs_dir=workspace / "reports"), evals_tab)

        view = [page, slide, position, number, where, link, browsing]

        def shown(image, *rest):
            # Only PDF decks have a page to show; Markdown and text slides hide the frame. The deck
            # chooser follows the slide shown, and lists the decks served now.
            *others, source = rest
            chooser = gr.Dropdown(choices=app.deck_choices(), value=source, visible=len(app.deck_slides) > 1)
            return gr.Image(value=image, visible=image is not None), *others, chooser

        def respond(text, history, kept, chosen_deck, voted):
            new_history, new_answers, labels, chosen, *seen = app.ask(text, history, kept, chosen_deck)
            # The chat is drawn again: the thumbs already chosen are given back to it.
            chat = gr.Chatbot(value=new_history, feedback_value=feedback_values(new_history, voted))
            # Once asked, the examples go away (Clear chat brings them back), so the answer and its
            # slide come first on a phone.
            return (
                "",
                chat,
                new_answers,
                gr.Radio(choices=labels, value=chosen),
                gr.Accordion(visible=False),
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
            event(
                lambda n, a, d: shown(*app.goto(n, a, d)), [number, answers, browsing], view, api_visibility="private"
            )
        browsing.input(lambda d, a: shown(*app.choose_deck(d, a)), [browsing, answers], view, api_visibility="private")

        def on_clear(at):
            # The slide stays open, without the highlight of an answer that is gone.
            return (
                [],
                [],
                {},
                gr.Radio(choices=[], value=None),
                "",
                gr.Accordion(open=True, visible=bool(app.guide.examples)),
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
            # ?deck=FILE_OR_NAME&slide=N opens slide N of that deck (of the first deck without ?deck).
            query = request.query_params if request else {}
            return shown(*app.view(app.find(query.get("deck"), query.get("slide")), None))

        demo.load(on_load, None, view, api_visibility="private")

        def words():
            # The title, the deck filter, the hint, the examples and the deck list follow the decks served.
            served = app.guide
            return (
                f"## {md_text(served.title)}",
                gr.Dropdown(choices=deck_choices(app), visible=len(served.decks) > 1),
                gr.Textbox(placeholder=served.placeholder),
                gr.Accordion(label=f"Decks ({len(served.decks)})"),
                app.decks_markdown(),
                gr.Dropdown(choices=app.deck_choices()),
                gr.Accordion(visible=bool(served.examples)),
                gr.Dataset(samples=[[q] for q in served.examples]),
            )

        followed = [title, deck, question, shelf, decks, managed, examples, example_set.dataset]
        # The browser tab's title follows the page's (the Blocks' title is fixed when the app starts).
        retitle = "(heading) => { document.title = 'egov-qa: ' + heading.replace(/^#+\\s*/, '').replace(/\\\\/g, ''); }"
        demo.load(words, None, followed, show_progress="hidden", api_visibility="private").then(
            None, title, None, js=retitle, api_visibility="private"
        )

        # Gradio finds the progress tracker by its default value; it shows the build's tqdm bars
        # (pages read, passages embedded) under the status line.
        def on_add(uploads, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
            # Only the status line is this event's output: the question box stays usable meanwhile.
            files = uploads if isinstance(uploads, list) else [uploads] if uploads else []
            if files:
                progress(0.0, desc=f"Reading {counted(len(files), 'file')}")
            return app.add_decks(files)

        def browsed(at):
            # The slide browser's deck chooser and slide follow the decks served.
            return shown(*app.view(min(int(at or 0), len(app.slides) - 1), None))

        # The status line is emptied first, so that the progress bars are never drawn over its text.
        add_deck.upload(
            lambda: "", None, deck_status, queue=False, show_progress="hidden", api_visibility="private"
        ).then(
            on_add, add_deck, deck_status, concurrency_limit=1, concurrency_id="decks", api_visibility="private"
        ).then(words, None, followed, show_progress="hidden", api_visibility="private").then(
            browsed, [position], view, show_progress="hidden", api_visibility="private"
        ).then(None, title, None, js=retitle, api_visibility="private")

        def on_remove(source, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
            return app.remove_deck(source)

        def on_replace(source, upload, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
            return app.replace_deck(source, upload)

        for event, action, inputs in (
            (remove.click, on_remove, [managed]),
            (replace.upload, on_replace, [managed, replace]),
            (rename.click, app.rename_deck, [managed, new_title]),
        ):
            event(lambda: "", None, manage_status, queue=False, show_progress="hidden", api_visibility="private").then(
                action, inputs, manage_status, concurrency_limit=1, concurrency_id="decks", api_visibility="private"
            ).then(words, None, followed, show_progress="hidden", api_visibility="private").then(
                browsed, [position], view, show_progress="hidden", api_visibility="private"
            ).then(None, title, None, js=retitle, api_visibility="private")
        gr.api(app.api_ask, api_name="ask")
    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    return demo


def _picture(path: Path | None):
    """A report's plot as an image for the page (None when there is none)."""
    if path is None:
        return None
    from PIL import Image

    with Image.open(path) as image:
        return image.copy()


def _evals_tab(gr, app: ChatApp, board, tab) -> None:
    """The Evals tab's layout and events: reports per eval set, a run of the served corpus's set,
    and the thumbs-down answers to complete into eval questions."""
    from egov_qa.evaluation.feedback import completed

    # The headline in plain words first; the tables and plots folded under it.
    headline = gr.Markdown(elem_id="evals-headline")
    served_note = gr.Markdown(elem_id="evals-served")
    run = gr.Button("Run the eval on the served corpus", variant="primary", elem_id="run-eval")
    run_status = gr.Markdown(elem_id="run-status")
    with gr.Accordion("Details: every eval set, metrics, failures and plots", open=False, elem_id="evals-details"):
        overview = gr.Markdown(elem_id="evals-overview")
        chosen = gr.Dropdown([], label="Eval set", elem_id="eval-set")
        with gr.Row():
            with gr.Column(scale=3):
                metrics = gr.Markdown(elem_id="eval-metrics")
            with gr.Column(scale=2):
                curve = gr.Image(label="Accuracy against coverage", interactive=False, height=320, elem_id="eval-curve")
        failures = gr.Markdown(elem_id="eval-failures")
        reliability = gr.Image(
            label="The reader's confidence against its accuracy, on decks left out of its fit",
            interactive=False,
            height=360,
            elem_id="reader-plot",
        )
    gr.Markdown("### Thumbs down from the chat")
    downvoted = gr.Markdown(elem_id="downvotes")
    with gr.Group(elem_id="downvote-form"):
        pick = gr.Dropdown([], label="A question to add to the served corpus's eval set", elem_id="downvote-pick")
        answerable = gr.Checkbox(value=True, label="The deck answers it", elem_id="form-answerable")
        accepted = gr.Textbox(
            label="Accepted answers, one a line, worded as on the slide", lines=2, elem_id="form-answers"
        )
        evidence = gr.Textbox(label="Evidence: words copied from the slide that answers it", elem_id="form-evidence")
        kind = gr.Dropdown(board.answer_types(None), value="other", label="Answer type", elem_id="form-type")
    add = gr.Button("Add to the eval set", elem_id="form-add")
    add_status = gr.Markdown(elem_id="form-status")

    def report_view(name):
        suite = board.suite(name)
        if suite is None:
            return "", gr.Image(value=None, visible=False), ""
        latest = board.latest(suite)
        is_served = board.served(app.assistant.corpus_dir) == suite
        plot = _picture(latest.plot)
        return (
            board.metrics(latest),
            gr.Image(value=plot, visible=plot is not None),
            board.failures(latest, app.locate if is_served else None),
        )

    def thumbs_view(suite):
        votes = board.downvotes(app.data_dir, app.assistant.decks)
        pending = [vote.question for vote in board.pending(votes, suite)] if suite is not None else []
        return (
            board.downvote_table(votes, suite),
            gr.Dropdown(choices=pending, value=None, interactive=bool(pending)),
            gr.Dropdown(choices=board.answer_types(suite)),
            gr.Button(interactive=bool(pending)),
        )

    def refresh(name):
        suite = board.served(app.assistant.corpus_dir)
        names = [s.name for s in board.suites()]
        if name not in names:
            name = suite.name if suite is not None else names[0] if names else None
        reader = _picture(board.reader_plot())
        named = board.suite(name)
        return (
            board.headline(board.latest(suite) if suite is not None else board.latest(named) if named else None),
            board.served_note(app.assistant.corpus_dir),
            gr.Button(visible=suite is not None),
            board.overview(suite),
            gr.Dropdown(choices=names, value=name),
            *report_view(name),
            gr.Image(value=reader, visible=reader is not None),
            *thumbs_view(suite),
        )

    shown = [
        headline,
        served_note,
        run,
        overview,
        chosen,
        metrics,
        curve,
        failures,
        reliability,
        downvoted,
        pick,
        kind,
        add,
    ]
    tab.select(refresh, [chosen], shown, show_progress="hidden", api_visibility="private")
    chosen.input(report_view, [chosen], [metrics, curve, failures], api_visibility="private")

    # The run's tqdm bar (one step per question) is shown in the page.
    def on_run(progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        served = app.assistant
        suite = board.served(served.corpus_dir)
        if suite is None:
            return "The served corpus has no eval set to run."
        # Shown throughout, with the run's own bars (questions asked, then the baseline's) beside it.
        progress.tqdm(None, desc=f"Running {suite.name}", total=1, unit="set")
        try:
            latest = board.run(served, suite)
        except EgovQAError as exc:
            log.warning("eval not run: %s", exc)
            return f"⚠️ {md_text(str(exc))}"
        summary = latest.summary or {}
        return (
            f"Ran {md_text(suite.name)}: {summary.get('n', 0)} questions, answer accuracy "
            f"{summary.get('answer_accuracy', 0.0):.3f}; the reports are written."
        )

    # One run at a time, beside the questions: a run takes the cores for a while.
    run.click(on_run, None, run_status, concurrency_limit=1, concurrency_id="evals", api_visibility="private").then(
        lambda: refresh(None), None, shown, show_progress="hidden", api_visibility="private"
    )

    def on_add(question, is_answerable, answers, words, answer_type):
        suite = board.served(app.assistant.corpus_dir)
        line = completed(question or "", answers or "", words or "", is_answerable, answer_type or "other")
        try:
            message = board.add(suite, line, app.slides)
        except EgovQAError as exc:
            # The form keeps what was typed, so it can be corrected.
            return f"⚠️ {md_text(str(exc))}", gr.Textbox(), gr.Textbox(), *thumbs_view(suite)[:2]
        return message, "", "", *thumbs_view(suite)[:2]

    add.click(
        on_add,
        [pick, answerable, accepted, evidence, kind],
        [add_status, accepted, evidence, downvoted, pick],
        api_visibility="private",
    )


def listen_problem(host: str, port: int) -> str | None:
    """Why the chat could not listen on ``host:port``, in words for its user; None if it can.

    Checked before the model is loaded, so that a mistyped host or a taken port is said
    at once, and said as what it is.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError):
        return f"cannot listen on {host}: no such host; give an address of this machine with --host (or EGOV_QA_HOST)"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server sets it
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"cannot listen on {host}:{port}: the port is already in use; "
                    "choose another with --port N (or EGOV_QA_PORT=N)"
                )
            if exc.errno == errno.EACCES:
                return (
                    f"cannot listen on {host}:{port}: this user may not open that port; "
                    "choose one above 1023 with --port N"
                )
            return (
                f"cannot listen on {host}:{port}: {exc.strerror}; "
                "give an address of this machine with --host (or EGOV_QA_HOST)"
            )
    return None


def launch(demo, host: str, port: int, login: Callable[[str, str], bool] | None = None) -> None:
    """Start serving ``demo`` on ``host:port`` in the background; returns once it listens.
    With ``login``, Gradio asks for a user and password first and serves nothing until ``login`` accepts them.

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
        auth=login,
    )

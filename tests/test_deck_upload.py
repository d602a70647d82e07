"""Adding a deck to the served corpus: checks before any write, the copy, the rebuild and the swap."""

from pathlib import Path

import pytest
from conftest import ROOT, FakeEmbedder

from egov_qa.app.chat import ChatApp
from egov_qa.app.upload import DeckAdder, limits_text, measured
from egov_qa.assistant import Assistant
from egov_qa.errors import DeckUploadError
from egov_qa.index.store import load_index

HARBOR = """\
# Harbor Authority

- The harbor handled 1,240 container ships in 2019
- Night pilots guide ships past the breakwater
"""


class Served:
    """The one reference an app serves questions from."""

    def __init__(self, assistant):
        self.assistant = assistant

    def serve(self, assistant):
        self.assistant = assistant


@pytest.fixture
def served(tiny_corpus, tmp_path):
    return Served(Assistant(tiny_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0))


@pytest.fixture
def adder(served):
    return DeckAdder(lambda: served.assistant, served.serve)


@pytest.fixture
def uploads(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


def corpus_files(corpus):
    return sorted(p.name for p in corpus.iterdir())


class TestDeckAdder:
    def test_a_good_deck_is_copied_indexed_and_answered_at_once(self, served, adder, uploads, tiny_corpus):
        before = served.assistant
        upload = uploads / "harbor.md"
        upload.write_text(HARBOR, encoding="utf-8")
        added = adder.add(upload)
        assert (added.name, added.slides, added.warnings) == ("harbor.md", 1, ())
        assert (tiny_corpus / "harbor.md").read_text(encoding="utf-8") == HARBOR
        assert served.assistant is added.assistant and served.assistant is not before
        answer = served.assistant.ask("How many container ships did the harbor handle in 2019?")
        assert answer.citations[0].source == "harbor.md" and "1,240 container ships" in answer.answer
        assert served.assistant.decks == ["deck.md", "harbor.md"]
        # The assistant that was served is untouched: a question it was answering ends on the old index.
        assert before.decks == ["deck.md"] and before.retriever.index is before.index
        assert before.extractor.index is before.index
        new = served.assistant
        assert new.retriever.index is new.index and new.extractor.index is new.index
        # The new index is saved: the next start loads it instead of building again.
        assert load_index(new.index_dir, new.builder.fingerprint(tiny_corpus)).manifest["counts"]["slides"] == 3

    def test_an_added_deck_s_words_are_read_as_typed(self, served, adder, uploads):
        # "breakwater" is a word of no deck before, and one edit from none: once added, it is a corpus word.
        assert "breakwater" not in served.assistant.question_reader.counts
        upload = uploads / "harbor.md"
        upload.write_text(HARBOR, encoding="utf-8")
        adder.add(upload)
        assert "breakwater" in served.assistant.question_reader.counts
        answer = served.assistant.ask("Who guides ships past the breakwatr?")
        assert answer.corrections and "breakwater" in (answer.read_as or "")

    def test_questions_during_the_build_are_answered_from_the_old_index(self, served, adder, uploads):
        builder = served.assistant.builder
        build = builder.build
        seen = []

        def build_and_ask(*args, **kwargs):
            seen.append(served.assistant.ask("How many days does passport renewal take online?"))
            return build(*args, **kwargs)

        builder.build = build_and_ask
        upload = uploads / "harbor.md"
        upload.write_text(HARBOR, encoding="utf-8")
        adder.add(upload)
        (during,) = seen
        assert "3 days" in during.answer
        assert all(c.source == "deck.md" for c in during.citations)

    @pytest.mark.parametrize("name", ["notes.docx", "deck.exe", "slides.key"])
    def test_a_file_of_another_type_is_refused_before_anything_is_written(self, adder, uploads, tiny_corpus, name):
        upload = uploads / name
        upload.write_text(HARBOR, encoding="utf-8")
        with pytest.raises(DeckUploadError, match=r"is not a deck the app reads: upload a PDF \(\.pdf\)"):
            adder.add(upload)
        assert corpus_files(tiny_corpus) == ["deck.md"]

    def test_a_file_over_the_limit_is_refused(self, served, uploads, tiny_corpus):
        adder = DeckAdder(lambda: served.assistant, served.serve, max_bytes=1024)
        upload = uploads / "big.md"
        upload.write_text("# Big\n\n" + "word " * 400, encoding="utf-8")
        with pytest.raises(DeckUploadError, match=r"big\.md is 2\.0 KB, over the limit of 1\.0 KB per deck"):
            adder.add(upload)
        assert corpus_files(tiny_corpus) == ["deck.md"]

    @pytest.mark.parametrize(
        ("name", "data", "message"),
        [
            ("broken.pdf", b"not a pdf at all", "broken.pdf was not added: not a readable PDF"),
            ("broken.pptx", b"PK\x03\x04garbage", "broken.pptx was not added: not a readable PowerPoint file"),
            ("latin.txt", "caf\xe9 budget".encode("latin-1"), "latin.txt was not added: not UTF-8 text"),
            ("empty.md", b"", "empty.md was not added: the file is empty"),
            ("blank.md", b"\n---\n\n---\n", "blank.md was not added: it holds no text"),
        ],
    )
    def test_a_deck_the_loader_cannot_read_gets_its_message_and_nothing_is_copied(
        self, served, adder, uploads, tiny_corpus, name, data, message
    ):
        before = served.assistant
        upload = uploads / name
        upload.write_bytes(data)
        with pytest.raises(DeckUploadError, match=message) as refused:
            adder.add(upload)
        # The message names the deck, never where the upload was kept.
        assert str(uploads) not in str(refused.value)
        assert corpus_files(tiny_corpus) == ["deck.md"]
        assert served.assistant is before

    def test_a_name_already_in_the_corpus_is_refused_and_the_deck_there_kept(self, adder, uploads, tiny_corpus):
        kept = (tiny_corpus / "deck.md").read_text(encoding="utf-8")
        upload = uploads / "deck.md"
        upload.write_text(HARBOR, encoding="utf-8")
        with pytest.raises(DeckUploadError, match=r"there is already a deck named deck\.md in the corpus: rename"):
            adder.add(upload)
        assert (tiny_corpus / "deck.md").read_text(encoding="utf-8") == kept
        assert corpus_files(tiny_corpus) == ["deck.md"]

    def test_the_same_file_under_another_name_is_refused(self, adder, uploads, tiny_corpus):
        upload = uploads / "copy.md"
        upload.write_bytes((tiny_corpus / "deck.md").read_bytes())
        with pytest.raises(DeckUploadError, match=r"copy\.md is already in the corpus, as deck\.md"):
            adder.add(upload)

    @pytest.mark.parametrize(("name", "message"), [("README.md", "would not be read as a deck"), (".hidden.md", "")])
    def test_a_name_the_loader_leaves_out_is_refused(self, adder, uploads, tiny_corpus, name, message):
        upload = uploads / name
        upload.write_text(HARBOR, encoding="utf-8")
        with pytest.raises(DeckUploadError, match=message or "does not start with a dot"):
            adder.add(upload)
        assert corpus_files(tiny_corpus) == ["deck.md"]

    @pytest.mark.parametrize("failure", ["embedding", "saving"])
    def test_a_failed_build_removes_the_copy_and_keeps_the_old_index(
        self, served, adder, uploads, tiny_corpus, monkeypatch, failure
    ):
        from egov_qa.errors import IndexWriteError
        from egov_qa.index import stores as assistant_module

        before = served.assistant
        saved = load_index(before.index_dir, before.builder.fingerprint(tiny_corpus)).manifest["created"]

        def crash(*args, **kwargs):
            if failure == "embedding":
                raise RuntimeError("the embedding runtime crashed")
            raise IndexWriteError("the disk is full")

        if failure == "embedding":
            # The builder's own embedder (questions keep theirs, as with the ONNX export).
            builder_embedder = FakeEmbedder()
            builder_embedder.embed = crash
            monkeypatch.setattr(before.builder, "embedder", builder_embedder)
        else:
            monkeypatch.setattr(assistant_module, "save_index", crash)
        upload = uploads / "harbor.md"
        upload.write_text(HARBOR, encoding="utf-8")
        with pytest.raises(DeckUploadError, match=r"harbor\.md was not added: indexing failed .*(crash|disk)"):
            adder.add(upload)
        assert corpus_files(tiny_corpus) == ["deck.md"]
        assert served.assistant is before
        # The saved index is the old one, still current for the corpus as it is again.
        assert load_index(before.index_dir, before.builder.fingerprint(tiny_corpus)).manifest["created"] == saved
        assert "3 days" in before.ask("How many days does passport renewal take online?").answer

    def test_settings_are_checked(self, served):
        with pytest.raises(ValueError, match="max_bytes must be a whole number"):
            DeckAdder(lambda: served.assistant, served.serve, max_bytes=0)
        with pytest.raises(ValueError, match="suffixes must be a tuple"):
            DeckAdder(lambda: served.assistant, served.serve, suffixes=".md")


class TestWhereDecksMayBeAdded:
    def test_the_shipped_corpus_and_eval_deck_folders_are_measured(self, tmp_path):
        evals = ROOT / "evals"
        shipped = ROOT / "corpus"
        assert measured(shipped, evals, shipped)
        assert measured(next((evals / "decks").iterdir()), evals, shipped)
        own = tmp_path / "mine"
        own.mkdir()
        assert not measured(own, evals, shipped)

    def test_a_measured_corpus_stays_as_it_is_and_the_deck_goes_to_a_workspace(self, tiny_corpus, tmp_path, uploads):
        served = Served(Assistant(tiny_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0))
        workspace = tmp_path / "data"
        adder = DeckAdder(
            lambda: served.assistant, served.serve, workspace=workspace, measured=lambda c: c == tiny_corpus
        )
        before = corpus_files(tiny_corpus)
        upload = uploads / "harbor.md"
        upload.write_text(HARBOR, encoding="utf-8")
        adder.add(upload)
        assert corpus_files(tiny_corpus) == before
        assert corpus_files(workspace / "decks") == ["deck.md", "harbor.md"]
        assistant = served.assistant
        assert (assistant.corpus_dir, assistant.index_dir) == (workspace / "decks", workspace / "index")
        assert assistant.decks == ["deck.md", "harbor.md"]
        answer = assistant.ask("How many container ships did the harbor handle in 2019?")
        assert answer.citations[0].source == "harbor.md"
        # A second deck joins the workspace; the served corpus is no longer the measured one.
        more = uploads / "parks.md"
        more.write_text("# Parks\n\nThe city opened 14 parks in 2012.\n", encoding="utf-8")
        adder.add(more)
        assert corpus_files(workspace / "decks") == ["deck.md", "harbor.md", "parks.md"]
        assert corpus_files(tiny_corpus) == before

    def test_a_dangling_link_in_a_measured_corpus_does_not_stop_its_workspace(self, tiny_corpus, tmp_path, uploads):
        (tiny_corpus / "moved.pdf").symlink_to(tmp_path / "nowhere.pdf")
        served = Served(Assistant(tiny_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0))
        workspace = tmp_path / "data"
        adder = DeckAdder(
            lambda: served.assistant, served.serve, workspace=workspace, measured=lambda c: c == tiny_corpus
        )
        upload = uploads / "harbor.md"
        upload.write_text(HARBOR, encoding="utf-8")
        adder.add(upload)
        assert corpus_files(workspace / "decks") == ["deck.md", "harbor.md"]
        assert served.assistant.decks == ["deck.md", "harbor.md"]

    def test_a_deck_the_server_cannot_read_is_left_out_of_its_workspace(
        self, tiny_corpus, tmp_path, uploads, monkeypatch, caplog
    ):
        locked = tiny_corpus / "locked.md"
        locked.write_text(HARBOR, encoding="utf-8")
        served = Served(Assistant(tiny_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0))
        opened = Path.open

        def refuse(path, mode="r", *args, **kwargs):  # what a file without read permission does (root reads all)
            if Path(path) == locked and "r" in mode:
                raise PermissionError(13, "Permission denied", str(path))
            return opened(path, mode, *args, **kwargs)

        monkeypatch.setattr(Path, "open", refuse)
        workspace = tmp_path / "data"
        adder = DeckAdder(
            lambda: served.assistant, served.serve, workspace=workspace, measured=lambda c: c == tiny_corpus
        )
        upload = uploads / "harbor.md"
        upload.write_text(HARBOR.replace("Harbor", "Pier"), encoding="utf-8")
        adder.add(upload)
        assert corpus_files(workspace / "decks") == ["deck.md", "harbor.md"]
        assert (workspace / "decks" / "deck.md").read_bytes() == (tiny_corpus / "deck.md").read_bytes()
        assert "locked.md is left out of the workspace: it cannot be read (Permission denied)" in caplog.text

    def test_without_a_workspace_a_measured_corpus_refuses(self, tiny_corpus, tmp_path, uploads):
        served = Served(Assistant(tiny_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0))
        adder = DeckAdder(lambda: served.assistant, served.serve, measured=lambda c: True)
        upload = uploads / "harbor.md"
        upload.write_text(HARBOR, encoding="utf-8")
        with pytest.raises(DeckUploadError, match="measured by an eval set"):
            adder.add(upload)
        assert corpus_files(tiny_corpus) == ["deck.md"]

    def test_the_limits_are_stated_in_words(self):
        assert limits_text() == "PDF (.pdf), PowerPoint (.pptx), Markdown (.md) or text (.txt), up to 32 MB"


class TestTheChatFollows:
    def test_deck_list_title_and_slides_follow_an_added_deck(self, tiny_corpus, tmp_path, uploads):
        chat = ChatApp(Assistant(tiny_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0))
        assert chat.guide.title == "Budget of the Agency: ask the deck"
        assert chat.decks_markdown() == "- **deck** (deck\\.md, 2 slides)"
        adder = DeckAdder(lambda: chat.assistant, chat.serve)
        upload = uploads / "harbor.md"
        upload.write_text(HARBOR, encoding="utf-8")
        adder.add(upload)
        assert chat.guide.title == "Ask deck and harbor"
        assert [source for source, _ in chat.guide.decks] == ["deck.md", "harbor.md"]
        assert "**harbor** (harbor\\.md, 1 slide" in chat.decks_markdown()
        assert len(chat.slides) == 3
        # The slide browser reaches the new deck, and links number it in the served corpus.
        assert "Harbor Authority" in chat.goto(1, [], "harbor.md")[1]
        assert chat.locate("harbor.md", 1) == "?deck=harbor.md&slide=1" and chat.locate("gone.md", 1) is None
        _, answers, *_ = chat.ask("How many container ships did the harbor handle in 2019?", [], [], "harbor.md")
        assert answers[-1].citations[0].source == "harbor.md" and "1,240 container ships" in answers[-1].answer


class TestTheLayout:
    def blocks(self, demo):
        return {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}

    def test_a_folder_of_one_s_own_gets_the_upload_control_and_its_limits(self, served):
        from egov_qa.app.chat import build_app

        blocks = self.blocks(build_app(served.assistant))
        assert blocks["add-deck"].visible is True
        assert blocks["add-deck"].file_types == [".pdf", ".pptx", ".md", ".txt"]
        assert "up to 32 MB" in blocks["deck-status"].value
        assert "evals-tab" in blocks and "run-eval" in blocks

    def test_the_shipped_corpus_takes_decks_into_a_workspace_and_says_so(self, tmp_path):
        from egov_qa.app.chat import build_app

        shipped = Assistant(ROOT / "corpus", tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
        blocks = self.blocks(build_app(shipped, data_dir=tmp_path / "data"))
        assert blocks["add-deck"].visible is True
        assert "measured by an eval set" in blocks["deck-note"].value
        assert str(tmp_path / "data" / "decks") in blocks["deck-note"].value.replace("\\", "")


FERRY = """\
# Ferry Service

- The ferry carried 88,000 passengers in 2020
"""


class TestManagingDecks:
    """Several files at once, remove, replace and rename, each through one index build."""

    @pytest.fixture
    def chat(self, tiny_corpus, tmp_path):
        assistant = Assistant(tiny_corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
        return ChatApp(assistant, data_dir=tmp_path / "data")

    def test_several_files_are_added_with_one_build_and_a_refused_one_says_why(
        self, chat, uploads, tiny_corpus, tmp_path
    ):
        (uploads / "harbor.md").write_text(HARBOR, encoding="utf-8")
        (uploads / "ferry.md").write_text(FERRY, encoding="utf-8")
        (uploads / "notes.docx").write_text("x", encoding="utf-8")
        builds = []
        real = chat.assistant.builder.build
        chat.assistant.builder.build = lambda *a, **k: builds.append(1) or real(*a, **k)
        message = chat.add_decks([uploads / "harbor.md", uploads / "ferry.md", uploads / "notes.docx"])
        message = message.replace("\\", "")
        assert message.startswith("Added harbor (1 slide), ferry (1 slide): ask about them now.")
        assert "⚠️ notes.docx is not a deck the app reads" in message
        assert len(builds) == 1 and corpus_files(tiny_corpus) == ["deck.md", "ferry.md", "harbor.md"]
        assert set(chat.deck_slides) == {"deck.md", "ferry.md", "harbor.md"}
        # Each deck's slide count and when it was added are listed.
        listed = chat.decks_markdown()
        assert "**ferry** (ferry\\.md, 1 slide, added 20" in listed and "**deck** (deck\\.md, 2 slides)" in listed

    def test_remove_replace_and_rename(self, chat, uploads, tiny_corpus):
        (uploads / "harbor.md").write_text(HARBOR, encoding="utf-8")
        chat.add_decks([uploads / "harbor.md"])
        assert chat.rename_deck("harbor.md", "Port of Call") == "harbor\\.md is shown as Port of Call."
        assert chat.guide.title == "Ask deck and Port of Call"
        newer = uploads / "harbor-2.md"
        newer.write_text(HARBOR.replace("1,240", "1,310"), encoding="utf-8")
        assert chat.replace_deck("harbor.md", newer).startswith("Replaced Port of Call with the new file (1 slide)")
        answer = chat.assistant.ask("How many container ships did the harbor handle in 2019?", deck="harbor.md")
        assert "1,310" in answer.answer and corpus_files(tiny_corpus) == ["deck.md", "harbor.md"]
        # The title given stays with the deck it was given to.
        assert chat.names == {"harbor.md": "Port of Call"}
        assert "cannot replace harbor\\.md" in chat.replace_deck("harbor.md", uploads / "x.pdf")
        assert chat.remove_deck("harbor.md") == "Removed Port of Call (harbor\\.md); answers come from the other decks."
        assert corpus_files(tiny_corpus) == ["deck.md"] and list(chat.deck_slides) == ["deck.md"]
        assert chat.names == {}
        assert "the only deck" in chat.remove_deck("deck.md") and corpus_files(tiny_corpus) == ["deck.md"]
        assert "no deck 'gone\\.md'" in chat.remove_deck("gone.md")
        assert "limit is 60" in chat.rename_deck("deck.md", "x" * 61)

    def test_a_failed_build_puts_a_removed_or_replaced_deck_back(self, chat, uploads, tiny_corpus, monkeypatch):
        from egov_qa.index import stores

        (uploads / "harbor.md").write_text(HARBOR, encoding="utf-8")
        chat.add_decks([uploads / "harbor.md"])
        before = chat.assistant

        def crash(*args, **kwargs):
            raise RuntimeError("the embedding runtime crashed")

        monkeypatch.setattr(stores, "save_index", crash)
        assert "harbor.md was not removed: indexing failed" in chat.remove_deck("harbor.md").replace("\\", "")
        assert corpus_files(tiny_corpus) == ["deck.md", "harbor.md"] and chat.assistant is before
        (uploads / "new.md").write_text(FERRY, encoding="utf-8")
        assert "harbor.md was not replaced" in chat.replace_deck("harbor.md", uploads / "new.md").replace("\\", "")
        assert (tiny_corpus / "harbor.md").read_text(encoding="utf-8") == HARBOR
        assert sorted(p.name for p in tiny_corpus.iterdir() if p.name.startswith(".")) == []

"""Reading decks: Markdown, PDF (real decks), text, and every kind of bad file."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA
from pypdf import PdfWriter

from egov_qa.errors import CorpusError
from egov_qa.ingest import loader
from egov_qa.ingest.loader import DeckLoader, reading_code_digest
from egov_qa.ingest.markdown import split_markdown
from egov_qa.ingest.ocr import engine_version
from egov_qa.ingest.plain import plain_slide

REAL_PDF = DATA / "nist-oscal-slides-2020-03-26.pdf"


class TestDeckLoader:
    def test_default_construction_excludes_docs_and_sources(self):
        assert "README.md" in DeckLoader().exclude

    def test_invalid_construction_names_the_value(self):
        with pytest.raises(ValueError, match=r"'README.md'"):
            DeckLoader(exclude="README.md")

    def test_default_limits_bound_every_deck(self):
        loader = DeckLoader()
        assert loader.settings() == {
            "max_file_bytes": 32 * 1024 * 1024,
            "max_slides": 1000,
            "max_slide_chars": 20_000,
            "ocr": engine_version(),
            "reading": reading_code_digest(),
        }
        assert engine_version().startswith("rapidocr-onnxruntime ")

    @pytest.mark.parametrize("setting", ["max_file_bytes", "max_slides", "max_slide_chars"])
    @pytest.mark.parametrize("value", [0, -1, 2.5, None])
    def test_invalid_limits_name_the_setting(self, setting, value):
        with pytest.raises(ValueError, match=rf"{setting} must be a whole number of at least 1, not {value!r}"):
            DeckLoader(**{setting: value})

    @pytest.mark.parametrize("name", ["big.md", "big.txt", "big.pdf"])
    def test_a_file_over_the_size_limit_is_skipped_unread(self, tmp_path, name):
        (tmp_path / name).write_bytes(b"# Big\n\n" + b"x" * 3000)
        (tmp_path / "small.md").write_text("# Small\n\nA fact.\n")
        result = DeckLoader(max_file_bytes=2048).load(tmp_path)
        assert {s.source for s in result.slides} == {"small.md"}
        assert result.warnings == (
            f"skipped {name}: the file is 2.9 KB, over the limit of 2.0 KB per deck file; split it into smaller decks",
        )

    def test_a_large_file_says_it_takes_a_while(self, tmp_path, monkeypatch, caplog):
        monkeypatch.setattr(loader, "LARGE_FILE_BYTES", 10)
        (tmp_path / "deck.md").write_text("# Deck\n\nA fact about the agency.\n")
        DeckLoader().load(tmp_path)
        assert "reading deck.md (33 bytes): a large deck takes a while" in caplog.messages

    def test_slides_past_the_limit_are_left_out_with_a_warning(self, tmp_path):
        (tmp_path / "many.md").write_text("\n---\n".join(f"# Slide {n}\n\nFact {n}." for n in range(1, 8)))
        result = DeckLoader(max_slides=3).load(tmp_path)
        assert [s.number for s in result.slides] == [1, 2, 3]
        assert result.warnings == (
            "many.md: only its first 3 slides are indexed; it has 7, over the limit of 3 slides per deck",
        )

    def test_a_slide_past_the_character_limit_is_cut_with_a_warning(self, tmp_path):
        (tmp_path / "long.md").write_text("# Long\n\n| | Before | After |\n|---|---|---|\n| Wait | 3 days | 2 min |\n")
        (tmp_path / "pages.txt").write_text("short page\f" + "word " * 100)
        result = DeckLoader(max_slide_chars=21).load(tmp_path)
        long, short, cut = result.slides
        assert long.text == "Long\nWait | Before: 3"
        assert [(b.kind, long.text[b.start : b.end]) for b in long.blocks] == [
            ("heading", "Long"),
            ("row", long.text[5:]),
        ]
        assert [long.text[c.start : c.end] for c in long.blocks[1].cells] == ["Wait", "3"]
        assert short.text == "short page" and len(cut.text) == 21
        assert result.warnings == (
            "long.md slide 1: only its first 21 characters are indexed; it has 41, over the limit of 21 per slide",
            "pages.txt slide 2: only its first 21 characters are indexed; it has 499, over the limit of 21 per slide",
        )

    def test_missing_folder_is_a_clear_error(self, tmp_path):
        with pytest.raises(CorpusError, match="does not exist"):
            DeckLoader().load(tmp_path / "nope")

    def test_empty_folder_is_a_clear_error(self, tmp_path):
        with pytest.raises(CorpusError, match="no deck files"):
            DeckLoader().load(tmp_path)

    def test_folder_with_nothing_readable_names_the_count(self, tmp_path):
        (tmp_path / "empty.md").write_text("")
        with pytest.raises(CorpusError, match="1 deck file"):
            DeckLoader().load(tmp_path)

    def test_reads_every_kind_and_skips_bad_files_with_reasons(self, tmp_path):
        (tmp_path / "deck.md").write_text("# One\n\nFirst fact.\n\n---\n\n# Two\n\nSecond fact.\n")
        (tmp_path / "notes.txt").write_text("Page one text.\fPage two text.\n")
        shutil.copy(REAL_PDF, tmp_path / "real.pdf")
        (tmp_path / "empty.txt").write_text("   \n")
        (tmp_path / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
        (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.4\nthis is not a pdf at all")
        encrypted = PdfWriter()
        encrypted.add_blank_page(200, 200)
        encrypted.encrypt("secret")
        with open(tmp_path / "locked.pdf", "wb") as handle:
            encrypted.write(handle)
        blank = PdfWriter()
        blank.add_blank_page(200, 200)
        with open(tmp_path / "scan.pdf", "wb") as handle:
            blank.write(handle)
        (tmp_path / "README.md").write_text("# About these decks\n")

        result = DeckLoader().load(tmp_path)

        sources = {s.source for s in result.slides}
        assert sources == {"deck.md", "notes.txt", "real.pdf"}
        warnings = "\n".join(result.warnings)
        assert "empty.txt: the file is empty" in warnings
        assert "latin1.txt: not UTF-8" in warnings
        assert "corrupt.pdf: not a readable PDF" in warnings
        assert "locked.pdf: the PDF is encrypted" in warnings
        assert "scan.pdf: no page has a text layer" in warnings
        assert [s.number for s in result.slides if s.source == "notes.txt"] == [1, 2]


class TestMarkdown:
    def test_splits_at_rule_lines_and_skips_front_matter(self):
        slides = split_markdown("---\nmarp: true\n---\n# A\n\ntext a\n\n---\n\n# B\n- b1\n", "d.md")
        assert [(s.number, s.title) for s in slides] == [(1, "A"), (2, "B")]
        assert slides[1].text == "B\nb1"
        assert "marp" not in slides[0].text

    def test_removes_markup_but_keeps_words(self):
        (slide,) = split_markdown("# **Bold** title\n\n- a \\$3M [link](http://x) `code`\n", "d.md")
        assert slide.text == "Bold title\na $3M link code"

    def test_keeps_html_as_text(self):
        (slide,) = split_markdown("# T\n\n<img src=x onerror=alert(1)>\n", "d.md")
        assert "<img src=x onerror=alert(1)>" in slide.text

    def test_table_rows_carry_headers_with_offsets(self):
        md = "# T\n\n| | Before | After |\n|---|---|---|\n| Wait | 3 days | 2 min |\n| Cost | | 5 |\n"
        (slide,) = split_markdown(md, "d.md")
        rows = [b for b in slide.blocks if b.kind == "row"]
        assert slide.text[rows[0].start : rows[0].end] == "Wait | Before: 3 days | After: 2 min"
        assert slide.text[rows[1].start : rows[1].end] == "Cost | After: 5"
        assert [(c.header, slide.text[c.start : c.end]) for c in rows[0].cells] == [
            ("", "Wait"),
            ("Before", "3 days"),
            ("After", "2 min"),
        ]

    def test_title_falls_back_to_first_line_or_first_cell(self):
        (plain,) = split_markdown("Just a line\nanother\n", "d.md")
        assert plain.title == "Just a line"
        (table,) = split_markdown("| | 2010 |\n|---|---|\n| Budget | 5 |\n", "d.md")
        assert table.title == "Budget"

    def test_rule_inside_code_fence_is_not_a_slide_break(self):
        slides = split_markdown("# A\n```\n---\n```\n", "d.md")
        assert len(slides) == 1


class TestPlainText:
    def test_joins_lines_broken_mid_sentence_and_strips_glyphs(self):
        slide = plain_slide("Title\n\uf0a7 Facilitate an open\ndialog with users\nGoals:\n", "p.pdf", 3)
        assert slide.text == "Title\nFacilitate an open dialog with users\nGoals:"
        assert slide.number == 3

    def test_blank_page_gives_no_slide(self):
        assert plain_slide("  \n\n", "p.pdf", 1) is None


class TestRealPdfs:
    @pytest.mark.parametrize(
        ("name", "pages", "phrase"),
        [
            ("nist-oscal-slides-2020-03-26.pdf", 14, "OSCAL"),
            ("fedramp-developer-data-bites-2024-03-07.pdf", 28, "FedRAMP"),
        ],
    )
    def test_one_slide_per_page_with_text(self, name, pages, phrase):
        slides, _ = DeckLoader().load_file(DATA / name, name)
        assert pages // 2 < len(slides) <= pages
        assert all(s.number <= pages for s in slides)
        assert any(phrase in s.text for s in slides)
        for slide in slides:
            assert slide.text.strip() and slide.title
            for block in slide.blocks:
                assert slide.text[block.start : block.end].strip()


def test_unreadable_file_is_reported_not_raised(tmp_path: Path):
    missing = tmp_path / "gone.md"
    slides, warnings = DeckLoader().load_file(missing, "gone.md")
    assert slides == [] and "gone.md: cannot be read" in warnings[0]


def test_a_deck_that_is_a_dangling_link_is_skipped_with_a_warning(tiny_corpus, caplog):
    (tiny_corpus / "moved.pdf").symlink_to(tiny_corpus / "nowhere" / "moved.pdf")
    (tiny_corpus / "folder.md").mkdir()
    result = DeckLoader().load(tiny_corpus)
    assert [f.name for f in result.files] == ["deck.md", "moved.pdf"]
    assert any(w.startswith("skipped moved.pdf: cannot be read") for w in result.warnings)
    assert {s.source for s in result.slides} == {"deck.md"}


def test_reference_notes_are_kept_apart_from_bullets():
    (slide,) = split_markdown("# T\n\n- Used support agencies\n\n※ NIA, KLID\n", "d.md")
    assert [b.kind for b in slide.blocks] == ["heading", "bullet", "note"]
    assert slide.text == "T\nUsed support agencies\nNIA, KLID"


LONG = 100_000


@pytest.mark.parametrize(
    "deck",
    [
        "# Title" + " " * LONG + "x",  # a heading's trailing spaces
        "[" * LONG,  # an unclosed link
        "![" * (LONG // 2),  # unclosed images
        "| a | b |\n|" + " " * LONG + "x",  # a table's separator line
        "- " + " " * LONG + "x",  # a bullet
        "*a" * (LONG // 2),  # unclosed emphasis
    ],
    ids=["heading", "link", "image", "table", "bullet", "emphasis"],
)
def test_a_long_line_is_read_in_linear_time(tmp_path, deck):
    # In a child process, so that a pattern that backtracks fails the test instead of hanging it.
    (tmp_path / "deck.md").write_text(deck, encoding="utf-8")
    code = (
        "import sys; from pathlib import Path; from egov_qa.ingest.markdown import split_markdown;"
        "from egov_qa.ingest.splitter import UnitSplitter;"
        "slides = split_markdown(Path(sys.argv[1]).read_text(), 'deck.md');"
        "print(sum(len(UnitSplitter().split(s)) for s in slides))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / "deck.md")], env=env, capture_output=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("reading one long line did not finish in 60 s: a pattern backtracks")
    assert done.returncode == 0, done.stderr.decode()


class TestInlineMarkup:
    def test_only_real_markup_is_removed(self):
        (slide,) = split_markdown("# C#\n\nwindow.__xss and snake_case_name, a * b ** c\n\n**bold** _it_\n", "d.md")
        assert slide.text == "C#\nwindow.__xss and snake_case_name, a * b ** c\nbold it"

    def test_closing_hashes_of_a_heading_are_markup(self):
        (slide,) = split_markdown("## Title ##\n", "d.md")
        assert slide.title == "Title"


def test_a_plain_page_joins_a_broken_line_and_not_one_after_a_quoted_sentence():
    from egov_qa.ingest.plain import plain_slide

    slide = plain_slide('The board said "we publish budgets."\nlater it did.\nA line broken\nmid-sentence.', "n.txt", 1)
    assert slide is not None
    assert slide.text.splitlines() == [
        'The board said "we publish budgets."',
        "later it did.",
        "A line broken mid-sentence.",
    ]

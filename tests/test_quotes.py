"""What a unit is quoted with: a line that stops short is quoted with the line after it."""

from __future__ import annotations

import pytest

from egov_qa.documents import Unit
from egov_qa.index.quotes import MAX_QUOTE_CHARS, quote_end, stops_short

SLIDE = "Meetings\nOur next virtual meeting will be on\nJanuary 11, 2023\nBring questions."


def units_of(text: str, kind: str = "bullet", slide: int = 1) -> list[Unit]:
    """One unit per line of ``text``."""
    found, at = [], 0
    for i, line in enumerate(text.split("\n")):
        found.append(Unit(f"u{slide}-{i}", "deck.md", slide, at, at + len(line), line, kind))
        at += len(line) + 1
    return found


@pytest.mark.parametrize(
    ("line", "short"),
    [
        ("Our next virtual meeting will be on", True),
        ("Complete MVP version of the guides for:", True),
        ("Open an issue so that it will benefit the", True),
        ("January 11, 2023", False),
        ("Bring questions.", False),
        ("Additional tooling", False),
        # A capital letter is a name, not an article: "Plan A", "Section In".
        ("Fallback to Plan A", False),
        # A letter in a word is no word: "Version 6a".
        ("Version 6a", False),
        ("Where is it?", False),
        ("", False),
    ],
)
def test_a_line_stops_short_on_a_colon_or_a_lower_case_preposition_or_determiner(line, short):
    assert stops_short(line) is short


def test_a_line_that_stops_short_is_quoted_with_the_next_line_of_its_slide():
    units = units_of(SLIDE)
    lead_in, date, last = units[1], units[2], units[3]
    assert quote_end(lead_in, date, SLIDE) == date.end
    assert (
        SLIDE[lead_in.start : quote_end(lead_in, date, SLIDE)]
        == "Our next virtual meeting will be on\nJanuary 11, 2023"
    )
    # A line that ends whole is quoted alone, and so is the last unit.
    assert quote_end(date, last, SLIDE) == date.end
    assert quote_end(last, None, SLIDE) == last.end


def test_no_line_is_joined_across_slides_notes_or_text_that_is_no_unit():
    units = units_of(SLIDE)
    lead_in, date = units[1], units[2]
    other_slide = units_of(SLIDE, slide=2)[2]
    assert quote_end(lead_in, other_slide, SLIDE) == lead_in.end
    notes = Unit("n", "deck.md", 1, date.start, date.end, date.text, "notes")
    assert quote_end(lead_in, notes, SLIDE) == lead_in.end
    # Text between the two that is no unit (a page number, say) is never quoted by the way.
    gapped = SLIDE.replace("be on\n", "be on\n7\n")
    gap_units = units_of(gapped)
    assert quote_end(gap_units[1], gap_units[3], gapped) == gap_units[1].end


def test_no_line_is_joined_into_a_quote_too_long_to_read_at_a_glance():
    long_line = "word " * (MAX_QUOTE_CHARS // 5)
    text = f"The figures are listed in\n{long_line.strip()}"
    first, second = units_of(text)
    assert quote_end(first, second, text) == first.end


MEETINGS_DECK = """\
# Meetings

Our next virtual meeting will be on
January 11, 2023

Bring your questions.
"""


def meetings_index(tmp_path, embedder):
    """The meetings deck written into a corpus under ``tmp_path``, and its index."""
    from egov_qa.index.store import IndexBuilder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "deck.md").write_text(MEETINGS_DECK, encoding="utf-8")
    return corpus, IndexBuilder(embedder).build(corpus)


def test_the_index_and_the_assistant_quote_a_lead_in_with_its_line(tmp_path, fake_embedder):
    from egov_qa.assistant import Assistant

    corpus, index = meetings_index(tmp_path, fake_embedder)
    texts = [u.text for u in index.units]
    lead_in = texts.index("Our next virtual meeting will be on")
    quote = index.quote(lead_in)
    assert quote.text == "Our next virtual meeting will be on\nJanuary 11, 2023"
    assert index.slide_of(lead_in).text[quote.start : quote.end] == quote.text
    whole = texts.index("Bring your questions.")
    assert index.quote(whole).text == "Bring your questions."
    # Whichever line answers, the answer is its quote, and the citation marks that quote.
    assistant = Assistant(corpus, tmp_path / "index", embedder=fake_embedder, threshold=0.0)
    answer = assistant.ask("When is the next virtual meeting?")
    cited = answer.citations[0]
    assert answer.answer == cited.text[cited.start : cited.end]
    assert answer.answer in {quote.text, "January 11, 2023"}


def test_the_line_before_a_unit_is_the_one_above_it_on_its_slide_never_the_title_or_another_slide(
    tmp_path, fake_embedder
):
    _, index = meetings_index(tmp_path, fake_embedder)
    texts = [u.text for u in index.units]
    lead_in = texts.index("Our next virtual meeting will be on")
    assert index.before(texts.index("January 11, 2023")) == "Our next virtual meeting will be on"
    assert index.before(texts.index("Bring your questions.")) == "January 11, 2023"
    # The first line under the title has none: the title is read with every line already.
    assert index.before(lead_in) == ""
    assert all(index.before(at) == "" for at in range(len(texts)) if index.units[at].slide != index.units[at - 1].slide)

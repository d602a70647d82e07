"""The shipped corpus keeps the seed's words: markup removed, nothing added or dropped."""

import re
from collections import Counter

from conftest import SHIPPED_CORPUS

from egov_qa.ingest.loader import DeckLoader

WORD = re.compile(r"[^\W_]+")
SEED = SHIPPED_CORPUS / "source" / "egov_korea_deck.txt"
DECK = SHIPPED_CORPUS / "egov_korea.md"


def seed_words() -> Counter:
    text = SEED.read_text(encoding="utf-8")
    # The seed's only word-bearing markup is its HTML tags (<ul style=...>).
    return Counter(WORD.findall(re.sub(r"<[^>]*>", " ", text)))


def test_seed_is_kept_in_the_project():
    assert SEED.is_file()
    assert "<ul style" in SEED.read_text(encoding="utf-8")


def test_corpus_words_equal_seed_words_less_markup():
    corpus = Counter(WORD.findall(DECK.read_text(encoding="utf-8")))
    expected = seed_words()
    assert corpus - expected == Counter(), "words added to the corpus"
    assert expected - corpus == Counter(), "words dropped from the corpus"


def test_corpus_has_no_markup_left():
    text = DECK.read_text(encoding="utf-8")
    assert "<ul" not in text and "**" not in text and "■" not in text and "•" not in text


def test_seed_is_not_indexed_twice():
    files = [p.relative_to(SHIPPED_CORPUS).as_posix() for p in DeckLoader().files(SHIPPED_CORPUS)]
    assert files == ["egov_korea.md"]


def test_slides_follow_the_deck_structure():
    slides = DeckLoader().load(SHIPPED_CORPUS).slides
    titles = [s.title for s in slides]
    assert titles[0] == "e-Government of Korea :"
    assert titles[1] == "Contents"
    assert "2. History of e-Government" in titles
    assert "4. Information Network Villages" in titles
    assert titles[-1] == "Thank you"
    assert [s.number for s in slides] == list(range(1, len(slides) + 1))


def test_each_table_row_carries_its_headers():
    slides = DeckLoader().load(SHIPPED_CORPUS).slides
    text = "\n".join(s.text for s in slides)
    assert (
        "Services to the People | Customs Clearance Service (export clearance) | Before: 1+days | After: 2-min" in text
    )
    assert "Budget | 2002: 12,155 | 2005: 20,272 | 2010: 22,203 | 2011: 21,948" in text
    assert "Stages: Diffusion | Period: 2003~2007 | classification: 31 major tasks for e-Government" in text

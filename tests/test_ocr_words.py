"""Words OCR misreads, put right: names run into their neighbours, confused letters, numbers and dates."""

import pytest

from egov_qa.ingest import ocr_words
from egov_qa.ingest.ocr import respace
from egov_qa.ingest.pdf import Line, _unglued

DECK = ocr_words.deck_words(
    [
        "OSCAL guides for FedRAMP",
        "the OSCAL - CLI tool",
        "FedRAMP packages, and FedRAMP reviews",
        "A GitHub repository",
        "GitHub issues",
    ]
)


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        ("useOSCALand", "use OSCAL and"),
        ("forFedRAMP'sOSCALdocumentation", "for FedRAMP's OSCAL documentation"),
        ("NewFedRAMPAutomationWebsite", "New FedRAMP Automation Website"),
        ("FedRAMPpackages", "FedRAMP packages"),
        ("UsingOSCALto streamline", "Using OSCAL to streamline"),
        ("the OSCAL-CLItool", "the OSCAL-CLI tool"),
        ("DeveloperData Bites", "Developer Data Bites"),
        ("FedRAMPOSCALValidation", "FedRAMP OSCAL Validation"),  # two names in capitals run together
    ],
)
def test_names_run_into_their_neighbours_are_parted_by_the_decks_own_words(read, meant):
    assert ocr_words.unglue(read, DECK) == meant


@pytest.mark.parametrize(
    "whole",
    [
        "GitHub",  # the deck prints it whole
        "FedRAMP",
        "JavaScript",  # English knows it
        "JavaScript's",
        "PowerPoint's",
        "iPhone",
        "FedRAMPs",  # no part is a word: "s" alone is none
        "OSCALCLI",  # no change of case to part it at
        "getElementById",  # names in code: parted only at words the deck prints
        "leftElement",
        "McDonald",
    ],
)
def test_names_printed_whole_stay_whole(whole):
    assert ocr_words.unglue(whole, DECK) == whole


def test_a_word_the_deck_prints_only_glued_is_not_a_part():
    # "OSCAL" never stands alone in this deck: "theOSCAL" cannot be parted by it.
    assert ocr_words.unglue("theOSCAL guides", ocr_words.deck_words(["guides"])) == "theOSCAL guides"


# A deck read by OCR that prints "10x" apart, and runs "FedRAMP Validations" together twice.
READ_DECK = ocr_words.deck_words(
    [
        "10x is a program; As 10x explores ideas",
        "FedRAMP Validations",
        "How to access Validations: the FedRAMP site",
        "How can you access the validations?",
        "The ASAP tool",
        "FedRAMPValidations",
        "FedRAMPValidations",
        "GitHub issues; the GitHub site",
    ]
)


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        ("10xhasfunded a total of 268projects", "10x has funded a total of 268 projects"),
        ("10xASAPTool Demo", "10x ASAP Tool Demo"),
        ("10xOverview", "10x Overview"),
        ("Whatarevalidations?", "What are validations?"),  # "validations": a word of the deck, if no common one
        ("FedRAMPValidations", "FedRAMP Validations"),  # a misreading repeated: its parts stand alone as often
    ],
)
def test_runs_the_deck_repeats_and_letters_against_a_number_are_parted(read, meant):
    assert ocr_words.unglue(read, READ_DECK) == meant


@pytest.mark.parametrize(
    "whole",
    [
        "GitHub",  # printed whole more often than "Hub" alone (never)
        "2nd and 10th",  # a number's suffix
        "3DES",  # capitals after a number: a name
        "1Ox",  # two letters after a number: too short to be a word of its own
        "b954d3b7-d2c7-453b-8eb2-3fed",  # an identifier
        "https://github.com/GSA/fedramp-automation",  # an address: its runs stay as read
    ],
)
def test_numbers_names_and_addresses_stay_as_read(whole):
    assert ocr_words.unglue(whole, READ_DECK) == whole


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        ("proiect", "project"),
        ("the proiect plan", "the project plan"),
        ("Proiect plan", "Project plan"),
        (
            "Viewtheproiectworkboardformoredetailsonongoing work",
            "View the project work board for more details on ongoing work",
        ),
        ("modern", "modern"),  # an English word: never corrected
        ("kubernetes", "kubernetes"),  # no word, but no confusion makes one
        ("a strealine process", "a strealine process"),  # a letter lost, not confused: left as read
        ("oscal-cli and info@fedramp.gov", "oscal-cli and info@fedramp.gov"),  # names and addresses as read
        ("Provide REST APls; APl submission", "Provide REST APIs; API submission"),  # I read as l after capitals
        ("MySQL, Apls and AB12", "MySQL, Apls and AB12"),
    ],
)
def test_letters_the_recognizer_confuses_are_put_right_only_into_common_words(read, meant):
    assert ocr_words.fix_letters(respace(read)) == meant


def test_a_word_two_confusions_make_two_words_of_is_left_as_read():
    # "eiected": ejected or elected? Either could be meant.
    assert {v for v in ocr_words.variants("eiected") if ocr_words.common_word(v)} == {"ejected", "elected"}
    assert ocr_words.corrected("eiected") is None
    assert ocr_words.fix_letters("the eiected members") == "the eiected members"


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        ("Question (Issue #6oo):", "Question (Issue #600):"),
        ("in 2O24", "in 2024"),
        ("over 10,ooo lines, 1,5oo.5 and 3.o.", "over 10,000 lines, 1,500.5 and 3.0."),
        ("1,5o and 12,3oo,4", "1,5o and 12,3oo,4"),  # no number is written so
        ("Rev 5.1.1 and 1o.", "Rev 5.1.1 and 10."),
        ("Issue#592-Refactoring", "Issue #592-Refactoring"),
        ("June27,2024", "June 27, 2024"),
        ("on Sept.5,2023 at", "on Sept. 5, 2023 at"),
        ("Jun 3", "Jun 3"),
        ("1,000 items, 10am, 4oz", "1,000 items, 10am, 4oz"),  # units after a number are letters
        ("May 2024", "May 2024"),
        ("June 13, 2024", "June 13, 2024"),
    ],
)
def test_numbers_and_dates_read_as_printed(read, meant):
    assert ocr_words.fix_numbers(read) == meant


def test_a_pdf_deck_parts_names_on_its_ocr_pages_by_words_its_other_pages_print():
    text_page = [Line("OSCAL tools for FedRAMP", 0, 100, 20, 10)]
    ocr_page = [Line("theOSCALtools", 0, 100, 20, 10), Line("useFedRAMPand", 0, 100, 10, 0)]
    pages, _ = _unglued([text_page, ocr_page], read_by_ocr={2})
    assert [line.text for line in pages[1]] == ["the OSCAL tools", "use FedRAMP and"]
    assert pages[0] == text_page  # a text layer is read as typed
    assert (pages[1][0].left, pages[1][0].top) == (0, 20)  # boxes kept

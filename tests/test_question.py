"""Reading questions: answer types, hinge terms and direction (key spans: test_spans.py)."""

import pytest

from egov_qa.answer.question import analyze, hinge_stem
from egov_qa.text import Vocabulary


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did Korea start digitizing administration?", "year"),
        ("In what year was the e-Government Act passed?", "year"),
        ("How many e-villages were set up?", "number"),
        ("How long does customs clearance take?", "number"),
        ("What percentage of procurement went online?", "percent"),
        ("What was the PC penetration rate?", "percent"),
        ("What rank did Korea reach in the UN index?", "rank"),
        ("Who ordered the digitization?", "name"),
        ("What does MOPAS stand for?", "name"),
        ("Describe the vision of smart government", None),
    ],
)
def test_answer_type(question, kind):
    assert analyze(question).answer_type == kind


def test_hinge_terms_numbers_names_and_direction():
    q = analyze("What was Japan's OECD budget in 2015 now?")
    assert q.numbers == ("2015",)
    assert q.names == ("Japan", "OECD")
    assert q.direction == "after"
    assert analyze("what was it before?").direction == "before"
    assert "what" not in analyze("What is the budget").terms


@pytest.mark.parametrize(
    ("question", "direction"),
    [
        ("What is the rate now?", "after"),
        ("What is the current rate?", "after"),
        ("What was the rate originally?", "before"),
        ("What was the rate previously?", "before"),
        ("What is the rate?", None),
    ],
)
def test_direction_words(question, direction):
    assert analyze(question).direction == direction


def test_what_time_asks_for_a_date_or_time():
    assert analyze("At what time does the session start?").answer_type == "year"


def test_hinges_match_word_forms_but_not_other_numbers():
    # How the reader looks up a question's names and numbers in the corpus.
    corpus = Vocabulary({"korea", "2010"})
    assert corpus.forms(hinge_stem("Korean"))
    assert corpus.forms(hinge_stem("2010"))
    assert not corpus.forms(hinge_stem("2011"))
    assert not corpus.forms(hinge_stem("Japan"))


@pytest.mark.parametrize(
    ("question", "detail"),
    [
        ("What does the FAA stand for?", "expansion"),
        ("Which e-mail address should complaints go to?", "email"),
        ("What phone number can callers use?", "phone"),
        ("At what web address is the report published?", "url"),
        ("What time does the library open?", "time"),
        ("On what date was the treaty signed?", "date"),
        ("How much money did the city council spend on roads?", "money"),
        ("What was the museum's budget?", "money"),
        ("Which release of the software fixed the bug?", "version"),
        ("When was the bridge finished?", None),
        ("Who chairs the committee?", None),
    ],
)
def test_finer_detail_asked_for(question, detail):
    assert analyze(question).detail == detail

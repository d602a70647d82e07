"""Reading questions: answer types, hinge terms, and key spans inside a unit."""

import pytest

from egov_qa.documents import Cell
from egov_qa.question import analyze, holds_term, key_span


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


def test_holds_term_allows_word_forms_but_not_other_numbers():
    stems = {"korea", "2010"}
    assert holds_term(stems, "Korean")
    assert holds_term(stems, "2010")
    assert not holds_term(stems, "2011")
    assert not holds_term(stems, "Japan")


class TestKeySpan:
    def test_table_cell_named_by_the_question(self):
        text = "Budget | 2002: 12,155 | 2005: 20,272"
        cells = tuple(
            Cell(header, text.index(value), text.index(value) + len(value))
            for header, value in (("", "Budget"), ("2002", "12,155"), ("2005", "20,272"))
        )
        q = analyze("What was the budget in 2005?")
        start, end = key_span(q, text, cells)
        assert text[start:end] == "20,272"

    def test_direction_picks_the_side_of_an_arrow(self):
        text = "PC penetration rate : 37.3% ▶ 72.1%"
        now = key_span(analyze("What is the PC penetration rate now?"), text)
        before = key_span(analyze("What was the PC penetration rate before?"), text)
        assert text[now[0] : now[1]] == "72.1%"
        assert text[before[0] : before[1]] == "37.3%"

    def test_the_questions_own_year_is_not_the_answer(self):
        text = "Issuance statistics : 8 inquiries(2005) ▶ 1,208 inquiries(2010)"
        start, end = key_span(analyze("How many issuance inquiries were there in 2010?"), text)
        assert text[start:end].startswith("1,208")

    def test_year_and_name(self):
        text = "1975 Korea commenced digitization under President Park Jung-Hee's order"
        start, end = key_span(analyze("When did Korea commence digitization?"), text)
        assert text[start:end] == "1975"
        start, end = key_span(analyze("Who ordered Korea to commence digitization?"), text)
        assert "Park Jung-Hee" in text[start:end]

    def test_no_type_no_span(self):
        assert key_span(analyze("Tell me about the vision"), "Realize a world-best e-Government") is None


def test_a_titles_enumeration_is_not_a_quantity():
    from egov_qa.question import typed_spans

    question = analyze("How much was invested in smart government in 2015?")
    assert typed_spans(question, "3. Smart Government in 2015") == []
    assert typed_spans(question, "3 projects cost 12 million in 2015") != []

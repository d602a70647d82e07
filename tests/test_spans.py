"""Key spans: dates, ranges, changes, percentages, money, quantities, ranks and names in any English."""

from __future__ import annotations

import gc
import signal
import time
from functools import cache
from pathlib import Path

import pytest

from egov_qa.answer.question import analyze
from egov_qa.answer.reader import whole_name
from egov_qa.answer.spans import (
    SPAN_PATTERNS,
    _holds_detail,
    _matches,
    change_sides,
    find_spans,
    holds_detail,
    key_span,
    named_cell,
    typed_spans,
)
from egov_qa.documents import Cell
from egov_qa.ingest.loader import DeckLoader

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SHIPPED = ROOT / "corpus" / "egov_korea.md"


def span_of(question: str, text: str) -> str | None:
    found = key_span(analyze(question), text)
    return None if found is None else text[found[0] : found[1]]


@cache
def deck_lines(path: Path) -> tuple[str, ...]:
    slides, warnings = DeckLoader().load_file(path, path.name)
    assert slides, warnings
    return tuple(line for slide in slides for line in slide.text.splitlines())


def deck_line(path: Path, needle: str) -> str:
    """The one line of a real deck, as egov-qa reads it, that holds ``needle``."""
    found = [line for line in deck_lines(path) if needle in line]
    assert found, f"{needle!r} is not in {path.name}"
    return found[0]


class TestDates:
    @pytest.mark.parametrize(
        ("question", "text", "expected"),
        [
            (
                "When did the board approve the budget?",
                "On March 7, 2024 the board approved the budget.",
                "March 7, 2024",
            ),
            ("When was the treaty signed?", "The treaty was signed on 7 March 2024 in Geneva.", "7 March 2024"),
            ("When was the report published?", "The report was published on 2024-03-07 by the ministry.", "2024-03-07"),
            ("When did the survey close?", "The survey closed on 6/15/2019 after six weeks.", "6/15/2019"),
            ("When will the service launch?", "The service will launch in Q2/2018, the agency said.", "Q2/2018"),
            ("When did the pilot begin?", "The pilot began in 5/2017 with three cities.", "5/2017"),
            (
                "When was the strategy adopted?",
                "The strategy was adopted in January 2018 by the cabinet.",
                "January 2018",
            ),
            (
                "When is the next hearing?",
                "The next hearing is on Thursday, April 4, 2024 at 2 p.m.",
                "Thursday, April 4, 2024 at 2 p.m.",
            ),
            ("In what year did the law pass?", "The law passed in 1999 after a long debate.", "1999"),
            ("When did sales take off?", "Sales took off in the 1990s, analysts say.", "1990s"),
        ],
    )
    def test_common_formats(self, question, text, expected):
        assert span_of(question, text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("The reform ran 2003–2007 under two governments.", "2003–2007"),
            ("The reform ran 2003-2007 under two governments.", "2003-2007"),
            ("The reform ran from 2003 to 2007 under two governments.", "2003 to 2007"),
            ("The reform ran between 2003 and 2007 under two governments.", "2003 and 2007"),
            ("The reform ran 2003–\n2007 under two governments.", "2003–\n2007"),
            ("The reform has run since 2008~ under three governments.", "2008~"),
            ("The reform has run 2008–present under three governments.", "2008–present"),
        ],
    )
    def test_a_when_question_gets_the_whole_year_range(self, text, expected):
        assert span_of("When did the reform run?", text) == expected

    def test_abbreviated_years(self):
        assert span_of("When did online sales start?", "Online sales : $3M('06) ▶ $20M('10)") == "'06"

    def test_a_year_is_no_quantity_nor_a_dates_day(self):
        question = analyze("How many visitors came?")
        text = "On March 7, 2024, 12,500 visitors came; in 2023 there were fewer."
        assert [text[s:e] for s, e in typed_spans(question, text)] == ["12,500 visitors"]


class TestChanges:
    """The asked-for side of a change: the new value for "now", the old for "before"."""

    @pytest.mark.parametrize(
        "text",
        [
            "PC penetration rose from 37.3% to 72.1% over the decade.",
            "PC penetration increased from 37.3% to 72.1%.",
            "PC penetration : 37.3% ▶ 72.1%",
            "PC penetration : 37.3% ► 72.1%",
            "PC penetration: 37.3% → 72.1%",
            "PC penetration: 37.3% -> 72.1%",
            "PC penetration reached 72.1%, up from 37.3% ten years earlier.",
            "PC penetration: before: 37.3% | after: 72.1%",
            "PC penetration was previously 37.3% and is now 72.1%",
        ],
    )
    def test_sides(self, text):
        assert span_of("What is the PC penetration rate now?", text) == "72.1%"
        assert span_of("What was the PC penetration rate before?", text) == "37.3%"

    def test_falls_and_durations(self):
        text = "Average waiting time fell from 45 minutes to 12 minutes after the reform."
        assert span_of("How long is the average wait now?", text) == "12 minutes"
        assert span_of("How long was the average wait originally?", text) == "45 minutes"
        text = "Monthly system failure time : 67 min ► 5.4 sec."
        assert span_of("How long is the monthly failure time now?", text) == "5.4 sec"
        assert span_of("How long was the monthly failure time before?", text) == "67 min"

    def test_a_chain_of_arrows_has_a_first_and_a_last_value(self):
        text = "Staff : 10 ▶ 25 ▶ 40"
        assert span_of("How many staff are there now?", text) == "40"
        assert span_of("How many staff were there initially?", text) == "10"

    def test_without_a_direction_the_whole_unit_is_searched(self):
        text = "PC penetration rose from 37.3% to 72.1%."
        spans = typed_spans(analyze("What percentage of homes had a PC?"), text)
        assert [text[s:e] for s, e in spans] == ["37.3%", "72.1%"]

    def test_naming_neither_side_nor_a_time_asks_for_the_state_now(self):
        text = "UN Public Service Awards | Before: 0 | After: 5 winner(2003, 2007, 2011)"
        assert span_of("How many UN Public Service Awards did Korea win?", text) == "5 winner"
        text = "PC penetration rose from 37.3% to 72.1% over the decade."
        assert span_of("What percentage of homes have a PC?", text) == "72.1%"
        # A year named picks the span nearest it, on either side.
        text = "UN e-Government ranking | Before: 15 rank(2001) | After: 1 rank(2010, 2012)"
        assert span_of("What was the UN e-Government rank in 2001?", text) == "15 rank"

    def test_a_side_without_the_asked_for_kind_falls_back_to_the_whole_unit(self):
        text = "Filing moved from paper to online forms, saving 3 days."
        assert span_of("How long does filing take now?", text) == "3 days"

    def test_change_sides(self):
        text = "Visits: 8 ▶ 1,208; rate rose from 9.1% to 66.5%, and cost 4 dollars, down from 9 dollars"
        sides = change_sides(text)
        assert [text[s:e].strip() for s, e in sides["before"]] == ["Visits: 8", "9.1%", "9 dollars"]
        assert [text[s:e].strip() for s, e in sides["after"]] == ["1,208", "66.5%", "and cost 4 dollars"]
        assert change_sides("No change is stated here.") == {"before": [], "after": []}


class TestQuantities:
    @pytest.mark.parametrize(
        ("question", "text", "expected"),
        [
            (
                "How much did the council approve?",
                "The council approved $1.2 million for road repairs.",
                "$1.2 million",
            ),
            ("How much will the fund invest?", "The fund will invest USD 5 billion over ten years.", "USD 5 billion"),
            ("How much is the budget?", "The budget is 1.2 trillion won this year.", "1.2 trillion won"),
            ("How much does it save each year?", "It saves USD8.1B worth of costs annually.", "USD8.1B"),
            ("How much did the city spend?", "The city spent €40 million on the tram.", "€40 million"),
            ("How many units were sold?", "The plant sold 12,155 units last year.", "12,155 units"),
            ("How long does delivery take?", "Delivery takes 3 days on average.", "3 days"),
            ("How long does the check take?", "The check takes 2 min at the border.", "2 min"),
            ("How many people use the portal?", "Some 191,000 businesses use the portal.", "191,000 businesses"),
        ],
    )
    def test_money_and_units(self, question, text, expected):
        assert span_of(question, text) == expected

    @pytest.mark.parametrize(
        ("question", "text", "expected"),
        [
            ("What percentage voted yes?", "About 45 percent of voters said yes.", "45 percent"),
            ("What share of procurement is online?", "Over 70% of public procurement is online.", "70%"),
            ("What percentage of homes have broadband?", "Broadband reached 66.5 % of homes.", "66.5 %"),
        ],
    )
    def test_percentages(self, question, text, expected):
        assert span_of(question, text) == expected

    def test_the_questions_own_number_is_no_answer_whatever_follows_it(self):
        assert span_of("How much does item number 517 cost?", "Item number 517 costs 1551 coins.") == "1551 coins"
        text = "Developer Data Bites, March 7, 2024"
        assert typed_spans(analyze("What time did the March 7, 2024 session start?"), text) == []

    def test_a_code_or_a_verb_beside_a_number_is_no_quantity(self):
        question = analyze("How many statement deviations are there in the CM-6 example?")
        text = "For instance, CM-6 may have multiple parameters, but there is only 1 statement deviation."
        assert [text[a:b] for a, b in typed_spans(question, text)] == ["1 statement"]
        assert span_of("How many reviews are needed?", "AC-2 needs 3 reviews a year.") == "3 reviews"
        assert span_of("How many offices closed?", "In the end 40 will close.") == "40"

    def test_a_titles_enumeration_is_not_a_quantity(self):
        question = analyze("How much was invested in smart government in 2015?")
        assert typed_spans(question, "3. Smart Government in 2015") == []
        assert typed_spans(question, "3 projects cost 12 million in 2015") != []


class TestRanksAndNames:
    @pytest.mark.parametrize(
        ("question", "text", "expected"),
        [
            ("What rank did the team reach?", "The team was ranked 3rd in the league.", "ranked 3rd"),
            ("What place did she finish in?", "She finished third in the final.", "third"),
            ("What rank does the university hold?", "The university is No. 1 in Asia.", "No. 1"),
            ("What rank did the city reach in the index?", "The city came 12th in the index.", "12th"),
        ],
    )
    def test_ranks(self, question, text, expected):
        assert span_of(question, text) == expected

    @pytest.mark.parametrize(
        ("question", "text", "expected"),
        [
            (
                "Which agency published the guidance?",
                "In 2009, the National Institute of Standards and Technology published guidance.",
                "National Institute of Standards and Technology",
            ),
            ("Who leads the project?", "The project is led by Michaela Iorga and her team.", "Michaela Iorga"),
            ("Which standard applies?", "Systems must meet SP 800-53 Rev 5 before launch.", "SP 800-53 Rev 5"),
            ("Who chairs the committee?", "The committee is chaired by NIST.", "NIST"),
        ],
    )
    def test_names_and_acronyms(self, question, text, expected):
        assert span_of(question, text) == expected

    def test_a_name_drops_what_a_capital_drew_in(self):
        text = "The order came from President Park Jung-Hee's office in 1975."
        assert span_of("Who gave the order?", text) == "President Park Jung-Hee"
        assert find_spans("name", "In 2009, prices fell.") == []

    @pytest.mark.parametrize(
        ("text", "read", "expected"),
        [
            # A reading that starts at a name's last part takes the capitalized words before it.
            ("1975: digitization began under President Park Jung-Hee's order", "Jung-Hee", "President Park Jung-Hee"),
            ("the board named Korea Agency for Digital", "Agency for Digital", "Korea Agency for Digital"),
            # Not over the word that opens the line or a sentence, a small word, or a word ending a clause.
            ("Producing Static Analysis Results", "Static Analysis Results", "Static Analysis Results"),
            ("It was held in Seoul. Kim Dae-jung spoke", "Dae-jung", "Dae-jung"),
            ("run by the Ministry", "Ministry", "Ministry"),
            ("as said by NIST, Park Jung-Hee", "Park Jung-Hee", "Park Jung-Hee"),
            # A reading that is no name is left as it is.
            ("under President Park's order", "order", "order"),
        ],
    )
    def test_a_name_read_from_its_last_part_is_widened_to_the_whole_name(self, text, read, expected):
        start = text.index(read)
        lo, hi = whole_name(text, (start, start + len(read)))
        assert text[lo:hi] == expected


class TestDetails:
    """Whether a passage holds the finer detail a question asks for, on ordinary English."""

    @pytest.mark.parametrize(
        ("question", "text", "held"),
        [
            ("What does NASA stand for?", "the National Aeronautics and Space Administration (NASA)", True),
            ("What does NASA stand for?", "NASA launched a probe in 2020.", False),
            ("What does the DoS stand for?", "Department of State", True),
            ("What does UN stand for?", "the council met today", False),
            ("On what date did the store open?", "It opened on 14 March 2019.", True),
            ("On what date did the store open?", "It opened in 2019.", False),
            ("On what date did the March 7 meeting end?", "The meeting of March 7 ran late.", False),
            ("What time does the market open?", "Doors open at 9 a.m. sharp.", True),
            ("What time does the market open?", "The market opens daily.", False),
            ("How much money did the town spend?", "The town spent $4.5 million on parks.", True),
            ("How much money did the town spend?", "It spent 300 days on the work.", False),
            ("What was the budget?", "a budget of 20 billion won", True),
            ("Which e-mail address takes questions?", "Write to help@example.org with questions.", True),
            ("Which e-mail address takes questions?", "Write to us with questions.", False),
            ("What phone number should I call?", "Call (555) 123-4567 today.", True),
            ("What phone number should I call?", "Call us 7 days a week.", False),
            ("At what web address is it?", "See https://example.org/page", True),
            ("At what web address is it?", "See the page on our site", False),
            ("Which version added dark mode?", "Dark mode came in v2.3.", True),
            ("Which version added dark mode?", "Dark mode came in release 4.", True),
            ("Which version added dark mode?", "Dark mode came later.", False),
            ("Who wrote the report?", "anything at all", True),
        ],
    )
    def test_holds_detail(self, question, text, held):
        assert holds_detail(analyze(question), text) is held


class TestKnownFailures:
    def test_an_en_dash_year_range_is_one_answer(self):
        assert span_of("When was the diffusion stage?", "Diffusion | Period: 2003–2007 | 31 major tasks") == "2003–2007"

    def test_what_is_it_now_gets_the_new_side_of_from_to(self):
        assert span_of("What is it now?", "The share rose from 37.3% to 72.1%") == "72.1%"


class TestRealDecks:
    """Lines of real public decks, read as egov-qa reads them."""

    FEDRAMP = DATA / "fedramp-developer-data-bites-2024-03-07.pdf"
    OVERVIEW = DATA / "nist-oscal-high-level-overview-2018-01.pptx"
    SLIDES = DATA / "nist-oscal-slides-2020-03-26.pdf"

    @pytest.mark.parametrize(
        ("deck", "needle", "question", "expected"),
        [
            (FEDRAMP, "Thursday, April 4", "When is the next Data Bites meeting?", "Thursday, April 4, 2024 at 12p ET"),
            (FEDRAMP, "possible resolutions", "How many outcomes can a review end in?", "4 possible"),
            (FEDRAMP, "(OSCAL-CLI) Validation", "What does OSCAL-CLI stand for?", "OSCAL Command Line"),
            (FEDRAMP, "Migration from Schematron", "Which system was used before the migration?", "Schematron"),
            (OVERVIEW, "Restart OSCAL", "When was OSCAL development restarted?", "5/2017"),
            (OVERVIEW, "Stable Profile layer", "When was the stable Profile layer scheduled?", "Q1/2018"),
            (OVERVIEW, "20% of functionality", "What percentage of the problem does it solve?", "80%"),
            (OVERVIEW, "20% of functionality", "What percentage of functionality is implemented?", "20%"),
            (SLIDES, "Milestone 1", "When was Milestone 1 completed?", "6/15/2019"),
            (SLIDES, "Milestone 2", "On what date was the SSP milestone completed?", "10/1/2019"),
            (SLIDES, "Milestone 3", "Roughly when is Milestone 3 expected to be done?", "May 2020"),
            (SLIDES, "UTC", "At what time does the session start in UTC?", "5:00 PM UTC"),
        ],
    )
    def test_key_span(self, deck, needle, question, expected):
        assert span_of(question, deck_line(deck, needle)) == expected


class TestShippedDeck:
    """Lines of the shipped deck, as egov-qa reads them."""

    @pytest.mark.parametrize(
        ("needle", "question", "expected"),
        [
            ("1975 Korea", "When did Korea commence digitization?", "1975"),
            ("1975 Korea", "Who ordered Korea to commence digitization?", "President Park Jung-Hee"),
            ("Period: 2003~2007", "When was the Diffusion stage?", "2003~2007"),
            ("Period: 2008~", "Since when has the Maturity stage run?", "2008~"),
            ("PC penetration rate", "What is the PC penetration rate now?", "72.1%"),
            ("PC penetration rate", "What was the PC penetration rate before?", "37.3%"),
            ("Monthly system failure", "How long is the monthly system failure time now?", "5.4 sec"),
            ("Monthly system failure", "How long was the monthly system failure time before?", "67min"),
            ("Issuance statistics", "How many issuance inquiries were there in 2010?", "1,208 inquiries(2010)"),
            ("Selling local specialties", "How much did online sales of local specialties reach now?", "$20M"),
            ("USD8.1B", "How much does the e-procurement system save each year?", "USD8.1B"),
            ("122 billion USD", "What percentage of procurement was conducted through KONEPS?", "70%"),
            ("MOPAS :", "What does MOPAS stand for?", "Ministry of Public Administration & Security"),
            ("UNIPASS", "Which certification did UNIPASS get in 2009?", "ISO 9001"),
        ],
    )
    def test_key_span(self, needle, question, expected):
        assert span_of(question, deck_line(SHIPPED, needle)) == expected

    def test_table_cell_named_by_the_question(self):
        text = "Budget | 2002: 12,155 | 2005: 20,272"
        cells = tuple(
            Cell(header, text.index(value), text.index(value) + len(value))
            for header, value in (("", "Budget"), ("2002", "12,155"), ("2005", "20,272"))
        )
        question = analyze("What was the budget in 2005?")
        assert named_cell(question, cells) == cells[2]
        start, end = key_span(question, text, cells)
        assert text[start:end] == "20,272"

    def test_before_and_after_cells(self):
        line = deck_line(SHIPPED, "Customs Clearance Service")
        assert span_of("How long does export customs clearance take now?", line) == "2-min"
        assert span_of("How long did export customs clearance take before?", line) == "1+days"

    def test_no_type_no_span(self):
        assert key_span(analyze("Tell me about the vision"), "Realize a world-best e-Government") is None


@pytest.fixture
def deadline():
    """Fail the test, instead of stalling the suite, if it runs past ``seconds``."""

    def expired(signum, frame):
        raise TimeoutError("a pattern took far longer than linear time on a long line")

    previous = signal.signal(signal.SIGALRM, expired)
    yield lambda seconds: signal.alarm(seconds)
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# Long enough that quadratic work (a hundred times the short line's for ten times the text)
# stands far above linear work and noise; short enough for the unit tier.
LONG = 40_000
HOSTILE_UNITS = {
    "spaces": " ",
    "a digit, then spaces": "1" + " " * 99,
    "digits and spaces": "1 ",
    "digits": "9",
    "thousands commas": "1,",
    "version dots": "1.1.",
    "dashes after a year": "2003" + "-" * 96,
    "open ranges": "2003 ~ ",
    "month names": "March ",
    "weekdays": "Thursday, ",
    "currency signs": "US$",
    "name links": "A of ",
    "stopwords as names": "The ",
    "acronyms and numbers": "SP 1 ",
    "possessives": "A's ",
    "trailing punctuation": "A&&&",
    "compounds": "a-B",
    "from": "from ",
    "from numbers": "from 1 ",
    "from to": "from 1 to ",
    "new from old": "up from 3, ",
    "labels": "Before: ",
    "arrows": "1 ▶ ",
    "question words near numbers": "rank 1 ",
    "an acronym's letters": "a ",
    "an acronym's letters and links": "a of ",
    "at signs": "a@b.",
    "dotted words": "a.",
    "phone digits": "555 ",
    "money words": "1 dollars ",
    "versions": "v1.",
}
QUESTIONS = ("When was it, now?", "How many before?", "What percentage now?", "What rank?", "Who is it?")
DETAIL_QUESTIONS = (
    "What does AAB stand for?",
    "What e-mail address?",
    "What phone number?",
    "What web address?",
    "What time?",
    "What date?",
    "How much money?",
    "Which version?",
)


def find_everything(line: str) -> float:
    """Run every span finder over ``line``; return the CPU seconds it took.

    CPU time, not wall time: another busy process on the machine does not count.
    Garbage collection is paused while it runs: in a long test session its passes
    over everything the session holds would be counted against the patterns. Nothing is
    collected first: a full collection of a long session's heap costs half a second a call,
    and the paused collector counts nothing of it either way.
    """
    _matches.cache_clear()
    _holds_detail.cache_clear()
    gc.disable()
    try:
        started = time.process_time()
        for kind in SPAN_PATTERNS:
            find_spans(kind, line)
        for question in QUESTIONS:
            key_span(analyze(question), line)
        change_sides(line)
        for question in DETAIL_QUESTIONS:
            holds_detail(analyze(question), line)
        spent = time.process_time() - started
    finally:
        gc.enable()
    return spent


@pytest.mark.parametrize("unit", HOSTILE_UNITS.values(), ids=HOSTILE_UNITS.keys())
def test_a_40000_character_line_does_not_stall(unit, deadline):
    # Linear work takes well under a second here; a backtracking pattern would take hours.
    deadline(60)
    long_time = find_everything(unit * (LONG // len(unit)))
    # Ten times the text must cost about ten times the work, not a hundred: this checks
    # how the work grows, not how fast it is.
    short_time = min(find_everything(unit * (LONG // 10 // len(unit))) for _ in range(3))
    assert long_time < 40 * short_time + 0.25

"""Reading a question: misspellings, follow-ups and parts, on ordinary English."""

import pytest

from egov_qa.answer.reading import QuestionReader, Reading, as_question, common_english_words, corpus_words

CORPUS = """
The city library opened in 2010 and moved to the harbour district in 2014.
The library budget was 4 million dollars in 2010 and 5 million dollars in 2011.
How many visitors came? 120,000 visitors came in 2011. The Friends of the Library run the reading program.
Volunteers organise the summer festival. The museum was renovated in 2012.
The transport agency publishes timetables in JSON and XML. Patents and trademarks were filed online.
How many trademarks were filed in 2010? Rural villages received broadband. OpenLedger records every loan.
"""


@pytest.fixture(scope="module")
def reader() -> QuestionReader:
    # A small list of common English words, so the test does not depend on the model package.
    common = {"japan", "nurses", "doctors", "library", "city", "visitors", "museum", "loan"}
    return QuestionReader(corpus_words([CORPUS]), common_words=common)


class TestMisspellings:
    def test_a_word_the_corpus_lacks_is_read_as_the_close_corpus_word(self, reader):
        reading = reader.read("When did the libary open?")
        assert reading.text == "When did the library open?"
        assert [(c.typed, c.read) for c in reading.corrections] == [("libary", "library")]
        assert reading.changed and not reading.follow_up

    def test_swapped_letters_and_each_part_of_a_hyphenated_word(self, reader):
        reading = reader.read("Which villages got high-speed braodband in rurral areas?")
        assert reading.text == "Which villages got high-speed broadband in rural areas?"

    def test_a_long_word_takes_two_edits_a_short_one_only_one(self, reader):
        assert reader.read("Who organises the sumer fesitval?").text == "Who organises the summer festival?"
        assert reader.read("Who runs the redaing programm?").text == "Who runs the reading program?"
        # "trnsprt" is two edits from "transport"'s 7-letter neighbour set: too far for its length.
        assert reader.closest("vistrs") is None

    def test_numbers_common_words_and_short_words_are_never_corrected(self, reader):
        # A near miss names what the corpus lacks on purpose: it must stay a near miss.
        for question in ("How many nurses work at the library?", "What was the budget in 2015?", "Did Japan join?"):
            assert reader.read(question) == Reading(question, question)
        assert reader.closest("ful") is None

    def test_an_acronym_is_corrected_only_for_swapped_letters(self, reader):
        assert reader.read("Are timetables published in JOSN?").text == "Are timetables published in JSON?"
        assert reader.closest("JSOM") is None  # another acronym, maybe one the corpus lacks

    def test_the_corpus_spelling_of_a_name_is_kept(self, reader):
        assert reader.read("What does Openledger record?").text == "What does Openledger record?"  # known word
        assert reader.read("What does OpenLeger record?").text == "What does OpenLedger record?"

    def test_two_equally_close_and_frequent_words_leave_the_word_as_typed(self):
        reader = QuestionReader(["cart", "card"], common_words=())
        assert reader.closest("carx") is None

    def test_the_first_letter_is_kept(self, reader):
        assert reader.closest("mibrary") is None

    def test_known_forms_of_corpus_words_are_not_corrected(self, reader):
        assert reader.read("How many trademark filings were online?").corrections == ()

    def test_common_english_words_come_from_the_shipped_vocabulary(self):
        words = common_english_words()
        assert {"japan", "nurses", "government"} <= words
        assert "rurral" not in words and "the" in words


class TestFollowUps:
    def test_a_new_year_replaces_the_year_asked_about(self, reader):
        reading = reader.read("And in 2011?", "What was the library budget in 2010?")
        assert reading.text == "What was the library budget in 2011?"
        assert reading.follow_up and reading.changed

    def test_a_phrase_with_a_number_is_added_when_the_question_had_none(self, reader):
        assert reader.read("in 2011?", "How many visitors came?").text == "How many visitors came in 2011?"

    def test_what_about_a_name_replaces_the_name(self, reader):
        reading = reader.read("What about the Museum Society?", "Who runs the Friends of the Library?")
        assert reading.text == "Who runs the Museum Society?"

    def test_what_about_a_noun_replaces_the_noun_counted(self, reader):
        reading = reader.read("what about patents?", "How many trademarks were filed in 2010?")
        assert reading.text == "How many patents were filed in 2010?"

    def test_a_question_phrase_alone_asks_the_previous_question_another_way(self, reader):
        assert reader.read("And at what time?", "When does the festival open?").text == (
            "At what time does the festival open?"
        )
        assert reader.read("why?", "When was the museum renovated?").text == "Why was the museum renovated?"

    def test_a_pronoun_with_nothing_to_point_at_takes_the_previous_subject(self, reader):
        assert reader.read("who ran it?", "When did the summer festival begin?").text == (
            "Who ran the summer festival?"
        )
        assert reader.read("And what does it record?", "When was OpenLedger launched?").text == (
            "What does OpenLedger record?"
        )
        assert reader.read("What is its budget?", "When did the city library open?").text == (
            "What is the city library's budget?"
        )

    def test_it_before_a_phrase_with_to_still_points_back(self, reader):
        for question in ("Who sent it to NIST?", "Who sent it to the mayor?", "And its budget, what was it?"):
            assert reader.read(question, "When was the report written?").follow_up, question

    def test_a_counted_noun_left_out_is_put_back(self, reader):
        assert reader.read("And how many were rejected?", "How many trademarks were filed in 2010?").text == (
            "How many trademarks were rejected?"
        )

    def test_a_leading_and_is_dropped_from_a_whole_question(self, reader):
        reading = reader.read("and when was the museum renovated?", "When did the library open?")
        assert reading.text == "When was the museum renovated?" and reading.follow_up

    def test_a_place_word_keeps_the_previous_question_beside_it(self, reader):
        reading = reader.read("How many people work there?", "Where did the library move?")
        assert reading.text == "How many people work there? (after: Where did the library move?)"
        # Read again as the next question's context, the context it carried is dropped.
        again = reader.read("And in 2011?", reading.text)
        assert "after:" not in again.text

    @pytest.mark.parametrize(
        "question",
        [
            "When did the library move to the harbour district?",
            "How long does it take to renovate a museum?",
            "Is it true that the library opened in 2010?",
            "How hard is it to run the lending desk?",
            "Apart from its reading rooms, what does the library offer?",
            "Which group will look at the site before it opens?",
            "How many loans did the library give to its members?",
            "How many books were lent this year?",
            "Which programs does IT support run?",
            "What is the difference between loans that are late and fines?",
            "How many volunteers are there?",
            "Name one event that is planned.",
        ],
    )
    def test_a_standalone_question_stays_standalone(self, reader, question):
        reading = reader.read(question, "What was the library budget in 2010?")
        assert not reading.follow_up and reading.text == question

    def test_without_a_previous_question_nothing_is_a_follow_up(self, reader):
        assert reader.read("And in 2011?") == Reading("And in 2011?", "And in 2011?")


class TestParts:
    def test_a_conjunction_before_a_question_word_starts_a_part(self, reader):
        reading = reader.read("When did the library open, and who runs the reading program?")
        assert reading.parts == ("When did the library open?", "Who runs the reading program?")
        assert reading.questions == reading.parts and not reading.changed

    def test_a_semicolon_or_a_question_mark_starts_a_part(self, reader):
        assert len(reader.read("When did the library open; how many visitors came?").parts) == 2
        assert len(reader.read("When did the library open? And how many visitors came?").parts) == 2

    def test_a_part_may_open_with_the_preposition_of_its_question_word(self, reader):
        reading = reader.read("Who runs the reading program, and in what year did the library open?")
        assert reading.parts == ("Who runs the reading program?", "In what year did the library open?")

    def test_a_later_part_leans_on_the_first(self, reader):
        reading = reader.read("When was the museum renovated, and why?")
        assert reading.parts == ("When was the museum renovated?", "Why was the museum renovated?")
        reading = reader.read("When did the summer festival begin, and who organises it?")
        assert reading.parts[1] == "Who organises the summer festival?"

    @pytest.mark.parametrize(
        "question",
        [
            "Which library and which museum opened in 2010?",
            "What was the budget, which the city set, in 2011?",
            "Who and what moved to the harbour district?",
            "Tell me when the library opened and what it cost.",
        ],
    )
    def test_one_question_is_not_split(self, reader, question):
        assert reader.read(question).parts == ()

    def test_parts_are_bounded(self):
        reader = QuestionReader([], common_words=(), max_parts=2)
        reading = reader.read("What is a, and what is b, and what is c?")
        assert reading.parts == ("What is a?", "What is b, and what is c?")


class TestSettings:
    @pytest.mark.parametrize(("name", "value"), [("min_length", 2), ("max_parts", 0), ("max_parts", "2")])
    def test_bad_settings_name_the_value(self, name, value):
        with pytest.raises(ValueError, match=name):
            QuestionReader([], **{name: value})

    def test_as_question(self):
        assert as_question("and in 2011 ") == "And in 2011?"


@pytest.fixture(scope="module")
def readings():
    from conftest import ROOT

    from egov_qa.evaluation.scoring import find_suites, load_eval_set, plain
    from egov_qa.ingest.loader import DeckLoader

    suites = find_suites(ROOT / "evals", ROOT / "corpus")
    sets = [(suite, plain(load_eval_set(suite.eval_set))) for suite in suites]
    found = []
    for k, (suite, items) in enumerate(sets):
        unrelated = sets[(k + 1) % len(sets)][1]
        reader = QuestionReader(corpus_words(s.text for s in DeckLoader().load(suite.corpus).slides))
        found += [
            (item, reader.read(item.question, unrelated[i % len(unrelated)].question)) for i, item in enumerate(items)
        ]
    return found


@pytest.mark.decks
class TestOnTheEvalSets:
    """Every plain eval question, asked right after a question of another set, is read as typed."""

    def test_no_plain_question_is_taken_for_a_follow_up(self, readings):
        assert len(readings) > 600
        assert [item.id for item, reading in readings if reading.follow_up] == []

    def test_no_plain_question_has_a_word_corrected(self, readings):
        # The near misses name what the deck lacks ("Japan", "2015"): none may be corrected away.
        assert [(item.id, reading.corrections) for item, reading in readings if reading.corrections] == []

    def test_plain_questions_are_seldom_split(self, readings):
        split = [item.id for item, reading in readings if reading.parts]
        assert len(split) <= len(readings) // 100

"""Word-level helpers: finding the related forms of a stem without scanning."""

import pytest

from egov_qa.text import Vocabulary, counted, related, terms

STEMS = {"issu", "issuanc", "issued", "classif", "classifi", "class", "2008", "20081", "e-gov", "e-govern", "korea"}


class TestVocabulary:
    def test_empty(self):
        vocabulary = Vocabulary(())
        assert len(vocabulary) == 0 and vocabulary.forms("issu") == frozenset()

    @pytest.mark.parametrize("term", [*sorted(STEMS), "issuing", "classification", "clas", "200", "korean", "zzz"])
    def test_forms_are_what_a_scan_with_related_finds(self, term):
        vocabulary = Vocabulary(STEMS)
        assert vocabulary.forms(term) == frozenset(s for s in STEMS if related(term, s))

    def test_a_real_vocabulary(self):
        text = "Issuance of certificates; certificates issued online. Classification of the classified records."
        stems = set(terms(text, keep_stopwords=True))
        vocabulary = Vocabulary(stems)
        for term in stems | {"issu", "certif", "record"}:
            assert vocabulary.forms(term) == frozenset(s for s in stems if related(term, s))


def test_counted_puts_the_noun_in_the_number_it_takes():
    assert [counted(n, "slide") for n in (0, 1, 2)] == ["0 slides", "1 slide", "2 slides"]

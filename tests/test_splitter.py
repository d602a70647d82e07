"""Answer units: exact offsets, the length limit, stable content-hash ids."""

import pytest

from egov_qa.ingest.markdown import split_markdown
from egov_qa.ingest.splitter import UnitSplitter

LONG = " ".join(f"Sentence number {i} says something about e-Government." for i in range(20))


class TestUnitSplitter:
    def test_default_limit_is_300(self):
        assert UnitSplitter().max_chars == 300

    @pytest.mark.parametrize("bad", [0, 39, "300", 12.5])
    def test_invalid_limit_is_named(self, bad):
        with pytest.raises(ValueError, match=repr(bad).replace(".", r"\.")):
            UnitSplitter(bad)

    def test_units_are_exact_slices_of_the_slide(self):
        (slide,) = split_markdown(f"# Title\n\n- {LONG}\n\n| | A |\n|---|---|\n| row | 1 |\n", "d.md")
        units = UnitSplitter(120).split(slide)
        for unit in units:
            assert slide.text[unit.start : unit.end] == unit.text
            assert len(unit.text) <= 120
        assert units[0].kind == "heading"
        assert units[-1].kind == "row" and units[-1].text == "row | A: 1"
        assert units[-1].cells[0].header == ""

    def test_long_line_is_cut_at_sentence_ends(self):
        (slide,) = split_markdown(LONG, "d.md")
        units = UnitSplitter(120).split(slide)
        assert len(units) > 1
        assert all(u.text.endswith(".") for u in units)
        assert " ".join(u.text for u in units) == LONG

    def test_a_word_longer_than_the_limit_is_cut(self):
        (slide,) = split_markdown("x" * 100, "d.md")
        assert [len(u.text) for u in UnitSplitter(40).split(slide)] == [40, 40, 20]

    def test_ids_are_stable_content_hashes(self):
        (a,) = split_markdown("# T\n\nsame text", "d.md")
        (b,) = split_markdown("# T\n\nsame text", "d.md")
        (c,) = split_markdown("# T\n\nother text", "d.md")
        ids = [u.id for u in UnitSplitter().split(a)]
        assert ids == [u.id for u in UnitSplitter().split(b)]
        assert ids != [u.id for u in UnitSplitter().split(c)]
        assert len(set(ids)) == len(ids)

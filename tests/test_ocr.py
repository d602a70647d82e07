"""OCR: pages without a text layer read from their image into sentences, answered and boxed."""

from __future__ import annotations

import pytest
from conftest import FakeEmbedder
from pdf_maker import Placed, write_pdf

from egov_qa.assistant import Assistant
from egov_qa.ingest import ocr as ocr_module
from egov_qa.ingest.loader import DeckLoader
from egov_qa.ingest.ocr import DeckOcr, engine_version
from egov_qa.ingest.pdf import Line, needs_ocr, reading_order
from egov_qa.ingest.splitter import UnitSplitter
from egov_qa.training.copies import image_only

FACTS = [
    "The tax office opened online filing in 2003.",
    "Paper forms fell by half within two years.",
    "Every district now keeps a help desk.",
]


def scanned_deck(folder, pages=1):
    """A slide set in large type, then kept only as pictures (as a scanner or an image export leaves it)."""
    drawn = []
    for n in range(pages):
        lines = [Placed("Online tax filing" if n == 0 else f"Part {n + 1}", 60, 520, 30)]
        lines += [Placed(fact, 60, 440 - 40 * i, 18) for i, fact in enumerate(FACTS)]
        drawn.append(lines)
    text = write_pdf(folder / "typed.pdf", drawn)
    return image_only(text, folder / "scanned.pdf")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scanned")
    (folder / "corpus").mkdir()
    return scanned_deck(folder), folder


def test_an_image_only_page_is_read_into_sentences_marked_as_ocr(scanned):
    path, _ = scanned
    slides, warnings = DeckLoader().load_file(path, "scanned.pdf")
    assert warnings == []
    (slide,) = slides
    assert slide.title == "Online tax filing"
    units = UnitSplitter().split(slide)
    assert [u.text for u in units] == ["Online tax filing", *FACTS]
    assert {u.origin for u in units} == {"ocr"}


def test_an_image_only_deck_is_answered_with_the_quote_boxed_on_the_page(scanned, tmp_path):
    import shutil

    from egov_qa.app.page_image import draw_marks, find_marks, render_page

    path, _ = scanned
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(path, corpus / "scanned.pdf")
    assistant = Assistant(corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
    answer = assistant.ask("When did the tax office open online filing?")
    assert answer.answer == FACTS[0]
    from egov_qa.app.render import answer_markdown, answer_text

    assert answer.citations[0].origin == "ocr"
    assert "(read by OCR from the page image)" in answer_text(answer)
    assert "read by OCR from the page image" in answer_markdown(answer)
    marks = find_marks(str(corpus), "scanned.pdf", 1, answer.answer)
    assert marks is not None and len(marks.quote) == 1
    left, bottom, _, top = marks.quote[0]
    assert 50 < left < 70 and 420 < bottom < top < 470  # where the sentence is printed
    plain = render_page(str(corpus), "scanned.pdf", 1)
    assert draw_marks(plain, marks).tobytes() != plain.convert("RGB").tobytes()


def test_a_text_layer_that_is_thin_or_garbled_needs_ocr():
    def lines(text):
        return [Line(text, 0, 100, 20, 10)]

    assert needs_ocr([])
    assert needs_ocr(lines("12"))
    assert needs_ocr(lines("\ufffd\ufffd\u0001\u0002 ¤¤¤¤ ¤¤¤¤ ¤¤¤¤ ¤¤¤¤ ab ¤¤¤¤ ¤¤¤¤ ¤¤¤¤ ¤¤¤¤ ¤¤¤¤ ¤¤¤¤ ¤¤¤¤ cd"))
    assert not needs_ocr(lines("A page that has a real text layer, with words."))


def test_lines_found_on_an_image_are_read_column_by_column():
    def at(text, left, top):
        return Line(text, left, left + 200, top, top - 20, left)

    found = [at("Title of the page", 50, 500), at("Left one", 50, 400), at("Right one", 400, 400)]
    found += [at("left two", 50, 375), at("right two", 400, 375)]
    order = [line.text for line in reading_order(found)]
    assert order == ["Title of the page", "Left one", "left two", "Right one", "right two"]


def test_a_title_across_the_columns_and_close_above_them_is_read_first():
    def at(text, left, top, width=200):
        return Line(text, left, left + width, top, top - 20, left)

    # No clear gap under the title (boxes found on an image overlap), and it runs over the gutter.
    found = [at("A wide title over both columns", 50, 500, 500), at("Left one", 50, 482), at("Right one", 400, 482)]
    found += [at("left two", 50, 460), at("right two", 400, 460)]
    order = [line.text for line in reading_order(found)]
    assert order == ["A wide title over both columns", "Left one", "left two", "Right one", "right two"]
    # A line across the gutter lower down is no title: the page is read top to bottom.
    found.append(at("A wide line under the columns", 50, 440, 500))
    order = [line.text for line in reading_order(found)]
    assert order[:3] == ["A wide title over both columns", "Left one", "Right one"]


def test_a_table_set_close_under_two_columns_is_read_after_them_and_the_columns_stay_whole():
    def at(text, left, top, width=200, row=False):
        return Line(text, left, left + width, top, top - 20, left, row)

    # Code on the left, bullets on the right, a table across both right under them: no gap
    # wide enough for a band, and the table runs over the gutter.
    found = [at("code one", 50, 500), at("• Bullet one", 400, 495), at("code two", 50, 478)]
    found += [at("• Bullet two", 400, 473), at("code three", 50, 456), at("• Bullet three", 400, 451)]
    found += [at("Id Title Status", 50, 433, 560, True), at("ac-1 Access control changed", 50, 412, 560, True)]
    order = [line.text for line in reading_order(found)]
    assert order == [
        "code one",
        "code two",
        "code three",
        "• Bullet one",
        "• Bullet two",
        "• Bullet three",
        "Id Title Status",
        "ac-1 Access control changed",
    ]
    # A line beside the table's rows: no band of its own, read top to bottom as before.
    beside = [*found, at("a note beside", 450, 425)]
    assert [line.text for line in reading_order(beside)][:2] == ["code one", "• Bullet one"]


def test_the_deck_bound_on_images_is_named(tmp_path):
    path = scanned_deck(tmp_path, pages=2)
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    image = document[0].render(scale=1).to_pil()
    document.close()
    ocr = DeckOcr("scanned.pdf", 2, max_images=1)
    assert ocr.read(image, "page 1")
    assert ocr.read(image, "page 2") is None
    assert ocr.warnings == [
        "scanned.pdf: page 2 and the pictures after it are not read by OCR: the deck is past the limit of 1 "
        "images or 600 million pixels read a deck; split the deck into smaller files"
    ]
    with pytest.raises(ValueError, match="max_pixels"):
        DeckOcr("x", 1, max_pixels=0)


def test_without_the_engine_a_picture_page_says_how_to_get_it(scanned, monkeypatch):
    path, _ = scanned

    def missing(image):
        raise ImportError("no module named rapidocr_onnxruntime")

    monkeypatch.setattr("egov_qa.ingest.ocr.read_image", missing)
    slides, warnings = DeckLoader().load_file(path, "scanned.pdf")
    assert slides == []
    assert "the OCR engine (rapidocr-onnxruntime) is not installed; run the project's set-up again" in warnings[-1]


def test_the_engine_and_its_version_are_named():
    assert engine_version().startswith(f"{ocr_module.ENGINE} ")


def test_a_saved_index_keeps_what_ocr_read_marked(scanned, tmp_path):
    import shutil

    path, _ = scanned
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(path, corpus / "scanned.pdf")
    Assistant(corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
    reopened = Assistant(corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0)
    units = reopened.index.units
    assert units and {u.origin for u in units} == {"ocr"}
    assert {b.origin for s in reopened.index.slides for b in s.blocks} == {"ocr"}


def test_words_in_a_picture_on_a_slide_are_read_and_marked(tmp_path):
    import pypdfium2 as pdfium
    from pptx import Presentation
    from pptx.util import Inches

    typed = write_pdf(tmp_path / "typed.pdf", [[Placed(fact, 40, 700 - 40 * i, 18) for i, fact in enumerate(FACTS)]])
    document = pdfium.PdfDocument(str(typed))
    picture = document[0].render(scale=2, crop=(0, 560, 0, 40)).to_pil()
    document.close()
    picture.save(tmp_path / "facts.png")
    picture.resize((40, 40)).save(tmp_path / "icon.png")

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    slide.shapes.title.text = "Filing online"
    slide.shapes.add_picture(str(tmp_path / "facts.png"), Inches(0.5), Inches(2), width=Inches(9))
    slide.shapes.add_picture(str(tmp_path / "icon.png"), Inches(9), Inches(0.2), width=Inches(0.5))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    deck.save(corpus / "pictures.pptx")

    (read,), warnings = DeckLoader().load_file(corpus / "pictures.pptx", "pictures.pptx")
    assert warnings == []
    units = UnitSplitter().split(read)
    assert [(u.text, u.origin) for u in units] == [("Filing online", "")] + [(fact, "picture") for fact in FACTS]
    answer = Assistant(corpus, tmp_path / "index", embedder=FakeEmbedder(), threshold=0.0).ask(
        "Where does every district keep a help desk?"
    )
    assert answer.answer == FACTS[2]
    assert answer.citations[0].origin == "picture"


@pytest.mark.parametrize(
    "read, meant",
    [
        ("Speakfrom your own experience", "Speak from your own experience"),
        # A capital after a lower-case run starts a run of its own.
        ("Agencies nowsubmitQuarterlyreportsonline", "Agencies now submit Quarterly reports online"),
        ("call leftElement or myValue here", "call leftElement or myValue here"),
        ("CurrentlythereisanMVPValidationsitethatOSCALfilescanbevalidated.", None),
        ("converting artifactsbetweenformats at https://github.com/usnistgov/oscal-cli", None),
        ("Development Prioritization", "Development Prioritization"),
        ("FedRAMP and OSCAL-CLI tool, SP800-53Rev5", "FedRAMP and OSCAL-CLI tool, SP800-53Rev5"),
        # A run of 20 letters or more may hold a word that is not common.
        ("the agencyrequirestheleveragingsystemtodescribe it", None),
        ('For example,the"inherited"field links it.The record', None),
        ('Kept: 1,000 and 3.5, e.g.There, "open, a,b', 'Kept: 1,000 and 3.5, e.g.There, "open, a,b'),
    ],
)
def test_words_that_ocr_ran_together_are_parted(read, meant):
    from egov_qa.ingest.ocr import respace

    expected = {
        "CurrentlythereisanMVPValidationsitethatOSCALfilescanbevalidated.": (
            "Currently there is an MVP Validation site that OSCAL files can be validated."
        ),
        "converting artifactsbetweenformats at https://github.com/usnistgov/oscal-cli": (
            "converting artifacts between formats at https://github.com/usnistgov/oscal-cli"
        ),
        "the agencyrequirestheleveragingsystemtodescribe it": (
            "the agency requires the leveraging system to describe it"
        ),
        'For example,the"inherited"field links it.The record': (
            'For example, the "inherited" field links it. The record'
        ),
    }
    assert respace(read) == (meant or expected[read])


def test_whole_words_with_a_capital_are_left_whole():
    from egov_qa.ingest.ocr import respace

    text = "Understanding and Awareness: Welcome to the Overview"
    assert respace(text) == text


def test_lines_read_by_ocr_stay_one_paragraph_though_letters_below_the_line_make_boxes_taller():
    from egov_qa.ingest.pdf import paragraphs

    # Boxes as OCR found them on a slide: "defined" and "assembly" reach below the line.
    found = [
        Line("Components are", 745.8, 895.6, 456.9, 439.1, 745.8),
        Line("defined in the", 744.4, 937.9, 438.7, 416.1, 744.4),
        Line("implementation", 744.9, 875.0, 416.6, 398.8, 744.9),
        Line("assembly.", 744.4, 834.7, 398.3, 375.8, 744.4),
    ]
    read = [p.text for p in paragraphs(found, frozenset(), 1, read_by_ocr=True) if p.kind != "furniture"]
    assert read == ["Components are defined in the implementation assembly."]
    # A text layer gives each size of type its true height: there, such a step is another paragraph.
    assert len([p for p in paragraphs(found, frozenset(), 1) if p.kind != "furniture"]) > 1


def test_a_wrapped_line_under_a_box_without_descenders_stays_with_its_paragraph():
    from egov_qa.ingest.pdf import paragraphs

    # Boxes as OCR found them: the middle line has no letter reaching below it, so its box is
    # shorter, and the step to the next line is more than 1.6 of its own height.
    found = [
        Line("• Establish an automated publication process", 66.2, 351.4, 145.9, 129.4, 66.2),
        Line("for FedRAMP's OSCAL documentation", 65.9, 316.1, 120.4, 105.6, 65.9),
        Line("using a continuous integration and", 67.0, 293.0, 95.9, 78.6, 67.0),
    ]
    read = [p.text for p in paragraphs(found, frozenset(), 1, read_by_ocr=True)]
    assert read == [" ".join(line.text for line in found)]


def test_a_title_wrapped_after_a_word_that_leaves_its_phrase_open_is_one_title():
    from egov_qa.ingest.pdf import paragraphs

    # Boxes as OCR found them (PDF points): a title wrapped early, its second line much longer.
    found = [
        Line("Review of", 210.8, 472.6, 288.8, 236.5, 210.8),
        Line("Current/Completed Work", 205.1, 888.9, 228.8, 162.1, 205.1),
        Line("On Github: https://github.com/usnistgov/OSCAL", 209.4, 636.3, 160.1, 137.1, 209.4),
    ]
    read = [(p.kind, p.text) for p in paragraphs(found, frozenset(), 1, read_by_ocr=True)]
    assert read[0] == ("heading", "Review of Current/Completed Work")
    # A short line that ends its phrase, then a capital: a new item, as before.
    items = [Line("Planned", 210.8, 400.0, 288.8, 236.5, 210.8), *found[1:]]
    read = [p.text for p in paragraphs(items, frozenset(), 1, read_by_ocr=True)]
    assert {"Planned", "Current/Completed Work"} <= set(read)


def test_a_wrapped_line_read_after_a_line_of_the_next_column_stays_with_its_paragraph():
    from egov_qa.ingest.pdf import paragraphs

    # Two columns whose lines OCR gave interleaved (the XY cut found no clear gutter above them).
    found = [
        Line("• Data Center: systems relying on a", 94, 519, 123, 100, 117),
        Line("• Even if they hold an authorization", 672, 927, 115, 98, 691),
        Line("shared storage array they all use", 116, 549, 101, 78, 116),
    ]
    read = [(p.kind, p.text) for p in paragraphs(found, frozenset(), 1, read_by_ocr=True)]
    assert read == [
        ("bullet", "• Data Center: systems relying on a shared storage array they all use"),
        ("bullet", "• Even if they hold an authorization"),
    ]
    # A line under both columns' paragraphs is no wrapped line of the one beside it.
    across = [*found[:2], Line("shared storage array they all use", 116, 700, 101, 78, 116)]
    assert len([p for p in paragraphs(across, frozenset(), 1, read_by_ocr=True)]) == 3


def test_a_lists_numbers_read_apart_from_their_items_are_put_back_before_them():
    from egov_qa.ingest.ocr import OcrLine, _with_labels

    # Boxes as OCR found them on a numbered slide: each number a box of its own, one without its full stop.
    found = [
        OcrLine("Establish unit testing framework", 214, 279, 1541, 329, 0.95),
        OcrLine("1.", 143, 295, 165, 317, 0.79),
        OcrLine("Identify and fix inconsistencies", 214, 338, 1782, 386, 0.94),
        OcrLine("2", 142, 349, 164, 374, 1.0),
        OcrLine("differ.", 211, 393, 329, 447, 0.88),
    ]
    read = _with_labels(found)
    assert [line.text for line in read] == [
        "1. Establish unit testing framework",
        "• 2 Identify and fix inconsistencies",
        "differ.",
    ]
    assert (read[0].left, read[0].text_left, read[0].right) == (143, 214, 1541)
    # A number alone beside a line is no list: a figure's label, a page number.
    alone = [found[0], found[1], found[4]]
    assert [line.text for line in _with_labels(alone)] == [line.text for line in alone]


def test_a_bullet_glyph_read_against_its_item_or_as_a_character_starts_the_item(monkeypatch):
    from PIL import Image

    from egov_qa.ingest.ocr import read_image

    box = [[10, 10], [300, 10], [300, 40], [10, 40]]
    below = [[10, 50], [300, 50], [300, 80], [10, 80]]
    under = [[10, 85], [300, 85], [300, 115], [10, 115]]

    def engine(pixels, **_):
        return [(box, "·Valid change types", 0.9), (below, "口 APl submission", 0.9), (under, "口 中文", 0.9)], None

    monkeypatch.setattr(ocr_module, "_reader", lambda: engine)
    monkeypatch.setattr(ocr_module, "_disk_cache", lambda: None)  # no reading kept by another test
    read = read_image(Image.new("RGB", (320, 120), "white"))
    # A square bullet read as a Chinese character of its shape, before Latin words, is a bullet;
    # before Chinese words it is a character.
    assert [line.text for line in read] == ["· Valid change types", "• API submission", "口 中文"]


def test_icons_read_as_marks_or_characters_are_no_lines(monkeypatch):
    from PIL import Image

    from egov_qa.ingest.ocr import is_icon, read_image

    def at(top, text):
        return ([[10, top], [300, top], [300, top + 30], [10, top + 30]], text, 0.9)

    def engine(pixels, **_):
        return [at(10, "?"), at(50, "Guiding Principles"), at(90, "三"), at(130, "Keep it technical")], None

    monkeypatch.setattr(ocr_module, "_reader", lambda: engine)
    monkeypatch.setattr(ocr_module, "_disk_cache", lambda: None)
    read = read_image(Image.new("RGB", (320, 170), "white"))
    assert [line.text for line in read] == ["Guiding Principles", "Keep it technical"]
    # A bullet, a list's number or letter, and words in any script are kept.
    assert not any(is_icon(text) for text in ("•", "3", "b", "中文", "?!x", "5%"))
    assert all(is_icon(text) for text in ("?", "→", "口", "…", "–?"))


def ctc_steps(*steps):
    """Recognizer output for one line: at each step, the probabilities of (blank, "a", "b", space)."""
    import numpy as np

    return np.array([steps], dtype=np.float32)


def test_the_recognizer_weighs_the_space_it_would_drop():
    from rapidocr_onnxruntime.ch_ppocr_rec.utils import CTCLabelDecode

    decode = CTCLabelDecode(character=["a", "b"])
    # Between "a" and "b" the space is the second likeliest character, under the blank.
    steps = ctc_steps((0.1, 0.9, 0.0, 0.0), (0.8, 0.0, 0.0, 0.2), (0.1, 0.0, 0.9, 0.0))
    assert decode(steps)[0][0] == "ab"
    weighted = ocr_module.SpaceWeighted(decode, decode.character.index(" "), 10.0)
    text, confidence = weighted(steps)[0]
    assert text == "a b" and 0 < confidence <= 1
    # A space the model gives next to nothing stays out.
    assert weighted(ctc_steps((0.1, 0.9, 0.0, 0.0), (0.98, 0.0, 0.0, 0.02), (0.1, 0.0, 0.9, 0.0)))[0][0] == "ab"


def test_the_engine_reads_with_spaces_weighed_or_says_it_cannot(monkeypatch, caplog):
    engine = ocr_module._reader()
    assert isinstance(engine.text_rec.postprocess_op, ocr_module.SpaceWeighted)
    assert engine.text_rec.postprocess_op.weight == ocr_module.SPACE_WEIGHT
    assert f"space_weight={ocr_module.SPACE_WEIGHT}" in ocr_module.ENGINE_SETTINGS  # readings kept apart

    class Other:
        """An engine of another make, without a decoder to weigh."""

    with caplog.at_level("WARNING"):
        ocr_module._weigh_spaces(Other(), 10.0)
    assert "spaces are read with its own weights" in caplog.text


class Forgetful(dict):
    """A memory that keeps nothing."""

    def __setitem__(self, key, value):
        pass


class TestReadingsKeptOnDisk:
    BOX = ((10, 10), (300, 10), (300, 40), (10, 40))

    @pytest.fixture
    def engine(self, monkeypatch):
        calls = []

        def engine(pixels, **settings):
            calls.append(settings)
            return [(self.BOX, "Budgets are published yearly", 0.9)], None

        monkeypatch.setattr(ocr_module, "_reader", lambda: engine)
        # Each read below starts as a new process would: nothing kept in memory.
        monkeypatch.setattr(ocr_module, "_read", Forgetful())
        return calls

    def test_an_image_read_once_is_not_sent_to_the_engine_again(self, engine, monkeypatch, tmp_path):
        from PIL import Image

        from egov_qa.ingest.ocr import read_image
        from egov_qa.paths import CACHE_ENV

        monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
        image = Image.new("RGB", (320, 50), "white")
        first = read_image(image)
        assert read_image(image) == first and len(engine) == 1
        assert [line.text for line in first] == ["Budgets are published yearly"]
        # Another image, or another version of the engine, is read by the engine.
        read_image(Image.new("RGB", (320, 51), "white"))
        monkeypatch.setattr(ocr_module, "engine_version", lambda: "rapidocr-onnxruntime 9.9")
        assert read_image(image) == first and len(engine) == 3

    def test_a_cache_that_cannot_be_opened_only_costs_the_reading(self, engine, monkeypatch, tmp_path, caplog):
        from PIL import Image

        from egov_qa.ingest.ocr import read_image
        from egov_qa.paths import CACHE_ENV

        blocker = tmp_path / "a file"
        blocker.write_text("not a folder")
        monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
        image = Image.new("RGB", (320, 50), "white")
        with caplog.at_level("WARNING"):
            assert [line.text for line in read_image(image)] == ["Budgets are published yearly"]
            read_image(image)
        assert len(engine) == 2 and "will not be kept between runs" in caplog.text

"""Reading the words in pictures: pages without a text layer, and pictures on slides.

The engine is RapidOCR on ONNX Runtime (``rapidocr-onnxruntime``): its wheel
carries its detection and recognition models, so it runs offline on the ONNX
Runtime the project already has. It is imported only when a page or picture
needs it. Each printed line comes back with its box; the readers rebuild lines
into sentences and bullets the way they do for a text layer.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
import unicodedata
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any

import cachetools
import diskcache

from egov_qa.ingest import ocr_bullets, ocr_words
from egov_qa.ingest.slides import BULLET_ONLY
from egov_qa.paths import cache_dir

log = logging.getLogger(__name__)

ENGINE = "rapidocr-onnxruntime"
# A line read with less confidence than this is left out (mostly specks and edges of drawings).
MIN_CONFIDENCE = 0.5
# A page is rendered this many pixels on its longer side (the engine's own cap). The
# recognizer drops the narrow spaces of proportional type set small in pixels
# ("Tocreatespace" on a slide read at 1,000 pixels); at 2,000 it keeps them.
PAGE_SIDE_PIXELS = 2000
# How far each found line's box is grown before its words are read: the engine's
# default (1.6) cuts boxes so tight that spaces between words are lost; 2.0 keeps them.
UNCLIP_RATIO = 2.0
# The recognizer (trained on Chinese text as well, where words have no spaces between them)
# gives the space between two words of small type less weight than the letters beside it,
# and drops it ("Thankyou to theVolpe team", "Rev5profiles"). At each step of its output the
# space's probability is multiplied by this before the likeliest character is taken. Read
# from the pictures of the eval decks' PDF pages, their words against the pages' text
# layers (bag-of-words F1, every third page, after ``respace``) went from 0.914 at 1 to
# 0.953 at 5, 0.956 at 8, 0.958 at 12 and 20, 0.955 at 30; on paragraphs of public QA data
# set in three fonts, drawn small and scaled up, 0.988 at 1, 0.990 at 5 to 12, 0.986 at 30.
SPACE_WEIGHT = 10.0
# ...but never more than this many pixels a point (a page the size of a stamp).
MAX_SCALE = 4.0
# A picture smaller than this on either side holds no words worth reading (icons, logos, bullets).
MIN_PICTURE_PIXELS = 120
# Bounds on one deck's OCR: pages (or pictures) read, and pixels read in all.
MAX_DECK_IMAGES = 300
MAX_DECK_PIXELS = 600_000_000

# A comma, semicolon or colon, or a full stop before a new sentence, set against the next
# word ("example,FedRAMP", "case.The"): after two lower-case letters, before a letter.
_PUNCT_GLUED = re.compile(r"(?<=[a-z]{2})([,;:]|\.(?=[A-Z][a-z]))(?=[A-Za-z])")
# What a bullet drawn beside a line is written as.
BULLET = "•"
# A bullet glyph read at a line's start, set against the item's first word ("·Valid").
_BULLET_GLUED = re.compile(r"^([•·●▪■◦○►▶➢❖✓✔])(?=[A-Za-z0-9])")
# A square bullet that the recognizer (trained on Chinese as well) reads as a Chinese
# character of that shape, before a line of Latin letters: written as a bullet.
_BULLET_AS_CJK = re.compile(r"^[口囗日□]\s*(?=[A-Za-z0-9][\x20-\x7e]*$)")
# A list's number or letter ("1.", "b)", a number whose full stop was not read), which the
# detector often finds apart from its item's words when a gap sets them off.
_LABEL = re.compile(r"^\(?(?:\d{1,2}|[A-Za-z])[.)]$|^\d{1,2}$")
# A label belongs to the words that start within this many of their line heights to its
# right, when its centre lies within CENTRE_SHARE of their height of theirs.
LABEL_REACH_HEIGHTS = 2.0
LABEL_CENTRE_SHARE = 0.35
# The labels of one list line up: their left edges within this many of a label's heights.
COLUMN_HEIGHTS = 1.0
# Images whose lines are kept, by their pixels: a deck read again in one process (an index
# rebuilt, built for another store, the chat boxing a quote) is not read by OCR again.
READ_CACHE_IMAGES = 1024
_engine = None
_engine_lock = threading.Lock()
_read: cachetools.LRUCache = cachetools.LRUCache(maxsize=READ_CACHE_IMAGES)
_read_lock = threading.Lock()
# What the engine found in an image is also kept on disk, by the image's pixels, the engine's
# version and its settings, up to this size (the least recently stored go first): an index
# rebuilt after the reading code changed, or a deck read again with some pages changed,
# sends only new images to the engine. A page's readings take a few kilobytes.
DISK_CACHE_BYTES = 256 * 1024 * 1024
ENGINE_SETTINGS_ARGS = {"unclip_ratio": UNCLIP_RATIO, "box_thresh": 0.5, "text_score": 0.5}
ENGINE_SETTINGS = ",".join(
    f"{name}={value}" for name, value in sorted({**ENGINE_SETTINGS_ARGS, "space_weight": SPACE_WEIGHT}.items())
)
_disks: dict = {}
_disk_lock = threading.Lock()
# What a cache on disk may raise: the file system, SQLite, a lock held too long, a damaged entry.
CACHE_ERRORS = (OSError, sqlite3.Error, diskcache.Timeout, ValueError)


@dataclass(frozen=True)
class OcrLine:
    """One line read from an image: its text, its box in pixels (y grows downwards) and the engine's confidence."""

    text: str
    left: float
    top: float
    right: float
    bottom: float
    confidence: float
    text_left: float | None = None  # where the words start, past a bullet drawn before them


def engine_version() -> str:
    """The engine and its version (``rapidocr-onnxruntime 1.4.4``), as the index records it; '' when missing."""
    try:
        return f"{ENGINE} {metadata.version(ENGINE)}"
    except metadata.PackageNotFoundError:
        return ""


def _reader():
    global _engine
    with _engine_lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            # The words of a page stand upright: the angle classifier only costs time.
            _engine = RapidOCR(use_cls=False)
            _weigh_spaces(_engine, SPACE_WEIGHT)
        return _engine


def _weigh_spaces(engine, weight: float) -> None:
    """Has ``engine``'s recognizer weigh the space ``weight`` times what its model gives it
    (:data:`SPACE_WEIGHT`); each step's probabilities are scaled back to sum to one, so the
    confidences stay probabilities. An engine built otherwise is left as it is."""
    decode = getattr(getattr(engine, "text_rec", None), "postprocess_op", None)
    characters = getattr(decode, "character", None)
    if decode is None or not characters or " " not in characters:
        log.warning("OCR: %s is built otherwise than expected; spaces are read with its own weights", engine_version())
        return
    engine.text_rec.postprocess_op = SpaceWeighted(decode, characters.index(" "), weight)


class SpaceWeighted:
    """A recognizer's decoder that weighs one character (the space) ``weight`` times its probability."""

    def __init__(self, decode, space: int, weight: float):
        self.decode, self.space, self.weight = decode, space, weight

    def __call__(self, probabilities, *args, **kwargs):
        weighted = probabilities.astype("float64", copy=True)
        weighted[..., self.space] *= self.weight
        weighted /= weighted.sum(axis=-1, keepdims=True)
        return self.decode(weighted.astype(probabilities.dtype), *args, **kwargs)


def respace(text: str) -> str:
    """Spaces put back between words that OCR ran together ("Speakfrom your" -> "Speak from your").

    The engine's recognizer drops narrow spaces when type is small in pixels.
    Only a lower-case run of letters (after at most one capital) that a word-frequency
    model of English (wordninja) reads as several words is parted: acronyms,
    names in mixed case (FedRAMP, OSCAL) and numbers stay as read. A space also
    goes back after a comma or a full stop set against the next word, and outside
    a pair of double quotes.
    """
    split = ocr_words.split_words

    def words_of(run: str) -> list[str] | None:
        words = split(run)
        if words is not None or ocr_words.known_word(run):
            return words
        # A word once a letter the recognizer confused is put right ("proiect"); a long run,
        # words ("theproiectworkboard": a short one could part into anything).
        word = ocr_words.corrected(run.lower()) if run[1:].islower() else None
        if word is not None:
            return [run[0] + word[1:] if run[0].isupper() else word]
        if len(run) < ocr_words.LONG_RUN:
            return None
        return next(filter(None, map(split, ocr_words.variants(run))), None)

    def part(match: re.Match) -> str:
        run = match.group(0)
        lead = ""
        words = words_of(run)
        acronym = match.start() > 0 and text[match.start() - 1].isupper()
        if words is None and run[0].isupper() and acronym:
            lead, words = run[0], words_of(run[1:])  # the capital ends an acronym ("OSCALfiles")
        if words is None:
            return run
        before = " " if match.start() and text[match.start() - 1].isupper() and not lead else ""
        after = " " if match.end() < len(text) and text[match.end()].isupper() else ""
        return before + (f"{lead} " if lead else "") + " ".join(words) + after

    return ocr_words.GLUED.sub(part, _space_quotes(_PUNCT_GLUED.sub(r"\1 ", text)))


def _space_quotes(text: str) -> str:
    """Spaces put back outside paired straight double quotes (``The"inherited"field``)."""
    pieces = text.split('"')
    if len(pieces) < 3 or len(pieces) % 2 == 0:
        return text  # no pair, or a quote left open: which side is which is unknown
    out = pieces[0]
    for i in range(1, len(pieces), 2):
        quoted, after = pieces[i], pieces[i + 1]
        space_before = " " if out[-1:].isalnum() else ""
        space_after = " " if after[:1].isalnum() else ""
        out += f'{space_before}"{quoted}"{space_after}{after}'
    return out


def _recognized(pixels, digest: str) -> list:
    """What the engine finds in ``pixels`` (their SHA-256 ``digest``): ``[box, text, confidence]``
    each, the box's four corners in pixels. Kept on disk (see :data:`DISK_CACHE_BYTES`)."""
    key = f"{engine_version()}|{ENGINE_SETTINGS}|{'x'.join(map(str, pixels.shape))}|{digest}"
    cache = _disk_cache()
    if cache is not None:
        try:
            known = cache.get(key)
        except CACHE_ERRORS as exc:  # a cache that cannot be read only costs the reading
            log.debug("OCR cache not read: %s", exc)
            known = None
        if known is not None:
            return known
    found, _ = _reader()(pixels, use_cls=False, **ENGINE_SETTINGS_ARGS)
    readings = [
        [[[float(x), float(y)] for x, y in box], str(text), float(confidence)] for box, text, confidence in found or []
    ]
    if cache is not None:
        try:
            cache.set(key, readings)
        except CACHE_ERRORS as exc:  # nor one that cannot be written
            log.debug("OCR cache not written: %s", exc)
    return readings


def _disk_cache():
    """The cache of OCR readings in ``cache_dir()/ocr`` (diskcache, stored as JSON, safe across
    processes), or None when it cannot be opened (then every image is read again)."""
    folder = cache_dir() / "ocr"
    with _disk_lock:
        if folder not in _disks:
            try:
                _disks[folder] = diskcache.Cache(str(folder), size_limit=DISK_CACHE_BYTES, disk=diskcache.JSONDisk)
            except CACHE_ERRORS as exc:  # the file system or SQLite: read without it
                log.warning("OCR readings will not be kept between runs: cannot open %s (%s)", folder, exc)
                _disks[folder] = None
        return _disks[folder]


def is_icon(text: str) -> bool:
    """Whether a line read by OCR is an icon, not words: no letter or digit in it, bullets aside
    ("?" read from a question-mark icon), or one character that is no ASCII letter or digit
    (a list icon read as 三, a box as 口)."""
    if BULLET_ONLY.match(text):
        return False
    return not any(c.isalnum() for c in text) or (len(text) == 1 and not (text.isascii() and text.isalnum()))


def read_image(image) -> list[OcrLine]:
    """The lines printed in ``image`` (a PIL image), top to bottom.

    Raises:
        ImportError: the OCR engine is not installed.
    """
    import numpy as np

    pixels = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    key = (pixels.shape, hashlib.sha256(pixels.tobytes()).digest())
    with _read_lock:
        known = _read.get(key)
    if known is not None:
        return list(known)
    lines = []
    for box, text, confidence in _recognized(pixels, key[1].hex()):
        # The recognizer writes some punctuation full width ("，"): read it as typed.
        text = " ".join(unicodedata.normalize("NFKC", str(text)).split())
        text = _BULLET_GLUED.sub(r"\1 ", _BULLET_AS_CJK.sub(f"{BULLET} ", text))
        text = ocr_words.fix_letters(respace(ocr_words.fix_numbers(text)))
        if not text or float(confidence) < MIN_CONFIDENCE or is_icon(text):
            continue
        xs = [float(x) for x, _ in box]
        ys = [float(y) for _, y in box]
        lines.append(OcrLine(text, min(xs), min(ys), max(xs), max(ys), float(confidence)))
    lines = _with_bullets(pixels, _with_labels(lines))
    lines.sort(key=lambda line: (line.top, line.left))
    with _read_lock:
        _read[key] = tuple(lines)
    return lines


def _item_of(at: int, lines: list[OcrLine]) -> int | None:
    """Where in ``lines`` the line is whose words follow the label at ``at`` on its row, nearest
    first; None if none does."""
    label = lines[at]
    beside = [
        i
        for i, line in enumerate(lines)
        if i != at
        and 0 <= line.left - label.right <= LABEL_REACH_HEIGHTS * (line.bottom - line.top)
        and abs((label.top + label.bottom) / 2 - (line.top + line.bottom) / 2)
        <= LABEL_CENTRE_SHARE * (line.bottom - line.top)
    ]
    return min(beside, key=lambda i: lines[i].left, default=None)


def _with_labels(lines: list[OcrLine]) -> list[OcrLine]:
    """A list's numbers or letters read apart from their items put back before them ("1." + "Establish ...").

    A label counts only where another stands in the same column (a list has two
    items at least); a number whose full stop was not read is written after a
    bullet, so that its line still starts an item.
    """
    items: dict[int, int] = {}  # a label's place in ``lines``: its item's
    for at, line in enumerate(lines):
        if _LABEL.match(line.text) and (item := _item_of(at, lines)) is not None and not _LABEL.match(lines[item].text):
            items[at] = item

    def in_a_list(at: int) -> bool:
        reach = COLUMN_HEIGHTS * (lines[at].bottom - lines[at].top)
        return any(other != at and abs(lines[other].left - lines[at].left) < reach for other in items)

    labels: dict[int, int] = {}  # an item's place: its label's (the first label that found it)
    for at in filter(in_a_list, items):
        labels.setdefault(items[at], at)
    used = set(labels.values())
    out = []
    for i, line in enumerate(lines):
        if i in used:
            continue
        if i not in labels:
            out.append(line)
            continue
        number = lines[labels[i]]
        lead = number.text if number.text[-1] in ".)" else f"{BULLET} {number.text}"
        out.append(
            OcrLine(
                f"{lead} {line.text}",
                number.left,
                min(number.top, line.top),
                line.right,
                max(number.bottom, line.bottom),
                min(number.confidence, line.confidence),
                text_left=line.left,
            )
        )
    return out


def _with_bullets(pixels, lines: list[OcrLine]) -> list[OcrLine]:
    """Lines with a bullet drawn before them (:mod:`ocr_bullets`) start with one, as a text layer's do."""
    import numpy as np

    gray = np.asarray(pixels.mean(axis=2), dtype=np.uint8)
    marks = ocr_bullets.bullets(gray, [(line.left, line.top, line.right, line.bottom) for line in lines])
    return [
        replace(line, text=f"{BULLET} {line.text}", text_left=line.left)
        if mark is not None and line.text[:1].isalnum() and len(line.text) > 1
        else line
        for line, mark in zip(lines, marks, strict=True)
    ]


class DeckOcr:
    """One deck's OCR within its bounds: how many images and pixels are left, and a progress bar.

    Args:
        source: the deck, as named in warnings.
        total: how many pages or slides may need reading (for the progress bar).
        max_images: images read at most; the rest are skipped with one warning.
        max_pixels: pixels read at most, in all.
        show_progress: a bar on stderr (None: on a terminal only).
        unit: what the bar counts (``page``, ``slide``).
    """

    def __init__(
        self,
        source: str,
        total: int,
        max_images: int = MAX_DECK_IMAGES,
        max_pixels: int = MAX_DECK_PIXELS,
        show_progress: bool | None = None,
        unit: str = "page",
    ) -> None:
        for name, value in (("max_images", max_images), ("max_pixels", max_pixels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
        self.source = source
        self.images = 0
        self.pixels = 0
        self.max_images = max_images
        self.max_pixels = max_pixels
        self.warnings: list[str] = []
        self.missing = False
        self._total = total
        self._show = show_progress
        self._unit = unit
        self._bar: Any = None

    def read(self, image, what: str) -> list[OcrLine] | None:
        """The lines of ``image`` (``what`` names it: ``page 3``), or None past a bound or without the engine."""
        size = image.width * image.height
        if self.images >= self.max_images or self.pixels + size > self.max_pixels:
            if not any("OCR" in w and "limit" in w for w in self.warnings):
                self.warnings.append(
                    f"{self.source}: {what} and the pictures after it are not read by OCR: the deck is past the "
                    f"limit of {self.max_images} images or {self.max_pixels / 1e6:.0f} million pixels read a deck; "
                    "split the deck into smaller files"
                )
            return None
        try:
            lines = read_image(image)
        except ImportError:
            if not self.missing:
                self.missing = True
                self.warnings.append(
                    f"{self.source}: {what} has its words only in pictures, and the OCR engine ({ENGINE}) is "
                    "not installed; run the project's set-up again (make setup)"
                )
            return None
        self.images += 1
        self.pixels += size
        self._progress()
        return lines

    def _progress(self) -> None:
        if self._bar is None:
            from tqdm import tqdm

            disable = None if self._show is None else not self._show
            self._bar = tqdm(
                total=self._total, desc=f"OCR {self.source}", unit=self._unit, disable=disable, leave=False
            )
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

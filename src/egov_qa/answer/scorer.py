"""The answer scorer: reads a question and one candidate line (with its slide's title and the line
before it) together.

A cross-encoder fine-tuned from all-MiniLM-L6-v2 on public QA data
(:mod:`egov_qa.training.scorer`), run with onnxruntime: its answer logit says whether the
line answers the question, and its start and end logits place the key span inside the line.
It reads a handful of candidates per question, one run each.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from egov_qa.cores import ask_threads
from egov_qa.errors import ModelLoadError

SCORER_FORMAT = 1
SCORER_MODEL = "scorer.onnx"
SCORER_TOKENIZER = "scorer_tokenizer.json"
SCORER_RECORD = "scorer.json"
# The float weights it was exported from, kept beside it to fine-tune further (never read when asking).
SCORER_WEIGHTS = "scorer.safetensors"
# The longest span read off the start and end logits, in tokens.
MAX_SPAN_TOKENS = 30
# A line too long for one read is read again for its key span in windows of the rest, each
# overlapping the one before by this many tokens, so that a span cut by a window's end is whole
# in the next (the answer logit stays the first window's); at most a quarter of the tokens, so that
# each window moves on by about a quarter of them even after the longest question.
SPAN_STRIDE_TOKENS = 16
# The fewest tokens a scorer may read: a question cut to half of them leaves the line more than the stride.
MIN_TOKENS = 16
# At most this many windows of one line are read (a unit is at most 300 characters, which the
# first read and two windows cover at 80 tokens; a longer line given through the API costs no more).
MAX_SPAN_WINDOWS = 4
# The span logit of a line with no span in it (no token of the line read): below any the model gives.
NO_SPAN_LOGIT = -20.0
# How much of the line before a candidate the scorer reads, in characters (whole words).
BEFORE_CHARS = 60


def install(source: Path, target: Path) -> None:
    """Copy the scorer in ``source`` (its model, tokenizer and record: not its float weights) into
    ``target``, each file replaced whole."""
    from egov_qa.files import write_atomic

    if Path(source).resolve() == Path(target).resolve():
        return
    Path(target).mkdir(parents=True, exist_ok=True)
    for name in (SCORER_MODEL, SCORER_TOKENIZER, SCORER_RECORD):
        write_atomic(Path(target) / name, (Path(source) / name).read_bytes())


def second_text(title: str, line: str, before: str = "") -> str:
    """What the scorer reads beside the question, in training as in serving: the heading, the line,
    and after a separator the part of the line before it that is read (:func:`line_before`; last,
    so that a long pair loses it before the line)."""
    text = f"{title}. {line}" if title else line
    before = line_before(before)
    return f"{text} [SEP] {before}" if before else text


def line_before(text: str) -> str:
    """The part of the line before a candidate the scorer reads: its first :data:`BEFORE_CHARS`
    characters, cut at a space."""
    text = " ".join(text.split())
    if len(text) <= BEFORE_CHARS:
        return text
    cut = text.rfind(" ", 0, BEFORE_CHARS + 1)
    return text[: cut if cut > 0 else BEFORE_CHARS]


class Reading(NamedTuple):
    """One candidate as the scorer reads it: its slide's title, the line, and the line before it on
    the slide ("" where there is none, or the one before is the title)."""

    title: str
    line: str
    before: str = ""


@dataclass(frozen=True)
class Scored:
    """The scorer's reading of one line: its answer logit, the key span's characters in the line, and
    the span's start and end logits summed (:data:`NO_SPAN_LOGIT` where the line has no span)."""

    logit: float
    span: tuple[int, int] | None
    span_logit: float = NO_SPAN_LOGIT

    def span_text(self, line: str) -> str:
        return line[self.span[0] : self.span[1]] if self.span else ""


# onnxruntime's setting that multiplies int8 weights exactly on x86 CPUs without VNNI (below).
EXACT_INT8 = "session.x64quantprecision"


def session_options():
    """How the scorer's model is run: one thread a run (runs go side by side), and its int8 products
    exact on every CPU. The weights are signed and the activations unsigned; on x86 CPUs without
    VNNI (AVX2 only), onnxruntime's kernel for that pair sums two products at a time in 16 bits,
    which saturate (255 times 127, twice, is past 32,767), so one model gave other logits, and the
    assistant other answers, than on a CPU with VNNI. With :data:`EXACT_INT8` on, such a CPU
    multiplies those weights as unsigned ones, exactly; a CPU with VNNI is exact either way."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry(EXACT_INT8, "1")
    return options


class AnswerScorer:
    """Scores (heading, line) candidates for a question with the ONNX scorer in ``folder``, on
    ``threads`` cores (None: as the question embedder, every core up to 8).

    Each candidate is read in a run of its own, unpadded, one core a run and as many runs at
    once as there are cores: the int8 model quantizes its activations with one scale a run, so
    a batch would let the other candidates move a line's score, and ten candidates read this way
    took 22 ms on two cores where one batch on both took 46 (docs/speed.md).

    Raises:
        ModelLoadError: the folder lacks the model, its tokenizer or its record.
    """

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        import onnxruntime

        folder = Path(folder)
        try:
            self.record = json.loads((folder / SCORER_RECORD).read_text(encoding="utf-8"))
            if self.record.get("format") != SCORER_FORMAT:
                raise ValueError(f"format {self.record.get('format')!r}, not {SCORER_FORMAT}")
            self.max_tokens = int(self.record["settings"]["max_tokens"])
            if self.max_tokens < MIN_TOKENS:
                raise ValueError(f"max_tokens {self.max_tokens}, fewer than {MIN_TOKENS}")
            # A scorer trained before it read the line before a candidate is given none.
            self.reads_before = bool(self.record["settings"].get("line_before", False))
            self.tokenizer, self.question_tokens = pair_tokenizers(folder / SCORER_TOKENIZER, self.max_tokens)
            self.session = onnxruntime.InferenceSession(
                str(folder / SCORER_MODEL), session_options(), providers=["CPUExecutionProvider"]
            )
        # What a damaged file raises: the file system, JSON, the tokenizers' plain Exception, and
        # onnxruntime's own errors (InvalidProtobuf and the like derive from Exception alone).
        except Exception as exc:
            raise ModelLoadError(f"cannot load the answer scorer in {folder} ({exc}): run `make train-scorer`") from exc
        self.threads = ask_threads(threads)
        self._runs = ThreadPoolExecutor(self.threads, thread_name_prefix="scorer") if self.threads > 1 else None

    def _question(self, question: str) -> str:
        """``question``, cut after its first half of :attr:`max_tokens` tokens when longer."""
        keep = self.max_tokens // 2
        offsets = self.question_tokens.encode(question, add_special_tokens=False).offsets
        return question[: offsets[keep - 1][1]] if len(offsets) > keep else question

    def score(self, question: str, candidates: Sequence[tuple[str, ...]]) -> list[Scored]:
        """The scorer's reading of each candidate for ``question``, in order: a :class:`Reading`, or a
        (title, line) pair."""
        if not candidates:
            return []
        question = self._question(question)
        read = [Reading(*c) for c in candidates]
        encodings = self.tokenizer.encode_batch(
            [(question, second_text(r.title, r.line, r.before if self.reads_before else "")) for r in read]
        )
        # The rest of a line cut at max_tokens, in windows that hold some of the line.
        shifts = [(len(second_text(r.title, "")), len(r.line)) for r in read]
        windows = [
            (n, window)
            for n, (encoding, (shift, length)) in enumerate(zip(encodings, shifts, strict=True))
            for window in encoding.overflowing[:MAX_SPAN_WINDOWS]
            if _inside(window, shift, length)
        ]
        runs = [*encodings, *(window for _, window in windows)]
        outputs = list(self._runs.map(self._run, runs) if self._runs else map(self._run, runs))
        read_whole, read_rest = outputs[: len(encodings)], outputs[len(encodings) :]
        best: list[tuple[float, tuple[int, int]] | None] = [
            _span(encoding, start, end, *shift)
            for encoding, (_, start, end), shift in zip(encodings, read_whole, shifts, strict=True)
        ]
        for (n, window), (_, start, end) in zip(windows, read_rest, strict=True):
            other, held = _span(window, start, end, *shifts[n]), best[n]
            if other is not None and (held is None or other[0] > held[0]):
                best[n] = other
        return [
            Scored(answer, whole_words(r.line, b[1]), b[0]) if b else Scored(answer, None)
            for r, (answer, _, _), b in zip(read, read_whole, best, strict=True)
        ]

    def _run(self, encoding) -> tuple[float, np.ndarray, np.ndarray]:
        """One encoded pair's answer logit and start and end logits, in a run of its own."""
        feeds = {
            "input_ids": np.array([encoding.ids], dtype=np.int64),
            "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
        }
        answer, start, end = self.session.run(None, feeds)
        return float(answer[0]), start[0], end[0]


def pair_tokenizers(file: Path, max_tokens: int):
    """The tokenizers in ``file`` a scorer reads with: one for (question, line) pairs, cut in the
    line at ``max_tokens`` (the rest in windows overlapping by :data:`SPAN_STRIDE_TOKENS`, or a
    quarter of ``max_tokens`` where that is fewer, in ``Encoding.overflowing``), unpadded; one for
    the question alone, uncut (a question too long to leave room for a line is cut first, see
    :meth:`AnswerScorer._question`)."""
    from tokenizers import Tokenizer

    pairs, questions = Tokenizer.from_file(str(file)), Tokenizer.from_file(str(file))
    pairs.no_padding()
    pairs.enable_truncation(max_tokens, strategy="only_second", stride=min(SPAN_STRIDE_TOKENS, max_tokens // 4))
    questions.no_truncation()
    questions.no_padding()
    return pairs, questions


# Characters that join the letters and digits around them into one word of a line: a web or
# e-mail address, a path, a hyphenated name or a dotted one ("github.com/GSA/fedramp-automation",
# "info@fedramp.gov", "Q4/2018", "POA&M"); besides, a colon followed by "//" and a comma between
# digits ("191,000").
WORD_JOINERS = frozenset("./@#%&+=~_-")
# Taken off the ends of a span widened over them: a sentence's full stop, a trailing hyphen.
SPAN_TRIM = ".,;:?!-_"


def whole_words(line: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """``span`` of ``line`` widened to the whole words it cuts into (a token may be part of a word,
    and a word may be an address or a path of several tokens: :data:`WORD_JOINERS`), without the
    spaces and punctuation at its ends; None if nothing is left."""
    lo, hi = span
    while lo < hi and (line[lo].isspace() or line[lo] in ",;:"):
        lo += 1
    while hi > lo and (line[hi - 1].isspace() or line[hi - 1] in ",;:"):
        hi -= 1
    if hi <= lo:
        return None

    def joins(i: int) -> bool:
        c = line[i]
        if c.isalnum() or c in WORD_JOINERS or line.startswith("://", i):
            return True
        return c == "," and 0 < i < len(line) - 1 and line[i - 1].isdigit() and line[i + 1].isdigit()

    while lo > 0 and joins(lo - 1):
        lo -= 1
    while hi < len(line) and joins(hi):
        hi += 1
    while hi > lo and line[hi - 1] in SPAN_TRIM:
        hi -= 1
    while lo < hi and line[lo] in SPAN_TRIM:
        lo += 1
    return (lo, hi) if hi > lo else None


def _inside(encoding, shift: int, length: int) -> list[int]:
    """The tokens of ``encoding`` inside the line (not its heading, nor the line before it); the line is
    ``length`` characters from ``shift`` of the second text."""
    return [
        i
        for i, (seq, (a, b)) in enumerate(zip(encoding.sequence_ids, encoding.offsets, strict=True))
        if seq == 1 and a >= shift and b <= shift + length
    ]


def _span(
    encoding, start: np.ndarray, end: np.ndarray, shift: int, length: int
) -> tuple[float, tuple[int, int]] | None:
    """The best start-end pair of tokens inside the line (:func:`_inside`): its start and end logits
    summed, and its character offsets in the line."""
    inside = _inside(encoding, shift, length)
    if not inside:
        return None
    best, pair = -np.inf, None
    for i in inside:
        for j in inside:
            if j < i or j - i >= MAX_SPAN_TOKENS:
                continue
            value = start[i] + end[j]
            if value > best:
                best, pair = value, (i, j)
    if pair is None:
        return None
    lo, hi = encoding.offsets[pair[0]][0] - shift, encoding.offsets[pair[1]][1] - shift
    return (float(best), (lo, hi)) if hi > lo else None

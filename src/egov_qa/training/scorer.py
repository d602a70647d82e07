"""Training the answer scorer: a cross-encoder that reads a question and one line together.

Initialised from the shipped all-MiniLM-L6-v2 weights, it has two outputs: whether the
line answers the question (one logit), and where the key span starts and ends inside the
line (a logit per token each). It is trained on public data only, the SQuAD 1.1 pool
(:mod:`egov_qa.evaluation.squad`), and never sees the eval sets, so every deck is held out
for it:

Each line is read with its article's title; with ``line_before``, also with the sentence before
it in its paragraph, as a candidate is then read with the line before it on its slide.

- positives: the sentence holding a question's answer, with the answer's span;
- negatives: other sentences of the paragraph, a sentence of another paragraph, the
  answer sentence asked with a question whose name or number was changed to one the
  paragraph lacks (a near miss), and the answer sentence with its answer taken out: a
  line that says the question again without answering it, as a slide's heading or
  lead-in does.

Some articles are kept out (:func:`egov_qa.evaluation.squad.held_out`) and measured: the
answer sentence chosen within each paragraph, how well the answer logit ranks a question
the line answers above its near miss (AUROC), and the key span's F1.

The model is exported to ONNX (int8 weights where the figures hold) with its tokenizer and a
record, and read by :mod:`egov_qa.answer.scorer` with onnxruntime: no torch when asking.
torch and transformers are imported only inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import random
import re
import time
from dataclasses import asdict, astuple, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from egov_qa.answer.scorer import (
    SCORER_FORMAT,
    SCORER_MODEL,
    SCORER_RECORD,
    SCORER_TOKENIZER,
    SCORER_WEIGHTS,
    AnswerScorer,
    Reading,
)
from egov_qa.errors import ModelLoadError
from egov_qa.evaluation import squad
from egov_qa.files import file_sha256, package_version, write_atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScorerSettings:
    """How the scorer is trained: about an hour on two CPU cores; see docs/scorer.md."""

    max_tokens: int = 80
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 5e-5
    frozen_layers: int = 0  # the embeddings and this many lower layers stay as published
    same_paragraph: int = 2  # other sentences of the paragraph per question
    other_paragraph: int = 1  # sentences of other paragraphs per question
    # Altered questions per question. Three read SQuAD's near misses better but, refit, cost the
    # reader on the decks left out and the assistant's AUROC on SQuAD (docs/scorer.md): one.
    near_misses: int = 1
    answers_removed: bool = True  # the answer sentence without its answer, as a negative
    line_before: bool = False  # each line read with the one before it (measured, not kept: docs/scorer.md)
    span_weight: float = 0.5
    seed: int = 0
    # Fine-tuning only: this many runs from the same scorer, each with its own seed and order of
    # pairs (seed, seed + 1, ...), their weights averaged into one model (docs/scorer.md)
    soup: int = 1
    threads: int = 2
    questions: int | None = None  # at most this many training questions (None: all)


# How the exported weights are quantized: int8 with a scale for each output channel. One scale for
# each whole weight (per tensor, before 2026-12-06) lost 2.3 points of the held-out SQuAD answer
# sentences chosen against the float model, and the reader on such fold scorers 22 in utility on
# the real decks left out (docs/scorer.md); per channel costs neither size nor time.
QUANTIZATION = "int8 per channel"
# The settings only :func:`pairs` reads (how the SQuAD pairs are drawn): training further on
# pairs made elsewhere does not depend on them.
PAIR_SETTINGS = frozenset({"same_paragraph", "other_paragraph", "near_misses", "answers_removed", "questions"})


@dataclass(frozen=True)
class Pair:
    """A question and a line (with its heading and the line before it): whether the line answers it,
    and the span's characters."""

    question: str
    title: str
    line: str
    answers: bool
    span: tuple[int, int] | None = None
    before: str = ""


def title_of(article: str) -> str:
    return article.replace("_", " ")


def without_answer(line: str, start: int, end: int) -> str | None:
    """``line`` with its answer (characters ``start`` to ``end``) taken out, or None when the answer is
    most of the line or too little of it is left to read as a line of its own."""
    if end - start > len(line) / 2:
        return None
    left = " ".join(f"{line[:start]} {line[end:]}".split())
    left = re.sub(r"\s+([,.;:)])", r"\1", left).replace("( ", "(").replace("()", "").strip(" ,;:")
    return left if len(left.split()) >= 4 else None


def pairs(articles: dict[str, list[squad.Paragraph]], titles: list[str], settings: ScorerSettings) -> list[Pair]:
    """The training pairs of ``titles`` (see the module's description), shuffled with the settings' seed."""
    rng = random.Random(settings.seed)
    made: list[Pair] = []
    used = 0
    for title in sorted(titles):
        paragraphs = articles[title]
        pool = squad.entity_pool(paragraphs)
        heading = title_of(title)
        for at, paragraph in enumerate(paragraphs):
            spans = squad.sentences(paragraph.context)
            before = _befores(paragraph.context, spans)
            for question in paragraph.questions:
                if settings.questions is not None and used >= settings.questions:
                    break
                found = squad.answer_sentence(paragraph.context, question.starts[0])
                if found is None:
                    continue
                start, end = found
                line = paragraph.context[start:end]
                offset = question.starts[0] - start
                answer = question.answers[0]
                if line[offset : offset + len(answer)] != answer:
                    continue
                used += 1
                first = before[spans.index(found)]
                made.append(Pair(question.text, heading, line, True, (offset, offset + len(answer)), first))
                others = [(paragraph.context[s:e], before[i]) for i, (s, e) in enumerate(spans) if (s, e) != found]
                for other, ahead in rng.sample(others, k=min(settings.same_paragraph, len(others))):
                    made.append(Pair(question.text, heading, other, False, before=ahead))
                elsewhere = [p for i, p in enumerate(paragraphs) if i != at]
                for _ in range(settings.other_paragraph if elsewhere else 0):
                    p = rng.choice(elsewhere)
                    inside = squad.sentences(p.context)
                    i = rng.randrange(len(inside))
                    s, e = inside[i]
                    made.append(
                        Pair(question.text, heading, p.context[s:e], False, before=_before(p.context, inside, i))
                    )
                if settings.answers_removed and (unanswered := without_answer(line, offset, offset + len(answer))):
                    made.append(Pair(question.text, heading, unanswered, False, before=first))
                for _ in range(settings.near_misses):
                    changed = squad.altered(question.text, paragraph.context, pool, rng)
                    if changed:
                        made.append(Pair(changed, heading, line, False, before=first))
    rng.shuffle(made)
    return made


def _before(context: str, spans: list[tuple[int, int]], at: int) -> str:
    """The sentence of ``context`` before its ``at``-th of ``spans`` ("" for the first)."""
    return context[slice(*spans[at - 1])] if at else ""


def _befores(context: str, spans: list[tuple[int, int]]) -> list[str]:
    """The sentence before each of ``spans`` of ``context`` ("" for the first)."""
    return [_before(context, spans, i) for i in range(len(spans))]


def _encode(
    tokenizer, batch: list[Pair], before: bool
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Token arrays for a batch (each line with the line before it where ``before``: every pair
    carries it, and this alone decides whether it is read), each pair's
    span as token positions (0, 0 when it has none), and whether each has a span left to learn (a
    long line may be cut before its answer)."""
    from egov_qa.answer.scorer import second_text

    read = [second_text(p.title, p.line, p.before if before else "") for p in batch]
    encodings = tokenizer.encode_batch([(p.question, text) for p, text in zip(batch, read, strict=True)])
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    arrays = {
        "input_ids": ids,
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    starts, ends = np.zeros(len(batch), dtype=np.int64), np.zeros(len(batch), dtype=np.int64)
    has_span = np.zeros(len(batch), dtype=bool)
    for row, (pair, encoding) in enumerate(zip(batch, encodings, strict=True)):
        if pair.span is None:
            continue
        shift = len(second_text(pair.title, ""))
        lo, hi = pair.span[0] + shift, pair.span[1] + shift
        tokens = [
            i
            for i, (sequence, (a, b)) in enumerate(zip(encoding.sequence_ids, encoding.offsets, strict=True))
            if sequence == 1 and a < hi and b > lo
        ]
        if tokens:
            starts[row], ends[row], has_span[row] = tokens[0], tokens[-1], True
    return arrays, starts, ends, has_span


def _build_model(path: str, frozen_layers: int) -> Any:
    """MiniLM with an answer head on the first token and a start/end head on every token."""
    import torch
    from transformers import AutoModel

    class ScorerModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(path)
            hidden = self.encoder.config.hidden_size
            self.answer = torch.nn.Linear(hidden, 1)
            self.span = torch.nn.Linear(hidden, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            states = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            start, end = self.span(states).unbind(-1)
            return self.answer(states[:, 0]).squeeze(-1), start, end

    model = ScorerModel()
    for param in model.encoder.embeddings.parameters():
        param.requires_grad = False
    for layer in model.encoder.encoder.layer[:frozen_layers]:
        for param in layer.parameters():
            param.requires_grad = False
    return model


def train_scorer(
    out_dir: Path,
    settings: ScorerSettings | None = None,
    pool: Path | None = None,
    progress=None,
    device: str = "cpu",
    chosen_by: dict | None = None,
) -> dict:
    """Train the scorer on the pool's training articles (on torch's ``device``: "cpu", or "cuda"
    where there is a GPU), measure it on the held-out ones, and write the ONNX model, its
    tokenizer and its record into ``out_dir``. Returns the record, which keeps ``chosen_by``: the
    settings search that chose ``settings`` (:mod:`egov_qa.training.scorer_search`), if any."""
    import torch

    from egov_qa.index.embedder import DEFAULT_MODEL, resolve_model

    settings = settings or ScorerSettings()
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    say = progress or (lambda message: log.info("%s", message))
    articles = squad.load_articles(pool)
    kept_out = squad.held_out(list(articles))
    training = [t for t in articles if t not in kept_out]
    found = pairs(articles, training, settings)
    say(f"training the answer scorer on {len(found)} pairs from {len(training)} articles")
    path = resolve_model(DEFAULT_MODEL)
    tokens = Path(path) / "tokenizer.json"
    model = _build_model(path, settings.frozen_layers)
    seconds = _fit(model, _tokenizer(tokens, settings.max_tokens), found, settings, device)
    out_dir = Path(out_dir)
    _save(model, tokens, out_dir, settings.max_tokens)
    record = {
        "format": SCORER_FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "base_model": DEFAULT_MODEL,
        "settings": asdict(settings),
        "quantization": QUANTIZATION,
        "trained_on": {
            "data": squad.SQUAD_FILE,
            "sha256": file_sha256(pool or squad.default_pool()),
            "articles": sorted(training),
            "pairs": len(found),
            "positives": sum(p.answers for p in found),
        },
        "held_out_articles": sorted(kept_out),
        "train_seconds": round(seconds),
        "device": device_name(device),
        **({"chosen_by": chosen_by} if chosen_by else {}),
        "versions": {p: package_version(p) for p in ("egov-qa", "torch", "transformers", "onnxruntime")},
    }
    write_atomic(out_dir / SCORER_RECORD, json.dumps(record, indent=1) + "\n")
    scorer = AnswerScorer(out_dir)
    record["held_out"] = measure(scorer, {t: articles[t] for t in sorted(kept_out)}, settings.seed)
    write_atomic(out_dir / SCORER_RECORD, json.dumps(record, indent=1) + "\n")
    return record


def device_name(device: str) -> str:
    """The hardware behind torch's ``device``, for a record: "cuda (NVIDIA H200)", or the CPU's model
    and the vector instructions torch's kernels use on it, "cpu (AMD EPYC 7B13, AVX2)". A scorer
    trained again with the same recipe, seed and threads on another CPU has other weights (its
    sums are rounded in another order), so a record says which CPU its figures come from."""
    import torch

    if device.startswith("cuda"):
        return f"cuda ({torch.cuda.get_device_name()})"
    if device != "cpu":
        return device
    found = [name for name in (cpu_model(), torch.backends.cpu.get_cpu_capability()) if name]
    return f"cpu ({', '.join(found)})" if found else device


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name as Linux reports it, else what the platform says (may be empty)."""
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return " ".join(value.split())
    except OSError:
        pass
    return platform.processor()


def _fit(model, tokenizer, found: list[Pair], settings: ScorerSettings, device: str = "cpu") -> float:
    """Train ``model`` on ``found`` as ``settings`` say (AdamW, the rate falling linearly to zero)
    on torch's ``device``; returns the seconds it took. The model is left on the CPU in
    evaluation mode."""
    import torch
    from tqdm import tqdm

    model.to(device)

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate)
    steps = settings.epochs * ((len(found) + settings.batch_size - 1) // settings.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1.0 - step / max(1, steps)))
    started = time.perf_counter()
    model.train()
    with tqdm(total=steps, desc="scorer", unit="batch", disable=None) as bar:
        for _ in range(settings.epochs):
            for at in range(0, len(found), settings.batch_size):
                batch = found[at : at + settings.batch_size]
                arrays, starts, ends, spanned = _encode(tokenizer, batch, settings.line_before)
                inputs = {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}
                answer, start, end = model(**inputs)
                labels = torch.tensor([p.answers for p in batch], dtype=torch.float32, device=device)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(answer, labels)
                has_span = torch.from_numpy(spanned).to(device)
                if has_span.any():
                    masked = inputs["token_type_ids"] == 0
                    start = start.masked_fill(masked, -1e4)[has_span]
                    end = end.masked_fill(masked, -1e4)[has_span]
                    first, last = torch.from_numpy(starts).to(device), torch.from_numpy(ends).to(device)
                    span_loss = torch.nn.functional.cross_entropy(start, first[has_span])
                    span_loss = span_loss + torch.nn.functional.cross_entropy(end, last[has_span])
                    loss = loss + settings.span_weight * span_loss
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                bar.update(1)
    model.eval()
    model.to("cpu")
    return time.perf_counter() - started


def continued(settings: ScorerSettings, base: dict) -> ScorerSettings:
    """``settings`` as fine-tuning from the scorer with record ``base`` uses them: reading as much of
    a line, and the line before it or not, as that scorer does."""
    read = base["settings"]
    return replace(settings, max_tokens=int(read["max_tokens"]), line_before=bool(read.get("line_before", False)))


def fine_tune(base_dir: Path, out_dir: Path, found: list[Pair], settings: ScorerSettings, about: dict) -> dict:
    """The scorer in ``base_dir`` trained further on ``found`` (from its float weights), written into
    ``out_dir`` like a scorer of its own; ``about`` says in its record what the pairs are. Returns the record.

    With ``settings.soup`` above 1, that many runs are trained, each from the base with its own seed
    and order of the pairs (the first as a single run would be), kept in ``out_dir/runs/``, and the
    scorer in ``out_dir`` holds the mean of their weights: one model to read with, as fast as each.

    Raises:
        ModelLoadError: ``base_dir`` holds no scorer, or not its float weights.
    """
    base = AnswerScorer(base_dir).record
    settings = continued(settings, base)
    weights = Path(base_dir) / SCORER_WEIGHTS
    if not weights.is_file():
        raise ModelLoadError(
            f"the answer scorer in {base_dir} lacks its float weights ({SCORER_WEIGHTS}), which fine-tuning "
            "starts from: run `make train-scorer`"
        )
    if not found:
        raise ValueError("no pairs to fine-tune the answer scorer on")
    out_dir = Path(out_dir)
    if settings.soup > 1:
        runs = [out_dir / "runs" / str(k) for k in range(settings.soup)]
        seconds, devices = 0.0, []
        for k, run in enumerate(runs):
            order = list(found)
            if k:
                random.Random(settings.seed + k).shuffle(order)
            once = replace(settings, seed=settings.seed + k, soup=1)
            # A run already trained from the same base, settings and pairs is kept: a soup asked for
            # again (interrupted, or of more runs) trains only the runs it lacks.
            digest = fine_tune_digest(base_dir, once, order)
            done = finished(run, digest) or fine_tune(base_dir, run, order, once, {**about, "inputs_sha256": digest})
            seconds += done["fine_tuned"]["train_seconds"]
            devices.append(done["fine_tuned"].get("device") or "a CPU not recorded")
        _soup(runs, out_dir, base_dir, base, settings.max_tokens)
        # A kept run may have been trained on another CPU, whose arithmetic gives other weights.
        device = "; ".join(dict.fromkeys(devices))
    else:
        seconds = _trained_once(base_dir, out_dir, base, found, settings)
        device = device_name("cpu")
    record = {
        **base,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "quantization": QUANTIZATION,
        "fine_tuned": {
            "from": {"created": base.get("created"), "sha256": file_sha256(Path(base_dir) / SCORER_MODEL)},
            "settings": asdict(settings),
            "pairs": len(found),
            "positives": sum(p.answers for p in found),
            "train_seconds": round(seconds),
            "device": device,
            **about,
        },
    }
    write_atomic(out_dir / SCORER_RECORD, json.dumps(record, indent=1) + "\n")
    return record


def fine_tune_digest(base_dir: Path, settings: ScorerSettings, found: list[Pair]) -> str:
    """The digest of what a fine-tune of the scorer in ``base_dir`` reads: its base model, the
    settings that shape training (not those that make SQuAD pairs) and ``found`` in its order."""
    used = {name: value for name, value in asdict(settings).items() if name not in PAIR_SETTINGS}
    inputs = json.dumps([file_sha256(Path(base_dir) / SCORER_MODEL), used, [astuple(p) for p in found]], sort_keys=True)
    return hashlib.sha256(inputs.encode("utf-8")).hexdigest()


def finished(folder: Path, digest: str) -> dict | None:
    """The record of the fine-tuned scorer in ``folder`` when it was trained on the inputs ``digest``
    names (:func:`fine_tune_digest`) and its files are there, else None."""
    folder = Path(folder)
    try:
        record = json.loads((folder / SCORER_RECORD).read_text(encoding="utf-8"))
        done = record["fine_tuned"]["inputs_sha256"] == digest
    except (OSError, ValueError, KeyError, TypeError):
        return None
    files = (SCORER_MODEL, SCORER_WEIGHTS, SCORER_TOKENIZER)
    return record if done and all((folder / name).is_file() for name in files) else None


def _trained_once(base_dir: Path, out_dir: Path, base: dict, found: list[Pair], settings: ScorerSettings) -> float:
    """One run of :func:`fine_tune`, its scorer's files (not its record) written into ``out_dir``;
    returns the seconds it took."""
    import torch
    from safetensors.torch import load_file

    from egov_qa.index.embedder import resolve_model

    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    tokens = Path(base_dir) / SCORER_TOKENIZER
    model = _build_model(resolve_model(base["base_model"]), settings.frozen_layers)
    model.load_state_dict(load_file(str(Path(base_dir) / SCORER_WEIGHTS)))
    seconds = _fit(model, _tokenizer(tokens, settings.max_tokens), found, settings)
    _save(model, tokens, out_dir, settings.max_tokens)
    return seconds


def _soup(runs: list[Path], out_dir: Path, base_dir: Path, base: dict, max_tokens: int) -> None:
    """Write into ``out_dir`` the scorer whose weights are the mean of the ``runs``' (scorers trained
    from the one in ``base_dir``, whose record is ``base``)."""
    import torch
    from safetensors.torch import load_file

    from egov_qa.index.embedder import resolve_model

    states = [load_file(str(run / SCORER_WEIGHTS)) for run in runs]
    # Integer buffers (token positions) are the same in every run: kept as the first has them.
    mean = {
        name: torch.stack([s[name] for s in states]).mean(0) if tensor.is_floating_point() else tensor
        for name, tensor in states[0].items()
    }
    model = _build_model(resolve_model(base["base_model"]), 0)
    model.load_state_dict(mean)
    model.eval()
    _save(model, Path(base_dir) / SCORER_TOKENIZER, out_dir, max_tokens)


def _tokenizer(file: Path, max_tokens: int) -> Any:
    """The tokenizer in ``file``, cutting the line (never the question) at ``max_tokens``, padding batches."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(file))
    tokenizer.enable_truncation(max_tokens, strategy="only_second")
    tokenizer.enable_padding()
    return tokenizer


def _save(model, tokenizer_file: Path, out_dir: Path, max_tokens: int) -> None:
    """Write ``model`` into ``out_dir`` as a scorer's files, its record aside: the int8 ONNX export,
    the tokenizer in ``tokenizer_file``, and the float weights to train it further from."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    _export(model, _tokenizer(tokenizer_file, max_tokens), out_dir / SCORER_MODEL, max_tokens)
    save_file(model.state_dict(), str(out_dir / SCORER_WEIGHTS))
    (out_dir / SCORER_TOKENIZER).write_text(Path(tokenizer_file).read_text(encoding="utf-8"), encoding="utf-8")


def export_again(folder: Path) -> None:
    """Write the ONNX model of the scorer in ``folder`` again from its float weights, quantized as
    :data:`QUANTIZATION` says, and say so in its record: a scorer kept from before is read as one
    trained now would be, without training it again."""
    from safetensors.torch import load_file

    from egov_qa.index.embedder import resolve_model

    folder = Path(folder)
    record = json.loads((folder / SCORER_RECORD).read_text(encoding="utf-8"))
    max_tokens = int(record["settings"]["max_tokens"])
    model = _build_model(resolve_model(record["base_model"]), 0)
    model.load_state_dict(load_file(str(folder / SCORER_WEIGHTS)))
    _export(model, _tokenizer(folder / SCORER_TOKENIZER, max_tokens), folder / SCORER_MODEL, max_tokens)
    write_atomic(folder / SCORER_RECORD, json.dumps({**record, "quantization": QUANTIZATION}, indent=1) + "\n")


def quantization(record: dict) -> str:
    """How the weights of the scorer ``record`` describes were quantized (a record from before it said
    so was quantized per tensor)."""
    return str(record.get("quantization", "int8 per tensor"))


def _export(model, tokenizer, path: Path, max_tokens: int) -> None:
    """Write the model as ONNX, its weights quantized to int8 (onnxruntime's dynamic quantization, a
    scale for each output channel of each weight: :data:`QUANTIZATION`), replacing ``path`` whole."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sample = tokenizer.encode_batch([("a question?", "a title. a line of text")])
    arrays = {
        "input_ids": torch.tensor([sample[0].ids]),
        "attention_mask": torch.tensor([sample[0].attention_mask]),
        "token_type_ids": torch.tensor([sample[0].type_ids]),
    }
    full = path.with_suffix(".full.onnx")
    dynamic: dict[int, str] = {0: "batch", 1: "tokens"}
    axes: dict[str, dict[int, str]] = {name: dynamic for name in arrays}
    axes |= {"answer": {0: "batch"}, "start": dynamic, "end": dynamic}
    torch.onnx.export(
        model,
        (arrays["input_ids"], arrays["attention_mask"], arrays["token_type_ids"]),
        str(full),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["answer", "start", "end"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    quantized = path.with_suffix(".int8.onnx")
    quantize_dynamic(str(full), str(quantized), weight_type=QuantType.QInt8, per_channel=True)
    full.unlink()
    quantized.replace(path)


def measure(scorer: AnswerScorer, articles: dict[str, list[squad.Paragraph]], seed: int = 0) -> dict:
    """The scorer on articles it never saw: the answer sentence chosen within each paragraph, the
    answer logit's AUROC against near misses, and the span F1 inside the answer sentence."""
    rng = random.Random(seed)
    chosen = total = 0
    f1s: list[float] = []
    right: list[float] = []
    missed: list[float] = []
    for title, paragraphs in articles.items():
        pool = squad.entity_pool(paragraphs)
        heading = title_of(title)
        for paragraph in paragraphs:
            spans = squad.sentences(paragraph.context)
            lines = [paragraph.context[s:e] for s, e in spans]
            befores = _befores(paragraph.context, spans)
            read = [Reading(heading, line, before) for line, before in zip(lines, befores, strict=True)]
            for question in paragraph.questions:
                found = squad.answer_sentence(paragraph.context, question.starts[0])
                if found is None:
                    continue
                scored = scorer.score(question.text, read)
                best = int(np.argmax([s.logit for s in scored]))
                total += 1
                chosen += spans[best] == found
                at = spans.index(found)
                right.append(scored[at].logit)
                f1s.append(squad.f1(scored[at].span_text(lines[at]), question.answers))
                changed = squad.altered(question.text, paragraph.context, pool, rng)
                if changed:
                    missed.append(scorer.score(changed, [read[at]])[0].logit)
    return {
        "questions": total,
        "answer_sentence_chosen": chosen / total if total else 0.0,
        "span_f1_in_answer_sentence": float(np.mean(f1s)) if f1s else 0.0,
        "auroc_answerable_vs_near_miss": squad.auroc(right, missed),
        "near_misses": len(missed),
    }

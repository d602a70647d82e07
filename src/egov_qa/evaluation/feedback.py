"""Thumbs up and down from the chat: an append-only JSONL log, its export to eval lines, and
adding a thumbs-down question, once a person has completed it, to an eval set."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from egov_qa.documents import Answer, Slide, content_hash
from egov_qa.errors import EgovQAError, EvalSetError
from egov_qa.evaluation.scoring import EvalItem, load_eval_set
from egov_qa.files import write_atomic
from egov_qa.paths import project_dir
from egov_qa.text import normalize

log = logging.getLogger(__name__)

DATA_ENV = "EGOV_QA_DATA"
LOG_NAME = "feedback.jsonl"
_lock = threading.Lock()


def default_data_dir() -> Path:
    """``$EGOV_QA_DATA``, else ``data/`` in the project."""
    return Path(os.environ.get(DATA_ENV) or project_dir("data"))


def record(answer: Answer, liked: bool, data_dir: Path | None = None) -> Path:
    """Append one vote on ``answer`` to the feedback log; returns the log's path."""
    path = Path(data_dir or default_data_dir()) / LOG_NAME
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "vote": "up" if liked else "down",
        "question": answer.question,
        "answer": answer.answer,
        "abstained": answer.abstained,
        "confidence": round(answer.confidence, 4),
        "citations": [{"source": c.source, "slide": c.slide, "title": c.title} for c in answer.citations],
    }
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    with _lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one line in append mode: concurrent votes never interleave.
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line)
    return path


@dataclass(frozen=True)
class Downvote:
    """A question voted down in the chat (the latest vote on it), with what was answered."""

    id: str
    question: str
    answer: str | None
    abstained: bool
    cited: str | None  # "Slide N: title" of the first citation
    sources: tuple[str, ...]  # the deck files cited
    time: str


def _log_path(data_dir: Path | None) -> Path:
    return Path(data_dir or default_data_dir()) / LOG_NAME


def thumbs_down(data_dir: Path | None = None) -> list[Downvote]:
    """The questions voted down, once each (first voted first); empty when nothing was voted yet.

    A line that is not a vote (cut short when the app was stopped, or edited by hand)
    is skipped with a warning naming it: the other votes are still worth having.
    """
    path = _log_path(data_dir)
    if not path.is_file():
        return []
    found: dict[str, Downvote] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            log.warning("%s, line %d skipped: not JSON (%s)", path, number, exc)
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("question"), str):
            log.warning("%s, line %d skipped: not a vote on a question", path, number)
            continue
        if entry.get("vote") != "down" or entry["question"] in found:
            continue
        cited = entry.get("citations") or []
        found[entry["question"]] = Downvote(
            "fb-" + content_hash(entry["question"], length=8),
            entry["question"],
            entry.get("answer"),
            bool(entry.get("abstained")),
            f"Slide {cited[0]['slide']}: {cited[0]['title']}" if cited else None,
            tuple(dict.fromkeys(c.get("source", "") for c in cited)),
            entry.get("time", ""),
        )
    return list(found.values())


def export_candidates(data_dir: Path | None = None) -> list[dict]:
    """Turn the thumbs-down entries into eval-set lines for a person to complete.

    Each line follows the eval schema with ``answers`` and ``evidence`` left empty
    and what the assistant said beside them; a question voted down twice is
    exported once.

    Raises:
        EgovQAError: there is no feedback log.
    """
    path = _log_path(data_dir)
    if not path.is_file():
        raise EgovQAError(f"no feedback yet: {path} does not exist (votes in the chat are saved there)")
    return [
        {
            "id": vote.id,
            "question": vote.question,
            "answers": [],
            "evidence": "",
            "answerable": True,
            "todo": "fill in answers and evidence from the deck, or set answerable to false",
            "got": vote.answer,
            "got_slide": vote.cited,
        }
        for vote in thumbs_down(data_dir)
    ]


@dataclass(frozen=True)
class EvalLine:
    """A question completed by a person for an eval set: what the deck answers, and where it says so.

    ``answers`` are the accepted answers and ``evidence`` words copied from the slide
    holding them; an unanswerable question has neither.
    """

    question: str
    answers: tuple[str, ...]
    evidence: str
    answerable: bool
    type: str = "other"

    @property
    def id(self) -> str:
        """The id the feedback export gives the question."""
        return "fb-" + content_hash(self.question, length=8)

    def to_dict(self) -> dict:
        """The line as the eval set stores it."""
        return {
            "id": self.id,
            "question": self.question,
            "answers": list(self.answers),
            "evidence": self.evidence,
            "answerable": self.answerable,
            "type": self.type,
            "paraphrase": False,
        }


_sets_lock = threading.Lock()


def completed(question: str, answers: str | Sequence[str], evidence: str, answerable: bool, kind: str) -> EvalLine:
    """An :class:`EvalLine` from a form's fields: ``answers`` one per line, every field stripped."""
    lines = answers.splitlines() if isinstance(answers, str) else list(answers)
    return EvalLine(
        " ".join(str(question or "").split()),
        tuple(a.strip() for a in lines if a.strip()),
        " ".join(str(evidence or "").split()),
        bool(answerable),
        (kind or "other").strip() or "other",
    )


def add_to_eval_set(eval_set: Path, line: EvalLine, slides: Sequence[Slide] = ()) -> EvalItem:
    """Append ``line`` to ``eval_set`` once it follows the set's rules; returns it as the set reads it.

    The set with the new line is read back by :func:`egov_qa.evaluation.scoring.load_eval_set`
    before it replaces the old one, so the new line is checked by the same rules as
    every other (and an id used twice is refused). With ``slides`` (the corpus the set
    asks about), the evidence must be on a slide and an accepted answer on a slide
    holding it: an answer that cannot be quoted can never be scored right. The set
    is rewritten atomically under a lock: it never holds half a line.

    Raises:
        EvalSetError: a field is missing or breaks the rules (nothing is written).
    """
    eval_set = Path(eval_set)
    if not line.question:
        raise EvalSetError("the question is empty: choose a question voted down")
    if line.answerable and (not line.answers or not normalize(line.evidence)):
        raise EvalSetError(
            "fill in the accepted answers and the evidence (words copied from the slide that answers it), "
            "or untick 'the deck answers it'"
        )
    if not line.answerable and (line.answers or line.evidence):
        raise EvalSetError(
            "a question the deck does not answer has no answers and no evidence: clear them, "
            "or tick 'the deck answers it'"
        )
    if line.answerable and slides:
        _check_on_slides(line, slides)
    with _sets_lock:
        items = load_eval_set(eval_set)
        if any(item.id == line.id or item.question == line.question for item in items):
            raise EvalSetError(f"the question is already in {eval_set.name} (id {line.id})")
        text = eval_set.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            text += "\n"
        text += json.dumps(line.to_dict(), ensure_ascii=False) + "\n"
        _check_set_text(eval_set, text)
        write_atomic(eval_set, text)
    return next(item for item in load_eval_set(eval_set) if item.id == line.id)


def _check_on_slides(line: EvalLine, slides: Sequence[Slide]) -> None:
    evidence = normalize(line.evidence)
    holding = [normalize(s.text) for s in slides if evidence in normalize(s.text)]
    if not holding:
        raise EvalSetError("the evidence is not on any slide of the corpus: copy it word for word from the slide")
    if not any(normalize(answer) in text for answer in line.answers for text in holding):
        raise EvalSetError(
            "no accepted answer is on the slide holding the evidence: an answer is quoted from a slide, "
            "so write it as the slide does"
        )


def _check_set_text(eval_set: Path, text: str) -> None:
    """Read ``text`` as ``eval_set`` would be read, without touching it; raises EvalSetError naming the set."""
    handle, staging = tempfile.mkstemp(prefix=f".{eval_set.name}.", suffix=".check", dir=eval_set.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        load_eval_set(Path(staging))
    except EvalSetError as exc:
        raise EvalSetError(str(exc).replace(staging, str(eval_set))) from exc
    finally:
        Path(staging).unlink(missing_ok=True)

"""Thumbs up and down from the chat: an append-only JSONL log, and its export to eval lines."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from egov_qa.documents import Answer, content_hash
from egov_qa.errors import EgovQAError

DATA_ENV = "EGOV_QA_DATA"
LOG_NAME = "feedback.jsonl"
_lock = threading.Lock()


def default_data_dir() -> Path:
    """``$EGOV_QA_DATA``, else ``data/`` in the project."""
    from egov_qa.assistant import PROJECT_ROOT

    return Path(os.environ.get(DATA_ENV) or PROJECT_ROOT / "data")


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


def export_candidates(data_dir: Path | None = None) -> list[dict]:
    """Turn the thumbs-down entries into eval-set lines for a person to complete.

    Each line follows the eval schema with ``answers`` and ``evidence`` left empty
    and what the assistant said beside them; a question voted down twice is
    exported once.

    Raises:
        EgovQAError: there is no feedback log, or a line of it is not JSON.
    """
    path = Path(data_dir or default_data_dir()) / LOG_NAME
    if not path.is_file():
        raise EgovQAError(f"no feedback yet: {path} does not exist (votes in the chat are saved there)")
    candidates: dict[str, dict] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise EgovQAError(f"{path}, line {number}: not JSON ({exc})") from exc
        if entry.get("vote") != "down" or entry.get("question") in candidates:
            continue
        cited = entry.get("citations") or []
        candidates[entry["question"]] = {
            "id": "fb-" + content_hash(entry["question"], length=8),
            "question": entry["question"],
            "answers": [],
            "evidence": "",
            "answerable": True,
            "todo": "fill in answers and evidence from the deck, or set answerable to false",
            "got": entry.get("answer"),
            "got_slide": f"Slide {cited[0]['slide']}: {cited[0]['title']}" if cited else None,
        }
    return list(candidates.values())

"""How many cores the ask path's ONNX models (the question embedder, the answer scorer) use."""

from __future__ import annotations

import os

# Past this many, more threads for one short run cost more in hand-offs than they save.
MAX_THREADS = 8


def ask_threads(threads: int | None = None) -> int:
    """``threads`` when given, else every core of the machine up to :data:`MAX_THREADS`."""
    return threads or min(os.cpu_count() or 1, MAX_THREADS)

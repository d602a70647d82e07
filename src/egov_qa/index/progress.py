"""Progress bars for a build that read well on a terminal and in a log.

On a terminal a build shows tqdm's bars. Where standard error is not a terminal (a
log file, a service's journal), tqdm alone draws nothing, and a first build of several
minutes said one line and then nothing; there the same bar is written as plain log
lines ("passages embedded: 40%|####  | 1200/3000"), one every :data:`LOG_EVERY`
seconds and one when it ends, through the ``egov_qa.index.progress`` logger.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from tqdm import tqdm

log = logging.getLogger(__name__)

# Seconds between two lines of a bar written to a log.
LOG_EVERY = 10.0


class LogLines:
    """A file for tqdm that logs each state of a bar as one line (tqdm redraws with carriage returns)."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self.logger = logger

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()
        if line:
            self.logger.info("%s", line)
        return len(text)

    def flush(self) -> None:
        pass


def bar(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str,
    unit: str,
    show_progress: bool | None = None,
    leave: bool = True,
) -> tqdm:
    """A tqdm bar: none when ``show_progress`` is False, drawn when True, and when None drawn
    on a terminal and written as log lines elsewhere."""
    if show_progress is None and not _terminal():
        return tqdm(
            iterable, total=total, desc=desc, unit=unit, file=LogLines(), mininterval=LOG_EVERY, ascii=True, leave=True
        )
    disable = None if show_progress is None else not show_progress
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=leave)


def _terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False

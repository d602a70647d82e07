"""Tables in pictures: cells that OCR finds apart, read across their rows as a text layer gives them.

OCR finds each cell of a table as a box of its own, and the gutters between a
table's columns are as clear as those between a page's columns, so a reading
order that cuts at gutters reads a table column by column ("Milestone 1
Milestone 2 ...", then "6/15/2019 10/1/2019 ..."), and a row's facts no longer
stand together. A table is told from columns of prose by its grid: rows of three
cells or more whose cells keep to the same columns, and short cells.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Sequence
from typing import Protocol

from egov_qa.ingest.slides import BULLET_GLYPHS, SENTENCE_END

# A cell that is a list's item: a list laid out in columns is no table.
_ITEM = re.compile(f"^{BULLET_GLYPHS}")

# A table has this many full rows, in at least MIN_COLUMNS columns. A row is full when it has a
# cell in FULL_SHARE of the table's columns (and in MIN_COLUMNS at least), and at least
# FULL_ROWS_SHARE of a table's rows are full (a diagram's boxes leave most rows thin).
MIN_ROWS = 3
MIN_COLUMNS = 3
FULL_SHARE = 0.75
FULL_ROWS_SHARE = 0.6
# At most this share of a table's cells go on with the cell above them (start with a word in
# lower case after a cell that ends no sentence): boxes of prose set side by side wrap their
# lines, and are read box by box, not across.
MAX_WRAPPED_SHARE = 0.2
# Boxes are of one row when their middles lie within this share of the shorter one's height.
ROW_SHARE = 0.5
# A table's cells are short: their median number of words is at most this (a column of prose
# has longer lines).
MAX_MEDIAN_WORDS = 3
# Rows of one table follow each other: the gap between two is at most this many row heights.
ROW_GAP_HEIGHTS = 1.5


class Box(Protocol):
    """A line found on an image, in PDF points (y grows upwards)."""

    @property
    def text(self) -> str: ...
    @property
    def left(self) -> float: ...
    @property
    def right(self) -> float: ...
    @property
    def top(self) -> float: ...
    @property
    def bottom(self) -> float: ...


def table_rows(lines: Sequence[Box]) -> list[list[int]]:
    """The rows of the tables among ``lines``: each a list of positions in ``lines``, left to right.

    Lines in no table are in no row; a table's rows come top to bottom.
    """
    found: list[list[int]] = []
    rows = _rows(lines)
    start = 0
    while start < len(rows):
        end = _table_end(lines, rows, start)
        if end > start:
            found += rows[start:end]
            start = end
        else:
            start += 1
    return found


def _rows(lines: Sequence[Box]) -> list[list[int]]:
    """The lines grouped into rows (boxes side by side at one height), top to bottom, each left to right."""
    rows: list[list[int]] = []
    for i in sorted(range(len(lines)), key=lambda i: -_middle(lines[i])):
        line = lines[i]
        for row in rows:
            first = lines[row[0]]
            near = abs(_middle(first) - _middle(line)) <= ROW_SHARE * min(_height(first), _height(line))
            apart = all(lines[j].right <= line.left or lines[j].left >= line.right for j in row)
            if near and apart:
                row.append(i)
                break
        else:
            rows.append([i])
    rows.sort(key=lambda row: -max(lines[i].top for i in row))
    return [sorted(row, key=lambda i: lines[i].left) for row in rows]


def _table_end(lines: Sequence[Box], rows: list[list[int]], start: int) -> int:
    """Where the table whose first row is ``rows[start]`` ends (the row after its last);
    ``start`` if none starts there."""
    columns = _columns(lines, rows[start])
    if len(columns) < MIN_COLUMNS:
        return start
    end = start + 1
    while end < len(rows):
        row = rows[end]
        before = rows[end - 1]
        gap = min(lines[i].bottom for i in before) - max(lines[i].top for i in row)
        if gap > ROW_GAP_HEIGHTS * statistics.median(_height(lines[i]) for i in row):
            break
        widened = _columns(lines, [j for r in rows[start : end + 1] for j in r])
        # The table keeps its columns: a line across the table (a caption, a note under it)
        # would join them. Boxes of one row in one column are pieces of one cell.
        if len(widened) < len(columns):
            break
        columns = widened
        end += 1
    table = rows[start:end]
    full = [row for row in table if _filled(lines, row, columns) >= max(MIN_COLUMNS, FULL_SHARE * len(columns))]
    cells = [lines[i].text for row in table for i in row]
    if len(full) < max(MIN_ROWS, FULL_ROWS_SHARE * len(table)) or len(columns) < MIN_COLUMNS:
        return start
    if statistics.median(len(text.split()) for text in cells) > MAX_MEDIAN_WORDS:
        return start
    if any(_ITEM.match(text) for text in cells):
        return start
    if _wrapped(lines, table) > MAX_WRAPPED_SHARE * sum(map(len, table[1:])):
        return start
    return end


def _wrapped(lines: Sequence[Box], table: list[list[int]]) -> int:
    """How many cells of ``table`` go on with the cell above them in their column (a wrapped line)."""
    count = 0
    for above, row in itertools.pairwise(table):
        for i in row:
            first = lines[i].text.split()[0] if lines[i].text.split() else ""
            if not (first.rstrip(".,;:)").isalpha() and first.islower()):
                continue
            over = [j for j in above if lines[j].left < lines[i].right and lines[i].left < lines[j].right]
            count += any(not SENTENCE_END.search(lines[j].text) for j in over)
    return count


def _columns(lines: Sequence[Box], cells: list[int]) -> list[tuple[float, float]]:
    """The spans (left, right) that the cells' boxes cover, overlapping ones merged: the table's columns."""
    spans: list[tuple[float, float]] = []
    for left, right in sorted((lines[i].left, lines[i].right) for i in cells):
        if spans and left < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], right))
        else:
            spans.append((left, right))
    return spans


def _filled(lines: Sequence[Box], row: list[int], columns: list[tuple[float, float]]) -> int:
    """In how many of the table's ``columns`` the ``row`` has a cell."""
    return len({k for i in row for k, (left, right) in enumerate(columns) if left <= lines[i].left < right})


def _middle(line: Box) -> float:
    return (line.top + line.bottom) / 2


def _height(line: Box) -> float:
    return max(line.top - line.bottom, 1e-6)

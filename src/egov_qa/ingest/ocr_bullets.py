"""Bullets drawn beside the lines of a picture: marks the recognizer does not read as text.

A slide's bullet is often a shape (an arrow, a triangle, a square, a dot, a ring)
that the recognizer skips, so a list read from a picture runs its items together,
and its items are not told from prose. A mark is taken for a bullet when it stands
just left of a line, on its own (not part of a drawing running into it), solid or an
outline around a hole (a ring, a hollow square), about the size of a letter and
centred on the line, and when another line of the picture has one in the same place
(a list has two items at least).
"""

from __future__ import annotations

from collections.abc import Sequence

# Ink: a pixel this far (0 to 255) from the median grey of the strip looked at.
INK_CONTRAST = 60
# A bullet is looked for this many line heights (the line's box) left of the line's box.
REACH_HEIGHTS = 2.0
# A bullet's width and height as shares of the line's height, and how much of its box it inks.
SIZE_SHARE = (0.12, 0.8)
MIN_FILL = 0.4
# An outline (a ring, a hollow square) inks less of its box: it is a bullet when it encloses
# a hole of at least this share of its box, and inks MIN_FILL of its box with the hole filled.
MIN_HOLE = 0.15
# Its centre lies within this share of the line's height of the line's centre.
CENTRE_SHARE = 0.25
# The bullets of one list line up: their left edges within this share of a line's height.
COLUMN_SHARE = 0.5

Box = tuple[float, float, float, float]  # left, top, right, bottom, in pixels (y grows downwards)


def bullets(gray, boxes: Sequence[Box]) -> list[float | None]:
    """For each line's box, the left edge of the bullet drawn before it, or None.

    ``gray``: the picture as a 2-D array of grey levels (0 to 255); ``boxes``: the
    lines the recognizer found in it.
    """
    found = [_mark(gray, boxes, i) for i in range(len(boxes))]
    lined_up = []
    for i, mark in enumerate(found):
        height = boxes[i][3] - boxes[i][1]
        others = (other for j, other in enumerate(found) if j != i and other is not None)
        in_column = mark is not None and any(abs(other - mark) < COLUMN_SHARE * height for other in others)
        lined_up.append(mark if in_column else None)
    return lined_up


def _mark(gray, boxes: Sequence[Box], i: int) -> float | None:
    import cv2
    import numpy as np

    left, top, _, bottom = (round(v) for v in boxes[i])
    height = bottom - top
    start = max(0, int(left - REACH_HEIGHTS * height))
    if height < 4 or left - start < SIZE_SHARE[0] * height or top < 0 or bottom > gray.shape[0]:
        return None
    strip = gray[top:bottom, start:left].astype(np.int16)
    ink = (np.abs(strip - np.median(strip)) > INK_CONTRAST).astype(np.uint8)
    for j, (o_left, o_top, o_right, o_bottom) in enumerate(boxes):
        if j != i:  # another line's words (a column to the left) are no bullet
            ink[
                max(0, int(o_top) - top) : max(0, int(o_bottom) - top),
                max(0, int(o_left) - start) : max(0, int(o_right) - start),
            ] = 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if count < 2:
        return None
    # The mark nearest the line's words; nothing else inked between it and them.
    nearest = max(range(1, count), key=lambda k: stats[k][cv2.CC_STAT_LEFT] + stats[k][cv2.CC_STAT_WIDTH])
    x, y, width, tall, area = (int(v) for v in stats[nearest][:5])
    low, high = (share * height for share in SIZE_SHARE)
    touches = x == 0 or y == 0 or y + tall == ink.shape[0]
    centre = y + tall / 2 - height / 2
    if touches or not (low <= width <= high and low <= tall <= high):
        return None
    if area < MIN_FILL * width * tall:
        hole = _hole(labels[y : y + tall, x : x + width] == nearest)
        if hole < MIN_HOLE * width * tall or area + hole < MIN_FILL * width * tall:
            return None
    if abs(centre) > CENTRE_SHARE * height:
        return None
    return float(start + x)


def _hole(mark) -> int:
    """How many pixels of a mark's box (a boolean array) its ink encloses: none for a stroke, the inside of a ring."""
    import cv2
    import numpy as np

    outside = np.pad(mark, 1).astype(np.uint8)
    cv2.floodFill(outside, None, (0, 0), 1)  # the ink is 1 already: the fill stops at it
    return int((outside == 0).sum())

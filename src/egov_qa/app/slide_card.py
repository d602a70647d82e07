"""A slide shown as a slide: its title, bullets at their levels, tables as tables,
speaker notes under it and page furniture set apart, the quote marked in place.

Every piece of deck text is escaped before any tag is put around it, so nothing
from a deck is ever rendered as HTML.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterator

from egov_qa.documents import Block, Slide

Range = tuple[int, int]
# Deeper bullet levels are drawn as the deepest one: a card is a few inches wide.
MAX_LEVEL = 4


def marked(text: str, start: int, end: int, quote: Range | None = None, span: Range | None = None) -> str:
    """``text[start:end]`` escaped, the part inside ``quote`` in ``<mark>`` and inside ``span`` in ``<b>``.

    ``span`` counts only inside ``quote`` (the key fact of the quoted words).
    """
    if span and not (quote and quote[0] <= span[0] <= span[1] <= quote[1]):
        span = None
    cuts = {start, end}
    for limits in (quote, span):
        if limits:
            cuts.update(min(max(c, start), end) for c in limits)
    points = sorted(cuts)
    parts = []
    in_quote = in_span = False
    for left, right in itertools.pairwise(points):
        want_quote = bool(quote and quote[0] <= left and right <= quote[1] and quote[0] < quote[1])
        want_span = bool(want_quote and span and span[0] <= left and right <= span[1] and span[0] < span[1])
        # Close inner before outer, open outer before inner: the tags always nest.
        if in_span and not want_span:
            parts.append("</b>")
        if in_quote and not want_quote:
            parts.append("</mark>")
        if want_quote and not in_quote:
            parts.append("<mark>")
        if want_span and not in_span:
            parts.append("<b>")
        in_quote, in_span = want_quote, want_span
        parts.append(html.escape(text[left:right]))
    if in_span:
        parts.append("</b>")
    if in_quote:
        parts.append("</mark>")
    return "".join(parts)


def _overlaps(block: Block, quote: Range | None) -> bool:
    return bool(quote and quote[0] < block.end and block.start < quote[1])


def _blocks(slide: Slide) -> tuple[Block, ...]:
    """The slide's blocks; a slide read without them gets one text block per line."""
    if slide.blocks:
        return slide.blocks
    blocks, offset = [], 0
    for line in slide.text.split("\n"):
        if line.strip():
            blocks.append(Block("text", offset, offset + len(line)))
        offset += len(line) + 1
    return tuple(blocks)


def _runs(blocks: list[Block]) -> Iterator[list[Block]]:
    """Consecutive blocks grouped: the rows of one table together, every other block alone."""
    run: list[Block] = []
    for block in blocks:
        if run and (block.kind != "row" or run[-1].kind != "row"):
            yield run
            run = []
        run.append(block)
    if run:
        yield run


def _columns(rows: list[Block]) -> tuple[int, list[str]]:
    """A table's columns: how many lead with no header (group and row labels), then the headers.

    Empty cells are not kept in a row, so a row's cells are placed by header; cells
    without one fill the leading columns from the right (a group label spans the
    rows below it, which leave its column empty).
    """
    leading = max(sum(1 for c in row.cells if not c.header) for row in rows)
    headers: list[str] = []
    for row in rows:
        seen: dict[str, int] = {}
        for cell in row.cells:
            if cell.header:
                seen[cell.header] = seen.get(cell.header, 0) + 1
                if sum(1 for h in headers if h == cell.header) < seen[cell.header]:
                    headers.append(cell.header)
    return leading, headers


def _table(slide: Slide, rows: list[Block], quote: Range | None, span: Range | None) -> str:
    leading, headers = _columns(rows)
    head = "".join("<th></th>" for _ in range(leading)) + "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = [""] * (leading + len(headers))
        plain = [c for c in row.cells if not c.header]
        for i, cell in enumerate(plain):
            cells[leading - len(plain) + i] = marked(slide.text, cell.start, cell.end, quote, span)
        taken: set[int] = set()
        for cell in row.cells:
            if cell.header:
                column = next(i for i, h in enumerate(headers) if h == cell.header and leading + i not in taken)
                taken.add(leading + column)
                cells[leading + column] = marked(slide.text, cell.start, cell.end, quote, span)
        if not row.cells:  # a row without cells is shown whole
            cells = [marked(slide.text, row.start, row.end, quote, span)]
        quoted = ' class="quoted"' if _overlaps(row, quote) else ""
        body.append(f"<tr{quoted}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    thead = f"<thead><tr>{head}</tr></thead>" if headers else ""
    return f'<table class="slide-table">{thead}<tbody>{"".join(body)}</tbody></table>'


def _line(slide: Slide, block: Block, quote: Range | None, span: Range | None) -> str:
    words = marked(slide.text, block.start, block.end, quote, span)
    if block.kind == "heading":
        return f'<div class="b-heading">{words}</div>'
    if block.kind == "bullet":
        level = min(max(block.level, 0), MAX_LEVEL)
        return f'<div class="b-bullet level-{level}">{words}</div>'
    if block.kind == "note":
        return f'<div class="b-note">※ {words}</div>'
    return f'<div class="b-text">{words}</div>'


def slide_card(slide: Slide, quote: Range | None = None, span: Range | None = None) -> str:
    """The slide as an HTML card, the quoted answer marked and its key span in bold.

    Args:
        slide: the slide to show.
        quote: the quoted answer's offsets in ``slide.text``, if this slide is cited.
        span: the key fact's offsets in ``slide.text`` (shown only inside ``quote``).

    Returns:
        HTML whose every piece of deck text is escaped.
    """
    blocks = list(_blocks(slide))
    title_html = html.escape(slide.label)
    # The heading that is the title is shown as the card's title, marked if quoted.
    first = next((b for b in blocks if b.kind == "heading"), None)
    if first is not None and slide.title and slide.text[first.start : first.end] == slide.title:
        blocks.remove(first)
        title_html = f"Slide {slide.number}: {marked(slide.text, first.start, first.end, quote, span)}"
    body, notes, furniture = [], [], []
    for run in _runs(blocks):
        block = run[0]
        if block.kind == "row":
            body.append(_table(slide, run, quote, span))
        elif block.kind == "notes":
            notes.append(f"<p>{marked(slide.text, block.start, block.end, quote, span)}</p>")
        elif block.kind == "furniture":
            furniture.append(f"<span>{marked(slide.text, block.start, block.end, quote, span)}</span>")
        else:
            body.append(_line(slide, block, quote, span))
    parts = [
        '<div class="slide-card">',
        f'<h3 class="slide-title">{title_html}</h3>',
        f'<div class="slide-body">{"".join(body)}</div>',
    ]
    if notes:
        parts.append(f'<div class="slide-notes"><div class="notes-label">Speaker notes</div>{"".join(notes)}</div>')
    if furniture:
        parts.append(f'<div class="slide-furniture">{" · ".join(furniture)}</div>')
    parts.append(f'<div class="slide-source">{html.escape(slide.source)}</div></div>')
    return "".join(parts)


CARD_CSS = """
.slide-card { border: 1px solid #d1d5db; border-radius: 8px; padding: 1rem 1.2rem; background: #fff; color: #111;
  box-shadow: 0 1px 3px rgba(0,0,0,.12); line-height: 1.45; font-size: 0.95rem; overflow-x: auto; }
.slide-card .slide-title { margin: 0 0 0.6rem 0; font-size: 1.15rem; color: #111; }
.slide-card .b-heading { font-weight: 600; margin: 0.5rem 0 0.2rem 0; }
.slide-card .b-text { margin: 0.25rem 0; }
.slide-card .b-note { margin: 0 0 0.3rem 1rem; font-size: 0.85rem; color: #4b5563; }
.slide-card .b-bullet { position: relative; margin: 0.15rem 0; padding-left: 1.1rem; }
.slide-card .b-bullet::before { content: "•"; position: absolute; left: 0.2rem; }
.slide-card .level-1 { margin-left: 1.2rem; } .slide-card .level-1::before { content: "–"; }
.slide-card .level-2 { margin-left: 2.4rem; } .slide-card .level-2::before { content: "◦"; }
.slide-card .level-3 { margin-left: 3.6rem; } .slide-card .level-4 { margin-left: 4.8rem; }
.slide-card .slide-table { border-collapse: collapse; width: 100%; margin: 0.4rem 0; font-size: 0.88rem; }
.slide-card .slide-table th, .slide-card .slide-table td { border: 1px solid #d1d5db; padding: 0.25rem 0.4rem;
  text-align: left; vertical-align: top; color: #111; }
.slide-card .slide-table th { background: #f3f4f6; }
.slide-card tr.quoted td { background: #fffbeb; }
.slide-card mark { background: #fde68a; color: #111; padding: 0 2px; }
.slide-card mark b { background: #f59e0b; color: #111; }
.slide-card .slide-notes { margin-top: 0.8rem; padding-top: 0.5rem; border-top: 1px dashed #d1d5db;
  font-size: 0.88rem; }
.slide-card .notes-label { font-weight: 600; color: #4b5563; }
.slide-card .slide-notes p { margin: 0.2rem 0; }
.slide-card .slide-furniture { margin-top: 0.6rem; font-size: 0.75rem; color: #9ca3af; }
.slide-card .slide-source { margin-top: 0.4rem; font-size: 0.75rem; color: #6b7280; }
"""

"""Tables in pictures: read across their rows, while columns of prose and diagrams are read box by box."""

from __future__ import annotations

from pdf_maker import Placed, write_pdf

from egov_qa.ingest.loader import DeckLoader
from egov_qa.ingest.ocr_tables import table_rows
from egov_qa.ingest.pdf import Line
from egov_qa.training.copies import image_only

TABLE = [
    ["Stage", "Owner", "Sprints", "Status"],
    ["Catalog", "Ana Ruiz", "1 to 21", "Done"],
    ["Profile", "Ben Okafor", "6 to 23", "Done"],
    ["Release", "Chen Li", "24 to 33", "Planned"],
]
COLUMNS = (60, 180, 320, 440)


def grid(cells: list[list[str]], step: float = 30, height: float = 14, width: float = 8) -> list[Line]:
    """Boxes as OCR finds a table's cells: one a cell, each row at its height, each column at its place."""
    return [
        Line(text, COLUMNS[c], COLUMNS[c] + width * len(text), 500 - step * r, 500 - step * r - height)
        for r, row in enumerate(cells)
        for c, text in enumerate(row)
    ]


def test_the_cells_of_a_grid_are_read_row_by_row():
    lines = grid(TABLE)
    rows = table_rows(lines)
    assert [[lines[i].text for i in row] for row in rows] == TABLE


def test_boxes_of_prose_side_by_side_are_no_table():
    # Three boxes of wrapped sentences: their lines line up, but each goes on in the line below it.
    prose = [
        ["Launch the new website", "Develop the first rules", "Improve the checks"],
        ["and the guides for", "and release them for", "and the guides as"],
        ["developers and reviewers.", "testing by vendors.", "the rules change."],
    ]
    assert table_rows(grid(prose)) == []
    # A diagram's boxes: a full row on top, thin rows under it.
    diagram = [["System A", "System B", "System C"], ["(SaaS)"], ["Provider"], ["Customer"]]
    assert table_rows(grid(diagram)) == []
    # A list laid out in columns.
    listed = [[f"• Item {r}{c}" for c in "abc"] for r in range(3)]
    assert table_rows(grid(listed)) == []


def test_a_line_under_a_table_across_its_columns_ends_it():
    lines = [*grid(TABLE), Line("Current sprint: 28 (see the project board for more)", 60, 460, 350, 336)]
    rows = table_rows(lines)
    assert len(rows) == len(TABLE)
    assert all(lines[-1].text not in [lines[i].text for i in row] for row in rows)


def test_a_scanned_table_is_read_across_its_rows(tmp_path):
    drawn = [Placed("Milestones", 60, 540, 24)]
    drawn += [Placed(text, COLUMNS[c], 470 - 34 * r, 16) for r, row in enumerate(TABLE) for c, text in enumerate(row)]
    scanned = image_only(write_pdf(tmp_path / "typed.pdf", [drawn]), tmp_path / "scanned.pdf")
    (slide,), warnings = DeckLoader().load_file(scanned, "scanned.pdf")
    assert warnings == []
    lines = slide.text.splitlines()
    for row in TABLE:
        assert " ".join(row) in lines

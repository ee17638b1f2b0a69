"""An administrative `Document` as an Excel workbook (openpyxl).

The first sheet, "Báo cáo", is the document as text (header, sections, signature block); then
one sheet per table, named by the table. Figures are numbers in their cells (a spreadsheet
adds them up): counts, durations in minutes with a number format ("#,##0.0", which a
Vietnamese Excel shows as 1.234,5), shares as percentages; right-aligned. Every sheet prints
on A4 portrait one page wide at a legible scale (the widths fit 16.5 cm), with the table's
header row repeated on every printed page.
"""

from __future__ import annotations

import math
from datetime import UTC
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from airtime.document import (
    MOTTO,
    NATION,
    Chart,
    Column,
    Document,
    Heading,
    Paragraph,
    Table,
    numbered,
    recipient_lines,
)

FONT = "Times New Roman"
SIZE = 12
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
UNITS_PER_CM = 4.6  # Excel column width units (characters of the default font) per cm
CHARS_PER_UNIT = 1.3  # Times New Roman 12 characters per width unit, roughly
LINE_PT = 16.0
# [$-42A]: the format's language is Vietnamese, so LibreOffice prints 1.234,5 whatever its
# own locale (Excel takes the separators from Windows, which in Vietnam write the same)
VI = "[$-42A]"
FORMATS = {"count": VI + "#,##0", "minutes": VI + "#,##0.0", "number": VI + "#,##0.0",
           "percent": VI + "0.0%", "duration": "[m]:ss"}  # fmt: skip
SECONDS_PER_DAY = 86400  # a spreadsheet's time value is a fraction of a day
REPORT_WIDTHS_CM = (1.4, 4.4, 2.4, 2.4, 2.4, 1.8, 1.7)  # the first sheet's columns: 16.5 cm


def _font(bold: bool = False, italic: bool = False, size: float = SIZE) -> Font:
    return Font(name=FONT, bold=bold, italic=italic, size=size)


def _lines(text: str, width_units: float) -> int:
    """How many lines `text` wraps to in a cell `width_units` wide (spreadsheets do not grow
    a row for wrapped text they did not lay out themselves)."""
    per_line = max(1, int(width_units * CHARS_PER_UNIT))
    return max(1, sum(math.ceil(max(1, len(part)) / per_line) for part in text.split("\n")))


def _print_setup(ws: Worksheet, title_rows: str | None = None) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_PORTRAIT
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left, ws.page_margins.right = 3.0 / 2.54, 1.5 / 2.54
    ws.page_margins.top = ws.page_margins.bottom = 2.0 / 2.54
    ws.oddFooter.center.text = "&P/&N"
    if title_rows:
        ws.print_title_rows = title_rows


def _report_sheet(ws: Worksheet, d: Document) -> None:
    ws.title = "Báo cáo"
    widths = [w * UNITS_PER_CM for w in REPORT_WIDTHS_CM]
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    last = len(widths)
    row = 1

    def put(text: str, first: int, span: int, *, bold: bool = False, italic: bool = False,
            align: str = "center", size: float = SIZE, wrap: bool = False) -> None:  # fmt: skip
        if span > 1:
            ws.merge_cells(start_row=row, start_column=first, end_row=row,
                           end_column=first + span - 1)  # fmt: skip
        cell = ws.cell(row, first, text)
        cell.font = _font(bold, italic, size)
        cell.alignment = Alignment(horizontal=align, vertical="top", wrap_text=wrap)
        if wrap:
            units = sum(widths[first - 1 : first - 1 + span])
            lines = _lines(text, units)
            height = ws.row_dimensions[row].height or LINE_PT
            ws.row_dimensions[row].height = max(height, LINE_PT * lines)

    lh = d.letterhead
    left = [(lh.parent.upper(), False)] if lh.parent else []
    left.append((lh.issuer.upper(), True))
    right = [(NATION, True), (MOTTO, True)]
    for i in range(max(len(left), len(right))):
        if i < len(left):
            put(left[i][0], 1, 3, bold=left[i][1], wrap=True)
        if i < len(right):
            put(right[i][0], 4, last - 3, bold=right[i][1])
        row += 1
    row += 1
    put(d.number, 1, 3)
    put(d.date_line, 4, last - 3, italic=True)
    row += 2
    put(d.kind, 1, last, bold=True, size=14)
    row += 1
    put(d.summary, 1, last, bold=True, wrap=True)
    row += 2
    for title, section in numbered(d.sections):
        put(title, 1, last, bold=True, align="left")
        row += 1
        for block in section.blocks:
            if isinstance(block, Heading):
                put(block.text, 1, last, bold=True, align="left")
            elif isinstance(block, Paragraph):
                put(block.text, 1, last, italic=block.italic, align="justify", wrap=True)
            elif isinstance(block, Table):
                put(f"{block.title}: xem trang tính «{block.sheet}».", 1, last,
                    italic=True, align="left", wrap=True)  # fmt: skip
            elif isinstance(block, Chart):
                continue  # the docx draws the charts; their figures are in the tables
            row += 1
        row += 1
    put("Nơi nhận:", 1, 3, bold=True, italic=True, align="left", size=12)
    lines = [*lh.authority, lh.title] if lh.title else list(lh.authority)
    start = row
    for text in lines:
        put(text.upper(), 4, last - 3, bold=True, size=13)
        row += 1
    row = start + 1
    for entry in recipient_lines(lh.recipients):
        put(entry, 1, 3, align="left", size=11)
        row += 1
    row = max(row, start + len(lines) + 5)
    if lh.signer:
        put(lh.signer, 4, last - 3, bold=True, size=13)
    _print_setup(ws)


def _value_cell(ws: Worksheet, row: int, col: int, value: Any, column: Column,
                bold: bool) -> None:  # fmt: skip
    if column.kind == "duration" and isinstance(value, int | float):
        value = value / SECONDS_PER_DAY
    cell = ws.cell(row, col, value)
    cell.font, cell.border = _font(bold), BOX
    if column.kind == "text" or isinstance(value, str) or value is None:
        cell.alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
    else:
        cell.number_format = FORMATS.get(column.kind, "General")
        if column.kind == "minutes" and column.decimals != 1:
            cell.number_format = VI + "#,##0." + "0" * column.decimals
        first = column.kind == "count" and col == 1  # TT: the row's number
        cell.alignment = Alignment(horizontal="center" if first else "right", vertical="top")


def _table_sheet(ws: Worksheet, t: Table, d: Document) -> None:
    widths = [c.width_cm * UNITS_PER_CM for c in t.columns]
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    n = len(t.columns)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
    ws.cell(1, 1, t.title).font = _font(bold=True)
    ws.cell(1, 1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[1].height = LINE_PT * _lines(t.title, sum(widths))
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n)
    subtitle = f"{d.letterhead.issuer}: {d.subject}"
    ws.cell(2, 1, subtitle).font = _font(italic=True, size=11)
    ws.cell(2, 1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[2].height = LINE_PT * _lines(subtitle, sum(widths))
    head = 4
    for c, column in enumerate(t.columns, 1):
        cell = ws.cell(head, c, column.header)
        cell.font, cell.border = _font(bold=True), BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.row_dimensions[head].height = LINE_PT * max(
        _lines(c.header, w) for c, w in zip(t.columns, widths, strict=True)
    )
    body = [(r, False) for r in t.rows] + ([(t.total, True)] if t.total is not None else [])
    row = head
    for values, bold in body:
        row += 1
        for c, (value, column) in enumerate(zip(values, t.columns, strict=True), 1):
            _value_cell(ws, row, c, value, column, bold)
        texts = [(str(v), w) for v, w in zip(values, widths, strict=True) if isinstance(v, str)]
        ws.row_dimensions[row].height = LINE_PT * max([_lines(v, w) for v, w in texts] or [1])
    if t.note:
        row += 2
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=n)
        ws.cell(row, 1, t.note).font = _font(italic=True, size=11)
        ws.cell(row, 1).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[row].height = LINE_PT * _lines(t.note, sum(widths))
    ws.freeze_panes = ws.cell(head + 1, 1)
    _print_setup(ws, f"{head}:{head}")


def document_xlsx(d: Document) -> bytes:
    wb = Workbook()
    first = wb.active
    assert first is not None
    _report_sheet(first, d)
    for table in d.tables():
        _table_sheet(wb.create_sheet((table.sheet or table.title)[:31]), table, d)
    wb.properties.creator = wb.properties.lastModifiedBy = d.author
    wb.properties.title = f"{d.kind} {d.summary}"
    wb.properties.subject = d.subject
    wb.properties.language = "vi-VN"
    created = d.created.astimezone(UTC).replace(tzinfo=None)
    wb.properties.created = wb.properties.modified = created
    out = BytesIO()
    wb.save(out)
    return out.getvalue()

"""The report as an Excel workbook (openpyxl): one sheet laid out as the administrative report.

Counts and seconds are numbers in their cells (a spreadsheet can add them up); the
minutes:seconds column is text, for reading.
"""

from __future__ import annotations

import math
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from airtime.export_text import (
    MOTTO,
    SUBTITLE,
    TITLE,
    date_line,
    heading,
    integrity_text,
    period_text,
    recipients,
    reliability_rows,
    special_rows,
    success_text,
)
from airtime.report import Report, mmss

HEADER = ("TT", "Chủ đề", "Số lượt phát", "Số tin/bài", "Thời lượng (phút:giây)", "Giây")
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
BOLD = Font(bold=True)


def report_xlsx(report: Report) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Báo cáo"
    for col, width in zip("ABCDEF", (5, 70, 14, 12, 22, 12), strict=True):
        ws.column_dimensions[col].width = width
    left, right = heading(report)
    ws["A1"], ws["D1"] = left, right
    ws["D2"], ws["D4"] = MOTTO, date_line(report)
    for ref in ("A1", "D1", "D2"):
        ws[ref].font = BOLD
    row = 6
    for text, bold in ((TITLE, True), (SUBTITLE, True), (period_text(report), False)):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
        ws.cell(row, 1, text).font = Font(bold=bold, size=14 if text == TITLE else 11)
        ws.cell(row, 1).alignment = Alignment(horizontal="center")
        row += 1

    def section(title: str) -> None:
        nonlocal row
        row += 1
        ws.cell(row, 1, title).font = BOLD
        row += 1

    def fit_row(at: int, text: str) -> None:
        """Spreadsheets do not grow a row for wrapped text they did not lay out themselves:
        give the row the lines `text` needs in column B (about 1.3 characters a width unit)."""
        lines = math.ceil(len(text) / (ws.column_dimensions["B"].width * 1.3))
        ws.row_dimensions[at].height = 15 * max(1, lines)

    def table(header: tuple[str, ...], lines: list[tuple[object, ...]]) -> None:
        nonlocal row
        for c, text in enumerate(header, 1):
            cell = ws.cell(row, c, text)
            cell.font, cell.border = BOLD, BOX
            cell.alignment = Alignment(wrap_text=True, horizontal="center")
        row += 1
        for values in lines:
            for c, value in enumerate(values, 1):
                cell = ws.cell(row, c, value)
                cell.border = BOX
                if c == 2:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            fit_row(row, str(values[1]))
            row += 1

    section("I. Kết quả tuyên truyền theo chủ đề (phát theo lịch)")
    lines: list[tuple[object, ...]] = [
        (i, t.name, t.plays, t.items, mmss(t.seconds), t.seconds)
        for i, t in enumerate(report.topics, 1)
    ]
    t = report.total
    lines.append(("", "Tổng cộng", t.plays, t.items, mmss(t.seconds), t.seconds))
    table(HEADER, lines)
    for c in range(1, 7):
        ws.cell(row - 1, c).font = BOLD

    section("II. Theo tháng (phát theo lịch, lượt phát trọn vẹn)")
    table(
        ("TT", "Tháng", "Số lượt phát", "", "Thời lượng (phút:giây)", "Giây"),
        [
            (i, m.key, m.plays, "", mmss(m.seconds), m.seconds)
            for i, m in enumerate(report.months, 1)
        ],
    )
    section("III. Phát đột xuất và khẩn cấp (tính riêng, không cộng vào mục I)")
    table(
        ("TT", "Loại", "Số lượt phát", "Số tin/bài", "Thời lượng (phút:giây)", "Giây"),
        [
            (i, label, plays, items, length, s.seconds)
            for i, ((label, plays, items, length), s) in enumerate(
                zip(special_rows(report), report.special, strict=True), 1
            )
        ],
    )
    section("IV. Độ tin cậy phát sóng (mọi loại phát)")
    table(
        ("TT", "Trạng thái", "Số lượt"),
        [(i, k, n) for i, (k, n) in enumerate(reliability_rows(report), 1)],
    )
    ws.cell(row, 2, success_text(report))
    row += 1
    section("V. Tính toàn vẹn của nhật ký phát sóng")
    ws.cell(row, 2, integrity_text(report)).alignment = Alignment(wrap_text=True)
    fit_row(row, integrity_text(report))
    row += 2
    for i, text in enumerate(recipients(report)):
        ws.cell(row + i, 2, text).font = Font(bold=i == 0, italic=i == 0)
    ws.cell(row, 5, "NGƯỜI BÁO CÁO").font = BOLD
    if report.signer:
        ws.cell(row + 4, 5, report.signer).font = BOLD
    # Printed on A4, one page wide (the report is often printed and stamped)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_PORTRAIT
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    out = BytesIO()
    wb.save(out)
    return out.getvalue()

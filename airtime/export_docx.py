# ruff: noqa: E501  (the chart part is an XML template, kept readable line by line)
"""The report as a Word document (python-docx), with a native bar chart of minutes per topic.

Why a native chart part and not a picture: python-docx cannot draw charts, and drawing an
image would need matplotlib (tens of MB on every station PC) for one figure. A DrawingML chart
is a small XML part (`word/charts/chart1.xml`) that Word and LibreOffice render themselves;
it stays sharp when printed, and its numbers remain data an inspector (and our tests) can
read back. The series carries its values in the chart's own cache (no embedded workbook).
"""

from __future__ import annotations

from io import BytesIO
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.shared import Cm, Pt
from docx.table import Table

from airtime.export_text import (
    MOTTO,
    NATION,
    SUBTITLE,
    TITLE,
    date_line,
    integrity_text,
    period_text,
    recipients,
    reliability_rows,
    special_rows,
    success_text,
    topic_rows,
)
from airtime.report import Report, mmss

CHART_TYPE = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WP_NS = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"


def chart_xml(labels: list[str], values: list[float], series: str) -> bytes:
    n = len(labels)
    cats = "".join(f'<c:pt idx="{i}"><c:v>{escape(t)}</c:v></c:pt>' for i, t in enumerate(labels))
    vals = "".join(f'<c:pt idx="{i}"><c:v>{v:.2f}</c:v></c:pt>' for i, v in enumerate(values))
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<c:chartSpace xmlns:c="{C_NS}" xmlns:a="{A_NS}" xmlns:r="{R_NS}">
<c:roundedCorners val="0"/>
<c:chart>
<c:autoTitleDeleted val="1"/>
<c:plotArea><c:layout/>
<c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/><c:varyColors val="0"/>
<c:ser><c:idx val="0"/><c:order val="0"/>
<c:tx><c:strRef><c:f>Sheet1!$B$1</c:f><c:strCache><c:ptCount val="1"/><c:pt idx="0"><c:v>{escape(series)}</c:v></c:pt></c:strCache></c:strRef></c:tx>
<c:spPr><a:solidFill><a:srgbClr val="C00000"/></a:solidFill></c:spPr>
<c:invertIfNegative val="0"/>
<c:dLbls><c:numFmt formatCode="0.0" sourceLinked="0"/><c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/><c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/></c:dLbls>
<c:cat><c:strRef><c:f>Sheet1!$A$2:$A${n + 1}</c:f><c:strCache><c:ptCount val="{n}"/>{cats}</c:strCache></c:strRef></c:cat>
<c:val><c:numRef><c:f>Sheet1!$B$2:$B${n + 1}</c:f><c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="{n}"/>{vals}</c:numCache></c:numRef></c:val>
</c:ser>
<c:gapWidth val="60"/>
<c:axId val="500000001"/><c:axId val="500000002"/>
</c:barChart>
<c:catAx><c:axId val="500000001"/><c:scaling><c:orientation val="maxMin"/></c:scaling><c:delete val="0"/><c:axPos val="l"/><c:numFmt formatCode="General" sourceLinked="0"/><c:tickLblPos val="nextTo"/><c:crossAx val="500000002"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>
<c:valAx><c:axId val="500000002"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="b"/><c:majorGridlines/><c:numFmt formatCode="General" sourceLinked="0"/><c:tickLblPos val="nextTo"/><c:crossAx val="500000001"/><c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx>
</c:plotArea>
<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/>
</c:chart>
</c:chartSpace>""".encode()


def _add_chart(doc: object, labels: list[str], minutes: list[float]) -> None:
    document_part = doc.part  # type: ignore[attr-defined]
    part = Part(
        PackURI("/word/charts/chart1.xml"),
        CHART_TYPE,
        chart_xml(labels, minutes, "Phút (minutes)"),
        document_part.package,
    )
    rid = document_part.relate_to(part, RT.CHART)
    height = Cm(max(6.0, 0.9 * len(labels) + 2))
    inline = parse_xml(
        f'<wp:inline xmlns:wp="{WP_NS}" xmlns:a="{A_NS}" xmlns:c="{C_NS}" xmlns:r="{R_NS}" '
        'distT="0" distB="0" distL="0" distR="0">'
        f'<wp:extent cx="{Cm(16)}" cy="{height}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
        '<wp:docPr id="1001" name="Biểu đồ thời lượng theo chủ đề"/><wp:cNvGraphicFramePr/>'
        f'<a:graphic><a:graphicData uri="{C_NS}"><c:chart r:id="{rid}"/></a:graphicData>'
        "</a:graphic></wp:inline>"
    )
    run = doc.add_paragraph().add_run()  # type: ignore[attr-defined]
    drawing = parse_xml(
        '<w:drawing xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>'
    )
    drawing.append(inline)
    run._r.append(drawing)


def _table(
    doc: object,
    header: tuple[str, ...],
    rows: list[tuple[object, ...]],
    widths_cm: tuple[float, ...],
    wide: int = 0,
) -> Table:
    """A ruled table with fixed column widths (Word and LibreOffice both keep them); every
    column but `wide` (the text column) holds figures and is right-aligned."""
    table = doc.add_table(rows=1, cols=len(header))  # type: ignore[attr-defined]
    table.style = "Table Grid"
    table.autofit = False
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for values in rows:
        cells = table.add_row().cells
        for i, (cell, value) in enumerate(zip(cells, values, strict=True)):
            cell.text = str(value)
            if i != wide:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)  # the grid: what LibreOffice lays out by
        for cell in column.cells:
            cell.width = Cm(width)  # each cell: what Word lays out by
    return table


def _centered(doc: object, text: str, bold: bool = False, size: int = 13) -> None:
    p = doc.add_paragraph()  # type: ignore[attr-defined]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(text)
    run.bold, run.font.size = bold, Pt(size)


def report_docx(report: Report) -> bytes:
    doc = Document()
    # A4, margins of an administrative document (Nghị định 30/2020/NĐ-CP): 16 cm of text
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin, section.right_margin = Cm(3.0), Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = "Times New Roman", Pt(13)  # type: ignore[attr-defined]
    head = doc.add_table(rows=2, cols=2)
    head.cell(0, 0).text = report.station_name.upper()
    head.cell(0, 1).text = NATION
    head.cell(1, 1).text = MOTTO
    for cell in (head.cell(0, 0), head.cell(0, 1), head.cell(1, 1)):
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        cell.paragraphs[0].runs[0].bold = True
    p = doc.add_paragraph(date_line(report))
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p.runs[0].italic = True
    _centered(doc, TITLE, bold=True, size=15)
    _centered(doc, SUBTITLE, bold=True)
    _centered(doc, period_text(report))

    doc.add_paragraph().add_run("I. Kết quả tuyên truyền theo chủ đề (phát theo lịch)").bold = True
    _table(doc, ("TT", "Chủ đề", "Số lượt phát", "Số tin/bài", "Thời lượng (phút:giây)"),
           list(topic_rows(report)), (1.2, 7.6, 2.2, 2.3, 2.7), wide=1)  # fmt: skip
    doc.add_paragraph("Biểu đồ: thời lượng phát theo chủ đề (phút)")
    labels = [f"{i}. {t.key}" for i, t in enumerate(report.topics, 1)]
    _add_chart(doc, labels, [t.seconds / 60 for t in report.topics])

    doc.add_paragraph().add_run("II. Theo tháng (phát theo lịch, lượt phát trọn vẹn)").bold = True
    _table(doc, ("Tháng", "Số lượt phát", "Thời lượng (phút:giây)"),
           [(m.key, m.plays, mmss(m.seconds)) for m in report.months],
           (5.0, 5.0, 6.0))  # fmt: skip
    doc.add_paragraph().add_run(
        "III. Phát đột xuất và khẩn cấp (tính riêng, không cộng vào mục I)"
    ).bold = True
    _table(doc, ("Loại", "Số lượt phát", "Số tin/bài", "Thời lượng (phút:giây)"),
           list(special_rows(report)), (6.4, 3.0, 3.0, 3.6))  # fmt: skip
    doc.add_paragraph().add_run("IV. Độ tin cậy phát sóng (mọi loại phát)").bold = True
    _table(doc, ("Trạng thái", "Số lượt"), list(reliability_rows(report)), (12.0, 4.0))
    doc.add_paragraph(success_text(report))
    doc.add_paragraph().add_run("V. Tính toàn vẹn của nhật ký phát sóng").bold = True
    doc.add_paragraph(integrity_text(report))

    foot = doc.add_table(rows=1, cols=2)
    left, right = foot.cell(0, 0), foot.cell(0, 1)
    lines = recipients(report)
    left.paragraphs[0].add_run(lines[0]).bold = True
    for line in lines[1:]:
        left.add_paragraph(line)
    right.paragraphs[0].add_run("NGƯỜI BÁO CÁO").bold = True
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for _ in range(3):
        right.add_paragraph("")
    signer = right.add_paragraph()
    signer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    signer.add_run(report.signer).bold = True
    out = BytesIO()
    doc.save(out)
    return out.getvalue()

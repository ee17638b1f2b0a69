# ruff: noqa: E501  (the chart part is an XML template, kept readable line by line)
"""An administrative `Document` as a Word file (python-docx), laid out by Nghị định
30/2020/NĐ-CP, Phụ lục I: A4; margins top and bottom 20 mm, left 30 mm, right 15 mm; Times New
Roman; the header's two columns (parent body and issuing body with its rule | Quốc hiệu, Tiêu
ngữ with its rule, the place and date in italics); "BÁO CÁO" and its summary line; page
numbers centred at the top from page 2; the signature block beside "Nơi nhận".

Tables print as an official reads them: the header row repeats on every page and is kept with
the first rows (never alone at a page's foot), a row never splits across pages, figures are
right-aligned with decimal commas.

Charts are native DrawingML chart parts (`word/charts/chartN.xml`), not pictures: python-docx
cannot draw charts, and a picture would need matplotlib on every station PC for one figure.
Word and LibreOffice render the part themselves, it prints sharp, and its numbers stay data
an inspector (and our tests) can read back. Values live in the chart's own cache.
"""

from __future__ import annotations

from datetime import UTC
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from docx import Document as new_docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph as DocxParagraph

from airtime.document import (
    MOTTO,
    NATION,
    Chart,
    Document,
    Heading,
    Paragraph,
    Table,
    cell_text,
    numbered,
    recipient_lines,
    vn_number,
)

FONT = "Times New Roman"
BODY_PT = 14
TABLE_PT = 12
TEXT_CM = 16.5  # 21 cm - left 3 cm - right 1.5 cm
LEFT_CM, RIGHT_CM = 6.2, 10.3  # the header's and the signature block's columns
MOTTO_RULE_CM = 5.6
CHART_MAX_CM = 23.0  # the text height of A4 less the caption  # the length of "Độc lập - Tự do - Hạnh phúc" in bold 13 pt (measured)
CHART_TYPE = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WP_NS = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def chart_xml(labels: list[str], values: list[float], series: str) -> bytes:
    """A bar chart part. Each bar's label is its own text ("395,9"): a number format would
    print the decimal separator of the reader's locale, and the report writes commas."""
    n = len(labels)
    flags = '<c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/><c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/>'
    own = "".join(
        f'<c:dLbl><c:idx val="{i}"/><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="vi-VN" sz="1000"/><a:t>{vn_number(v, 1)}</a:t></a:r></a:p></c:rich></c:tx>{flags}</c:dLbl>'
        for i, v in enumerate(values)
    )
    cats = "".join(f'<c:pt idx="{i}"><c:v>{escape(t)}</c:v></c:pt>' for i, t in enumerate(labels))
    vals = "".join(f'<c:pt idx="{i}"><c:v>{v:.2f}</c:v></c:pt>' for i, v in enumerate(values))
    text = f'<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="1000"><a:latin typeface="{FONT}"/><a:cs typeface="{FONT}"/></a:defRPr></a:pPr><a:endParaRPr lang="vi-VN"/></a:p></c:txPr>'
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<c:chartSpace xmlns:c="{C_NS}" xmlns:a="{A_NS}" xmlns:r="{R_NS}">
<c:lang val="vi-VN"/>
<c:roundedCorners val="0"/>
<c:chart>
<c:autoTitleDeleted val="1"/>
<c:plotArea><c:layout/>
<c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/><c:varyColors val="0"/>
<c:ser><c:idx val="0"/><c:order val="0"/>
<c:tx><c:strRef><c:f>Sheet1!$B$1</c:f><c:strCache><c:ptCount val="1"/><c:pt idx="0"><c:v>{escape(series)}</c:v></c:pt></c:strCache></c:strRef></c:tx>
<c:spPr><a:solidFill><a:srgbClr val="1F4E79"/></a:solidFill></c:spPr>
<c:invertIfNegative val="0"/>
<c:dLbls>{own}<c:numFmt formatCode="#,##0.0" sourceLinked="0"/>{text}{flags}</c:dLbls>
<c:cat><c:strRef><c:f>Sheet1!$A$2:$A${n + 1}</c:f><c:strCache><c:ptCount val="{n}"/>{cats}</c:strCache></c:strRef></c:cat>
<c:val><c:numRef><c:f>Sheet1!$B$2:$B${n + 1}</c:f><c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="{n}"/>{vals}</c:numCache></c:numRef></c:val>
</c:ser>
<c:gapWidth val="50"/>
<c:axId val="500000001"/><c:axId val="500000002"/>
</c:barChart>
<c:catAx><c:axId val="500000001"/><c:scaling><c:orientation val="maxMin"/></c:scaling><c:delete val="0"/><c:axPos val="l"/><c:numFmt formatCode="General" sourceLinked="0"/><c:tickLblPos val="nextTo"/>{text}<c:crossAx val="500000002"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>
<c:valAx><c:axId val="500000002"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="b"/><c:majorGridlines/><c:numFmt formatCode="0" sourceLinked="0"/><c:tickLblPos val="nextTo"/>{text}<c:crossAx val="500000001"/><c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx>
</c:plotArea>
<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/>
</c:chart>
</c:chartSpace>""".encode()


def _add_chart(doc: Any, chart: Chart, number: int) -> None:
    document_part = doc.part
    part = Part(
        PackURI(f"/word/charts/chart{number}.xml"),
        CHART_TYPE,
        chart_xml(chart.labels, chart.values, chart.unit),
        document_part.package,
    )
    rid = document_part.relate_to(part, RT.CHART)
    # a bar a centimetre high, the whole chart within a page (a district of many communes)
    height = Cm(min(CHART_MAX_CM, max(6.0, 1.0 * len(chart.labels) + 2)))
    inline = parse_xml(
        f'<wp:inline xmlns:wp="{WP_NS}" xmlns:a="{A_NS}" xmlns:c="{C_NS}" xmlns:r="{R_NS}" '
        'distT="0" distB="0" distL="0" distR="0">'
        f'<wp:extent cx="{Cm(TEXT_CM)}" cy="{height}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
        f'<wp:docPr id="{1000 + number}" name="{escape(chart.title)}"/><wp:cNvGraphicFramePr/>'
        f'<a:graphic><a:graphicData uri="{C_NS}"><c:chart r:id="{rid}"/></a:graphicData>'
        "</a:graphic></wp:inline>"
    )
    caption = _body(doc, chart.title, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    caption.runs[0].italic = True
    caption.paragraph_format.keep_with_next = True
    run = doc.add_paragraph().add_run()
    drawing = parse_xml(f'<w:drawing xmlns:w="{W_NS}"/>')
    drawing.append(inline)
    run._r.append(drawing)


# ---------------------------------------------------------------- paragraphs


def _fonts(rpr_owner: Any) -> None:
    """Times New Roman for every script (Vietnamese letters come from hAnsi and cs too)."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


def _run(p: DocxParagraph, text: str, *, bold: bool = False, italic: bool = False,
         size: float | None = None) -> None:  # fmt: skip
    run = p.add_run(text)
    run.bold, run.italic = bold or None, italic or None
    if size is not None:
        run.font.size = Pt(size)


def _line(container: Any, text: str, *, bold: bool = False, italic: bool = False,
          size: float = 13, align: Any = WD_ALIGN_PARAGRAPH.CENTER, first: bool = False) -> DocxParagraph:  # fmt: skip
    """One line of the header or the signature block (no indent, no spacing)."""
    p = container.paragraphs[0] if first else container.add_paragraph()
    p.alignment = align
    fmt = p.paragraph_format
    fmt.first_line_indent, fmt.space_before, fmt.space_after = Cm(0), Pt(0), Pt(0)
    if text:
        _run(p, text, bold=bold, italic=italic, size=size)
    return p


def _rule(container: Any, width_cm: float, column_cm: float) -> None:
    """A short solid rule, centred in its column: the top border of an empty 2 pt paragraph
    whose indents leave `width_cm` between them (Word and LibreOffice both draw it so)."""
    p = _line(container, "")
    side = Cm(max(0.0, (column_cm - 0.38 - width_cm) / 2))  # 0.19 cm cell margin each side
    p.paragraph_format.left_indent = p.paragraph_format.right_indent = side
    p.paragraph_format.line_spacing = Pt(2)
    border = parse_xml(
        f'<w:pBdr xmlns:w="{W_NS}"><w:top w:val="single" w:sz="6" w:space="0" w:color="000000"/></w:pBdr>'
    )
    p._p.get_or_add_pPr().insert_element_before(
        border, "w:shd", "w:tabs", "w:spacing", "w:ind", "w:jc", "w:rPr", "w:sectPr"
    )


def _body(doc: Any, text: str, *, indent: bool = True, align: Any = WD_ALIGN_PARAGRAPH.JUSTIFY,
          bold: bool = False, italic: bool = False) -> DocxParagraph:  # fmt: skip
    """A paragraph of the body: justified, first line indented 1 cm, 6 pt after."""
    p = doc.add_paragraph()
    p.alignment = align
    fmt = p.paragraph_format
    fmt.first_line_indent = Cm(1.0) if indent else Cm(0)
    fmt.space_before, fmt.space_after = Pt(0), Pt(6)
    _run(p, text, bold=bold, italic=italic)
    return p


def _no_borders(table: Any) -> None:
    tbl_pr = table._tbl.tblPr
    borders = parse_xml(
        f'<w:tblBorders xmlns:w="{W_NS}">'
        + "".join(
            f'<w:{side} w:val="nil"/>'
            for side in ("top", "left", "bottom", "right", "insideH", "insideV")
        )
        + "</w:tblBorders>"
    )
    tbl_pr.insert_element_before(borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook")


def _widths(table: Any, widths_cm: tuple[float, ...] | list[float]) -> None:
    table.autofit = False
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)  # the grid: what LibreOffice lays out by
        for cell in column.cells:
            cell.width = Cm(width)  # each cell: what Word lays out by


# ---------------------------------------------------------------- the parts of the document


def _header(doc: Any, d: Document) -> None:
    head = doc.add_table(rows=2, cols=2)
    _no_borders(head)
    _widths(head, (LEFT_CM, RIGHT_CM))
    left, right = head.cell(0, 0), head.cell(0, 1)
    lh = d.letterhead
    issuer = lh.issuer.upper()
    if lh.parent:
        _line(left, lh.parent.upper(), size=13, first=True)
        _line(left, issuer, bold=True, size=13)
    else:
        _line(left, issuer, bold=True, size=13, first=True)
    # the issuing body's rule: a third to a half of its line (decree), 1.6 cm at least
    line_cm = min(0.3 * len(issuer), LEFT_CM - 0.4)  # bold capitals, 13 pt: ~0.3 cm each
    _rule(left, max(1.6, 0.4 * line_cm), LEFT_CM)
    _line(right, NATION, bold=True, size=12.5, first=True)
    _line(right, MOTTO, bold=True, size=13)
    _rule(right, MOTTO_RULE_CM, RIGHT_CM)
    _line(head.cell(1, 0), d.number, size=13, first=True)
    _line(head.cell(1, 1), d.date_line, italic=True, size=14, first=True)
    for cell in (head.cell(1, 0), head.cell(1, 1)):
        cell.paragraphs[0].paragraph_format.space_before = Pt(6)
    title = _body(doc, d.kind, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    title.paragraph_format.space_before = Pt(18)
    title.paragraph_format.space_after = Pt(0)
    title.paragraph_format.keep_with_next = True
    summary = _body(doc, d.summary, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    summary.paragraph_format.space_after = Pt(12)
    summary.paragraph_format.keep_with_next = True


def _row_props(row: Any, *, header: bool) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))
    if header:
        tr_pr.append(OxmlElement("w:tblHeader"))


def _cell(cell: Any, text: str, *, bold: bool = False, align: Any = WD_ALIGN_PARAGRAPH.LEFT,
          keep: bool = False) -> None:  # fmt: skip
    p = cell.paragraphs[0]
    p.alignment = align
    fmt = p.paragraph_format
    fmt.first_line_indent, fmt.space_before, fmt.space_after = Cm(0), Pt(1), Pt(1)
    fmt.keep_with_next = keep or None
    _run(p, text, bold=bold, size=TABLE_PT)


def _table(doc: Any, t: Table) -> None:
    caption = _body(doc, t.title, indent=False, bold=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    caption.paragraph_format.keep_with_next = True
    caption.paragraph_format.space_before = Pt(6)
    table = doc.add_table(rows=1, cols=len(t.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = table.rows[0]
    _row_props(header, header=True)
    for cell, column in zip(header.cells, t.columns, strict=True):
        _cell(cell, column.header, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, keep=True)
    body = [(r, False) for r in t.rows] + ([(t.total, True)] if t.total is not None else [])
    for i, (values, bold) in enumerate(body):
        row = table.add_row()
        _row_props(row, header=False)
        # (the header keeps with the first row;) the last two rows stay together
        keep = i == len(body) - 2
        for cell, value, column in zip(row.cells, values, t.columns, strict=True):
            text = cell_text(value, column)
            figure = column.kind != "text" and not isinstance(value, str)
            align = WD_ALIGN_PARAGRAPH.RIGHT if figure else WD_ALIGN_PARAGRAPH.LEFT
            if column.kind == "count" and column is t.columns[0]:
                align = WD_ALIGN_PARAGRAPH.CENTER
            _cell(cell, text, bold=bold, align=align, keep=keep and i < len(body) - 1)
    _widths(table, [c.width_cm for c in t.columns])
    if t.note:
        note = _body(doc, t.note, indent=False, italic=True)
        note.paragraph_format.space_before = Pt(3)
        for run in note.runs:
            run.font.size = Pt(TABLE_PT)
    else:
        doc.add_paragraph().paragraph_format.space_after = Pt(0)


def _signature(doc: Any, d: Document) -> None:
    lh = d.letterhead
    doc.add_paragraph().paragraph_format.keep_with_next = True
    foot = doc.add_table(rows=1, cols=2)
    _no_borders(foot)
    _widths(foot, (LEFT_CM + 1.0, RIGHT_CM - 1.0))
    _row_props(foot.rows[0], header=False)  # the block never splits across two pages
    left, right = foot.cell(0, 0), foot.cell(0, 1)
    _line(
        left,
        "Nơi nhận:",
        bold=True,
        italic=True,
        size=12,
        align=WD_ALIGN_PARAGRAPH.LEFT,
        first=True,
    )
    for entry in recipient_lines(lh.recipients):
        _line(left, entry, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    lines = [*lh.authority, lh.title] if lh.title else list(lh.authority)
    for i, text in enumerate(lines or [""]):
        _line(right, text.upper(), bold=True, size=14, first=i == 0)
    for _ in range(5):  # room for the signature and the seal
        _line(right, "", size=14)
    if lh.signer:
        _line(right, lh.signer, bold=True, size=14)


def _page_numbers(doc: Any) -> None:
    """A PAGE field centred in the top margin, from page 2 (the first page has its own, empty
    header)."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    section.header_distance = Cm(1.0)
    p = section.header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run()
    run.font.size = Pt(13)
    for kind, text in (
        ("begin", None),
        (None, " PAGE "),
        ("separate", None),
        (None, "2"),
        ("end", None),
    ):
        if kind is not None:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == " PAGE ":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)


def document_docx(d: Document) -> bytes:
    doc = new_docx()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    section.left_margin, section.right_margin = Cm(3.0), Cm(1.5)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(BODY_PT)  # type: ignore[attr-defined]
    _fonts(normal.element)
    normal.paragraph_format.space_after = Pt(0)  # type: ignore[attr-defined]
    normal.paragraph_format.line_spacing = 1.0  # type: ignore[attr-defined]
    props = doc.core_properties
    props.author = props.last_modified_by = d.author
    props.title = f"{d.kind} {d.summary}"
    props.subject = d.subject
    props.language = "vi-VN"
    created = d.created.astimezone(UTC).replace(tzinfo=None)
    props.created = props.modified = created
    props.revision = 1
    _page_numbers(doc)
    _header(doc, d)
    charts = 0
    for title, sec in numbered(d.sections):
        head = _body(doc, title, indent=True, bold=True)
        head.paragraph_format.keep_with_next = True
        head.paragraph_format.space_before = Pt(6)
        for block in sec.blocks:
            if isinstance(block, Heading):
                p = _body(doc, block.text, bold=True)
                p.paragraph_format.keep_with_next = True
            elif isinstance(block, Paragraph):
                _body(doc, block.text, italic=block.italic)
            elif isinstance(block, Table):
                _table(doc, block)
            elif isinstance(block, Chart):
                charts += 1
                _add_chart(doc, block, charts)
    _signature(doc, d)
    out = BytesIO()
    doc.save(out)
    return out.getvalue()

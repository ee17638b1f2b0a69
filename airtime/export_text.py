"""Plain text, 80 columns: an administrative `Document` (the report) and the log as a table.

The document keeps its layout in text: the two-column header, the centred kind and summary,
numbered sections, tables with figures right-aligned and decimal commas, the signature block
beside "Nơi nhận".
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from zoneinfo import ZoneInfo

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
from airtime.report import mmss

WIDTH = 80
LEFT = 34  # the header's and the signature block's left column


def _two_columns(left: str, right: str) -> str:
    return (left.center(LEFT) + right.center(WIDTH - LEFT)).rstrip()


def _paragraph(text: str, indent: int = 4) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=" " * indent) or [""]


def _table(t: Table) -> list[str]:
    """Columns sized in proportion to their print widths; text columns wrap."""
    total_cm = sum(c.width_cm for c in t.columns)
    room = WIDTH - (len(t.columns) - 1)
    widths = [max(len(c.header.split()[0]) if c.header else 1, int(room * c.width_cm / total_cm))
              for c in t.columns]  # fmt: skip
    widths[-1] += room - sum(widths)

    def render(values: list[str], right: list[bool]) -> list[str]:
        cells = [textwrap.wrap(v, w) or [""] for v, w in zip(values, widths, strict=True)]
        out = []
        for i in range(max(len(c) for c in cells)):
            parts = []
            for c, w, r in zip(cells, widths, right, strict=True):
                piece = c[i] if i < len(c) else ""
                parts.append(piece.rjust(w) if r else piece.ljust(w))
            out.append(" ".join(parts).rstrip())
        return out

    out = [t.title]
    out += render([c.header for c in t.columns], [c.kind != "text" for c in t.columns])
    out.append(" ".join("-" * w for w in widths))
    body = [*t.rows, *([t.total] if t.total is not None else [])]
    for n, values in enumerate(body):
        if t.total is not None and n == len(body) - 1:
            out.append(" ".join("-" * w for w in widths))
        texts = [cell_text(v, c) for v, c in zip(values, t.columns, strict=True)]
        right = [c.kind != "text" and not isinstance(v, str)
                 for v, c in zip(values, t.columns, strict=True)]  # fmt: skip
        out += render(texts, right)
    if t.note:
        out += textwrap.wrap(t.note, WIDTH)
    return out


def _chart(c: Chart) -> list[str]:
    """A bar per label, in characters."""
    top = max(c.values, default=0.0) or 1.0
    label_w, figure_w = 34, 9
    bar_w = WIDTH - label_w - figure_w - 2
    out = [f"{c.title}:"]
    for label, value in zip(c.labels, c.values, strict=True):
        bar = "#" * round(bar_w * value / top)
        short = label if len(label) <= label_w else label[: label_w - 1] + "…"
        out.append(f"{short:<{label_w}} {bar:<{bar_w}} {vn_number(value, 1):>{figure_w}}".rstrip())
    return out


def document_text(d: Document) -> str:
    lh = d.letterhead
    left = ([lh.parent.upper()] if lh.parent else []) + textwrap.wrap(lh.issuer.upper(), LEFT)
    right = [NATION, MOTTO]
    out = [
        _two_columns(left[i] if i < len(left) else "", right[i] if i < len(right) else "")
        for i in range(max(len(left), len(right)))
    ]
    out.append(_two_columns("-" * 8, "-" * len(MOTTO)))
    out.append(_two_columns(d.number, d.date_line))
    out += ["", d.kind.center(WIDTH).rstrip()]
    out += [line.center(WIDTH).rstrip() for line in textwrap.wrap(d.summary, WIDTH - 8)]
    for title, section in numbered(d.sections):
        out += ["", title.upper()]
        for block in section.blocks:
            if isinstance(block, Heading):
                out += ["", block.text]
            elif isinstance(block, Paragraph):
                out += _paragraph(block.text)
            elif isinstance(block, Table):
                out += ["", *_table(block)]
            elif isinstance(block, Chart):
                out += ["", *_chart(block)]
    out.append("")
    sign_left = ["Nơi nhận:"]
    for entry in recipient_lines(lh.recipients):
        sign_left += textwrap.wrap(entry, LEFT - 1, subsequent_indent="  ")
    sign_right = [*(a.upper() for a in lh.authority), lh.title.upper(), "", "", "", lh.signer]
    for i in range(max(len(sign_left), len(sign_right))):
        lhs = sign_left[i] if i < len(sign_left) else ""
        rhs = sign_right[i] if i < len(sign_right) else ""
        out.append(f"{lhs:<{LEFT}}{rhs:^{WIDTH - LEFT}}".rstrip())
    return "\n".join(line.rstrip() for line in out) + "\n"


# ---------------------------------------------------------------- the log as a table

_LOG_COLUMNS = (
    ("Bắt đầu", 19),
    ("Buổi", 6),
    ("Chủ đề", 14),
    ("Tin/bài", 19),
    ("Dài", 6),
    ("TT", 9),
)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def fixed_table(
    columns: Sequence[tuple[str, int, str]],
    rows: Iterable[Sequence[object]],
    *,
    rule: bool = True,
    cut: bool = True,
) -> Iterator[str]:
    """The one text table of loa's terminal output: `columns` are (header, width, "<" or
    ">"); a header line, a rule of dashes (`rule`), a line a row; a cell longer than its
    column is cut with "…" (`cut`) or pushes the rest right."""

    def line(cells: Sequence[object]) -> str:
        parts = []
        for cell, (_, width, align) in zip(cells, columns, strict=True):
            text = str(cell)
            if cut:
                text = _cut(text, width)
            parts.append(text.rjust(width) if align == ">" else text.ljust(width))
        return " ".join(parts).rstrip()

    yield line([header for header, _, _ in columns])
    if rule:
        yield " ".join("-" * width for _, width, _ in columns)
    for row in rows:
        yield line(row)


def log_table(rows: Iterable[Any], tz: ZoneInfo) -> Iterator[str]:
    """The log, one line per row, 80 columns wide."""
    yield from fixed_table([(name, w, "<") for name, w in _LOG_COLUMNS], _log_cells(rows, tz))


def _log_cells(rows: Iterable[Any], tz: ZoneInfo) -> Iterator[tuple[str, ...]]:
    for row in rows:
        at = row.started_at or row.scheduled_at
        when = at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if at else ""
        slot = row.slot or ("khẩn" if row.kind == "emergency" else "đ.xuất")
        topic = row.topic or (f"tiếp sóng {row.spot}" if row.kind == "relay" else "-")
        yield (when, slot, topic, row.title or row.path, mmss(row.played_s), row.status)

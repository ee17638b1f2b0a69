"""CSV for Excel: UTF-8 with a byte-order mark, so Vietnamese text opens correctly."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from airtime.export_json import LOG_KEYS, log_entry
from airtime.export_text import integrity_text, period_text
from airtime.report import Report, mmss

BOM = "\ufeff"


def log_csv(rows: Iterable[Any], tz: ZoneInfo) -> Iterable[str]:
    """The log as CSV text chunks (header first, BOM at the very start)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(LOG_KEYS)
    yield BOM + buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        entry = log_entry(row, tz)
        writer.writerow(["" if entry[k] is None else entry[k] for k in LOG_KEYS])
        yield buf.getvalue()


def report_csv(report: Report) -> str:
    """The per-topic table with its total row, then (after an empty row) the period and
    whether the log verified: every form of the report states it."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(
        ["Mã chủ đề", "Chủ đề", "Số lượt phát", "Số tin/bài", "Thời lượng (phút:giây)", "Giây"]
    )
    for line in [*report.topics, report.total]:
        writer.writerow(
            [line.key, line.name, line.plays, line.items, mmss(line.seconds), line.seconds]
        )
    writer.writerow([])
    writer.writerow(["Kỳ báo cáo", period_text(report)])
    writer.writerow(["Toàn vẹn nhật ký", integrity_text(report)])
    return BOM + buf.getvalue()

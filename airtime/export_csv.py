"""CSV for Excel: UTF-8 with a byte-order mark, so Vietnamese text opens correctly."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from airtime.export_json import LOG_KEYS, log_entry
from airtime.report import Line, Report
from airtime.station_document import integrity_text

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


REPORT_HEADER = (
    "Mã đài", "Từ ngày", "Đến ngày", "Dòng", "Mã chủ đề", "Tên", "Lượt phát", "Số tin, bài",
    "Thời lượng (phút)", "Giây", "Tỉ lệ thời lượng", "Tỉ trọng kế hoạch", "Nhật ký toàn vẹn",
)  # fmt: skip
SPECIAL_NAMES = {"adhoc": "Phát đột xuất", "emergency": "Phát khẩn cấp"}


def report_csv(report: Report) -> str:
    """The report's figures as one flat table a spreadsheet (or a district) can stack: one
    row per topic, then `total`, `adhoc`, `emergency` and `combined`; the station and the
    period on every row; durations as a number of minutes (and seconds), never "100:59",
    which a spreadsheet reads as 100 hours. Numbers are written with a decimal point."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(REPORT_HEADER)
    v = report.verification
    # "yes", or on every row the warning that says which row broke the chain
    verified = "" if v is None else ("yes" if v.ok else integrity_text(v))
    lead = [report.station_id, report.period.start.isoformat(), report.period.end.isoformat()]

    def line(row: str, topic: str, item: Line, share: object = "", weight: object = "") -> None:
        writer.writerow([*lead, row, topic, item.name, item.plays, item.items,
                         round(item.seconds / 60, 2), round(item.seconds, 3), share, weight,
                         verified])  # fmt: skip

    for t in report.topics:
        weight = round(report.weight_share(t.key), 4) if t.key in report.weights else ""
        line("topic", t.key, t, round(report.share(t), 4), weight)
    line("total", "", report.total, 1 if report.total.seconds else 0, 1 if report.weights else "")
    for special in report.special:
        line(special.key, "", replace(special, name=SPECIAL_NAMES[special.key]))
    adhoc, emergency = report.special
    combined = Line("combined", "Tổng cộng (theo lịch, đột xuất, khẩn cấp)",
                    report.total.plays + adhoc.plays + emergency.plays,
                    report.total.items + adhoc.items + emergency.items,
                    report.combined_seconds)  # fmt: skip
    line("combined", "", combined)
    return BOM + buf.getvalue()

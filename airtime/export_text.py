"""Plain text: the log table (fits 80 columns) and the administrative report in Vietnamese.

The report's wording lives here (`heading`, `integrity_text`, `STATUS_VI`...) and the xlsx and
docx exports reuse it, so the three forms say the same thing.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from airtime.report import Line, Report, mmss

WIDTH = 80
TITLE = "BÁO CÁO"
SUBTITLE = "Kết quả tuyên truyền cải cách hành chính"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
TOPIC_HEADER = ("TT", "Chủ đề", "Số lượt phát", "Số tin/bài", "Thời lượng (phút:giây)")
MONTH_HEADER = ("Tháng", "Số lượt phát", "Thời lượng (phút:giây)")
KIND_VI = {"adhoc": "Phát đột xuất (ad hoc)", "emergency": "Phát khẩn cấp (emergency)"}
STATUS_VI = {
    "completed": "Phát trọn vẹn (completed)",
    "interrupted": "Bị ngắt giữa chừng (interrupted)",
    "failed": "Lỗi, không phát được (failed)",
    "missed": "Bỏ lỡ, không phát (missed)",
    "skipped": "Bỏ qua theo lịch (skipped)",
    "playing": "Đang phát, chưa kết thúc (open)",
}


def vn_date(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def period_text(report: Report) -> str:
    p = report.period
    return f"Kỳ báo cáo: từ ngày {vn_date(p.start)} đến ngày {vn_date(p.end)}"


def date_line(report: Report) -> str:
    day = report.issued or date.today()
    place = report.place or report.station_name
    return f"{place}, ngày {day:%d} tháng {day:%m} năm {day:%Y}"


def heading(report: Report) -> tuple[str, str]:
    """(left: the station, upper-case; right: the national heading)."""
    return report.station_name.upper(), NATION


def integrity_text(report: Report) -> str:
    v = report.verification
    if v is None:
        return "Tính toàn vẹn của nhật ký phát sóng: chưa kiểm tra (not verified)."
    if v.ok:
        text = (
            f"Nhật ký phát sóng toàn vẹn (log verified): {v.rows} bản ghi trong chuỗi kiểm tra, "
            f"không có bản ghi bị sửa, xóa hoặc chèn; mã băm cuối {v.head[:16] or '-'}."
        )
        if v.open_rows:
            text += f" {len(v.open_rows)} bản ghi đang phát, chưa kết thúc (open)."
        return text
    b = v.broken
    assert b is not None
    return (
        "CẢNH BÁO: nhật ký phát sóng KHÔNG toàn vẹn (log NOT verified): bản ghi đầu tiên bị "
        f"lỗi là seq {b.seq} (id {b.id}): {b.reason}. Số liệu trong báo cáo có thể không đúng."
    )


def reliability_rows(report: Report) -> list[tuple[str, int]]:
    return [(STATUS_VI[s], n) for s, n in report.reliability.items() if s in STATUS_VI]


def success_text(report: Report) -> str:
    rate = report.success_rate
    if rate is None:
        return "Tỉ lệ phát thành công: không có lượt phát nào đến hạn."
    return f"Tỉ lệ phát thành công (completed / đến hạn): {rate * 100:.1f}%"


def recipients(report: Report) -> list[str]:
    out = ["Nơi nhận:"]
    if report.recipient:
        out.append(f"- {report.recipient};")
    out.append("- Lưu: VT.")
    return out


def topic_rows(report: Report) -> list[tuple[str, str, int, int, str]]:
    rows = [
        (str(i), t.name, t.plays, t.items, mmss(t.seconds)) for i, t in enumerate(report.topics, 1)
    ]
    t = report.total
    rows.append(("", "Tổng cộng", t.plays, t.items, mmss(t.seconds)))
    return rows


def special_rows(report: Report) -> list[tuple[str, int, int, str]]:
    return [(KIND_VI[s.key], s.plays, s.items, mmss(s.seconds)) for s in report.special]


def _two_columns(left: str, right: str) -> str:
    return left.center(34) + right.center(WIDTH - 34)


def report_text(report: Report) -> str:
    out: list[str] = []
    left, right = heading(report)
    out.append(_two_columns(left, right))
    out.append(_two_columns("", MOTTO))
    out.append("")
    out.append(_two_columns("", date_line(report)))
    out.append("")
    out += [TITLE.center(WIDTH), SUBTITLE.center(WIDTH), period_text(report).center(WIDTH), ""]
    out.append("I. KẾT QUẢ TUYÊN TRUYỀN THEO CHỦ ĐỀ (phát theo lịch)")
    name_w = WIDTH - 4 - 8 - 8 - 10 - 4
    out.append(f"{'TT':>3} {'Chủ đề':<{name_w}} {'Lượt':>8} {'Tin/bài':>8} {'Phút:giây':>10}")
    for tt, name, plays, items, length in topic_rows(report):
        wrapped = textwrap.wrap(name, name_w) or [""]
        out.append(f"{tt:>3} {wrapped[0]:<{name_w}} {plays:>8} {items:>8} {length:>10}")
        out += [f"{'':>3} {more}" for more in wrapped[1:]]
    out.append("")
    out.append("II. THEO THÁNG (phát theo lịch, lượt phát trọn vẹn)")
    out.append(f"{'Tháng':<10} {'Lượt phát':>12} {'Phút:giây':>12}")
    out += [f"{m.key:<10} {m.plays:>12} {mmss(m.seconds):>12}" for m in report.months]
    out.append("")
    out.append("III. PHÁT ĐỘT XUẤT VÀ KHẨN CẤP (tính riêng, không cộng vào mục I)")
    out += [
        f"{label:<40} {plays:>6} lượt, {items:>4} tin/bài, {length:>9}"
        for label, plays, items, length in special_rows(report)
    ]
    out.append("")
    out.append("IV. ĐỘ TIN CẬY PHÁT SÓNG (mọi loại phát)")
    out += [f"{label:<45} {n:>8}" for label, n in reliability_rows(report)]
    out.append(success_text(report))
    out.append("")
    out.append("V. TÍNH TOÀN VẸN CỦA NHẬT KÝ PHÁT SÓNG")
    out += textwrap.wrap(integrity_text(report), WIDTH)
    out.append("")
    left = recipients(report)
    right = ["NGƯỜI BÁO CÁO", "", "", "", report.signer]
    for i in range(max(len(left), len(right))):
        lhs = left[i] if i < len(left) else ""
        rhs = right[i] if i < len(right) else ""
        out.append(f"{lhs:<40}{rhs:^40}")
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


def log_table(rows: Iterable[Any], tz: ZoneInfo) -> Iterator[str]:
    """The log, one line per row, 80 columns wide."""
    yield " ".join(f"{name:<{w}}" for name, w in _LOG_COLUMNS).rstrip()
    yield " ".join("-" * w for _, w in _LOG_COLUMNS)
    for row in rows:
        at = row.started_at or row.scheduled_at
        when = at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if at else ""
        slot = row.slot or ("khẩn" if row.kind == "emergency" else "đ.xuất")
        cells = (
            when,
            slot,
            row.topic or "-",
            row.title or row.path,
            mmss(row.played_s),
            row.status,
        )
        yield " ".join(
            f"{_cut(str(c), w):<{w}}" for c, (_, w) in zip(cells, _LOG_COLUMNS, strict=True)
        ).rstrip()


def line_total(line: Line) -> str:
    return f"{line.plays} lượt, {line.items} tin/bài, {mmss(line.seconds)}"

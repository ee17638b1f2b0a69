"""The station's own report as an administrative document: a `Report`'s figures poured into
the `airtime.document` model (sections I. Kết quả, II. Tồn tại, hạn chế, III. Đề xuất).

Pure: the letterhead, the issue date and the creation time are passed in. The wording here is
the report's wording in every form (docx, xlsx, text).
"""

from __future__ import annotations

from datetime import date, datetime

from airtime.chain import Verification
from airtime.document import (
    Block,
    Chart,
    Column,
    Document,
    Heading,
    Letterhead,
    Paragraph,
    Section,
    Table,
    Value,
    hours_minutes,
    period_phrase,
    short_label,
    vn_date,
    vn_number,
    vn_percent,
)
from airtime.relay_report import relay_table
from airtime.report import Report, Sessions, day_ranges

KIND = "BÁO CÁO"
SUBJECT = "Kết quả tuyên truyền cải cách hành chính"
KIND_VI = {"adhoc": "Đột xuất", "emergency": "Khẩn cấp"}
STATUS_VI = {
    "completed": "Phát trọn vẹn",
    "interrupted": "Bị ngắt giữa chừng",
    "failed": "Lỗi, không phát được",
    "missed": "Bỏ lỡ, không phát",
    "skipped": "Bỏ qua theo lịch",
    "playing": "Đang phát, chưa kết thúc",
}
PROBLEMS = {"interrupted": "bị ngắt giữa chừng", "failed": "lỗi, không phát được",
            "missed": "bỏ lỡ"}  # fmt: skip


def minutes(seconds: float) -> float:
    return round(seconds / 60, 2)


def period_words(report: Report) -> str:
    p = report.period
    return f"từ ngày {vn_date(p.start)} đến ngày {vn_date(p.end)}"


def summary_line(report: Report) -> str:
    return f"{SUBJECT} {period_phrase(report.period)}"


def integrity_text(v: Verification | None) -> str:
    if v is None:
        return "Tính toàn vẹn của nhật ký phát sóng: chưa kiểm tra."
    if v.ok:
        text = (
            f"Nhật ký phát sóng toàn vẹn: {vn_number(v.rows)} bản ghi trong chuỗi kiểm tra, "
            f"không có bản ghi bị sửa, xóa hoặc chèn; mã băm cuối {v.head[:16] or '-'}."
        )
        if v.open_rows:
            text += f" {len(v.open_rows)} bản ghi đang phát, chưa kết thúc."
        return text
    b = v.broken
    assert b is not None
    return (
        "CẢNH BÁO: nhật ký phát sóng KHÔNG toàn vẹn (log NOT verified): bản ghi đầu tiên bị lỗi là "
        f"seq {b.seq} (id {b.id}): {b.reason}. Số liệu trong báo cáo có thể không đúng."
    )


def sessions_text(s: Sessions) -> str:
    if s.due == 0:
        return "Theo lịch phát đã cấu hình, trong kỳ không có buổi phát nào đến hạn."
    text = (
        f"Theo lịch, đài phải phát {vn_number(s.due)} buổi; đã phát {vn_number(s.aired)} buổi "
        f"({vn_percent(s.aired / s.due)})"
    )
    if s.not_aired:
        text += f"; không phát {vn_number(s.not_aired)} buổi"
        parts = []
        if s.no_record:
            parts.append(f"{vn_number(s.no_record)} buổi đài không hoạt động (không có bản ghi)")
        if s.recorded:
            parts.append(f"{vn_number(s.recorded)} buổi bỏ lỡ hoặc lỗi (có ghi nhật ký)")
        text += ", trong đó " + ", ".join(parts)
    text += "."
    if s.since is not None and s.until is not None:
        text += f" Số buổi tính từ ngày {vn_date(s.since)} đến ngày {vn_date(s.until)}"
        text += " (kỳ báo cáo chưa kết thúc, số liệu tạm tính)." if s.open_period else "."
    return text


def totals_text(report: Report) -> str:
    t = report.total
    covered = sum(1 for line in report.topics if line.plays and line.key in report.weights)
    adhoc, emergency = report.special
    return (
        f"Tổng thời lượng phát theo lịch {vn_number(minutes(t.seconds), 1)} phút "
        f"({hours_minutes(t.seconds)}), {vn_number(t.plays)} lượt phát với {vn_number(t.items)} "
        f"tin, bài thuộc {covered}/{len(report.weights)} chủ đề; phát đột xuất "
        f"{vn_number(adhoc.plays)} lượt ({vn_number(minutes(adhoc.seconds), 1)} phút), phát "
        f"khẩn cấp {vn_number(emergency.plays)} lượt ({vn_number(minutes(emergency.seconds), 1)} "
        f"phút){_bulletins_text(report)}; tổng cộng "
        f"{vn_number(minutes(report.combined_seconds), 1)} phút "
        f"({hours_minutes(report.combined_seconds)})."
    )


def _bulletins_text(report: Report) -> str:
    b = report.bulletins
    if not b.plays:
        return ""
    return f", bản tin cấp trên {vn_number(b.plays)} lượt ({vn_number(minutes(b.seconds), 1)} phút)"


def success_text(report: Report) -> str:
    rate = report.success_rate
    if rate is None:
        return "Tỉ lệ phát thành công: không có lượt phát nào đến hạn."
    return f"Tỉ lệ lượt phát thành công (phát trọn vẹn trên số lượt đến hạn): {vn_percent(rate)}."


def sessions_table(s: Sessions) -> Table:
    def row(label: str, n: int) -> list[Value]:
        return [label, n, n / s.due if s.due else None]

    return Table(
        "Bảng 1. Số buổi phát theo lịch",
        [
            Column("Nội dung", width_cm=10.5),
            Column("Số buổi", "count", 2.5),
            Column("Tỉ lệ", "percent", 3.0),
        ],
        [
            row("Đã phát (ít nhất một tin, bài phát trọn vẹn)", s.aired),
            row("Không phát: bỏ lỡ, lỗi hoặc bị ngắt (có ghi nhật ký)", s.recorded),
            row("Không phát: đài không hoạt động (không có bản ghi)", s.no_record),
        ],
        sheet="Buổi phát",
        total=row("Theo lịch phải phát", s.due),
    )


def topic_table(report: Report) -> Table:
    rows: list[list[Value]] = [
        [i, t.name, t.plays, t.items, minutes(t.seconds), report.share(t),
         report.weight_share(t.key) if t.key in report.weights else None]
        for i, t in enumerate(report.topics, 1)
    ]  # fmt: skip
    t = report.total
    return Table(
        "Bảng 2. Thời lượng phát theo chủ đề (phát theo lịch, lượt phát trọn vẹn)",
        [
            Column("TT", "count", 1.1),
            Column("Chủ đề", "text", 5.9),
            Column("Lượt phát", "count", 1.6),
            Column("Số tin, bài", "count", 1.5),
            Column("Thời lượng (phút)", "minutes", 2.1),
            Column("Tỉ lệ thời lượng", "percent", 2.15),
            Column("Tỉ trọng kế hoạch", "percent", 2.15),
        ],
        rows,
        sheet="Chủ đề",
        total=[
            "",
            "Tổng cộng",
            t.plays,
            t.items,
            minutes(t.seconds),
            1.0 if t.seconds else None,
            1.0 if report.weights else None,
        ],
        note=f"Tổng thời lượng: {hours_minutes(t.seconds)}. Tỉ trọng kế hoạch: trọng số của "
        "chủ đề trên tổng trọng số (config.toml).",
    )


def month_table(report: Report) -> Table:
    rows: list[list[Value]] = []
    for m in report.months:
        year, month = m.key.split("-")
        rows.append([f"Tháng {int(month)}/{year}", m.plays, minutes(m.seconds)])
    t = report.total
    return Table(
        "Bảng 3. Kết quả theo tháng (phát theo lịch, lượt phát trọn vẹn)",
        [
            Column("Tháng", width_cm=6.0),
            Column("Lượt phát", "count", 4.0),
            Column("Thời lượng (phút)", "minutes", 6.0),
        ],
        rows,
        sheet="Theo tháng",
        total=["Tổng cộng", t.plays, minutes(t.seconds)],
    )


def broadcast_table(report: Report) -> Table:
    rows: list[list[Value]] = []
    for i, b in enumerate(report.broadcasts, 1):
        title = b.title if b.status == "completed" else f"{b.title} ({STATUS_VI[b.status]})"
        rows.append([i, f"{b.at:%d/%m/%Y %H:%M}", title, KIND_VI[b.kind], minutes(b.seconds)])
    return Table(
        "Bảng 4. Phát đột xuất và khẩn cấp (từng lượt)",
        [
            Column("TT", "count", 1.0),
            Column("Ngày, giờ", width_cm=3.4),
            Column("Tin, bài", width_cm=7.4),
            Column("Mức độ", width_cm=2.2),
            Column("Thời lượng (phút)", "minutes", 2.5),
        ],
        rows,
        sheet="Đột xuất",
        total=["", "", "Cộng (lượt phát trọn vẹn)", "", minutes(report.special_seconds)],
    )


def combined_table(report: Report) -> Table:
    adhoc, emergency = report.special
    t = report.total
    lines = [("Phát theo lịch", t), ("Phát đột xuất", adhoc), ("Phát khẩn cấp", emergency)]
    if report.bulletins.plays:
        lines.append(("Bản tin cấp trên", report.bulletins))
    return Table(
        "Bảng 5. Tổng thời lượng phát",
        [
            Column("Loại", width_cm=6.0),
            Column("Lượt phát", "count", 2.5),
            Column("Thời lượng (phút)", "minutes", 3.5),
            Column("Giờ, phút", width_cm=4.0),
        ],
        [
            [label, line.plays, minutes(line.seconds), hours_minutes(line.seconds)]
            for label, line in lines
        ],
        sheet="Tổng thời lượng",
        total=[
            "Tổng cộng",
            t.plays + adhoc.plays + emergency.plays + report.bulletins.plays,
            minutes(report.combined_seconds),
            hours_minutes(report.combined_seconds),
        ],
    )


def reliability_table(report: Report) -> Table:
    return Table(
        "Bảng 6. Độ tin cậy phát sóng (mọi loại phát, từng lượt)",
        [Column("Trạng thái", width_cm=11.0), Column("Số lượt", "count", 5.0)],
        [[STATUS_VI[s], n] for s, n in report.reliability.items() if s in STATUS_VI],
        sheet="Độ tin cậy",
    )


def topic_chart(report: Report) -> Chart:
    return Chart(
        "Biểu đồ: thời lượng phát theo chủ đề (phút)",
        [f"{i}. {short_label(t.name)}" for i, t in enumerate(report.topics, 1)],
        [minutes(t.seconds) for t in report.topics],
    )


def shortcomings(report: Report) -> list[Paragraph]:
    """Section II from the figures: every shortfall the log shows, or that there is none."""
    out: list[Paragraph] = []
    s = report.sessions
    if s is not None and s.not_aired:
        text = (
            f"Không phát {vn_number(s.not_aired)}/{vn_number(s.due)} buổi theo lịch "
            f"({vn_percent(s.not_aired / s.due)})."
        )
        if s.silent_days:
            spans = [
                vn_date(a) if a == b else f"{vn_date(a)} - {vn_date(b)}"
                for a, b in day_ranges(s.silent_days)
            ]
            shown = "; ".join(spans[:12]) + ("; …" if len(spans) > 12 else "")
            text += (
                f" Đài không hoạt động (không có bản ghi nào) {vn_number(len(s.silent_days))} "
                f"ngày: {shown}."
            )
        out.append(Paragraph(text))
    under = report.under_share()
    if report.total.seconds == 0:
        out.append(Paragraph("Trong kỳ không có lượt phát theo lịch nào được phát trọn vẹn."))
    elif under:
        names = "; ".join(
            f"{short_label(t.name, 60)} ({vn_percent(report.share(t))} so với tỉ trọng "
            f"{vn_percent(report.weight_share(t.key))})"
            for t in under
        )
        out.append(
            Paragraph(f"{len(under)} chủ đề có thời lượng thấp hơn tỉ trọng kế hoạch: {names}.")
        )
    problems = {k: report.reliability.get(k, 0) for k in PROBLEMS}
    if any(problems.values()):
        parts = [f"{vn_number(n)} lượt {PROBLEMS[k]}" for k, n in problems.items() if n]
        out.append(Paragraph("Nhật ký phát sóng ghi " + "; ".join(parts) + "."))
    v = report.verification
    if v is not None and not v.ok:
        out.append(Paragraph(integrity_text(v)))
    if not out:
        out.append(Paragraph("Số liệu nhật ký phát sóng không cho thấy tồn tại, hạn chế nào."))
    return out


def station_document(
    report: Report, letterhead: Letterhead, *, issued: date, created: datetime
) -> Document:
    intro = Paragraph(
        f"{letterhead.issuer} báo cáo kết quả tuyên truyền cải cách hành chính trên hệ thống "
        f"truyền thanh {period_phrase(report.period)} ({period_words(report)}) như sau:"
    )
    results: list[Block] = []
    if report.sessions is not None:
        results += [Heading("1. Buổi phát theo lịch"), Paragraph(sessions_text(report.sessions)),
                    sessions_table(report.sessions)]  # fmt: skip
    results += [
        Heading("2. Thời lượng phát theo chủ đề"),
        Paragraph(totals_text(report)),
        topic_table(report),
        topic_chart(report),
        month_table(report),
        Heading("3. Phát đột xuất và khẩn cấp"),
    ]
    if report.broadcasts:
        results.append(broadcast_table(report))
    else:
        results.append(Paragraph("Trong kỳ không có lượt phát đột xuất hoặc khẩn cấp."))
    results.append(combined_table(report))
    if report.relays:  # tiếp sóng: minutes per source, apart from the topics
        results.append(relay_table(report.relays))
    results += [
        Heading("4. Độ tin cậy phát sóng và tính toàn vẹn của nhật ký"),
        reliability_table(report),
        Paragraph(success_text(report)),
        Paragraph(integrity_text(report.verification)),
    ]
    proposals = [
        Paragraph("(Đài bổ sung đề xuất, kiến nghị trước khi trình ký.)", italic=True),
        Paragraph("…" * 28),
        Paragraph("…" * 28),
    ]
    return Document(
        letterhead=letterhead,
        issued=issued,
        kind=KIND,
        summary=summary_line(report),
        sections=[
            Section("Kết quả thực hiện", [intro, *results]),
            Section("Tồn tại, hạn chế", shortcomings(report)),
            Section("Đề xuất, kiến nghị", proposals),
        ],
        author=report.station_name,
        created=created,
        subject=f"{summary_line(report)} ({period_words(report)})",
    )

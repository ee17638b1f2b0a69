"""The district's and the province's report as an administrative document: a `CentralReport`
poured into the same `airtime.document` model as the station's own report (and written by the
same writers: docx, xlsx, text). Pure; the letterhead and the times are passed in.

District: I. Kết quả (per station, per topic, the stations not reporting or late, charts of
minutes per topic and per station), II. Tồn tại, hạn chế (from the figures), III. Đề xuất.
Province: the same, with the districts' totals, one sub-section per district with its
stations, and the province's per-topic totals.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

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
from central.bulletins import PRIORITY_NAMES
from central.report import (
    PRIORITIES,
    BulletinLine,
    CentralReport,
    DistrictPart,
    StationLine,
    TopicLine,
    Totals,
    bulletin_lines,
    totals_of,
)

KIND = "BÁO CÁO"
SUBJECT = "Kết quả tuyên truyền cải cách hành chính qua hệ thống truyền thanh cấp xã"
PREFIXES = ("Huyện", "Thị", "Thành", "Quận", "Tỉnh")
UNDER = 0.8  # a topic under 80% of its weight share is named (as the station's report does)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def minutes(seconds: float) -> float:
    return round(seconds / 60, 2)


def lower_first(name: str) -> str:
    """ "Huyện Thử" -> "huyện Thử" (inside a sentence, after "UBND")."""
    head, _, rest = name.partition(" ")
    return f"{head.lower()} {rest}" if head in PREFIXES and rest else name


def scope_words(r: CentralReport) -> str:
    if r.district is not None and r.parts:
        return f"trên địa bàn {lower_first(r.parts[0].name)}"
    return "trên địa bàn tỉnh"


def summary_line(r: CentralReport) -> str:
    return f"{SUBJECT} {scope_words(r)} {period_phrase(r.period)}"


def _day(moment: datetime | None) -> str:
    return "chưa gửi" if moment is None else vn_date(moment.astimezone(TZ).date())


def state_text(s: StationLine, stale_days: int) -> str:
    if not s.reporting:
        return "Không gửi số liệu của kỳ"
    if s.stale:
        return f"Quá {stale_days} ngày chưa gửi"
    return "Đã gửi"


def verified_text(s: StationLine) -> str:
    if s.verified is None:
        return "Chưa kiểm tra"
    when = vn_date(s.checked_at.astimezone(TZ).date()) if s.checked_at else ""
    return f"Đạt ({when})" if s.verified else f"KHÔNG đạt ({when})"


def figures_text(t: Totals, topics: list[TopicLine], who: str) -> str:
    covered = sum(1 for x in topics if x.plays)
    return (
        f"{who}: {vn_number(t.reporting)}/{vn_number(t.stations)} đài gửi số liệu; tổng thời "
        f"lượng phát theo lịch {vn_number(minutes(t.seconds), 1)} phút ({hours_minutes(t.seconds)})"
        f", {vn_number(t.plays)} lượt phát thuộc {covered}/{len(topics)} chủ đề; phát đột xuất "
        f"{vn_number(t.adhoc)} lượt ({vn_number(minutes(t.adhoc_seconds), 1)} phút), phát khẩn "
        f"cấp {vn_number(t.emergency)} lượt ({vn_number(minutes(t.emergency_seconds), 1)} phút); "
        f"bản tin cấp trên {vn_number(t.bulletin_airings)} lượt "
        f"({vn_number(minutes(t.bulletin_seconds), 1)} phút); tổng cộng "
        f"{vn_number(minutes(t.combined_seconds), 1)} phút "
        f"({hours_minutes(t.combined_seconds)}); bỏ lỡ hoặc lỗi {vn_number(t.problems)} lượt"
        + (
            f" ({vn_percent(t.problem_rate)} số lượt đến hạn)."
            if t.problem_rate is not None
            else "."
        )
    )


def airtime_table(title: str, lines: list[StationLine], sheet: str, stale_days: int) -> Table:
    rows: list[list[Value]] = []
    for i, s in enumerate(lines, 1):
        if not s.reporting:
            rows.append([i, s.name, None, None, "Không gửi số liệu", None, None])
            continue
        gap = None if s.gap is None else s.gap
        rows.append(
            [
                i,
                s.name,
                s.plays,
                minutes(s.seconds),
                s.seconds,
                f"{s.topics_covered}/{s.topics_total}" if s.topics_total else str(s.topics_covered),
                gap,
            ]
        )
    plays = sum(s.plays for s in lines)
    seconds = round(sum(s.seconds for s in lines), 3)
    return Table(
        title,
        [
            Column("TT", "count", 1.0),
            Column("Đài", width_cm=4.9, key="station"),
            Column("Lượt phát", "count", 1.8, key="plays"),
            Column("Thời lượng (phút)", "minutes", 2.3, key="minutes"),
            Column("Phút:giây", "duration", 2.2, key="mmss"),
            Column("Chủ đề đã phát", width_cm=1.9, key="topics"),
            Column("Lệch tỉ trọng lớn nhất", "percent", 2.4, key="gap"),
        ],
        rows,
        sheet=sheet,
        total=["", "Tổng cộng", plays, minutes(seconds), seconds, "", None],
        note="Lệch tỉ trọng: chênh lệch lớn nhất giữa tỉ lệ thời lượng của một chủ đề và tỉ trọng "
        "kế hoạch của nó trong lịch phát của đài. Đài không gửi số liệu không được tính là 0.",
    )


def reliability_table(title: str, lines: list[StationLine], sheet: str, stale_days: int) -> Table:
    rows: list[list[Value]] = []
    for i, s in enumerate(lines, 1):
        live = s.reporting
        rows.append(
            [
                i,
                s.name,
                s.problems if live else None,
                s.problem_rate if live else None,
                s.adhoc if live else None,
                s.emergency if live else None,
                _day(s.last_push),
                verified_text(s),
            ]
        )
    t = totals_of(lines)
    return Table(
        title,
        [
            Column("TT", "count", 1.0),
            Column("Đài", width_cm=4.0, key="station"),
            Column("Bỏ lỡ, lỗi (lượt)", "count", 1.8, key="missed"),
            Column("Tỉ lệ bỏ lỡ, lỗi", "percent", 1.7, key="missed_rate"),
            Column("Đột xuất (lượt)", "count", 1.6, key="adhoc"),
            Column("Khẩn cấp (lượt)", "count", 1.6, key="emergency"),
            Column("Gửi lần cuối", width_cm=2.5, key="last_push"),
            Column("Toàn vẹn nhật ký", width_cm=2.3, key="verified"),
        ],
        rows,
        sheet=sheet,
        total=["", "Tổng cộng", t.problems, t.problem_rate, t.adhoc, t.emergency, "", ""],
        note="Tỉ lệ bỏ lỡ, lỗi: trên số lượt phát theo lịch đến hạn. Toàn vẹn nhật ký: kết quả "
        "lần kiểm tra chuỗi gần nhất ở trung tâm (lệnh loa central verify).",
    )


def bulletin_table(
    title: str, unit: str, units: list[tuple[str, list[BulletinLine]]], t: Totals, sheet: str
) -> Table:
    """The bulletins sent down that aired, per station or per district (`units`: a name and
    its lines per priority): airings of each priority, distinct bulletins, minutes."""

    def figures(lines: list[BulletinLine]) -> list[Value]:
        by = {b.priority: b for b in lines}
        airings: list[Value] = [by[p].airings if p in by else 0 for p in PRIORITIES]
        seconds = sum(b.seconds for b in lines)
        return [*airings, sum(b.bulletins for b in lines), minutes(seconds)]

    rows: list[list[Value]] = [
        [i, name, *figures(lines)] for i, (name, lines) in enumerate(units, 1)
    ]
    return Table(
        title,
        [
            Column("TT", "count", 1.0),
            Column(unit, width_cm=5.0, key="unit"),
            *(
                Column(f"{PRIORITY_NAMES[p].capitalize()} (lượt)", "count", 2.0, key=p)
                for p in PRIORITIES
            ),
            Column("Số bản tin", "count", 1.8, key="bulletins"),
            Column("Thời lượng (phút)", "minutes", 2.7, key="minutes"),
        ],
        rows,
        sheet=sheet,
        total=["", "Tổng cộng", *figures(t.bulletins)],
        note="Bản tin cấp trên: bản tin huyện, tỉnh gửi xuống (loa central send), tính riêng, "
        "không tính vào lượt phát theo lịch của đài; số bản tin: số bản tin khác nhau đã phát "
        "(một bản tin phát ở nhiều đài tính một lần).",
    )


def _bulletin_blocks(number: str, table: Table, t: Totals) -> list[Block]:
    heading = Heading(f"{number}. Bản tin cấp trên")
    if not t.bulletin_airings:
        return [heading, Paragraph("Trong kỳ không có bản tin cấp trên nào được phát.")]
    parts = [
        f"{PRIORITY_NAMES[b.priority]} {vn_number(b.airings)} lượt "
        f"({vn_number(minutes(b.seconds), 1)} phút)"
        for b in t.bulletins
        if b.airings
    ]
    return [
        heading,
        Paragraph(
            f"Bản tin cấp trên đã phát {vn_number(t.bulletin_airings)} lượt, "
            f"{vn_number(minutes(t.bulletin_seconds), 1)} phút ({hours_minutes(t.bulletin_seconds)}"
            f"): {'; '.join(parts)}."
        ),
        table,
    ]


def topic_table(title: str, topics: list[TopicLine], t: Totals, sheet: str) -> Table:
    rows: list[list[Value]] = [
        [i, x.name, x.plays, x.spots, minutes(x.seconds), x.share, x.weight_share]
        for i, x in enumerate(topics, 1)
    ]
    return Table(
        title,
        [
            Column("TT", "count", 1.1),
            Column("Chủ đề", "text", 5.9, key="topic"),
            Column("Lượt phát", "count", 1.6, key="plays"),
            Column("Số tin, bài", "count", 1.5, key="spots"),
            Column("Thời lượng (phút)", "minutes", 2.1, key="minutes"),
            Column("Tỉ lệ thời lượng", "percent", 2.15, key="share"),
            Column("Tỉ trọng kế hoạch", "percent", 2.15, key="weight_share"),
        ],
        rows,
        sheet=sheet,
        total=[
            "",
            "Tổng cộng",
            t.plays,
            None,
            minutes(t.seconds),
            1.0 if t.seconds else None,
            None,
        ],
        note=f"Tổng thời lượng: {hours_minutes(t.seconds)}. Số tin, bài: số tin, bài khác nhau đã "
        "phát (một tin, bài phát ở nhiều đài tính một lần). Tỉ trọng kế hoạch: trung bình tỉ "
        "trọng của chủ đề trong lịch phát của các đài.",
    )


def silent_table(title: str, r: CentralReport, sheet: str) -> Table:
    rows: list[list[Value]] = []
    district_names = {p.code: p.name for p in r.parts}
    for i, s in enumerate([*r.not_reporting, *r.stale], 1):
        rows.append(
            [
                i,
                s.name,
                district_names.get(s.district, s.district),
                _day(s.last_push),
                _day(s.last_contact),
                state_text(s, r.stale_days),
            ]
        )
    return Table(
        title,
        [
            Column("TT", "count", 1.0),
            Column("Đài", width_cm=4.5, key="station"),
            Column("Huyện", width_cm=3.0, key="district"),
            Column("Gửi số liệu lần cuối", width_cm=2.5, key="last_push"),
            Column("Liên lạc lần cuối", width_cm=2.5, key="last_contact"),
            Column("Tình trạng", width_cm=3.0, key="state"),
        ],
        rows,
        sheet=sheet,
    )


def topic_chart(title: str, topics: list[TopicLine]) -> Chart:
    return Chart(
        title,
        [f"{i}. {short_label(t.name)}" for i, t in enumerate(topics, 1)],
        [minutes(t.seconds) for t in topics],
    )


def station_chart(title: str, lines: list[StationLine]) -> Chart:
    shown = [s for s in lines if s.reporting]
    return Chart(
        title, [short_label(s.name, 34) for s in shown], [minutes(s.seconds) for s in shown]
    )


def shortcomings(r: CentralReport) -> list[Paragraph]:
    out: list[Paragraph] = []
    silent, stale = r.not_reporting, r.stale
    if silent:
        names = "; ".join(s.name for s in silent[:40]) + ("; …" if len(silent) > 40 else "")
        out.append(
            Paragraph(
                f"{vn_number(len(silent))}/{vn_number(len(r.stations))} đài không gửi số liệu "
                f"của kỳ báo cáo (không tính là không phát): {names}."
            )
        )
    if stale:
        names = "; ".join(s.name for s in stale[:40]) + ("; …" if len(stale) > 40 else "")
        out.append(
            Paragraph(
                f"{vn_number(len(stale))} đài quá {r.stale_days} ngày chưa gửi số liệu, số "
                f"liệu của các đài này có thể chưa đầy đủ: {names}."
            )
        )
    under = [t for t in r.topics if t.weight_share and t.share < UNDER * t.weight_share]
    if r.totals.seconds > 0 and under:
        names = "; ".join(
            f"{short_label(t.name, 60)} ({vn_percent(t.share)} so với tỉ trọng "
            f"{vn_percent(t.weight_share or 0)})"
            for t in under
        )
        out.append(
            Paragraph(f"{len(under)} chủ đề có thời lượng thấp hơn tỉ trọng kế hoạch: {names}.")
        )
    missing = sorted(
        (s for s in r.stations if s.reporting and s.problems),
        key=lambda s: (-(s.problem_rate or 0), s.id),
    )
    if missing:
        parts = [
            f"{s.name} ({vn_number(s.problems)} lượt, {vn_percent(s.problem_rate or 0)})"
            for s in missing[:40]
        ]
        out.append(
            Paragraph(
                f"{vn_number(len(missing))} đài có lượt phát theo lịch bị bỏ lỡ hoặc lỗi: "
                + "; ".join(parts)
                + ("; …" if len(missing) > 40 else "")
                + "."
            )
        )
    broken = [s for s in r.stations if s.verified is False]
    if broken:
        out.append(
            Paragraph(
                "Nhật ký phát sóng KHÔNG toàn vẹn ở trung tâm (số liệu có thể không đúng): "
                + "; ".join(s.name for s in broken)
                + "."
            )
        )
    if not out:
        out.append(Paragraph("Số liệu của các đài không cho thấy tồn tại, hạn chế nào."))
    return out


def _provisional(r: CentralReport) -> list[Block]:
    if not r.provisional:
        return []
    return [
        Paragraph(
            f"Kỳ báo cáo chưa kết thúc: số liệu tạm tính đến ngày {vn_date(r.counted_until)}.",
            italic=True,
        )
    ]


def _silent_blocks(r: CentralReport, number: str) -> list[Block]:
    heading = Heading(f"{number}. Đài không gửi số liệu hoặc gửi chậm")
    if not r.not_reporting and not r.stale:
        return [
            heading,
            Paragraph(
                f"Tất cả {vn_number(len(r.stations))} đài đều đã gửi số liệu của kỳ, không đài nào "
                f"quá {r.stale_days} ngày chưa gửi."
            ),
        ]
    return [
        heading,
        Paragraph(
            f"{vn_number(len(r.not_reporting))} đài không gửi số liệu của kỳ, "
            f"{vn_number(len(r.stale))} đài quá {r.stale_days} ngày chưa gửi (số liệu có thể "
            "chưa đầy đủ). Các đài này không được tính là không phát."
        ),
        silent_table("Bảng {n}. Đài không gửi số liệu hoặc gửi chậm", r, "Chưa gửi số liệu"),
    ]


def _number_tables(blocks: list[Block]) -> None:
    n = 0
    for b in blocks:
        if isinstance(b, Table):
            n += 1
            b.title = b.title.replace("{n}", str(n))


def district_blocks(r: CentralReport, part: DistrictPart) -> list[Block]:
    return [
        Heading("1. Kết quả chung"),
        Paragraph(figures_text(part.totals, part.topics, part.name)),
        *_provisional(r),
        Heading("2. Thời lượng phát theo từng đài"),
        airtime_table(
            "Bảng {n}. Thời lượng phát theo lịch của từng đài (lượt phát trọn vẹn)",
            part.stations,
            "Theo đài",
            r.stale_days,
        ),
        station_chart("Biểu đồ: thời lượng phát theo đài (phút)", part.stations),
        reliability_table(
            "Bảng {n}. Bỏ lỡ, lỗi, phát đột xuất và gửi số liệu của từng đài",
            part.stations,
            "Độ tin cậy",
            r.stale_days,
        ),
        Heading("3. Thời lượng phát theo chủ đề"),
        topic_table(
            "Bảng {n}. Thời lượng phát theo chủ đề trên địa bàn huyện",
            part.topics,
            part.totals,
            "Chủ đề",
        ),
        topic_chart("Biểu đồ: thời lượng phát theo chủ đề (phút)", part.topics),
        *_bulletin_blocks(
            "4",
            bulletin_table(
                "Bảng {n}. Bản tin cấp trên đã phát theo từng đài",
                "Đài",
                [(s.name, bulletin_lines([s])) for s in part.stations if s.bulletins],
                part.totals,
                "Bản tin cấp trên",
            ),
            part.totals,
        ),
        *_silent_blocks(r, "5"),
    ]


def province_table(r: CentralReport) -> Table:
    rows: list[list[Value]] = []
    for i, p in enumerate(r.parts, 1):
        t = p.totals
        rows.append(
            [
                i,
                p.name,
                t.stations,
                t.reporting,
                t.plays,
                minutes(t.seconds),
                t.problem_rate,
            ]
        )
    t = r.totals
    return Table(
        "Bảng {n}. Kết quả theo huyện",
        [
            Column("TT", "count", 1.0),
            Column("Huyện", width_cm=4.9, key="district"),
            Column("Số đài", "count", 1.5, key="stations"),
            Column("Đài gửi số liệu", "count", 1.9, key="reporting"),
            Column("Lượt phát", "count", 2.1, key="plays"),
            Column("Thời lượng (phút)", "minutes", 2.6, key="minutes"),
            Column("Tỉ lệ bỏ lỡ, lỗi", "percent", 2.0, key="missed_rate"),
        ],
        rows,
        sheet="Theo huyện",
        total=[
            "",
            "Toàn tỉnh",
            t.stations,
            t.reporting,
            t.plays,
            minutes(t.seconds),
            t.problem_rate,
        ],
        note=f"Tổng thời lượng toàn tỉnh: {hours_minutes(t.seconds)}.",
    )


def province_blocks(r: CentralReport) -> list[Block]:
    blocks: list[Block] = [
        Heading("1. Kết quả chung"),
        Paragraph(figures_text(r.totals, r.topics, "Toàn tỉnh")),
        *_provisional(r),
        province_table(r),
        Chart(
            "Biểu đồ: thời lượng phát theo huyện (phút)",
            [short_label(p.name, 34) for p in r.parts],
            [minutes(p.totals.seconds) for p in r.parts],
        ),
    ]
    for i, p in enumerate(r.parts, 2):
        blocks += [
            Heading(f"{i}. {p.name}"),
            Paragraph(figures_text(p.totals, p.topics, p.name)),
            airtime_table(
                f"Bảng {{n}}. {p.name}: thời lượng phát theo lịch của từng đài",
                p.stations,
                f"Đài {p.code}"[:31],
                r.stale_days,
            ),
            reliability_table(
                f"Bảng {{n}}. {p.name}: bỏ lỡ, lỗi, đột xuất, gửi số liệu",
                p.stations,
                f"Tin cậy {p.code}"[:31],
                r.stale_days,
            ),
        ]
    n = len(r.parts) + 2
    blocks += [
        Heading(f"{n}. Thời lượng phát theo chủ đề toàn tỉnh"),
        topic_table(
            "Bảng {n}. Thời lượng phát theo chủ đề toàn tỉnh", r.topics, r.totals, "Chủ đề"
        ),
        topic_chart("Biểu đồ: thời lượng phát theo chủ đề toàn tỉnh (phút)", r.topics),
        *_bulletin_blocks(
            str(n + 1),
            bulletin_table(
                "Bảng {n}. Bản tin cấp trên đã phát theo huyện",
                "Huyện",
                [(p.name, p.totals.bulletins) for p in r.parts],
                r.totals,
                "Bản tin cấp trên",
            ),
            r.totals,
        ),
        *_silent_blocks(r, str(n + 2)),
    ]
    return blocks


def central_document(
    r: CentralReport, letterhead: Letterhead, *, issued: date, created: datetime
) -> Document:
    scope = scope_words(r)
    intro = Paragraph(
        f"{letterhead.issuer} báo cáo kết quả tuyên truyền cải cách hành chính qua hệ thống "
        f"truyền thanh cấp xã {scope} {period_phrase(r.period)} (từ ngày "
        f"{vn_date(r.period.start)} đến ngày {vn_date(r.period.end)}), tổng hợp từ nhật ký phát "
        "sóng các đài gửi về cơ sở dữ liệu trung tâm, như sau:"
    )
    if r.district is not None and len(r.parts) == 1:
        results = district_blocks(r, r.parts[0])
    else:
        results = province_blocks(r)
    _number_tables(results)
    proposals = [
        Paragraph("(Bổ sung đề xuất, kiến nghị trước khi trình ký.)", italic=True),
        Paragraph("…" * 28),
        Paragraph("…" * 28),
    ]
    return Document(
        letterhead=letterhead,
        issued=issued,
        kind=KIND,
        summary=summary_line(r),
        sections=[
            Section("Kết quả thực hiện", [intro, *results]),
            Section("Tồn tại, hạn chế", list(shortcomings(r))),
            Section("Đề xuất, kiến nghị", list(proposals)),
        ],
        author=letterhead.issuer,
        created=created,
        subject=f"{summary_line(r)} (từ ngày {vn_date(r.period.start)} đến ngày "
        f"{vn_date(r.period.end)})",
    )

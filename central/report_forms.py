"""The district's and the province's report as JSON (shape in README.md) and as one flat CSV
table (UTF-8 with BOM, durations as minutes with a decimal point, the station on every row)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from airtime.export_csv import BOM
from central.report import (
    BulletinLine,
    CentralReport,
    StationLine,
    TopicLine,
    Totals,
    bulletin_lines,
)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def bulletins_dict(lines: list[BulletinLine]) -> dict[str, Any]:
    """{priority: {airings, seconds, bulletins}}: the bulletins sent down, aired (completed),
    counted apart from the stations' own scheduled plays and broadcasts."""
    return {
        b.priority: {"airings": b.airings, "seconds": b.seconds, "bulletins": b.bulletins}
        for b in lines
    }


def totals_dict(t: Totals) -> dict[str, Any]:
    return {
        "stations": t.stations,
        "reporting": t.reporting,
        "plays": t.plays,
        "seconds": t.seconds,
        "missed": t.problems,
        "due": t.due,
        "missed_rate": _rate(t.problem_rate),
        "adhoc": {"plays": t.adhoc, "seconds": t.adhoc_seconds},
        "emergency": {"plays": t.emergency, "seconds": t.emergency_seconds},
        "bulletins": bulletins_dict(t.bulletins),
        "combined_seconds": t.combined_seconds,
    }


def topic_dict(t: TopicLine) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "plays": t.plays,
        "spots": t.spots,
        "seconds": t.seconds,
        "share": round(t.share, 4),
        "weight_share": _rate(t.weight_share),
    }


def station_dict(s: StationLine) -> dict[str, Any]:
    figures = s.reporting
    return {
        "id": s.id,
        "name": s.name,
        "reporting": s.reporting,
        "stale": s.stale,
        "plays": s.plays if figures else None,
        "seconds": s.seconds if figures else None,
        "topics_covered": s.topics_covered if figures else None,
        "topics_total": s.topics_total,
        "gap": _rate(s.gap),
        "gap_topic": s.gap_topic,
        "missed": s.problems if figures else None,
        "due": s.due if figures else None,
        "missed_rate": _rate(s.problem_rate),
        "adhoc": {"plays": s.adhoc, "seconds": s.adhoc_seconds} if figures else None,
        "emergency": {"plays": s.emergency, "seconds": s.emergency_seconds} if figures else None,
        "topics": {k: round(v, 3) for k, v in s.topic_seconds.items()},
        "topic_plays": dict(s.topic_plays),
        "bulletins": bulletins_dict(bulletin_lines([s])) if figures else None,
        "last_push": _iso(s.last_push),
        "last_contact": _iso(s.last_contact),
        "verified": s.verified,
        "checked_at": _iso(s.checked_at),
    }


def report_dict(r: CentralReport) -> dict[str, Any]:
    return {
        "district": r.district,
        "period": {
            "from": r.period.start.isoformat(),
            "to": r.period.end.isoformat(),
            "provisional": r.provisional,
            "counted_until": r.counted_until.isoformat(),
        },
        "generated_at": _iso(r.now),
        "stale_days": r.stale_days,
        "districts": [
            {
                "code": p.code,
                "name": p.name,
                "totals": totals_dict(p.totals),
                "stations": [station_dict(s) for s in p.stations],
                "topics": [topic_dict(t) for t in p.topics],
            }
            for p in r.parts
        ],
        "topics": [topic_dict(t) for t in r.topics],
        "totals": totals_dict(r.totals),
        "not_reporting": [s.id for s in r.not_reporting],
        "stale": [s.id for s in r.stale],
    }


def report_json(r: CentralReport) -> str:
    return json.dumps(report_dict(r), ensure_ascii=False, indent=1) + "\n"


HEADER = (
    "Mã huyện",
    "Mã đài",
    "Từ ngày",
    "Đến ngày",
    "Dòng",
    "Mã chủ đề",
    "Tên",
    "Gửi số liệu",
    "Lượt phát",
    "Số tin, bài",
    "Thời lượng (phút)",
    "Giây",
    "Tỉ lệ thời lượng",
    "Bỏ lỡ, lỗi (lượt)",
    "Đột xuất (lượt)",
    "Khẩn cấp (lượt)",
    "Gửi lần cuối",
)


def report_csv(r: CentralReport) -> str:
    """`Dòng` is `station` (one per station), `station-topic` (its plays and minutes per
    topic), `station-bulletin` (the bulletins it aired, per priority in `Mã chủ đề`),
    `district` (a district's totals), `topic` (per topic of a district), `district-bulletin`,
    and for the province `province-topic`, `province` and `province-bulletin`; a station that
    sent nothing has `Gửi số liệu` = `no` and empty figures. Bulletin rows: `Lượt phát` the
    airings, `Số tin, bài` the distinct bulletins; only priorities that aired."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADER)
    span = [r.period.start.isoformat(), r.period.end.isoformat()]

    def state(s: StationLine) -> str:
        return "no" if not s.reporting else ("stale" if s.stale else "yes")

    def mins(seconds: float) -> float:
        return round(seconds / 60, 2)

    def bulletin_rows(district: str, station: str, row: str, lines: list[BulletinLine]) -> None:
        for b in lines:
            if b.airings:
                figures = [b.airings, b.bulletins, mins(b.seconds), b.seconds]
                w.writerow([district, station, *span, row, b.priority, "", "", *figures,
                            "", "", "", "", ""])  # fmt: skip

    for p in r.parts:
        for s in p.stations:
            if s.reporting:
                w.writerow(
                    [
                        p.code,
                        s.id,
                        *span,
                        "station",
                        "",
                        s.name,
                        state(s),
                        s.plays,
                        "",
                        mins(s.seconds),
                        round(s.seconds, 3),
                        "",
                        s.problems,
                        s.adhoc,
                        s.emergency,
                        _iso(s.last_push) or "",
                    ]
                )
                for topic, seconds in s.topic_seconds.items():
                    share = round(seconds / s.seconds, 4) if s.seconds else 0
                    w.writerow(
                        [
                            p.code,
                            s.id,
                            *span,
                            "station-topic",
                            topic,
                            "",
                            state(s),
                            s.topic_plays.get(topic, 0),
                            "",
                            mins(seconds),
                            round(seconds, 3),
                            share,
                            "",
                            "",
                            "",
                            "",
                        ]
                    )
                bulletin_rows(p.code, s.id, "station-bulletin", bulletin_lines([s]))
            else:
                w.writerow(
                    [
                        p.code,
                        s.id,
                        *span,
                        "station",
                        "",
                        s.name,
                        state(s),
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        _iso(s.last_push) or "",
                    ]
                )
        t = p.totals
        w.writerow(
            [
                p.code,
                "",
                *span,
                "district",
                "",
                p.name,
                f"{t.reporting}/{t.stations}",
                t.plays,
                "",
                mins(t.seconds),
                t.seconds,
                1 if t.seconds else 0,
                t.problems,
                t.adhoc,
                t.emergency,
                "",
            ]
        )
        for x in p.topics:
            w.writerow(
                [
                    p.code,
                    "",
                    *span,
                    "topic",
                    x.id,
                    x.name,
                    "",
                    x.plays,
                    "" if x.spots is None else x.spots,
                    mins(x.seconds),
                    x.seconds,
                    round(x.share, 4),
                    "",
                    "",
                    "",
                    "",
                ]
            )
        bulletin_rows(p.code, "", "district-bulletin", p.totals.bulletins)
    if r.district is None:
        for x in r.topics:
            w.writerow(
                [
                    "",
                    "",
                    *span,
                    "province-topic",
                    x.id,
                    x.name,
                    "",
                    x.plays,
                    "" if x.spots is None else x.spots,
                    mins(x.seconds),
                    x.seconds,
                    round(x.share, 4),
                    "",
                    "",
                    "",
                    "",
                ]
            )
        t = r.totals
        w.writerow(
            [
                "",
                "",
                *span,
                "province",
                "",
                "Toàn tỉnh",
                f"{t.reporting}/{t.stations}",
                t.plays,
                "",
                mins(t.seconds),
                t.seconds,
                1 if t.seconds else 0,
                t.problems,
                t.adhoc,
                t.emergency,
                "",
            ]
        )
        bulletin_rows("", "", "province-bulletin", t.bulletins)
    return BOM + buf.getvalue()

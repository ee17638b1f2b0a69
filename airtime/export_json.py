"""JSON shapes of DESIGN.md: the as-played log and the report."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from airtime.report import Line, Report

LOG_KEYS = (
    "id", "station", "slot", "kind", "topic", "spot", "title", "path",
    "scheduled_at", "started_at", "ended_at", "played_s", "status", "error",
    "bulletin", "priority",  # a bulletin's airing (issue 13); null on every other row
)  # fmt: skip


def local_iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 in the station's zone, with milliseconds and offset."""
    return None if value is None else value.astimezone(tz).isoformat(timespec="milliseconds")


def log_entry(row: Any, tz: ZoneInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in LOG_KEYS:
        value = getattr(row, key)
        if key.endswith("_at"):
            value = local_iso(value, tz)
        elif key == "played_s":
            value = round(float(value or 0.0), 3)
        out[key] = value
    return out


def log_json(rows: Iterable[Any], tz: ZoneInfo) -> str:
    return json.dumps([log_entry(r, tz) for r in rows], ensure_ascii=False, indent=1) + "\n"


def _counts(line: Line) -> dict[str, Any]:
    return {"plays": line.plays, "items": line.items, "seconds": round(line.seconds, 3)}


def report_dict(report: Report) -> dict[str, Any]:
    v = report.verification
    s = report.sessions
    return {
        "station": {"id": report.station_id, "name": report.station_name},
        "period": {"from": report.period.start.isoformat(), "to": report.period.end.isoformat()},
        "topics": [
            {
                "id": t.key,
                "name": t.name,
                **_counts(t),
                "share": round(report.share(t), 4),
                "weight": report.weights.get(t.key),
                "weight_share": round(report.weight_share(t.key), 4)
                if t.key in report.weights
                else None,
            }
            for t in report.topics
        ],
        "total": _counts(report.total),
        "combined": {
            "plays": report.total.plays
            + sum(s.plays for s in report.special)
            + report.bulletins.plays,
            "seconds": report.combined_seconds,
        },
        "sessions": None
        if s is None
        else {
            "due": s.due,
            "aired": s.aired,
            "not_aired": s.not_aired,
            "logged_not_aired": s.recorded,
            "no_record": s.no_record,
            "silent_days": [d.isoformat() for d in s.silent_days],
            "from": None if s.since is None else s.since.isoformat(),
            "to": None if s.until is None else s.until.isoformat(),
            "provisional": s.open_period,
        },
        "broadcasts": [
            {
                "at": b.at.isoformat(timespec="seconds"),
                "kind": b.kind,
                "title": b.title,
                "seconds": round(b.seconds, 3),
                "status": b.status,
            }
            for b in report.broadcasts
        ],
        "relays": [
            {
                "source": r.source,
                "name": r.name,
                "stretches": r.stretches,
                "seconds": r.seconds,
                "drops": r.drops,
            }
            for r in report.relays
        ],
        "months": [
            {"month": m.key, "plays": m.plays, "seconds": round(m.seconds, 3)}
            for m in report.months
        ],
        "adhoc": _counts(report.special[0]),
        "emergency": _counts(report.special[1]),
        "bulletins": _counts(report.bulletins),
        "reliability": {
            **report.reliability,
            "success_rate": None if report.success_rate is None else round(report.success_rate, 4),
        },
        "verified": None
        if v is None
        else {
            "ok": v.ok,
            "rows": v.rows,
            "head": v.head,
            "open": len(v.open_rows),
            "broken": None
            if v.broken is None
            else {"seq": v.broken.seq, "id": v.broken.id, "reason": v.broken.reason},
        },
    }


def report_json(report: Report) -> str:
    return json.dumps(report_dict(report), ensure_ascii=False, indent=1) + "\n"

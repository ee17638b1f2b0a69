"""`loa central status`: every station the role may see, as the district looks at it each
morning: alive (its last heartbeat), its last push, and the problems it reported in the last
day (device failures, refused files, refused edits of config.toml, missed slots), stale
stations first.

One query: the stations with their heartbeat, the head of their chain (one index lookup each)
and their events of the last day counted by kind (the index on `station_event.at`), so the
cost grows with the stations and the last day's events, never with the log. `order` and
`problem_kind` are pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from central.conn import connect
from central.schema import check_version

ALIVE = timedelta(hours=1)  # a heartbeat older than this: the station is not heard from
KINDS = ("device", "files", "edits", "missed", "other")
KIND_VI = {
    "device": "lỗi thiết bị âm thanh",
    "files": "tệp bị từ chối",
    "edits": "sửa cấu hình bị từ chối",
    "missed": "buổi phát lỡ hoặc lỗi",
    "other": "sự cố khác",
}


def problem_kind(source: str, level: str) -> str | None:
    """What an event of the station counts as (None: not a problem)."""
    if level not in ("error", "warning"):
        return None
    if source == "output":
        return "device"
    if source == "library":
        return "files"
    if source == "config":
        return "edits"
    if source == "slot":
        return "missed"
    return "other"


@dataclass
class StationStatus:
    id: str
    name: str
    district: str
    heartbeat: datetime | None
    version: str | None
    rows: int  # rows of its chain the central database holds
    last_push: datetime | None
    waiting: int | None  # rows the station said it had not sent yet (None: not known)
    problems: dict[str, int] = field(default_factory=dict)
    recent: list[dict[str, Any]] = field(default_factory=list)  # the last day's, newest first
    alive: bool = False

    @property
    def stale(self) -> bool:
        return not self.alive


def order(stations: list[StationStatus]) -> list[StationStatus]:
    """Stale first (never heard, then the longest silent), then those with problems."""
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(
        stations,
        key=lambda s: (
            s.alive,
            s.heartbeat or epoch,
            -sum(s.problems.values()),
            s.district,
            s.id,
        ),
    )


STATUS = """
WITH recent AS MATERIALIZED (
    SELECT station, seq, at, level, source, message
      FROM central.station_event
     WHERE at >= %(since)s AND level IN ('error', 'warning')
), counts AS (
    SELECT station, jsonb_agg(jsonb_build_array(source, level, n)) AS counts
      FROM (SELECT station, source, level, count(*) AS n FROM recent GROUP BY 1, 2, 3) g
     GROUP BY station
), newest AS (
    SELECT station, jsonb_agg(jsonb_build_array(at, level, source, message)
                              ORDER BY at DESC, seq DESC) AS newest
      FROM (SELECT *, row_number() OVER (PARTITION BY station ORDER BY at DESC, seq DESC) AS k
              FROM recent) x
     WHERE k <= %(recent)s
     GROUP BY station
)
SELECT s.id, s.name, s.district, s.timezone, r.heartbeat_at, r.loa_version, h.chain_seq,
       h.received_at, c.counts, n.newest
  FROM central.station s
  LEFT JOIN central.station_report r ON r.station = s.id
  LEFT JOIN counts c ON c.station = s.id
  LEFT JOIN newest n ON n.station = s.id
  LEFT JOIN LATERAL (
       SELECT a.chain_seq, a.received_at FROM central.airtime a
        WHERE a.station = s.id ORDER BY a.chain_seq DESC LIMIT 1) h ON true
"""


def read_status(url: str, *, now: datetime | None = None, recent: int = 3) -> list[StationStatus]:
    now = now or datetime.now(UTC)
    with connect(url) as pg:
        check_version(pg, url)
        rows = pg.execute(STATUS, {"since": now - timedelta(days=1), "recent": recent}).fetchall()
    out = []
    zones: dict[str, ZoneInfo] = {}
    for sid, name, district, tz, beat, version, seq, pushed, counts, last in rows:
        problems = dict.fromkeys(KINDS, 0)
        for source, level, n in counts or ():
            kind = problem_kind(source, level)
            if kind is not None:
                problems[kind] += int(n)
        events = []
        if last:  # the few stations with problems of the last day
            zone = zones.get(tz) or zones.setdefault(tz, ZoneInfo(tz or "Asia/Ho_Chi_Minh"))
            events = [
                {
                    "at": datetime.fromisoformat(at).astimezone(zone),
                    "level": lv,
                    "source": src,
                    "message": msg,
                }
                for at, lv, src, msg in last
            ]
        out.append(
            StationStatus(
                sid,
                name,
                district,
                beat,
                version,
                int(seq or 0),
                pushed,
                None,  # no station reports its rows waiting yet
                problems,
                events,
                alive=beat is not None and now - beat <= ALIVE,
            )
        )
    return order(out)


def status_dict(s: StationStatus) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat(timespec="seconds")

    return {
        "id": s.id,
        "name": s.name,
        "district": s.district,
        "alive": s.alive,
        "stale": s.stale,
        "heartbeat_at": iso(s.heartbeat),
        "loa_version": s.version,
        "rows": s.rows,
        "last_push": iso(s.last_push),
        "waiting": s.waiting,
        "problems": s.problems,
        "recent": [{**e, "at": iso(e["at"])} for e in s.recent],
    }


def ago(moment: datetime | None, now: datetime) -> str:
    """ "5 phút trước", "3 giờ trước", "12 ngày trước", or "chưa bao giờ"."""
    if moment is None:
        return "chưa bao giờ (never)"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} phút trước"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} giờ trước"
    return f"{seconds // 86400} ngày trước"


def status_lines(stations: list[StationStatus], now: datetime) -> list[str]:
    stale = sum(1 for s in stations if s.stale)
    out = [
        f"{len(stations)} đài (stations), {stale} mất liên lạc quá "
        f"{int(ALIVE.total_seconds() // 60)} phút (stale), sự cố trong 24 giờ qua "
        "(problems in the last day):"
    ]
    for s in stations:
        state = "MẤT LIÊN LẠC" if s.stale else "hoạt động"
        pushed = f"{ago(s.last_push, now)} ({s.rows} bản ghi)" if s.last_push else "chưa (never)"
        line = (
            f"{state:<12} {s.district}  {s.id}  {s.name}: nhịp cuối (heartbeat) "
            f"{ago(s.heartbeat, now)}, gửi lần cuối (last push) {pushed}"
        )
        if s.waiting is not None:
            line += f", chờ gửi (waiting) {s.waiting}"
        found = [f"{n} {KIND_VI[k]}" for k, n in s.problems.items() if n]
        line += "; " + (", ".join(found) if found else "không có sự cố")
        out.append(line)
        for e in s.recent:
            message = " ".join(str(e["message"]).split())
            message = message if len(message) <= 110 else message[:109] + "…"
            out.append(f"    {e['at']:%Y-%m-%d %H:%M} {e['level']} {e['source']}: {message}")
    return out

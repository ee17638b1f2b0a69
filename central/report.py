"""The district's and the province's report, from the roll-ups only (never the raw rows).

A period is read as its whole months from `central.rollup_month` plus the days at its edges
from `central.rollup_day` (`split`, pure), summed per (station, topic, kind, status) in the
database; distinct spots per topic from `central.district_spot_month` and, for the edge days,
`central.rollup_spot_day`. Every station the role may see is listed (row-level security:
a district's role sees its own district only), with what it scheduled (`station_report`), its
last push (the received time of its chain's head, one index lookup) and the last
`loa central verify` of its chain (`central.chain_check`).

`build` (pure) turns those plain values into a `CentralReport`: per station, per topic, per
district, the stations that sent nothing for the period (never counted as zero airtime) and
those silent for more than `stale_days`. What is counted is what the station's own report
counts: plays and seconds of completed scheduled plays (ad hoc and emergency apart).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from airtime.periods import Period, day_start
from central.conn import connect
from central.errors import CentralError
from central.schema import check_version

SPECIAL = ("adhoc", "emergency")
PROBLEMS = ("missed", "failed")
DUE = ("completed", "interrupted", "failed", "missed")
UNKNOWN = "(không rõ chủ đề)"
DEFAULT_TZ = "Asia/Ho_Chi_Minh"


# ---------------------------------------------------------------- plain inputs


@dataclass(frozen=True)
class StationInfo:
    id: str
    name: str
    district: str
    district_name: str
    timezone: str = DEFAULT_TZ
    topics: tuple[tuple[str, str, float], ...] = ()  # (id, name, weight) it schedules
    last_push: datetime | None = None  # received time of its chain's head
    heartbeat: datetime | None = None
    checked: tuple[bool, datetime] | None = None  # the last `loa central verify`

    @property
    def last_contact(self) -> datetime | None:
        seen = [t for t in (self.last_push, self.heartbeat) if t is not None]
        return max(seen) if seen else None


@dataclass(frozen=True)
class Cell:
    """A station's plays and seconds of one (topic, kind, status) over the period."""

    station: str
    topic: str
    kind: str
    status: str
    plays: int
    seconds: float


# ---------------------------------------------------------------- results


@dataclass
class TopicLine:
    id: str
    name: str
    plays: int = 0
    spots: int | None = None  # distinct spots (None where not counted)
    seconds: float = 0.0
    share: float = 0.0
    weight_share: float | None = None  # the mean of the stations' weight shares


@dataclass
class StationLine:
    id: str
    name: str
    district: str
    reporting: bool  # sent anything for the period
    stale: bool  # nothing sent for more than stale_days (before the period's end or now)
    plays: int = 0
    seconds: float = 0.0
    topics_covered: int = 0
    topics_total: int = 0
    gap: float | None = None  # the largest |share - weight share| of its topics
    gap_topic: str | None = None
    problems: int = 0  # scheduled plays missed or failed
    due: int = 0  # scheduled plays completed, interrupted, failed or missed
    adhoc: int = 0
    adhoc_seconds: float = 0.0
    emergency: int = 0
    emergency_seconds: float = 0.0
    last_push: datetime | None = None
    last_contact: datetime | None = None
    verified: bool | None = None  # None: never checked
    checked_at: datetime | None = None
    topic_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def problem_rate(self) -> float | None:
        return self.problems / self.due if self.due else None


@dataclass
class Totals:
    stations: int = 0
    reporting: int = 0
    plays: int = 0
    seconds: float = 0.0
    problems: int = 0
    due: int = 0
    adhoc: int = 0
    adhoc_seconds: float = 0.0
    emergency: int = 0
    emergency_seconds: float = 0.0

    @property
    def problem_rate(self) -> float | None:
        return self.problems / self.due if self.due else None

    @property
    def combined_seconds(self) -> float:
        return round(self.seconds + self.adhoc_seconds + self.emergency_seconds, 3)


@dataclass
class DistrictPart:
    code: str
    name: str
    stations: list[StationLine]
    topics: list[TopicLine]
    totals: Totals


@dataclass
class CentralReport:
    period: Period
    district: str | None  # None: the province's report
    parts: list[DistrictPart]
    topics: list[TopicLine]  # across every district shown
    totals: Totals
    now: datetime
    stale_days: int
    provisional: bool
    counted_until: date  # the last day counted (today while the period is open)

    @property
    def stations(self) -> list[StationLine]:
        return [s for p in self.parts for s in p.stations]

    @property
    def not_reporting(self) -> list[StationLine]:
        return [s for s in self.stations if not s.reporting]

    @property
    def stale(self) -> list[StationLine]:
        return [s for s in self.stations if s.reporting and s.stale]


# ---------------------------------------------------------------- pure parts


def split(period: Period) -> tuple[list[date], list[tuple[date, date]]]:
    """The period's whole calendar months (their first days) and the day ranges left over
    at its edges: 2021-01-15..2021-03-10 -> ([2021-02-01], [(01-15, 01-31), (03-01, 03-10)])."""
    months: list[date] = []
    edges: list[tuple[date, date]] = []
    for m in period.months():
        whole = m.start.day == 1 and (m.end + timedelta(days=1)).day == 1
        if whole:
            months.append(m.start)
        else:
            edges.append((m.start, m.end))
    return months, edges


def _weight_shares(topics: Sequence[tuple[str, str, float]]) -> dict[str, float]:
    whole = sum(w for _, _, w in topics)
    return {t: (w / whole if whole > 0 else 0.0) for t, _, w in topics}


def station_line(info: StationInfo, cells: Iterable[Cell], stale_before: datetime) -> StationLine:
    cells = list(cells)
    contact = info.last_contact
    line = StationLine(
        info.id,
        info.name,
        info.district,
        reporting=bool(cells),
        stale=contact is None or contact < stale_before,
        last_push=info.last_push,
        last_contact=contact,
        topics_total=len(info.topics),
        verified=None if info.checked is None else info.checked[0],
        checked_at=None if info.checked is None else info.checked[1],
    )
    for c in cells:
        if c.status == "completed" and c.kind == "adhoc":
            line.adhoc += c.plays
            line.adhoc_seconds += c.seconds
        elif c.status == "completed" and c.kind == "emergency":
            line.emergency += c.plays
            line.emergency_seconds += c.seconds
        elif c.kind not in SPECIAL:
            if c.status == "completed":
                line.plays += c.plays
                line.seconds += c.seconds
                key = c.topic or UNKNOWN
                line.topic_seconds[key] = line.topic_seconds.get(key, 0.0) + c.seconds
            if c.status in PROBLEMS:
                line.problems += c.plays
            if c.status in DUE:
                line.due += c.plays
    line.seconds = round(line.seconds, 3)
    line.adhoc_seconds = round(line.adhoc_seconds, 3)
    line.emergency_seconds = round(line.emergency_seconds, 3)
    scheduled = {t for t, _, _ in info.topics}
    line.topics_covered = sum(1 for t in scheduled if line.topic_seconds.get(t, 0) > 0)
    if line.seconds > 0 and info.topics:
        shares = _weight_shares(info.topics)
        gaps = [
            (abs(line.topic_seconds.get(t, 0.0) / line.seconds - s), t) for t, s in shares.items()
        ]
        line.gap, line.gap_topic = max(gaps)
    return line


def totals_of(stations: Sequence[StationLine]) -> Totals:
    t = Totals(stations=len(stations), reporting=sum(1 for s in stations if s.reporting))
    for s in stations:
        t.plays += s.plays
        t.seconds += s.seconds
        t.problems += s.problems
        t.due += s.due
        t.adhoc += s.adhoc
        t.adhoc_seconds += s.adhoc_seconds
        t.emergency += s.emergency
        t.emergency_seconds += s.emergency_seconds
    t.seconds = round(t.seconds, 3)
    t.adhoc_seconds = round(t.adhoc_seconds, 3)
    t.emergency_seconds = round(t.emergency_seconds, 3)
    return t


def topic_lines(
    infos: Sequence[StationInfo],
    lines: Sequence[StationLine],
    cells: Iterable[Cell],
    spots: dict[str, int] | None,
) -> list[TopicLine]:
    """Per topic over `lines`: every topic a station schedules (in the order they are first
    scheduled), then any other topic found in the figures."""
    names: dict[str, str] = {}
    weight_sum: dict[str, float] = defaultdict(float)
    scheduling = [i for i in infos if i.topics]
    for info in scheduling:
        shares = _weight_shares(info.topics)
        for tid, name, _ in info.topics:
            names.setdefault(tid, name)
            weight_sum[tid] += shares[tid]
    plays: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    for c in cells:
        if c.status == "completed" and c.kind not in SPECIAL:
            key = c.topic or UNKNOWN
            plays[key] += c.plays
            seconds[key] += c.seconds
    order = list(names) + sorted(t for t in plays if t not in names)
    whole = sum(s.seconds for s in lines)
    out = []
    for tid in order:
        secs = round(seconds.get(tid, 0.0), 3)
        out.append(
            TopicLine(
                tid,
                names.get(tid, f"{tid} (không có trong lịch của đài nào)"),
                plays.get(tid, 0),
                None if spots is None else spots.get(tid, 0),
                secs,
                secs / whole if whole > 0 else 0.0,
                weight_sum[tid] / len(scheduling) if tid in names else None,
            )
        )
    return out


def build(
    period: Period,
    district: str | None,
    infos: Sequence[StationInfo],
    cells: Sequence[Cell],
    spots: dict[str, dict[str, int]],
    *,
    now: datetime,
    stale_days: int = 7,
) -> CentralReport:
    """`spots` maps a district code to {topic: distinct spots}."""
    by_station: dict[str, list[Cell]] = defaultdict(list)
    for c in cells:
        by_station[c.station].append(c)
    parts: list[DistrictPart] = []
    per_district: dict[str, list[StationInfo]] = defaultdict(list)
    for info in infos:
        per_district[info.district].append(info)
    all_lines: list[StationLine] = []
    tz = ZoneInfo(infos[0].timezone if infos else DEFAULT_TZ)
    end = min(now, day_start(period.end + timedelta(days=1), tz))
    stale_before = end - timedelta(days=stale_days)
    for code in sorted(per_district):
        members = sorted(per_district[code], key=lambda i: i.id)
        lines = [station_line(i, by_station.get(i.id, []), stale_before) for i in members]
        mine = [c for i in members for c in by_station.get(i.id, [])]
        topics = topic_lines(members, lines, mine, spots.get(code, {}))
        parts.append(DistrictPart(code, members[0].district_name, lines, topics, totals_of(lines)))
        all_lines += lines
    # distinct over every district shown ("*"), never a sum of the districts' counts
    province_spots = spots.get(parts[0].code, {}) if len(parts) == 1 else spots.get("*", {})
    topics = topic_lines(list(infos), all_lines, cells, province_spots)
    local_now = now.astimezone(tz)
    provisional = local_now.date() <= period.end
    return CentralReport(
        period=period,
        district=district,
        parts=parts,
        topics=topics,
        totals=totals_of(all_lines),
        now=now,
        stale_days=stale_days,
        provisional=provisional,
        counted_until=min(period.end, local_now.date()),
    )


# ---------------------------------------------------------------- the database


STATIONS = """
SELECT s.id, s.name, s.district, d.name, s.timezone,
       r.schedule -> 'topics', r.heartbeat_at, h.received_at, c.ok, c.checked_at
  FROM central.station s
  JOIN central.district d ON d.code = s.district
  LEFT JOIN central.station_report r ON r.station = s.id
  LEFT JOIN central.chain_check c ON c.station = s.id
  LEFT JOIN LATERAL (
       SELECT a.received_at FROM central.airtime a
        WHERE a.station = s.id ORDER BY a.chain_seq DESC LIMIT 1) h ON true
 WHERE (%(district)s::text IS NULL OR s.district = %(district)s)
 ORDER BY s.district, s.id
"""

# the period's cells: whole months from the month roll-up, edge days from the day roll-up
CELLS = """
SELECT station, topic, kind, status, sum(plays)::bigint, sum(seconds)
  FROM (SELECT m.station, m.topic, m.kind, m.status, m.plays, m.seconds
          FROM central.rollup_month m
         WHERE m.month = ANY(%(months)s::date[]) {month_filter}
        UNION ALL
        SELECT r.station, r.topic, r.kind, r.status, r.plays, r.seconds
          FROM central.rollup_day r
          JOIN unnest(%(lo)s::date[], %(hi)s::date[]) e(lo, hi) ON r.day BETWEEN e.lo AND e.hi
         WHERE true {day_filter}) c
 GROUP BY station, topic, kind, status
"""

SPOTS = """
SELECT district, topic, count(DISTINCT spot)
  FROM (SELECT m.district, m.topic, m.spot FROM central.district_spot_month m
         WHERE m.month = ANY(%(months)s::date[]) AND m.kind NOT IN ('adhoc', 'emergency')
           AND m.status = 'completed' {spot_filter}
        UNION ALL
        SELECT s.district, r.topic, r.spot FROM central.rollup_spot_day r
          JOIN central.station s ON s.id = r.station
          JOIN unnest(%(lo)s::date[], %(hi)s::date[]) e(lo, hi) ON r.day BETWEEN e.lo AND e.hi
         WHERE r.kind NOT IN ('adhoc', 'emergency') AND r.status = 'completed'
           {edge_filter}) x
 GROUP BY GROUPING SETS ((district, topic), (topic))
"""


def _topics(raw: Any) -> tuple[tuple[str, str, float], ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for t in raw:
        if isinstance(t, dict) and t.get("id"):
            out.append((str(t["id"]), str(t.get("name") or t["id"]), float(t.get("weight") or 1)))
    return tuple(out)


def read_stations(pg: psycopg.Connection, district: str | None) -> list[StationInfo]:
    rows = pg.execute(STATIONS, {"district": district}).fetchall()
    return [
        StationInfo(
            sid,
            name,
            dcode,
            dname or dcode,
            tz or DEFAULT_TZ,
            _topics(topics),
            pushed,
            beat,
            None if ok is None else (bool(ok), checked),
        )
        for sid, name, dcode, dname, tz, topics, beat, pushed, ok, checked in rows
    ]


def read_cells(pg: psycopg.Connection, period: Period, district: str | None) -> list[Cell]:
    months, edges = split(period)
    params: dict[str, Any] = {
        "months": months,
        "lo": [a for a, _ in edges],
        "hi": [b for _, b in edges],
        "district": district,
    }
    where = "AND {t}.station IN (SELECT id FROM central.station WHERE district = %(district)s)"
    query = CELLS.format(
        month_filter=where.format(t="m") if district else "",
        day_filter=where.format(t="r") if district else "",
    )
    rows = pg.execute(query, params)
    return [Cell(s, t, k, st, int(p), float(sec)) for s, t, k, st, p, sec in rows]


def read_spots(
    pg: psycopg.Connection, period: Period, district: str | None
) -> dict[str, dict[str, int]]:
    """{district: {topic: distinct spots}}, and "*" for the distinct spots of all of them."""
    months, edges = split(period)
    params: dict[str, Any] = {
        "months": months,
        "lo": [a for a, _ in edges],
        "hi": [b for _, b in edges],
        "district": district,
    }
    query = SPOTS.format(
        spot_filter="AND m.district = %(district)s" if district else "",
        edge_filter="AND s.district = %(district)s" if district else "",
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for dcode, topic, n in pg.execute(query, params):
        out[dcode if dcode is not None else "*"][topic or UNKNOWN] = int(n)
    return dict(out)


def central_report(
    url: str,
    period: Period,
    district: str | None = None,
    *,
    stale_days: int = 7,
    now: datetime | None = None,
) -> CentralReport:
    """The report of `district` (every district the role may see when None)."""
    with connect(url) as pg:
        # one snapshot for every query of the report
        pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        check_version(pg, url)
        infos = read_stations(pg, district)
        if district is not None and not infos:
            raise CentralError(
                f"--district {district}: no station of this district is registered, or this "
                "login may not read it: see `loa central stations`"
            )
        cells = read_cells(pg, period, district)
        spots = read_spots(pg, period, district)
    return build(
        period, district, infos, cells, spots, now=now or datetime.now(UTC), stale_days=stale_days
    )

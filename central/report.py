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
from collections.abc import Sequence
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
class Figures:
    """A station's sums over the period, as the database adds them up from the roll-ups:
    completed scheduled plays and seconds per topic, scheduled plays missed or failed and
    due, completed ad hoc and emergency plays and seconds."""

    station: str
    topics: dict[str, tuple[int, float]] | None  # per topic (a district's report only)
    problems: int = 0
    due: int = 0
    adhoc: int = 0
    adhoc_seconds: float = 0.0
    emergency: int = 0
    emergency_seconds: float = 0.0
    plays: int = 0  # completed scheduled plays, all topics
    seconds: float = 0.0
    covered: int = 0  # scheduled topics with airtime
    gap: float | None = None
    gap_topic: str | None = None


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
    topic_plays: dict[str, int] = field(default_factory=dict)

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


def split(period: Period) -> list[tuple[str, date, date]]:
    """The period as ranges of the coarsest roll-ups that cover it, in order: ("year", Jan 1
    of the first, Jan 1 of the last), ("month", first 1st, last 1st), ("day", first, last).
    2021-11-15..2023-02-28 -> day 2021-11-15..11-30, month 2021-12, year 2022, month 2023-01..02."""
    out: list[tuple[str, date, date]] = []
    for m in period.months():
        y = m.start.year
        if not (m.start.day == 1 and (m.end + timedelta(days=1)).day == 1):
            kind, lo, hi = "day", m.start, m.end
        elif period.start <= date(y, 1, 1) and date(y, 12, 31) <= period.end:
            kind, lo, hi = "year", date(y, 1, 1), date(y, 1, 1)
        else:
            kind, lo, hi = "month", m.start, m.start
        if out and out[-1][0] == kind:
            if kind == "year" and out[-1][2] == lo:
                continue  # the same year, already there
            out[-1] = (kind, out[-1][1], hi)  # contiguous: one range
        else:
            out.append((kind, lo, hi))
    return out


def _weight_shares(topics: Sequence[tuple[str, str, float]]) -> dict[str, float]:
    whole = sum(w for _, _, w in topics)
    return {t: (w / whole if whole > 0 else 0.0) for t, _, w in topics}


def station_line(info: StationInfo, f: Figures | None, stale_before: datetime) -> StationLine:
    contact = info.last_contact
    line = StationLine(
        info.id,
        info.name,
        info.district,
        reporting=f is not None,
        stale=contact is None or contact < stale_before,
        last_push=info.last_push,
        last_contact=contact,
        topics_total=len(info.topics),
        verified=None if info.checked is None else info.checked[0],
        checked_at=None if info.checked is None else info.checked[1],
    )
    if f is None:
        return line
    line.problems, line.due = f.problems, f.due
    line.adhoc, line.adhoc_seconds = f.adhoc, round(f.adhoc_seconds, 3)
    line.emergency, line.emergency_seconds = f.emergency, round(f.emergency_seconds, 3)
    if f.topics is None:  # the database worked out coverage and the gap
        line.plays, line.seconds = f.plays, round(f.seconds, 3)
        line.topics_covered, line.gap, line.gap_topic = f.covered, f.gap, f.gap_topic
        return line
    for topic, (plays, seconds) in f.topics.items():
        key = topic or UNKNOWN
        line.plays += plays
        line.seconds += seconds
        line.topic_plays[key] = line.topic_plays.get(key, 0) + plays
        line.topic_seconds[key] = line.topic_seconds.get(key, 0.0) + seconds
    line.seconds = round(line.seconds, 3)
    line.topics_covered = sum(1 for t, _, _ in info.topics if line.topic_seconds.get(t, 0) > 0)
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
    spots: dict[str, int] | None,
    sums: dict[str, tuple[int, float]] | None = None,
) -> list[TopicLine]:
    """Per topic over `lines`: every topic a station schedules (in the order they are first
    scheduled), then any other topic found in the figures. The weight share is the mean of
    the scheduling stations' weight shares."""
    names: dict[str, str] = {}
    weight_sum: dict[str, float] = defaultdict(float)
    scheduling = [i for i in infos if i.topics]
    schedules: dict[tuple[tuple[str, str, float], ...], int] = defaultdict(int)
    for info in scheduling:  # stations mostly share one schedule: each counted once
        schedules[info.topics] += 1
    for topics, n in schedules.items():
        shares = _weight_shares(topics)
        for tid, name, _ in topics:
            names.setdefault(tid, name)
            weight_sum[tid] += n * shares[tid]
    plays: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    if sums is not None:  # the database's sums per topic
        for key, (n, secs) in sums.items():
            plays[key or UNKNOWN] += n
            seconds[key or UNKNOWN] += secs
    for line in lines if sums is None else ():
        for key, n in line.topic_plays.items():
            plays[key] += n
            seconds[key] += line.topic_seconds[key]
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
    figures: Sequence[Figures],
    spots: dict[str, dict[str, int]],
    *,
    now: datetime,
    stale_days: int = 7,
    sums: dict[str, dict[str, tuple[int, float]]] | None = None,
) -> CentralReport:
    """`spots` maps a district code to {topic: distinct spots} ("*": all of them); `sums`
    (when the figures carry no per-topic detail) to {topic: (plays, seconds)}."""
    by_station = {f.station: f for f in figures}
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
        lines = [station_line(i, by_station.get(i.id), stale_before) for i in members]
        topics = topic_lines(
            members, lines, spots.get(code, {}), None if sums is None else sums.get(code, {})
        )
        parts.append(DistrictPart(code, members[0].district_name, lines, topics, totals_of(lines)))
        all_lines += lines
    # distinct over every district shown ("*"), never a sum of the districts' counts
    province_spots = spots.get(parts[0].code, {}) if len(parts) == 1 else spots.get("*", {})
    province_sums = None
    if sums is not None:
        province_sums = sums.get(parts[0].code, {}) if len(parts) == 1 else sums.get("*", {})
    topics = topic_lines(list(infos), all_lines, province_spots, province_sums)
    local_now = now.astimezone(tz)
    return CentralReport(
        period=period,
        district=district,
        parts=parts,
        topics=topics,
        totals=totals_of(all_lines),
        now=now,
        stale_days=stale_days,
        provisional=local_now.date() <= period.end,
        counted_until=min(period.end, local_now.date()),
    )


# ---------------------------------------------------------------- the database


STATIONS = """
SELECT s.id, s.name, s.district, d.name, s.timezone,
       r.topics_key, r.heartbeat_at, h.received_at, c.ok, c.checked_at
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
# each distinct list of scheduled topics once (most stations share the province's)
SCHEDULES = """
SELECT DISTINCT ON (r.topics_key) r.topics_key, r.schedule -> 'topics'
  FROM central.station_report r JOIN central.station s ON s.id = r.station
 WHERE (%(district)s::text IS NULL OR s.district = %(district)s)
 ORDER BY r.topics_key
"""

# The period's parts, each its own range condition on the coarsest roll-up that covers it
# (whole years, whole months, edge days; an absent part is left out, never planned as a
# scan), summed per (station, topic, kind, status), then per station in the database.
PART = """
SELECT r.station, r.topic, r.kind, r.status, r.plays, r.seconds
  FROM central.{table} r {join}
 WHERE r.{column} BETWEEN %({name}_lo)s AND %({name}_hi)s {where}"""
FIGURES = """
WITH c AS MATERIALIZED ({cells}),
done AS MATERIALIZED (
    SELECT station, topic, sum(p) AS p, sum(s) AS s FROM c
     WHERE status = 'completed' AND kind NOT IN ('adhoc', 'emergency') GROUP BY station, topic
), tot AS (
    SELECT station, sum(p) AS p, sum(s) AS s FROM done GROUP BY station
), rest AS (
    SELECT station,
           sum(p) FILTER (WHERE sched AND status IN ('missed', 'failed')) AS problems,
           sum(p) FILTER (WHERE sched AND status IN ('interrupted', 'failed', 'missed')) AS undone,
           sum(p) FILTER (WHERE status = 'completed' AND kind = 'adhoc') AS ah,
           sum(s) FILTER (WHERE status = 'completed' AND kind = 'adhoc') AS ah_s,
           sum(p) FILTER (WHERE status = 'completed' AND kind = 'emergency') AS em,
           sum(s) FILTER (WHERE status = 'completed' AND kind = 'emergency') AS em_s
      FROM (SELECT *, kind NOT IN ('adhoc', 'emergency') AS sched FROM c
             WHERE NOT (status = 'completed' AND kind NOT IN ('adhoc', 'emergency'))) x
     GROUP BY station
), keys AS (
    SELECT DISTINCT r.topics_key FROM central.station_report r WHERE r.topics_key IS NOT NULL
), plan AS (  -- each distinct schedule's topics with their weight shares, read once
    SELECT k.topics_key, t ->> 'id' AS topic,
           coalesce((t ->> 'weight')::float8, 1)
             / nullif(sum(coalesce((t ->> 'weight')::float8, 1))
                      OVER (PARTITION BY k.topics_key), 0) AS ws
      FROM keys k
     CROSS JOIN LATERAL (SELECT r.schedule -> 'topics' AS topics FROM central.station_report r
                          WHERE r.topics_key = k.topics_key LIMIT 1) one
     CROSS JOIN LATERAL jsonb_array_elements(
           CASE WHEN jsonb_typeof(one.topics) = 'array' THEN one.topics ELSE '[]' END) t
     WHERE t ->> 'id' IS NOT NULL
), fit AS (
    SELECT r.station, count(*) FILTER (WHERE d.s > 0) AS covered,
           max(abs(coalesce(d.s, 0) / t.s - coalesce(pl.ws, 0))) AS gap,
           (array_agg(pl.topic ORDER BY abs(coalesce(d.s, 0) / t.s - coalesce(pl.ws, 0)) DESC,
                      pl.topic DESC))[1] AS gap_topic
      FROM central.station_report r
      JOIN tot t ON t.station = r.station AND t.s > 0
      JOIN plan pl ON pl.topics_key = r.topics_key
      LEFT JOIN done d ON d.station = r.station AND d.topic = pl.topic
     GROUP BY r.station
)
SELECT coalesce(t.station, x.station), coalesce(t.p, 0), coalesce(t.s, 0),
       coalesce(f.covered, 0), f.gap, f.gap_topic, coalesce(x.problems, 0),
       coalesce(x.undone, 0) + coalesce(t.p, 0), coalesce(x.ah, 0), coalesce(x.ah_s, 0),
       coalesce(x.em, 0), coalesce(x.em_s, 0), {detail}
  FROM tot t
  FULL JOIN rest x ON x.station = t.station
  LEFT JOIN fit f ON f.station = coalesce(t.station, x.station)
"""
DETAIL = """(SELECT jsonb_agg(jsonb_build_array(d.topic, d.p, d.s)) FROM done d
             WHERE d.station = coalesce(t.station, x.station))"""
TOPIC_SUMS = """
SELECT s.district, c.topic, sum(c.plays)::bigint, sum(c.seconds)
  FROM ({parts}) c JOIN central.station s ON s.id = c.station
 WHERE c.status = 'completed' AND c.kind NOT IN ('adhoc', 'emergency')
 GROUP BY GROUPING SETS ((s.district, c.topic), (c.topic))
"""
SPOT_PART = """
SELECT {district} AS district, r.topic, r.spot
  FROM central.{table} r {join}
 WHERE r.{column} BETWEEN %({name}_lo)s AND %({name}_hi)s
   AND r.kind NOT IN ('adhoc', 'emergency') AND r.status = 'completed' {where}"""
IN_DISTRICT = "JOIN central.station s ON s.id = r.station"
TABLES = {
    "year": ("rollup_year", "year"),
    "month": ("rollup_month", "month"),
    "day": ("rollup_day", "day"),
}
SPOT_TABLES = {"month": ("district_spot_month", "month"), "day": ("rollup_spot_day", "day")}


def _parts(period: Period, district: str | None) -> tuple[list[str], dict[str, Any]]:
    parts, params = [], {"district": district}
    for i, (kind, lo, hi) in enumerate(split(period)):
        table, column = TABLES[kind]
        params[f"p{i}_lo"], params[f"p{i}_hi"] = lo, hi
        parts.append(
            PART.format(
                table=table,
                column=column,
                name=f"p{i}",
                join=IN_DISTRICT if district else "",
                where="AND s.district = %(district)s" if district else "",
            )
        )
    return parts, params


def figures_query(period: Period, district: str | None) -> tuple[str, dict[str, Any]]:
    """Per station; the per-topic detail of each station only for a district's report."""
    parts, params = _parts(period, district)
    if len(parts) == 1:  # one roll-up, one row per (station, topic, kind, status) already
        cells = parts[0].replace("r.plays, r.seconds", "r.plays AS p, r.seconds AS s", 1)
    else:
        cells = (
            "SELECT station, topic, kind, status, sum(plays) AS p, sum(seconds) AS s FROM ("
            + " UNION ALL ".join(parts)
            + ") u GROUP BY station, topic, kind, status"
        )
    detail = DETAIL if district else "NULL::jsonb"
    return FIGURES.format(cells=cells, detail=detail), params


def topic_sums_query(period: Period, district: str | None) -> tuple[str, dict[str, Any]]:
    parts, params = _parts(period, district)
    return TOPIC_SUMS.format(parts=" UNION ALL ".join(parts)), params


def spots_query(period: Period, district: str | None) -> tuple[str, dict[str, Any]]:
    parts, params = [], {"district": district}
    for i, (kind, lo, hi) in enumerate(split(period)):
        if kind == "year":
            kind, hi = "month", date(hi.year, 12, 1)
        table, column = SPOT_TABLES[kind]
        by_station = table == "rollup_spot_day"
        name = f"p{i}"
        params[f"{name}_lo"], params[f"{name}_hi"] = lo, hi
        parts.append(
            SPOT_PART.format(
                table=table,
                column=column,
                name=name,
                district="s.district" if by_station else "r.district",
                join=IN_DISTRICT if by_station else "",
                where=(
                    "AND s.district = %(district)s"
                    if by_station
                    else "AND r.district = %(district)s"
                )
                if district
                else "",
            )
        )
    query = (
        "SELECT district, topic, count(DISTINCT spot) FROM ("
        + " UNION ALL ".join(parts)
        + ") x GROUP BY GROUPING SETS ((district, topic), (topic))"
    )
    return query, params


def _topics(raw: Any) -> tuple[tuple[str, str, float], ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for t in raw:
        if isinstance(t, dict) and t.get("id"):
            out.append((str(t["id"]), str(t.get("name") or t["id"]), float(t.get("weight") or 1)))
    return tuple(out)


def read_stations(pg: psycopg.Connection, district: str | None) -> list[StationInfo]:
    schedules = {k: _topics(t) for k, t in pg.execute(SCHEDULES, {"district": district})}
    rows = pg.execute(STATIONS, {"district": district}).fetchall()
    return [
        StationInfo(
            sid,
            name,
            dcode,
            dname or dcode,
            tz or DEFAULT_TZ,
            schedules.get(key, ()) if key else (),
            pushed,
            beat,
            None if ok is None else (bool(ok), checked),
        )
        for sid, name, dcode, dname, tz, key, beat, pushed, ok, checked in rows
    ]


def read_figures(pg: psycopg.Connection, period: Period, district: str | None) -> list[Figures]:
    query, params = figures_query(period, district)
    out = []
    for row in pg.execute(query.encode(), params):
        sid, plays, seconds, covered, gap, gap_topic, problems, due = row[:8]
        ah, ah_s, em, em_s, detail = row[8:]
        by_topic: dict[str, tuple[int, float]] | None = None
        if detail is not None or district is not None:
            by_topic = {}
            for t, p, sec in detail or ():
                old = by_topic.get(t, (0, 0.0))
                by_topic[t] = (old[0] + int(p), old[1] + float(sec))
        out.append(
            Figures(
                sid,
                by_topic,
                int(problems),
                int(due),
                int(ah),
                float(ah_s),
                int(em),
                float(em_s),
                int(plays),
                float(seconds),
                int(covered),
                None if gap is None else float(gap),
                gap_topic,
            )
        )
    return out


def read_topic_sums(
    pg: psycopg.Connection, period: Period, district: str | None
) -> dict[str, dict[str, tuple[int, float]]]:
    """{district: {topic: (plays, seconds)}}, and "*" for all of them."""
    query, params = topic_sums_query(period, district)
    out: dict[str, dict[str, tuple[int, float]]] = defaultdict(dict)
    for dcode, topic, n, secs in pg.execute(query.encode(), params):
        out[dcode if dcode is not None else "*"][topic or ""] = (int(n), float(secs))
    return dict(out)


def read_spots(
    pg: psycopg.Connection, period: Period, district: str | None
) -> dict[str, dict[str, int]]:
    """{district: {topic: distinct spots}}, and "*" for the distinct spots of all of them."""
    query, params = spots_query(period, district)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for dcode, topic, n in pg.execute(query.encode(), params):
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
        # a province's year sorts and hashes ~10^5 rows per step: in memory, not on disk
        pg.execute("SET LOCAL work_mem = '64MB'")
        check_version(pg, url)
        infos = read_stations(pg, district)
        if district is not None and not infos:
            raise CentralError(
                f"--district {district}: no station of this district is registered, or this "
                "login may not read it: see `loa central stations`"
            )
        if district is None and len({i.district for i in infos}) == 1:
            district = infos[0].district  # a district's own login: its district's report
        figures = read_figures(pg, period, district)
        spots = read_spots(pg, period, district)
        sums = None if district is not None else read_topic_sums(pg, period, district)
    return build(
        period,
        district,
        infos,
        figures,
        spots,
        now=now or datetime.now(UTC),
        stale_days=stale_days,
        sums=sums,
    )

"""The district's and the province's report: what it reads from the central database.

Only roll-ups: a period of whole years is read from `central.station_year` (one row per
station and year, kept from `central.rollup_year` by migration 6's trigger); any other as its
whole years (`central.rollup_year`), whole months (`central.rollup_month`) and edge days
(`central.rollup_day`) as `central.report.split` cuts it, summed per station in the database
into the same shape (per topic arrays, the rest as sums); coverage and the largest gap are
worked out in Python (`central.report.station_line`). The bulletins' airings
(`central.rollup_bulletin_day`) are taken out of those sums and counted apart. Distinct spots
from `central.district_spot_year` (whole years), `central.district_spot_month` and, for edge
days, `central.rollup_spot_day`. Every station the role may see is listed (row-level
security: a district's role sees its own district only), with its schedule's topics (each
distinct list read once), its last push (the received time of its chain's head, one index
lookup) and the last `loa central verify` of its chain. `central.report.build` does the rest.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import psycopg

from airtime.periods import Period
from central.conn import connect
from central.errors import CentralError
from central.report import (
    DEFAULT_TZ,
    UNKNOWN,
    BulletinRow,
    CentralReport,
    Figures,
    StationInfo,
    added,
    apart,
    build,
    split,
)
from central.schema import check_version

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
# each distinct list of scheduled topics once (most stations share the province's): the keys
# first, then one schedule read for each (never every station's schedule detoasted and sorted)
SCHEDULES = """
SELECT k.topics_key, r.schedule -> 'topics'
  FROM (SELECT r.topics_key, min(r.station) AS station
          FROM central.station_report r JOIN central.station s ON s.id = r.station
         WHERE (%(district)s::text IS NULL OR s.district = %(district)s)
           AND r.topics_key IS NOT NULL
         GROUP BY r.topics_key) k
  JOIN central.station_report r ON r.station = k.station
"""

# The period's parts, each its own range condition on the coarsest roll-up that covers it
# (whole years, whole months, edge days; an absent part is left out, never planned as a
# scan), summed per station in the database into the shape of `central.station_year`: the
# completed scheduled plays and seconds per topic as parallel arrays, the rest as sums.
# Python adds those up per station (several years) and works out coverage and the largest gap
# (`central.report.station_line`). A period of whole years only reads `central.station_year`
# (one row per station and year). Relayed time (kind `relay`, tiếp sóng) is not propaganda
# airtime: it is left out of every figure here, as the station's own report keeps it apart.
PART = """
SELECT r.station, r.topic, r.kind, r.status, r.plays, r.seconds
  FROM central.{table} r {join}
 WHERE r.{column} BETWEEN %({name}_lo)s AND %({name}_hi)s AND r.kind <> 'relay' {where}"""
FIGURES = """
WITH c AS MATERIALIZED ({cells}),
done AS (
    SELECT station, topic, sum(p) AS p, sum(s) AS s FROM c
     WHERE status = 'completed' AND kind NOT IN ('adhoc', 'emergency') GROUP BY station, topic
), arr AS (
    SELECT station, array_agg(topic ORDER BY topic) AS topics,
           array_agg(p ORDER BY topic)::bigint[] AS plays, array_agg(s ORDER BY topic) AS seconds
      FROM done GROUP BY station
), rest AS (
    SELECT station,
           sum(p) FILTER (WHERE kind NOT IN ('adhoc', 'emergency')
                            AND status IN ('missed', 'failed')) AS problems,
           sum(p) FILTER (WHERE kind NOT IN ('adhoc', 'emergency')
                            AND status IN ('interrupted', 'failed', 'missed')) AS undone,
           sum(p) FILTER (WHERE status = 'completed' AND kind = 'adhoc') AS ah,
           sum(s) FILTER (WHERE status = 'completed' AND kind = 'adhoc') AS ah_s,
           sum(p) FILTER (WHERE status = 'completed' AND kind = 'emergency') AS em,
           sum(s) FILTER (WHERE status = 'completed' AND kind = 'emergency') AS em_s
      FROM c GROUP BY station
)
SELECT r.station, coalesce(a.topics, '{{}}'), coalesce(a.plays, '{{}}'),
       coalesce(a.seconds, '{{}}'),
       coalesce(r.problems, 0)::bigint, coalesce(r.undone, 0)::bigint, coalesce(r.ah, 0)::bigint,
       coalesce(r.ah_s, 0), coalesce(r.em, 0)::bigint, coalesce(r.em_s, 0)
  FROM rest r LEFT JOIN arr a ON a.station = r.station
"""
YEARS = """
SELECT y.station, y.topics, y.plays, y.seconds, y.problems, y.undone, y.adhoc, y.adhoc_seconds,
       y.emergency, y.emergency_seconds
  FROM central.station_year y {join}
 WHERE y.year BETWEEN %(p0_lo)s AND %(p0_hi)s {where}
"""
# the bulletins' airings over the period (few rows: `central.rollup_bulletin_day`)
BULLETINS = """
SELECT b.station, b.bulletin, b.priority, b.kind, b.status, b.topic, sum(b.plays)::bigint,
       sum(b.seconds)
  FROM central.rollup_bulletin_day b {join}
 WHERE b.day BETWEEN %(lo)s AND %(hi)s AND b.kind <> 'relay' {where}
 GROUP BY 1, 2, 3, 4, 5, 6
"""
SPOT_PART = """
SELECT {district} AS district, r.topic, r.spot
  FROM central.{table} r {join}
 WHERE r.{column} BETWEEN %({name}_lo)s AND %({name}_hi)s
   AND r.kind NOT IN ('adhoc', 'emergency', 'relay') AND r.status = 'completed' {where}"""
IN_DISTRICT = "JOIN central.station s ON s.id = r.station"
TABLES = {
    "year": ("rollup_year", "year"),
    "month": ("rollup_month", "month"),
    "day": ("rollup_day", "day"),
}
SPOT_TABLES = {
    "year": ("district_spot_year", "year"),  # migration 6
    "month": ("district_spot_month", "month"),
    "day": ("rollup_spot_day", "day"),
}


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
    """Per station (and, for a period of whole years, per station and year)."""
    parts, params = _parts(period, district)
    spans = split(period)
    if len(spans) == 1 and spans[0][0] == "year":
        query = YEARS.format(
            join="JOIN central.station s ON s.id = y.station" if district else "",
            where="AND s.district = %(district)s" if district else "",
        )
        return query, params
    cells = " UNION ALL ".join(
        p.replace("r.plays, r.seconds", "r.plays AS p, r.seconds AS s", 1) for p in parts
    )
    return FIGURES.format(cells=cells), params


def bulletins_query(period: Period, district: str | None) -> tuple[str, dict[str, Any]]:
    query = BULLETINS.format(
        join=IN_DISTRICT.replace("r.station", "b.station") if district else "",
        where="AND s.district = %(district)s" if district else "",
    )
    return query, {"district": district, "lo": period.start, "hi": period.end}


def spots_query(period: Period, district: str | None) -> tuple[str, dict[str, Any]]:
    parts, params = [], {"district": district}
    for i, (kind, lo, hi) in enumerate(split(period)):
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


def _weight(value: Any) -> float:
    """A topic's weight as the station sent it: a finite positive number, else 1 (a station's
    own config refuses anything else; a schedule written some other way into the central
    database, "abc", "1e999", -3 or a list, made the whole district's report fail)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 1.0
    try:
        weight = float(value)
    except OverflowError:  # 1e999 in jsonb comes back as an int of a thousand digits
        return 1.0
    return weight if math.isfinite(weight) and weight > 0 else 1.0


def _topics(raw: Any) -> tuple[tuple[str, str, float], ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for t in raw:
        if isinstance(t, dict) and t.get("id"):
            out.append((str(t["id"]), str(t.get("name") or t["id"]), _weight(t.get("weight"))))
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
    """Each station's figures over the period (several years' rows added up), with the
    bulletins' airings taken out and counted apart."""
    query, params = figures_query(period, district)
    out: dict[str, Figures] = {}
    # binary: 10,000 rows of three arrays load in a third of the time text takes
    rows = pg.cursor(binary=True).execute(query.encode(), params)
    for sid, names, plays, seconds, problems, undone, ah, ah_s, em, em_s in rows:
        f = Figures(
            sid,
            dict(zip(names, plays, strict=True)),
            dict(zip(names, seconds, strict=True)),
            problems,
            undone + sum(plays),
            ah,
            ah_s,
            em,
            em_s,
        )
        old = out.get(sid)
        out[sid] = f if old is None else added(old, f)  # another year of the same station
    query, params = bulletins_query(period, district)
    bulletins: dict[str, list[BulletinRow]] = defaultdict(list)
    for row in pg.execute(query.encode(), params):
        bulletins[row[0]].append(BulletinRow(*row))
    for sid, rows_of in bulletins.items():
        if sid in out:
            out[sid] = apart(out[sid], rows_of)
    return list(out.values())


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
    return build(
        period,
        district,
        infos,
        figures,
        spots,
        now=now or datetime.now(UTC),
        stale_days=stale_days,
    )

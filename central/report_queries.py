"""The district's and the province's report: what it reads from the central database.

Only roll-ups: a period is read as its whole years (`central.rollup_year`), whole months
(`central.rollup_month`) and edge days (`central.rollup_day`) as `central.report.split` cuts
it, summed per station in the database (coverage and the largest gap too, against each
distinct schedule's weights); distinct spots from `central.district_spot_month` and, for edge
days, `central.rollup_spot_day`. Every station the role may see is listed (row-level
security: a district's role sees its own district only), with its schedule's topics (each
distinct list read once), its last push (the received time of its chain's head, one index
lookup) and the last `loa central verify` of its chain. `central.report.build` does the rest.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

import psycopg

from airtime.periods import Period
from central.conn import connect
from central.errors import CentralError
from central.report import (
    DEFAULT_TZ,
    UNKNOWN,
    CentralReport,
    Figures,
    StationInfo,
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
# Relayed time (kind `relay`, tiếp sóng) is not propaganda airtime: it is left out of every
# figure here, as the station's own report keeps it apart (airtime.relay_report).
PART = """
SELECT r.station, r.topic, r.kind, r.status, r.plays, r.seconds
  FROM central.{table} r {join}
 WHERE r.{column} BETWEEN %({name}_lo)s AND %({name}_hi)s AND r.kind <> 'relay' {where}"""
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
   AND r.kind NOT IN ('adhoc', 'emergency', 'relay') AND r.status = 'completed' {where}"""
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

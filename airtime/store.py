"""The read side of the airtime log: the SQL behind `log`, `report` and `verify`.

Rows are placed in time by `started_at`, or by `scheduled_at` for rows that never started
(missed, skipped): a play counts once, in the period where it started.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airtime.chain import FIELDS, ChainRow, Verification, verify
from airtime.models import Airtime
from airtime.periods import Period
from airtime.report import Group

T = Airtime.__table__  # type: ignore[attr-defined]


def _placed(query: sa.Select, column: sa.ColumnElement, lo: datetime, hi: datetime) -> sa.Select:
    return query.where(column >= lo, column < hi)


def log_rows(
    conn: Connection,
    station: str | None,
    period: Period | None,
    tz: ZoneInfo,
    topic: str | None = None,
) -> Iterator[sa.Row[Any]]:
    """The as-played log, oldest first (by start, or schedule for rows that never started).

    Rows are SQLAlchemy rows with the airtime columns as attributes (times aware, in UTC)."""
    at = sa.func.coalesce(T.c.started_at, T.c.scheduled_at)
    query = sa.select(T)
    if station is not None:
        query = query.where(T.c.station == station)
    if topic is not None:
        query = query.where(T.c.topic == topic)
    if period is not None:
        lo, hi = period.bounds(tz)
        started = _placed(query, T.c.started_at, lo, hi)
        never = _placed(query.where(T.c.started_at.is_(None)), T.c.scheduled_at, lo, hi)
        query = sa.union_all(started, never).subquery().select()
        at = sa.func.coalesce(
            query.selected_columns.started_at, query.selected_columns.scheduled_at
        )
        query = query.order_by(at, query.selected_columns.seq)
    else:
        query = query.order_by(at, T.c.seq)
    yield from conn.execute(query)


def _station(query: sa.Select, station: str | None) -> sa.Select:
    return query if station is None else query.where(T.c.station == station)


def _measures(played: sa.ColumnElement) -> tuple[sa.ColumnElement, ...]:
    return (sa.func.count().label("n"), sa.func.coalesce(sa.func.sum(played), 0.0).label("s"))


def report_queries(
    station: str | None,
    period: Period,
    tz: ZoneInfo,
    dialect: str = "sqlite",
    stations: list[str] | None = None,
) -> list[sa.Select]:
    """The report's queries: groups of plays that started in the period, groups of rows that
    never started (placed by scheduled_at), and one sum per month.

    Query 1 reads only ix_airtime_report (station, kind, topic, status, spot, path,
    started_at, played_s) in its order, so SQLite aggregates while it scans, with no sort;
    INDEXED BY keeps that plan when the statistics are missing. The month sums are range
    scans of ix_airtime_month (station, kind, status, started_at, played_s), one station at
    a time (`stations`: the station, or every station for a district-wide report)."""
    lo, hi = period.bounds(tz)
    keys = (T.c.station, T.c.kind, T.c.topic, T.c.status, T.c.spot, T.c.path)
    measures = _measures(T.c.played_s)
    if dialect == "sqlite":
        # the same columns, unbound, read from the forced index
        c = {col.name: sa.column(col.name, col.type) for col in T.c}
        scan: sa.FromClause | sa.TextClause = sa.text("airtime INDEXED BY ix_airtime_report")
        r_keys = [c[k.name] for k in keys]
        started = sa.select(*r_keys, *_measures(c["played_s"])).select_from(scan)
        started = started.where(c["started_at"] >= lo, c["started_at"] < hi).group_by(*r_keys)
        if station is not None:
            started = started.where(c["station"] == station)
    else:
        started = _station(
            sa.select(*keys, *measures)
            .where(T.c.started_at >= lo, T.c.started_at < hi)
            .group_by(*keys),
            station,
        )
    never = (
        sa.select(*keys, *measures)
        .where(T.c.started_at.is_(None), T.c.scheduled_at >= lo, T.c.scheduled_at < hi)
        .group_by(*keys)
    )
    queries = [started, _station(never, station)]
    for month in period.months():
        m_lo, m_hi = month.bounds(tz)
        queries.append(
            sa.select(*measures).where(
                T.c.station.in_(stations if station is None else [station]),
                T.c.kind == "scheduled",
                T.c.status == "completed",
                T.c.started_at >= m_lo,
                T.c.started_at < m_hi,
            )
        )
    return queries


MMAP = "PRAGMA mmap_size=1073741824"


def _execute_all(conn: Connection, queries: list[sa.Select]) -> list[list[sa.Row[Any]]]:
    """Every query's rows. On a SQLite file the first (the long covering scan) runs here while
    the others run on a second connection in a thread: SQLite releases the GIL while it
    steps, so the two cores share the work (a 1M-row district report: ~515 -> ~360 ms)."""
    database = conn.engine.url.database
    if conn.dialect.name != "sqlite" or not database or database == ":memory:":
        return [list(conn.execute(q)) for q in queries]
    side: list[list[sa.Row[Any]]] = []
    failure: list[BaseException] = []

    def run_side() -> None:
        try:
            with conn.engine.connect() as other:
                other.exec_driver_sql(MMAP)
                side.extend(list(other.execute(q)) for q in queries[1:])
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run_side, name="loa-report", daemon=True)
    thread.start()
    first = list(conn.execute(queries[0]))
    thread.join()
    if failure:
        raise failure[0]
    return [first, *side]


def report_data(
    conn: Connection, station: str | None, period: Period, tz: ZoneInfo
) -> tuple[list[Group], dict[str, tuple[int, float]]]:
    """(groups over the period, {"YYYY-MM": (plays, seconds)}) for `build_report`."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        # Read the file through memory mapping: the covering scan of a million rows is
        # about three times faster than through read() calls (see BENCHMARKS.md).
        conn.exec_driver_sql(MMAP)
    every = stations(conn) if station is None else None
    queries = report_queries(station, period, tz, dialect, every)
    started, never, *monthly = _execute_all(conn, queries)
    groups = [
        Group(kind, topic, status, spot if spot is not None else f"path:{path}", int(n), float(s))
        for rows in (started, never)
        for _st, kind, topic, status, spot, path, n, s in rows
    ]
    months = {}
    for month, rows in zip(period.months(), monthly, strict=True):
        n, s = rows[0]
        months[month.label] = (int(n), float(s))
    return groups, months


def stations(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(sa.select(T.c.station).distinct().order_by(T.c.station))]


def verify_station(conn: Connection, station: str) -> Verification:
    """Check one station's chain (raw column values, no ORM, so a million rows stay quick)."""
    cols = [
        T.c.seq,
        T.c.chain_seq,
        T.c.hash,
        *(sa.type_coerce(T.c[f], sa.String) if f.endswith("_at") else T.c[f] for f in FIELDS),
    ]
    base = sa.select(*cols).where(T.c.station == station)

    def rows(query: sa.Select) -> Iterator[ChainRow]:
        for r in conn.execute(query):
            yield ChainRow(r[0], r[1], r[2], tuple(r[3:]))

    chained = rows(base.where(T.c.chain_seq.is_not(None)).order_by(T.c.chain_seq))
    unchained = rows(base.where(T.c.chain_seq.is_(None)).order_by(T.c.seq))
    return verify(station, chained, list(unchained))

"""The write side of the airtime log: what the daemon calls. Every call commits at once.

A play is written when its first sample reaches the device (`open_play`, status `playing`)
and closed when its last sample has played or it was cut (`close_play`). Rows that never
played (missed, failed, skipped) are born closed (`record_closed`). After a crash or power
cut, `close_open_plays` closes what was left open as `interrupted` at the last moment the
daemon was known to be alive.

Closing a row links it into the station's integrity chain (see `airtime.chain`): it gets the
next `chain_seq` and `hash = link(previous hash, row)`. One writer per station (the daemon)
is assumed; the unique index on (station, chain_seq) refuses a second row at one position.

The writers take a sqlite3 connection inside a transaction (`scheduler.station_db.StationDB.
transaction()`): the daemon never imports SQLAlchemy (issue 17). `chain_in_order` also takes a
SQLAlchemy connection, for the benchmarks and tests that store many rows at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from airtime.chain import FIELDS, OPEN, link
from airtime.row import KINDS, STATUSES, AirRow, utc_text

CLOSED = tuple(s for s in STATUSES if s != OPEN)
INTERRUPTED_ERROR = (
    "loa stopped while this was playing (crash or power cut); closed at the last moment "
    "the daemon was known to be alive"
)


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name}={value!r} is naive: airtime times must be timezone-aware")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")


def _check_closed(status: str) -> None:
    if status not in CLOSED:
        raise ValueError(f"status {status!r} does not close a play; use one of {', '.join(CLOSED)}")


def check_open(kind: str, started_at: datetime, scheduled_at: datetime | None) -> None:
    """What a play opened must be: a known kind, aware times (every writer, batch or not)."""
    _check_kind(kind)
    _aware("started_at", started_at)
    _aware("scheduled_at", scheduled_at)


def check_close(ended_at: datetime | None, played_s: float, status: str) -> None:
    """What closing a play must give: a closing status, an aware end, played_s >= 0."""
    _check_closed(status)
    _aware("ended_at", ended_at)
    if played_s < 0:
        raise ValueError(f"played_s={played_s} is negative")


def check_closed_row(
    kind: str,
    status: str,
    scheduled_at: datetime | None,
    started_at: datetime | None,
    ended_at: datetime | None,
    played_s: float,
) -> None:
    """What a row closed from birth must be (see `record_closed`)."""
    _check_kind(kind)
    for name, value in (("scheduled_at", scheduled_at), ("started_at", started_at)):
        _aware(name, value)
    check_close(ended_at, played_s, status)
    if started_at is None and scheduled_at is None:
        raise ValueError("a closed row needs started_at or scheduled_at to be placed in time")


_LAST_LINK = (
    "SELECT chain_seq, hash FROM airtime WHERE station = ? AND chain_seq IS NOT NULL "
    "ORDER BY chain_seq DESC LIMIT 1"
)


def _last_link(conn: Any, station: str) -> tuple[int, str]:
    """(chain_seq, hash) of the station's last chained row, (0, "") for an empty chain.
    `conn`: a sqlite3 connection, or a SQLAlchemy one (its driver's SQL, same query)."""
    run = getattr(conn, "exec_driver_sql", None) or conn.execute
    found = run(_LAST_LINK, (station,)).fetchone()
    return (int(found[0]), str(found[1])) if found else (0, "")


def _chain(conn: sqlite3.Connection, row: AirRow) -> None:
    position, prev = _last_link(conn, row.station)
    row.chain_seq = position + 1
    row.hash = link(prev, tuple(getattr(row, name) for name in FIELDS))


def chain_in_order(conn: Any, station: str, rows: Sequence[dict[str, Any]]) -> None:
    """Give closed rows (dicts of airtime columns), in the order they closed, their chain
    positions and hashes after the station's last chained row, exactly as closing them one
    by one would. For a writer that stores many rows at once (`loa simulate`)."""
    position, prev = _last_link(conn, station)
    for row in rows:
        position += 1
        row["chain_seq"] = position
        row["hash"] = prev = link(prev, [row.get(name) for name in FIELDS])


def _insert_sql(names: Sequence[str]) -> str:
    return f"INSERT INTO airtime ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


def insert(conn: sqlite3.Connection, row: AirRow) -> AirRow:
    """Store a new row; it gets its `seq`."""
    values = row.columns()
    row.seq = conn.execute(_insert_sql(list(values)), tuple(values.values())).lastrowid
    return row


def insert_many(conn: sqlite3.Connection, rows: Sequence[AirRow]) -> None:
    """Store new rows at once (their `seq` left to SQLite): `loa simulate`'s year."""
    values = [row.columns() for row in rows]
    if not values:
        return
    names = list(values[0])
    conn.executemany(_insert_sql(names), [tuple(v[n] for n in names) for v in values])


def _store_close(conn: sqlite3.Connection, row: AirRow) -> None:
    conn.execute(
        "UPDATE airtime SET ended_at = ?, played_s = ?, status = ?, error = ?, chain_seq = ?, "
        "hash = ? WHERE seq = ?",
        (
            utc_text(row.ended_at),
            row.played_s,
            row.status,
            row.error,
            row.chain_seq,
            row.hash,
            row.seq,
        ),
    )


def get(conn: sqlite3.Connection, seq: int) -> AirRow | None:
    """The row at `seq`, None if there is none."""
    found = select(conn, "seq = ?", seq)
    return found[0] if found else None


def select(conn: sqlite3.Connection, where: str, *args: Any) -> list[AirRow]:
    """Rows `WHERE <where>` (with `?` arguments), by seq."""
    cur = conn.execute(f"SELECT * FROM airtime WHERE {where} ORDER BY seq", args)
    names = [d[0] for d in cur.description]
    return [AirRow.stored(dict(zip(names, r, strict=True))) for r in cur.fetchall()]


def open_play(
    conn: sqlite3.Connection,
    *,
    station: str,
    started_at: datetime,
    kind: str = "scheduled",
    slot: str | None = None,
    topic: str | None = None,
    spot: str | None = None,
    title: str = "",
    path: str = "",
    scheduled_at: datetime | None = None,
    bulletin: str | None = None,
    priority: str | None = None,
) -> AirRow:
    """Record that a play's first sample reached the device; returns the open row."""
    check_open(kind, started_at, scheduled_at)
    row = AirRow(
        station=station,
        slot=slot,
        kind=kind,
        topic=topic,
        spot=spot,
        title=title,
        path=path,
        scheduled_at=scheduled_at,
        started_at=started_at,
        status=OPEN,
        bulletin=bulletin,
        priority=priority,
    )
    return insert(conn, row)


def close_play(
    conn: sqlite3.Connection,
    row: AirRow,
    ended_at: datetime,
    played_s: float,
    status: str = "completed",
    error: str | None = None,
) -> AirRow:
    """Close an open row (`completed`, `interrupted`, `failed`, ...) and chain it."""
    check_close(ended_at, played_s, status)
    if row.status != OPEN:
        raise ValueError(f"airtime row {row.id} is already closed ({row.status})")
    row.ended_at = ended_at
    row.played_s = float(played_s)
    row.status = status
    row.error = error
    _chain(conn, row)
    _store_close(conn, row)
    return row


def record_closed(
    conn: sqlite3.Connection,
    *,
    station: str,
    status: str,
    kind: str = "scheduled",
    slot: str | None = None,
    topic: str | None = None,
    spot: str | None = None,
    title: str = "",
    path: str = "",
    scheduled_at: datetime | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    played_s: float = 0.0,
    error: str | None = None,
    bulletin: str | None = None,
    priority: str | None = None,
) -> AirRow:
    """Write a row that is closed from birth (missed, failed, skipped; or a completed play
    recorded after the fact) and chain it. A row without `started_at` is placed in reports
    and in the log by `scheduled_at`."""
    check_closed_row(kind, status, scheduled_at, started_at, ended_at, played_s)
    row = AirRow(
        station=station,
        slot=slot,
        kind=kind,
        topic=topic,
        spot=spot,
        title=title,
        path=path,
        scheduled_at=scheduled_at,
        started_at=started_at,
        ended_at=ended_at,
        played_s=float(played_s),
        status=status,
        error=error,
        bulletin=bulletin,
        priority=priority,
    )
    _chain(conn, row)
    return insert(conn, row)


def close_open_plays(
    conn: sqlite3.Connection,
    at: datetime,
    status: str = "interrupted",
    station: str | None = None,
    error: str = INTERRUPTED_ERROR,
) -> list[AirRow]:
    """Crash recovery: close every open row (of `station`, or all) at `at`, oldest first.

    `played_s` becomes the time from start to `at` (never negative)."""
    _check_closed(status)
    _aware("at", at)
    if station is None:
        rows = select(conn, "status = ?", OPEN)
    else:
        rows = select(conn, "status = ? AND station = ?", OPEN, station)
    for row in rows:
        start = row.started_at or at
        end = max(at, start)
        row.ended_at = end
        row.played_s = (end - start).total_seconds()
        row.status = status
        row.error = error
        _chain(conn, row)
        _store_close(conn, row)
    return rows

"""The write side of the airtime log: what the daemon calls. Every call commits at once.

A play is written when its first sample reaches the device (`open_play`, status `playing`)
and closed when its last sample has played or it was cut (`close_play`). Rows that never
played (missed, failed, skipped) are born closed (`record_closed`). After a crash or power
cut, `close_open_plays` closes what was left open as `interrupted` at the last moment the
daemon was known to be alive.

Closing a row links it into the station's integrity chain (see `airtime.chain`): it gets the
next `chain_seq` and `hash = link(previous hash, row)`. One writer per station (the daemon)
is assumed; the unique index on (station, chain_seq) refuses a second row at one position.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from airtime.chain import FIELDS, OPEN, link
from airtime.models import KINDS, STATUSES, Airtime

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


def _last_link(session: Session | Connection, station: str) -> tuple[int, str]:
    """(chain_seq, hash) of the station's last chained row, (0, "") for an empty chain."""
    found = session.execute(
        sa.select(Airtime.chain_seq, Airtime.hash)  # type: ignore[call-overload]
        .where(Airtime.station == station, Airtime.chain_seq.is_not(None))  # type: ignore[union-attr]
        .order_by(Airtime.chain_seq.desc())  # type: ignore[union-attr]
        .limit(1)
    ).first()
    return (int(found[0]), str(found[1])) if found else (0, "")


def _chain(session: Session, row: Airtime) -> None:
    position, prev = _last_link(session, row.station)
    row.chain_seq = position + 1
    row.hash = link(prev, tuple(getattr(row, name) for name in FIELDS))


def chain_in_order(
    conn: Session | Connection, station: str, rows: Sequence[dict[str, Any]]
) -> None:
    """Give closed rows (dicts of airtime columns), in the order they closed, their chain
    positions and hashes after the station's last chained row, exactly as closing them one
    by one would. For a writer that stores many rows at once (`loa simulate`)."""
    position, prev = _last_link(conn, station)
    for row in rows:
        position += 1
        row["chain_seq"] = position
        row["hash"] = prev = link(prev, [row.get(name) for name in FIELDS])


def open_play(
    session: Session,
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
) -> Airtime:
    """Record that a play's first sample reached the device; returns the open row."""
    check_open(kind, started_at, scheduled_at)
    row = Airtime(
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
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def close_play(
    session: Session,
    row: Airtime,
    ended_at: datetime,
    played_s: float,
    status: str = "completed",
    error: str | None = None,
) -> Airtime:
    """Close an open row (`completed`, `interrupted`, `failed`, ...) and chain it."""
    check_close(ended_at, played_s, status)
    if row.status != OPEN:
        raise ValueError(f"airtime row {row.id} is already closed ({row.status})")
    row.ended_at = ended_at
    row.played_s = float(played_s)
    row.status = status
    row.error = error
    _chain(session, row)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def record_closed(
    session: Session,
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
) -> Airtime:
    """Write a row that is closed from birth (missed, failed, skipped; or a completed play
    recorded after the fact) and chain it. A row without `started_at` is placed in reports
    and in the log by `scheduled_at`."""
    check_closed_row(kind, status, scheduled_at, started_at, ended_at, played_s)
    row = Airtime(
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
    _chain(session, row)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def close_open_plays(
    session: Session,
    at: datetime,
    status: str = "interrupted",
    station: str | None = None,
    error: str = INTERRUPTED_ERROR,
) -> list[Airtime]:
    """Crash recovery: close every open row (of `station`, or all) at `at`, oldest first.

    `played_s` becomes the time from start to `at` (never negative)."""
    _check_closed(status)
    _aware("at", at)
    query = sa.select(Airtime).where(Airtime.status == OPEN)
    if station is not None:
        query = query.where(Airtime.station == station)
    rows = list(session.scalars(query.order_by(Airtime.seq)))  # type: ignore[arg-type]
    for row in rows:
        start = row.started_at or at
        end = max(at, start)
        row.ended_at = end
        row.played_s = (end - start).total_seconds()
        row.status = status
        row.error = error
        _chain(session, row)
        session.add(row)
        session.flush()
    session.commit()
    for row in rows:
        session.refresh(row)
    return rows

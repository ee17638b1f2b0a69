"""What the report document reads from the log besides the aggregates of `airtime.store`:
the scheduled rows that sessions are matched with, the ad hoc and emergency plays one by one,
and when the station's log began."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airtime.report import SPECIAL_KINDS, Broadcast, SessionRow
from airtime.store import T


def session_rows(conn: Connection, station: str, lo: datetime, hi: datetime) -> list[SessionRow]:
    """Scheduled rows planned in [lo, hi) (UTC): slot, planned time, status."""
    query = (
        sa.select(T.c.slot, T.c.scheduled_at, T.c.status)
        .where(
            T.c.station == station,
            T.c.kind.in_(("scheduled", "relay")),  # a relay slot's session aired as relay rows
            T.c.slot.is_not(None),
            T.c.scheduled_at >= lo,
            T.c.scheduled_at < hi,
        )
        .order_by(T.c.slot, T.c.scheduled_at)
    )
    return [SessionRow(slot, at, status) for slot, at, status in conn.execute(query)]


def broadcasts(
    conn: Connection, station: str, lo: datetime, hi: datetime, tz: ZoneInfo
) -> list[Broadcast]:
    """Ad hoc and emergency rows placed in [lo, hi), oldest first (placed by their start, or
    by their planned time when they never started)."""
    at = sa.func.coalesce(T.c.started_at, T.c.scheduled_at)
    query = (
        sa.select(
            T.c.started_at,
            T.c.scheduled_at,
            T.c.kind,
            T.c.title,
            T.c.path,
            T.c.played_s,
            T.c.status,
        )
        .where(T.c.station == station, T.c.kind.in_(SPECIAL_KINDS), at >= lo, at < hi)
        .order_by(at, T.c.seq)
    )
    out = []
    for started, scheduled, kind, title, path, played, status in conn.execute(query):
        when = (started or scheduled).astimezone(tz)
        out.append(Broadcast(when, kind, title or path, float(played or 0.0), status))
    return out


def log_began(conn: Connection, station: str) -> datetime | None:
    """The earliest moment any row of the station's log is placed at (UTC), or None."""
    first = sa.select(sa.func.min(sa.func.coalesce(T.c.started_at, T.c.scheduled_at))).where(
        T.c.station == station
    )
    value = conn.execute(first).scalar()
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns min() of a typed column as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))

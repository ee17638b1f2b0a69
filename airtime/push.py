"""The station's side of a push: its closed rows read along the chain, a page at a time.

A push (central.push) asks the central database for the station's last chain position and
hash, then reads from here only what comes after it, in keyset pages of `chain_seq`, so no
list of ids or rows is ever held whole. Open (`playing`) rows are not in the chain yet; they
go with the next push, after they close.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airtime.chain import FIELDS, OPEN, ChainRow
from airtime.models import Event
from airtime.store import T

BATCH = 2000
E = Event.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PushResult:
    copied: int  # rows written by this push
    already: int  # rows the central database had before
    open_rows: int  # rows still playing: the next push takes them
    head: int = 0  # the central chain position after the push


def _query() -> sa.Select:
    return sa.select(T.c.seq, T.c.chain_seq, T.c.hash, *(T.c[f] for f in FIELDS))


def rows_after(
    conn: Connection, station: str, after: int, limit: int = BATCH, upto: int | None = None
) -> list[ChainRow]:
    """The station's chained rows at positions after `after` (to `upto`), at most `limit`."""
    query = _query().where(T.c.station == station, T.c.chain_seq > after)
    if upto is not None:
        query = query.where(T.c.chain_seq <= upto)
    query = query.order_by(T.c.chain_seq).limit(limit)
    return [ChainRow(r[0], r[1], r[2], tuple(r[3:])) for r in conn.execute(query)]


def pages_after(
    conn: Connection, station: str, after: int, limit: int = BATCH, upto: int | None = None
) -> Iterator[list[ChainRow]]:
    """`rows_after` page by page until the end of the chain (or `upto`)."""
    while True:
        page = rows_after(conn, station, after, limit, upto)
        if page:
            yield page
        if len(page) < limit:
            return
        after = int(page[-1].chain_seq or 0)


def row_at(conn: Connection, station: str, chain_seq: int) -> ChainRow | None:
    found = conn.execute(_query().where(T.c.station == station, T.c.chain_seq == chain_seq)).first()
    return ChainRow(found[0], found[1], found[2], tuple(found[3:])) if found else None


def hashes(conn: Connection, station: str, start: int, limit: int) -> list[tuple[int, str]]:
    """(chain_seq, hash) from position `start`, at most `limit`."""
    query = (
        sa.select(T.c.chain_seq, T.c.hash)
        .where(T.c.station == station, T.c.chain_seq >= start)
        .order_by(T.c.chain_seq)
        .limit(limit)
    )
    return [(int(a), str(b)) for a, b in conn.execute(query)]


def chain_length(conn: Connection, station: str) -> int:
    value = conn.execute(
        sa.select(sa.func.max(T.c.chain_seq)).where(T.c.station == station)
    ).scalar()
    return int(value or 0)


def open_count(conn: Connection, station: str) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(T.c.station == station, T.c.status == OPEN)
        ).scalar_one()
    )


def events_after(conn: Connection, after: int, limit: int = BATCH) -> list[tuple[Any, ...]]:
    """(seq, at, level, source, message) of the station's events after `after`."""
    query = (
        sa.select(E.c.seq, E.c.at, E.c.level, E.c.source, E.c.message)
        .where(E.c.seq > after)
        .order_by(E.c.seq)
        .limit(limit)
    )
    return [tuple(r) for r in conn.execute(query)]

"""Writing a station's rows into the central database, batch by batch, along its chain.

The central copy of a station's chain grows only at its head: a batch is accepted when its
first row sits at the next position and links to the hash of the central last row, and each
later row links to the one before (`check_links`, pure). A batch is one INSERT of arrays (one
statement, so the roll-up trigger runs once per batch) in its own transaction, after taking
the station's advisory lock and re-reading the head: a concurrent writer of the same station
makes the batch fail whole (`HeadMoved`), never interleave. What the row-level security
policies forbid (another station's id) is left to them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from airtime.chain import FIELDS, ChainRow, link
from central.errors import HeadMoved

COLUMNS = ("chain_seq", "hash", *FIELDS)
TYPES = {
    "chain_seq": "bigint",
    "scheduled_at": "timestamptz",
    "started_at": "timestamptz",
    "ended_at": "timestamptz",
    "played_s": "float8",
}
INSERT = (
    f"INSERT INTO central.airtime ({', '.join(COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%s::{TYPES.get(c, 'text')}[]" for c in COLUMNS)
    + ")"
)
LOCK = "SELECT pg_advisory_xact_lock(hashtext('loa-central:' || %s))"


@dataclass(frozen=True)
class Head:
    """The central last link of a station's chain: (0, "") when nothing is there yet."""

    chain_seq: int = 0
    hash: str = ""


@dataclass(frozen=True)
class NotLinked:
    """The first row of a batch that does not extend the chain, and why."""

    row: ChainRow
    reason: str

    def describe(self) -> str:
        r = self.row
        return f"seq {r.seq}, id {r.id}, chain position {r.chain_seq}: {self.reason}"


def check_links(after: Head, rows: Sequence[ChainRow]) -> NotLinked | None:
    """The first row of `rows` (in chain order) that does not extend `after`, or None."""
    position, prev = after.chain_seq, after.hash
    for row in rows:
        if row.chain_seq != position + 1:
            return NotLinked(row, f"position {row.chain_seq} where {position + 1} was expected")
        if row.hash != link(prev, row.values):
            what = "the last row the central database holds" if position == after.chain_seq else ""
            return NotLinked(
                row,
                "its hash does not link to "
                + (what or f"the row at position {position}")
                + (" (another history of this station's log: a fork)" if what else ""),
            )
        position, prev = position + 1, str(row.hash)
    return None


def head(conn: psycopg.Connection, station: str) -> Head:
    found = conn.execute(
        # max() is planned as a backward scan of the primary key whatever the statistics
        "SELECT chain_seq, hash FROM central.airtime WHERE station = %s AND chain_seq = "
        "(SELECT max(chain_seq) FROM central.airtime WHERE station = %s)",
        (station, station),
    ).fetchone()
    return Head(int(found[0]), str(found[1])) if found else Head()


def hashes(conn: psycopg.Connection, station: str, start: int, limit: int) -> list[tuple[int, str]]:
    """(chain_seq, hash) of the central rows from position `start`, at most `limit`."""
    return [
        (int(a), str(b))
        for a, b in conn.execute(
            "SELECT chain_seq, hash FROM central.airtime WHERE station = %s AND chain_seq >= %s "
            "ORDER BY chain_seq LIMIT %s",
            (station, start, limit),
        )
    ]


def central_rows(conn: psycopg.Connection, station: str, batch: int = 5000) -> Iterator[ChainRow]:
    """A station's central rows in chain order, read in keyset pages (no full list)."""
    after = 0
    cols = ", ".join(COLUMNS)
    while True:
        page = conn.execute(
            f"SELECT {cols} FROM central.airtime WHERE station = %s AND chain_seq > %s "
            "ORDER BY chain_seq LIMIT %s",
            (station, after, batch),
        ).fetchall()
        for r in page:
            yield ChainRow(int(r[0]), int(r[0]), r[1], tuple(r[2:]))
        if len(page) < batch:
            return
        after = int(page[-1][0])


def write_batch(
    conn: psycopg.Connection, station: str, after: Head, rows: Sequence[ChainRow]
) -> Head:
    """Insert `rows` (already link-checked against `after`) in one transaction; the new head.

    HeadMoved (nothing written) if the central head is no longer `after`."""
    if not rows:
        return after
    with conn.transaction():
        conn.execute(LOCK, (station,))
        now = head(conn, station)
        if now != after:
            raise HeadMoved(
                f"{station}: the central chain moved from position {after.chain_seq} to "
                f"{now.chain_seq} while pushing (another push of this station at the same time)"
            )
        arrays: list[list[Any]] = [[] for _ in COLUMNS]
        for row in rows:
            arrays[0].append(row.chain_seq)
            arrays[1].append(row.hash)
            for i, value in enumerate(row.values, start=2):
                arrays[i].append(value)
        conn.execute(INSERT, arrays)
    last = rows[-1]
    return Head(int(last.chain_seq or 0), str(last.hash))


def last_event_seq(conn: psycopg.Connection, station: str) -> int:
    found = conn.execute(
        "SELECT coalesce(max(seq), 0) FROM central.station_event WHERE station = %s", (station,)
    ).fetchone()
    return int(found[0]) if found else 0


def write_events(conn: psycopg.Connection, station: str, events: Sequence[tuple[Any, ...]]) -> int:
    """Insert (seq, at, level, source, message) events; those already there are left alone."""
    if not events:
        return 0
    cols = list(zip(*events, strict=True))
    with conn.transaction():
        cur = conn.execute(
            "INSERT INTO central.station_event (station, seq, at, level, source, message) "
            "SELECT %s, * FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[], "
            "%s::text[]) ON CONFLICT DO NOTHING",
            (station, *[list(c) for c in cols]),
        )
    return cur.rowcount


def report_in(conn: psycopg.Connection, schedule: dict[str, Any], version: str) -> None:
    """The station's heartbeat, schedule and loa version (under the role's own station)."""
    with conn.transaction():
        conn.execute("SELECT central.report_in(%s, %s)", (Jsonb(schedule), version))

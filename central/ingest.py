"""Writing a station's rows into the central database, batch by batch, along its chain.

The central copy of a station's chain grows only at its head: a batch is accepted when its
first row sits at the next position and links to the hash of the central last row, and each
later row links to the one before (`check_links`, pure).

A batch is one transaction (`write_batch`): take the station's advisory lock and re-read the
head (a concurrent writer of the same station makes the batch fail whole, `HeadMoved`, never
interleave), stream the rows by one binary COPY into a temporary table of this session
(`pg_temp.loa_batch`, emptied at commit), then one `INSERT ... SELECT` into
`central.airtime`, so the roll-up trigger runs once per batch, in that transaction (a batch
of fewer than SMALL rows is bound as arrays into the same INSERT instead). The
INSERT is the station's own: row-level security (another station's id) and the grants (no
UPDATE, no DELETE) decide, as for any insert. (COPY cannot go straight into a table under
row-level security, hence the temporary table; binding the same rows as 16 arrays, the design
before, cost 2-3x more.)

`write_checked` is the path of pushes and bundles: a helper thread reads the pages, checks
each row's link and prepares the COPY rows while this thread waits for the server to write
the page before; a page is written only when it and everything before it link.
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from airtime.chain import BASE, EXTRA, FIELDS, ChainRow, canonical_time, link
from central.errors import HeadMoved

COLUMNS = ("chain_seq", "hash", *FIELDS)
TYPES = {
    "chain_seq": "bigint",
    "scheduled_at": "timestamptz",
    "started_at": "timestamptz",
    "ended_at": "timestamptz",
    "played_s": "float8",
}
LOCK = "SELECT pg_advisory_xact_lock(hashtext('loa-central:' || %s))"

# The staging table: times travel as the chain's own canonical UTC text (what the hash covers)
# and become timestamptz in the INSERT; everything else has its central type.
_TIME_COLUMNS = frozenset(c for c in COLUMNS if TYPES.get(c) == "timestamptz")
_STAGE_TYPES = ["text" if c in _TIME_COLUMNS else TYPES.get(c, "text") for c in COLUMNS]
STAGE = "pg_temp.loa_batch"
_CREATE_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS loa_batch ("
    + ", ".join(f"{c} {t}" for c, t in zip(COLUMNS, _STAGE_TYPES, strict=True))
    + ") ON COMMIT DELETE ROWS"
)
_COPY = f"COPY {STAGE} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_SELECT = f"INSERT INTO central.airtime ({', '.join(COLUMNS)}) SELECT " + ", ".join(
    f"({c}::timestamp AT TIME ZONE 'UTC')" if c in _TIME_COLUMNS else c for c in COLUMNS
)
_FROM_STAGE = f"{_SELECT} FROM {STAGE} ORDER BY chain_seq"
# A small batch (a daily push: ~30 rows) binds arrays instead: creating the temporary table
# in a new session costs more than the COPY saves on so few rows (BENCHMARKS.md).
SMALL = 200
_FROM_ARRAYS = (
    f"{_SELECT} FROM unnest("
    + ", ".join(f"%s::{t}[]" for t in _STAGE_TYPES)
    + f") AS s ({', '.join(COLUMNS)})"
)
_TIMES = tuple(i for i, c in enumerate(COLUMNS) if c in _TIME_COLUMNS)
_PLAYED = COLUMNS.index("played_s")
_N_BASE = len(BASE)
_NO_EXTRA = [None] * len(EXTRA)
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
# What that encoder writes for one str (ensure_ascii=False): its own function, called directly.
_QUOTE = json.encoder.encode_basestring


def _encode(content: list[Any]) -> str:
    """`_ENCODE(content)` for a list of str and None (every content field as staged), without
    the encoder's per-call set-up; anything else goes to the encoder itself."""
    try:
        return "[" + ",".join([_QUOTE(v) if v is not None else "null" for v in content]) + "]"
    except (TypeError, AttributeError):  # a value that is not text, e.g. a number
        return _ENCODE(content)


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


def _not_linked(row: ChainRow, after: Head, position: int) -> NotLinked:
    if row.chain_seq != position + 1:
        return NotLinked(row, f"position {row.chain_seq} where {position + 1} was expected")
    what = "the last row the central database holds" if position == after.chain_seq else ""
    return NotLinked(
        row,
        "its hash does not link to "
        + (what or f"the row at position {position}")
        + (" (another history of this station's log: a fork)" if what else ""),
    )


def _staged(row: ChainRow, content: bool = True) -> tuple[list[Any], bytes]:
    """The row as staged (COLUMNS) and its canonical bytes (airtime.chain.canonical's)."""
    out = [row.chain_seq, row.hash, *row.values]
    for i in _TIMES:
        t = out[i]
        if t is not None and (t.__class__ is not str or len(t) != 26):
            out[i] = canonical_time(t)
    played = float(out[_PLAYED] or 0.0)
    if not content:
        out[_PLAYED] = played
        return out, b""
    out[_PLAYED] = repr(played)
    content = out[2:]
    if content[_N_BASE:] == _NO_EXTRA:  # a row without the EXTRA fields hashes as before them
        content = content[:_N_BASE]
    canonical = _encode(content).encode("utf-8")
    out[_PLAYED] = played
    return out, canonical


def _links(prev: str, row: ChainRow, content: bytes) -> bool:
    if row.hash == hashlib.sha256(prev.encode("ascii") + b"\n" + content).hexdigest():
        return True
    # the reference, so that this faster path can never refuse a row the chain accepts (and it
    # cannot accept one the chain refuses: it would have to reproduce the stored hash)
    return row.hash == link(prev, row.values)


def check_links(after: Head, rows: Sequence[ChainRow]) -> NotLinked | None:
    """The first row of `rows` (in chain order) that does not extend `after`, or None."""
    position, prev = after.chain_seq, after.hash
    for row in rows:
        if row.chain_seq != position + 1 or not _links(prev, row, _staged(row)[1]):
            return _not_linked(row, after, position)
        position, prev = position + 1, str(row.hash)
    return None


class _Batch(list):  # type: ignore[type-arg]
    """A page's rows as COPY rows, and the head after them."""

    head: Head


def prepare(after: Head, rows: Sequence[ChainRow], check: bool = True) -> _Batch | NotLinked:
    """`rows` as COPY rows (COLUMNS), or the first that does not extend `after` (with check)."""
    out, position, prev = _Batch(), after.chain_seq, after.hash
    for row in rows:
        staged, content = _staged(row, check)
        if check and (row.chain_seq != position + 1 or not _links(prev, row, content)):
            return _not_linked(row, after, position)
        out.append(staged)
        position, prev = int(row.chain_seq or 0), str(row.hash)
    out.head = Head(position, prev)
    return out


def _write(conn: psycopg.Connection, station: str, after: Head, batch: _Batch) -> Head:
    if not batch:
        return after
    with conn.transaction():
        conn.execute(LOCK, (station,))
        now = _head_from(conn, station, after.chain_seq)
        if now != after:
            raise HeadMoved(
                f"{station}: the central chain moved from position {after.chain_seq} to "
                f"{now.chain_seq} while pushing (another push of this station at the same time)"
            )
        if len(batch) < SMALL:
            conn.execute(_FROM_ARRAYS, [list(c) for c in zip(*batch, strict=True)])
        else:
            stage(conn, batch)
            conn.execute(_FROM_STAGE)
    return batch.head


def stage(conn: psycopg.Connection, batch: _Batch) -> None:
    """The batch into this session's temporary table, by one binary COPY. (COPY's text
    format, prepared by the link-checking thread so that this thread only sent it, was
    measured slower: +4-8 us a row to prepare, and the server took longer to read it.)"""
    conn.execute(_CREATE_STAGE)
    with conn.cursor() as cur, cur.copy(_COPY) as copy:
        copy.set_types(_STAGE_TYPES)
        for row in batch:
            copy.write_row(row)


def write_batch(
    conn: psycopg.Connection, station: str, after: Head, rows: Sequence[ChainRow]
) -> Head:
    """Insert `rows` (already link-checked against `after`) in one transaction; the new head.

    HeadMoved (nothing written) if the central head is no longer `after`."""
    prepared = prepare(after, rows, check=False)
    assert isinstance(prepared, _Batch)
    return _write(conn, station, after, prepared)


def write_checked(
    conn: psycopg.Connection,
    station: str,
    after: Head,
    pages: Iterable[Sequence[ChainRow]],
    written: list[Head] | None = None,
) -> tuple[Head, NotLinked | None]:
    """Write `pages` (chain order, each one transaction) while they extend `after`.

    Returns the new head and the first row that does not link (None when all did): nothing
    of that row's page or after it is written. `pages` is iterated in a helper thread, one
    page ahead of the writing; a failure there is raised here. `written`, when given, gets
    the head after each committed page (what went in when a later page fails)."""
    ahead: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        at = after
        try:
            for page in pages:
                prepared = prepare(at, page)
                if isinstance(prepared, NotLinked):
                    put(("broken", prepared))
                    return
                if not put(("page", prepared)):
                    return
                at = prepared.head
            put(("end", None))
        except BaseException as exc:  # handed to the writing thread, raised there
            put(("error", exc))

    helper = threading.Thread(target=produce, name=f"loa-push-{station}", daemon=True)
    helper.start()
    at = after
    try:
        while True:
            kind, item = ahead.get()
            if kind == "page":
                at = _write(conn, station, at, item)
                if written is not None:
                    written.append(at)
            elif kind == "broken":
                return at, item
            elif kind == "error":
                raise item
            else:
                return at, None
    finally:
        stop.set()
        helper.join()


def head(conn: psycopg.Connection, station: str) -> Head:
    found = conn.execute(
        # max() is planned as a backward scan of the primary key whatever the statistics
        "SELECT chain_seq, hash FROM central.airtime WHERE station = %s AND chain_seq = "
        "(SELECT max(chain_seq) FROM central.airtime WHERE station = %s)",
        (station, station),
    ).fetchone()
    return Head(int(found[0]), str(found[1])) if found else Head()


def _head_from(conn: psycopg.Connection, station: str, position: int) -> Head:
    """The head when it is at `position` or beyond: reads only the rows from there on.

    (`head` as a station's role is not answered from the end of the primary key while the
    table has no statistics yet: the row-level security filter hides the min/max shortcut,
    and a scan of the whole station's range grew with its chain.)"""
    found = conn.execute(
        "SELECT chain_seq, hash FROM central.airtime WHERE station = %s AND chain_seq >= %s "
        "ORDER BY chain_seq DESC LIMIT 1",
        (station, position),
    ).fetchone()
    if found is None:
        return head(conn, station) if position > 0 else Head()
    return Head(int(found[0]), str(found[1]))


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

"""A station's push: its log, events, heartbeat and schedule into the central database.

Resumable by the chain. The push reads the central head of the station's chain (position and
hash) and sends only what follows it, reading the station's log once, in keyset pages. A
station whose log is not the one the central database holds (a fork: its database was
replaced or rewritten) is refused before anything is written, naming the first row that does
not link: the station's row at the central head must carry the central hash, and the first
row sent must link to it. Each page is link-checked (in a helper thread, while the server
writes the page before) and written in its own transaction (`central.ingest.write_checked`);
a later row that does not link stops the push there: the pages before it, each a verified
extension of the central chain, stay written; nothing of or after it is. A push killed at any
moment leaves whole batches behind; the next push starts from the new head. Repeating a push
that has nothing new writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
from sqlalchemy.engine import Connection

from airtime import push as local
from airtime.chain import FIELDS, ChainRow
from airtime.push import BATCH, PushResult
from airtime.store import T
from central import ingest
from central.conn import connect, redact
from central.errors import CentralError, ForkError
from central.ingest import Head
from central.push_process import StationReport  # defined light: the daemon builds it
from central.schema import check_version

log = logging.getLogger("loa.central.push")


def first_divergence(source: Connection, pg: psycopg.Connection, station: str, upto: int) -> str:
    """Where the station's chain and the central copy part, scanning both from position 1."""
    position = 1
    while position <= upto:
        theirs = ingest.hashes(pg, station, position, 5000)
        mine = dict(local.hashes(source, station, position, 5000))
        for chain_seq, central_hash in theirs:
            if mine.get(chain_seq) != central_hash:
                row = local.row_at(source, station, chain_seq)
                if row is None:
                    return (
                        f"the station's log has no row at chain position {chain_seq}, which "
                        f"the central database holds (its chain there is {upto} rows long)"
                    )
                return (
                    f"first row that does not link: seq {row.seq}, id {row.id}, chain position "
                    f"{chain_seq}: it differs from the central copy of that position"
                )
        if not theirs:
            break
        position = theirs[-1][0] + 1
    return f"the central chain of {station} is {upto} rows long and the station's is not"


def _check_fork(source: Connection, pg: psycopg.Connection, station: str, at: Head) -> None:
    if at.chain_seq == 0:
        return
    mine = local.row_at(source, station, at.chain_seq)
    if mine is not None and mine.hash == at.hash:
        return
    where = first_divergence(source, pg, station, at.chain_seq)
    raise ForkError(
        f"{station}: this station's log is not the one the central database holds (a fork: "
        f"the database was replaced or rewritten); {where}"
        "; nothing was written: ask the district to compare (`loa central verify --station "
        f"{station}`) before pushing again"
    )


def pages(
    source: Connection, station: str, after: int, limit: int = BATCH
) -> Iterator[list[ChainRow]]:
    """The station's chained rows after position `after`, in keyset pages of `limit`.

    On SQLite (the station's database) straight from the driver, times as the text SQLite
    stores, which is the chain's own canonical form: SQLAlchemy's datetime parsing was most of
    the reading time. Elsewhere `airtime.push.pages_after`."""
    if source.dialect.name != "sqlite":
        yield from local.pages_after(source, station, after, limit)
        return
    driver = source.connection.driver_connection
    assert driver is not None
    query = (
        f"SELECT seq, chain_seq, hash, {', '.join(FIELDS)} FROM {T.name} "
        "WHERE station = ? AND chain_seq > ? ORDER BY chain_seq LIMIT ?"
    )
    while True:
        page = [
            ChainRow(r[0], r[1], r[2], r[3:])
            for r in driver.execute(query, (station, after, limit))
        ]
        if page:
            yield page
        if len(page) < limit:
            return
        after = int(page[-1].chain_seq or 0)


def push_rows(
    source: Connection, pg: psycopg.Connection, station: str, batch: int = BATCH
) -> PushResult:
    """The log part of a push over an open autocommit connection."""
    start = ingest.head(pg, station)
    _check_fork(source, pg, station, start)
    at, broken = ingest.write_checked(
        pg, station, start, pages(source, station, start.chain_seq, batch)
    )
    if broken is not None:
        written = (
            "nothing was written"
            if at == start
            else f"the {at.chain_seq - start.chain_seq} rows before it, each linking, were "
            f"written (the central chain now ends at position {at.chain_seq})"
        )
        raise ForkError(
            f"{station}: refused at the first row that does not link: {broken.describe()}; "
            f"{written}; check the station's log with `loa airtime verify`"
        )
    return PushResult(
        copied=at.chain_seq - start.chain_seq,
        already=start.chain_seq,
        open_rows=local.open_count(source, station),
        head=at.chain_seq,
    )


def push_events(source: Connection, pg: psycopg.Connection, station: str) -> int:
    after, sent = ingest.last_event_seq(pg, station), 0
    while page := local.events_after(source, after):
        sent += ingest.write_events(pg, station, page)
        after = int(page[-1][0])
    return sent


def push(
    source: Connection,
    url: str,
    station: str,
    report: StationReport | None = None,
    batch: int = BATCH,
) -> PushResult:
    """Push `station`'s log (and events, heartbeat, schedule when `report` is given)."""
    with connect(url, autocommit=True) as pg:
        try:
            check_version(pg, url)
            result = push_rows(source, pg, station, batch)
            if report is not None:
                push_events(source, pg, station)
                ingest.report_in(pg, report.schedule, report.version)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise CentralError(
                f"{redact(url)}: the central database refused this station's role: "
                f"{exc.diag.message_primary}; is [central] url the one `loa central add-station "
                f'{station}` printed, and [station] id = "{station}"?'
            ) from None
        except psycopg.Error as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CentralError(f"{redact(url)}: push failed: {reason}") from None
    return result

"""The station's bulletins: their rows in the station database and their files in the library.

A bulletin's audio is kept in the library's bulletin folder (`<library root>/.ban-tin/`, a
hidden folder the library scan leaves alone), named by its central id and SHA-256, written to a
temporary name and renamed, so a file there is always whole. Its row (migration 7) keeps what
the district sent (title, priority, topic, validity window, --times, SHA-256), what the station
measured (playable length, leading silence, gain), and what the station decided and reported:
received (delivered), accepted or refused by the operator, withdrawn. Rows and files survive a
restart and a network loss: the station airs what it holds.
A finished bulletin's file is removed after a retention (scheduler.bulletin_retention); its
row stays.

How often a bulletin aired is never stored here: it is counted from the airtime log.

The rows are read and written with sqlite3 through the daemon's `StationDB` (issue 17: `loa run`
never imports SQLAlchemy); `Bulletin` is a plain dataclass, and the values are stored as
SQLAlchemy stores them (`airtime.row`), so a row written by either is read the same. The
SQLModel table that creates a new database is `scheduler.bulletin_table.BulletinTable`.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airtime.bulletin_spot import parse_spot
from airtime.row import date_text, date_value, utc_text, utc_value
from scheduler.station_db import rows as query

if TYPE_CHECKING:
    from scheduler.station_db import StationDB

FOLDER = ".ban-tin"
# the date and datetime columns: stored as text (`airtime.row`), read back as date / aware UTC
DATES = ("valid_from", "valid_until")
TIMES = ("sent_at", "received_at", "accepted_at", "refused_at", "withdrawn_at")


@dataclass(kw_only=True)
class Bulletin:
    """A bulletin the station received from the central database (a row of table bulletin,
    migration 7; its columns as `scheduler.bulletin_table.BulletinTable` declares them)."""

    id: int  # the central id
    title: str
    priority: str
    topic: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    times: int | None = None
    filename: str
    sha256: str
    path: str  # relative to the library root
    playable_s: float
    trim_start_s: float = 0.0
    gain_db: float = 0.0
    sent_at: datetime | None = None
    received_at: datetime
    accepted_at: datetime | None = None
    refused_at: datetime | None = None
    note: str | None = None  # why refused (by the operator, or the station's library)
    withdrawn_at: datetime | None = None
    reported: str = ""  # states reported up: "delivered,accepted"

    @classmethod
    def stored(cls, values: dict[str, Any]) -> Bulletin:
        """A bulletin from its stored column values (dates and times as text)."""
        return cls(**{k: _value(k, v) for k, v in values.items()})

    def model_dump(self) -> dict[str, Any]:
        """Its fields as a dict (what the SQLModel row's `model_dump()` gave)."""
        return asdict(self)

    def columns(self) -> dict[str, Any]:
        """The column values to store (dates and times as text)."""
        return {k: _text(k, v) for k, v in asdict(self).items()}


COLUMNS = tuple(f.name for f in fields(Bulletin))


def _text(column: str, value: Any) -> Any:
    """A column's value as stored; ValueError for a column the table does not have, or a
    naive datetime (as `airtime.models.UTCDateTime` refuses it)."""
    if column in TIMES:
        return utc_text(value)
    if column in DATES:
        return date_text(value)
    if column not in COLUMNS:
        raise ValueError(f"table bulletin has no column {column!r}")
    return value


def _value(column: str, value: Any) -> Any:
    if column in TIMES:
        return utc_value(value)
    if column in DATES:
        return date_value(value)
    return value


def with_bulletin(fields: dict[str, object]) -> dict[str, object]:
    """Airtime row fields with `bulletin` and `priority` set when the spot is a bulletin."""
    found = parse_spot(fields.get("spot"))
    if found is None or "bulletin" in fields:
        return fields
    return {**fields, "bulletin": found[0], "priority": found[1]}


@dataclass(frozen=True)
class Stored:
    path: str  # relative to the library root
    file: Path


def folder(library_root: Path) -> Path:
    return library_root / FOLDER


def store_file(library_root: Path, bulletin: int, sha256: str, data: bytes, suffix: str) -> Stored:
    """Write the audio whole (temporary name, fsync, rename); ValueError if its SHA-256 is not
    `sha256` (a corrupted download: nothing is kept)."""
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise ValueError(f"SHA-256 {got[:12]}… where the district sent {sha256[:12]}…")
    where = folder(library_root)
    where.mkdir(parents=True, exist_ok=True)
    name = f"{bulletin}-{sha256[:12]}{suffix.lower() if suffix else ''}"
    final = where / name
    tmp = where / f".{name}.part"
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    return Stored(f"{FOLDER}/{name}", final)


def file_ok(library_root: Path, row: Bulletin) -> bool:
    """The stored file is there and still has its SHA-256."""
    path = library_root / row.path
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == row.sha256
    except OSError:
        return False


# ---------------------------------------------------------------------- on one connection
# (the daemon's StationDB below; `loa status`'s read-only scheduler.sqlite_read too)
def read_rows(conn: sqlite3.Connection) -> list[Bulletin]:
    """Every bulletin row, by id."""
    return [Bulletin.stored(r) for r in query(conn, "SELECT * FROM bulletin ORDER BY id")]


def count_airings(conn: sqlite3.Connection, station: str) -> dict[str, int]:
    """{bulletin id: completed airings} from the airtime log (the only record of airings)."""
    found = conn.execute(
        "SELECT bulletin, count(*) FROM airtime WHERE station = ? AND bulletin IS NOT NULL"
        " AND status = 'completed' GROUP BY bulletin",
        (station,),
    )
    return {str(b): int(n) for b, n in found}


# ---------------------------------------------------------------------- the station database
def all_rows(db: StationDB) -> list[Bulletin]:
    with db.connection() as conn:
        return read_rows(conn)


def get(db: StationDB, bulletin: int) -> Bulletin | None:
    found = db.rows("SELECT * FROM bulletin WHERE id = ?", bulletin)
    return Bulletin.stored(found[0]) if found else None


def save(db: StationDB, row: Bulletin) -> None:
    """Insert the row, or replace every column of the one with its id."""
    values = row.columns()
    names = list(values)
    with db.transaction() as conn:
        done = conn.execute(
            f"UPDATE bulletin SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
            (*values.values(), row.id),
        )
        if done.rowcount == 0:
            conn.execute(
                f"INSERT INTO bulletin ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                tuple(values.values()),
            )


def update(db: StationDB, bulletin: int, **values: object) -> None:
    """Set these columns of the bulletin's row (ValueError for a column it does not have)."""
    if not values:
        return
    stored = {k: _text(k, v) for k, v in values.items()}  # checks every name first
    with db.transaction() as conn:
        conn.execute(
            f"UPDATE bulletin SET {', '.join(f'{n} = ?' for n in stored)} WHERE id = ?",
            (*stored.values(), bulletin),
        )


def airings(db: StationDB, station: str) -> dict[str, int]:
    """{bulletin id: completed airings} from the airtime log (the only record of airings)."""
    with db.connection() as conn:
        return count_airings(conn, station)


def attempts(db: StationDB, station: str) -> dict[str, int]:
    """{bulletin id: rows of any status}: an emergency bulletin is tried once per start."""
    found = db.rows(
        "SELECT bulletin, count(*) AS n FROM airtime WHERE station = ? AND bulletin IS NOT NULL"
        " GROUP BY bulletin",
        station,
    )
    return {str(r["bulletin"]): int(r["n"]) for r in found}


def now() -> datetime:
    return datetime.now(UTC)


def last_airing(db: StationDB, station: str, bulletin: int) -> tuple[str, str | None] | None:
    """(status, error) of the bulletin's latest airtime row, None when it has none."""
    found = db.rows(
        "SELECT status, error FROM airtime WHERE station = ? AND bulletin = ?"
        " ORDER BY seq DESC LIMIT 1",
        station,
        str(bulletin),
    )
    return (str(found[0]["status"]), found[0]["error"]) if found else None


def failures_since(db: StationDB, station: str, since: datetime) -> dict[str, int]:
    """{bulletin id: failed rows scheduled since `since`} (a head bulletin's failed airings)."""
    found = db.rows(
        "SELECT bulletin, count(*) AS n FROM airtime WHERE station = ? AND bulletin IS NOT NULL"
        " AND status = 'failed' AND scheduled_at >= ? GROUP BY bulletin",
        station,
        utc_text(since),  # the stored text compares in time order
    )
    return {str(r["bulletin"]): int(r["n"]) for r in found}


def last_aired(db: StationDB, station: str) -> dict[str, datetime]:
    """{bulletin id: when its latest row ended (or was scheduled)}: the retention's clock."""
    found = db.rows(
        "SELECT bulletin, max(coalesce(ended_at, started_at, scheduled_at)) AS at FROM airtime"
        " WHERE station = ? AND bulletin IS NOT NULL GROUP BY bulletin",
        station,
    )
    out: dict[str, datetime] = {}
    for r in found:
        at = utc_value(r["at"])
        if at is not None:
            out[str(r["bulletin"])] = at
    return out

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
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from airtime.bulletin_spot import parse_spot
from airtime.models import Airtime, UTCDateTime

FOLDER = ".ban-tin"


class Bulletin(SQLModel, table=True):
    """A bulletin the station received from the central database (migration 7)."""

    __tablename__ = "bulletin"

    id: int = Field(primary_key=True)  # the central id
    title: str
    priority: str = Field(max_length=16)
    topic: str | None = Field(default=None, max_length=64)
    valid_from: date | None = None
    valid_until: date | None = None
    times: int | None = None
    filename: str
    sha256: str = Field(max_length=64)
    path: str  # relative to the library root
    playable_s: float
    trim_start_s: float = 0.0
    gain_db: float = 0.0
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_at: datetime = Field(sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    refused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = None  # why refused (by the operator, or the station's library)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reported: str = ""  # states reported up: "delivered,accepted"


B = Bulletin.__table__  # type: ignore[attr-defined]
A = Airtime.__table__  # type: ignore[attr-defined]


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


def all_rows(engine: Engine) -> list[Bulletin]:
    with engine.connect() as conn:
        return [Bulletin(**dict(r)) for r in conn.execute(B.select().order_by(B.c.id)).mappings()]


def get(engine: Engine, bulletin: int) -> Bulletin | None:
    with engine.connect() as conn:
        row = conn.execute(B.select().where(B.c.id == bulletin)).mappings().first()
    return Bulletin(**dict(row)) if row else None


def save(engine: Engine, row: Bulletin) -> None:
    values = row.model_dump()
    with engine.begin() as conn:
        done = conn.execute(B.update().where(B.c.id == row.id).values(**values))
        if done.rowcount == 0:
            conn.execute(B.insert().values(**values))


def update(engine: Engine, bulletin: int, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(B.update().where(B.c.id == bulletin).values(**values))


def airings(engine: Engine, station: str) -> dict[str, int]:
    """{bulletin id: completed airings} from the airtime log (the only record of airings)."""
    query = (
        sa.select(A.c.bulletin, sa.func.count())
        .where(A.c.station == station, A.c.bulletin.is_not(None), A.c.status == "completed")
        .group_by(A.c.bulletin)
    )
    with engine.connect() as conn:
        return {str(b): int(n) for b, n in conn.execute(query)}


def attempts(engine: Engine, station: str) -> dict[str, int]:
    """{bulletin id: rows of any status}: an emergency bulletin is tried once per start."""
    query = (
        sa.select(A.c.bulletin, sa.func.count())
        .where(A.c.station == station, A.c.bulletin.is_not(None))
        .group_by(A.c.bulletin)
    )
    with engine.connect() as conn:
        return {str(b): int(n) for b, n in conn.execute(query)}


def now() -> datetime:
    return datetime.now(UTC)


def last_airing(engine: Engine, station: str, bulletin: int) -> tuple[str, str | None] | None:
    """(status, error) of the bulletin's latest airtime row, None when it has none."""
    query = (
        sa.select(A.c.status, A.c.error)
        .where(A.c.station == station, A.c.bulletin == str(bulletin))
        .order_by(A.c.seq.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return (str(row[0]), row[1]) if row else None


def failures_since(engine: Engine, station: str, since: datetime) -> dict[str, int]:
    """{bulletin id: failed rows scheduled since `since`} (a head bulletin's failed airings)."""
    query = (
        sa.select(A.c.bulletin, sa.func.count())
        .where(
            A.c.station == station,
            A.c.bulletin.is_not(None),
            A.c.status == "failed",
            A.c.scheduled_at >= since,
        )
        .group_by(A.c.bulletin)
    )
    with engine.connect() as conn:
        return {str(b): int(n) for b, n in conn.execute(query)}


def last_aired(engine: Engine, station: str) -> dict[str, datetime]:
    """{bulletin id: when its latest row ended (or was scheduled)}: the retention's clock."""
    when = sa.func.max(sa.func.coalesce(A.c.ended_at, A.c.started_at, A.c.scheduled_at))
    query = (
        sa.select(A.c.bulletin, when)
        .where(A.c.station == station, A.c.bulletin.is_not(None))
        .group_by(A.c.bulletin)
    )
    with engine.connect() as conn:
        out: dict[str, datetime] = {}
        for b, at in conn.execute(query):
            if at is None:
                continue
            if isinstance(at, str):  # SQLite's max() of the column gives its stored text
                at = datetime.fromisoformat(at)
            out[str(b)] = at if at.tzinfo else at.replace(tzinfo=UTC)
        return out

"""An airtime row as plain Python, and how its values are stored in the station's SQLite file.

The daemon (`loa run`) reads and writes the station database with the standard library's
sqlite3, never SQLAlchemy (issue 17: SQLAlchemy and SQLModel cost ~17 MB of the 70 MB the
whole daemon may use while on air). `AirRow` is the daemon's airtime row; `airtime.models`
keeps the SQLModel table the reports, exports and central push read through SQLAlchemy. Both
see the same stored text: times as naive UTC `YYYY-MM-DD HH:MM:SS.ffffff` (what SQLAlchemy's
SQLite `DateTime` writes, so ranges compare as text), dates as `YYYY-MM-DD`.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

KINDS = ("scheduled", "adhoc", "emergency", "relay")  # relay: a relayed stream (tiếp sóng)
# "playing" is an open row: its audio started and has not ended yet.
STATUSES = ("playing", "completed", "interrupted", "failed", "missed", "skipped")
TIMES = ("scheduled_at", "started_at", "ended_at")


def new_id() -> str:
    """A time-ordered unique id (UUIDv7 layout), unique across stations."""
    ms = int(datetime.now(UTC).timestamp() * 1000)
    rand = uuid.uuid4().int & ((1 << 74) - 1)
    value = (
        (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    )
    return str(uuid.UUID(int=value))


def utc_text(value: datetime | None) -> str | None:
    """An aware datetime as stored: naive UTC text with microseconds (ValueError if naive)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: airtime times must be timezone-aware")
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def utc_value(value: str | None) -> datetime | None:
    """Stored naive UTC text back to an aware UTC datetime."""
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def date_value(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def date_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass
class AirRow:
    """One airtime row (the columns of table `airtime`, as `airtime.models.Airtime`)."""

    station: str
    seq: int | None = None
    id: str = field(default_factory=new_id)
    slot: str | None = None
    kind: str = "scheduled"
    topic: str | None = None
    spot: str | None = None
    title: str = ""
    path: str = ""
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    played_s: float = 0.0
    status: str = "playing"
    error: str | None = None
    bulletin: str | None = None
    priority: str | None = None
    hash: str | None = None
    chain_seq: int | None = None

    @classmethod
    def stored(cls, values: dict[str, Any]) -> AirRow:
        """A row from its stored column values (times as text)."""
        return cls(**{**values, **{k: utc_value(values[k]) for k in TIMES if k in values}})

    def columns(self) -> dict[str, Any]:
        """The column values to store (times as text); `seq` left to SQLite when None."""
        out = asdict(self)
        if out["seq"] is None:
            del out["seq"]
        return {**out, **{k: utc_text(out[k]) for k in TIMES}}


COLUMNS = tuple(f.name for f in fields(AirRow))

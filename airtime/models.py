"""The airtime table: one row per played (or missed, failed, skipped) item.

A row carries its topic, title and path as they were when it aired, so reports never depend on
today's library. Times are stored in UTC and shown in the station's time zone.
The columns follow the airtime log JSON shape of DESIGN.md; `seq` orders the rows of one
station's log (the integrity chain follows it) and `id` is unique across stations, so logs
merged into a central database keep their identity.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from airtime.row import KINDS, STATUSES, new_id

__all__ = ["KINDS", "STATUSES", "Airtime", "Event", "UTCDateTime", "new_id"]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC on SQLite."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: airtime times must be timezone-aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Airtime(SQLModel, table=True):
    __tablename__ = "airtime"
    __table_args__ = (
        sa.Index("ix_airtime_started", "started_at"),
        sa.Index("ix_airtime_topic_started", "topic", "started_at"),
        sa.Index("ix_airtime_slot_scheduled", "slot", "scheduled_at"),
        sa.Index("ix_airtime_status", "status"),
        # Migration 3: the integrity chain's order, and a covering index for the report.
        sa.Index("ix_airtime_chain", "station", "chain_seq", unique=True),
        sa.Index(
            "ix_airtime_report",
            *("station", "kind", "topic", "status", "spot", "path", "started_at", "played_s"),
        ),
        sa.Index("ix_airtime_month", "station", "kind", "status", "started_at", "played_s"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(default_factory=new_id, sa_column_kwargs={"unique": True}, max_length=36)
    station: str = Field(max_length=64)
    slot: str | None = Field(default=None, max_length=64)
    kind: str = Field(default="scheduled", max_length=16)
    topic: str | None = Field(default=None, max_length=64)
    spot: str | None = Field(default=None, max_length=64)
    title: str = Field(default="")
    path: str = Field(default="")
    scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    played_s: float = Field(default=0.0)
    status: str = Field(default="playing", max_length=16)
    error: str | None = Field(default=None)
    # Migration 7: a bulletin's airing (issue 13): its central id and priority, else NULL.
    bulletin: str | None = Field(default=None, max_length=32)
    priority: str | None = Field(default=None, max_length=16)
    # Integrity chain: sha256(prev_hash + canonical row), set when the row is closed.
    hash: str | None = Field(default=None, max_length=64)
    # Position in the station's chain = the order rows were closed (1, 2, ...); NULL while open.
    chain_seq: int | None = Field(default=None)


class Event(SQLModel, table=True):
    """What `loa status` shows as the station's recent problems and notices."""

    __tablename__ = "event"
    __table_args__ = (sa.Index("ix_event_at", "at"),)

    seq: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    level: str = Field(default="error", max_length=16)  # info | warning | error
    source: str = Field(max_length=32)  # config | library | output | daemon | hook | ...
    message: str

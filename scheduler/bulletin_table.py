"""The bulletin table as SQLModel declares it, for creating a new station database only.

`loa.db` builds every new database from its models (`TABLES`); the daemon reads and writes this
table with sqlite3 through `scheduler.bulletin_store` and never imports this module (issue 17:
`loa run` does not import SQLAlchemy). The columns are those of `bulletin_store.Bulletin`
(tests/test_bulletin_store.py checks that they match).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from airtime.models import UTCDateTime


class BulletinTable(SQLModel, table=True):
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

"""The daemon's own row: when it was last known alive (the heartbeat) and what it is doing."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from airtime.models import UTCDateTime


class DaemonState(SQLModel, table=True):
    __tablename__ = "daemon_state"

    station: str = Field(primary_key=True, max_length=64)
    pid: int = 0
    started_at: datetime = Field(sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime)
    # JSON: what is playing, the config in use, ... (what `loa status` shows)
    state: str = Field(default="{}")


class PushState(SQLModel, table=True):
    """The background push to the district's central database (migration 6): `loa status`."""

    __tablename__ = "push_state"

    station: str = Field(primary_key=True, max_length=64)
    attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pushed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # last success
    central_head: int = 0  # chain position the central database holds after the last push
    error: str | None = Field(default=None)  # the last failure, cleared by a success
    failures: int = 0  # consecutive failures (the backoff)

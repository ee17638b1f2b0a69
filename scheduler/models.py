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

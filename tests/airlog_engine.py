"""A SQLAlchemy engine on the file an `AirLog` writes: tests read what the daemon wrote (over
sqlite3, scheduler/station_db.py) through the models the reports and exports use."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from loa.db import create_db_engine


@functools.cache
def _engine(path: Path) -> Engine:
    return create_db_engine(f"sqlite:///{path}")


def engine_of(airlog: Any) -> Engine:
    """The engine on `airlog.db.path` (one per file)."""
    return _engine(airlog.db.path)

"""The context object every `loa` command receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported on first use: `loa status` may need neither (loa/commands/status.py)
    from sqlalchemy.engine import Engine

    from loa.config import Config
    from scheduler.station_db import StationDB


def open_database(url: str) -> Engine:
    """`loa.db.open_database`, imported on first use (and a name tests may patch)."""
    from loa.db import open_database as open_db

    return open_db(url)


@dataclass
class App:
    """What every command may need, loaded on first use."""

    config_path: Path
    debug: bool = False
    _config: Config | None = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)
    _db: StationDB | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            from loa.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_database(self.config.database.url)
        return self._engine

    @property
    def db(self) -> StationDB:
        """The station database through sqlite3 (what the daemon's parts take), opened after
        `engine` has created or migrated it; `loa run` opens its own without SQLAlchemy."""
        if self._db is None:
            from loa.db import station_db

            self._db = station_db(self.engine)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        if self._engine is not None:
            self._engine.dispose()

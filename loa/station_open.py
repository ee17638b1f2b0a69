"""`loa run` opens the station database without importing SQLAlchemy (issue 17).

Creating or migrating the schema needs SQLAlchemy (loa/db.py): that runs in a child process,
`python -m loa.db URL KEY`, which exits when done, so its ~17 MB never stay in the daemon.
Then the daemon opens the file with sqlite3 (`scheduler.station_db.StationDB`), writable and
never created. A station's own database must be a SQLite file; `loa config check` says so too.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from loa.errors import DatabaseError
from scheduler.station_db import StationDB, sqlite_file

NOT_A_STATION_FILE = (
    "{key}: {url} is not a SQLite file: a station's own database is a file "
    '(url = "sqlite:///data/loa.db"); the district\'s PostgreSQL goes in [central] url'
)
READ_ONLY = (
    "{key}: cannot open {url}: attempt to write a readonly database; give the user running "
    "loa write permission on the file and its folder (SQLite writes its journal beside the file)"
)


def open_for_daemon(url: str, *, key: str = "database.url") -> StationDB:
    """The station database at `url`, created or migrated, opened for writing: DatabaseError
    (naming `key`, the password masked) when it is not a SQLite file, cannot be migrated, or
    this user may not write it."""
    from loa.redact import mask_credentials

    path = sqlite_file(url)
    if path is None:
        raise DatabaseError(NOT_A_STATION_FILE.format(key=key, url=mask_credentials(url)))
    argv = [sys.executable, "-m", "loa.db", url, key]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DatabaseError(f"{key}: cannot open {url}: {exc}") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise DatabaseError(lines[-1] if lines else f"{key}: cannot open {url}")
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        raise DatabaseError(READ_ONLY.format(key=key, url=url))
    try:
        return StationDB(path)
    except sqlite3.Error as exc:
        raise DatabaseError(f"{key}: cannot open {url}: {exc}") from None

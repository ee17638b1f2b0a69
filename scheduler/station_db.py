"""The daemon's connection to the station's SQLite file, over the standard library's sqlite3.

`loa run` never imports SQLAlchemy (issue 17): the migrations run before it, in a child process
(`loa.db.migrate_in_child`), and everything the daemon writes or reads while it runs goes
through one `StationDB`: one sqlite3 connection, used by one thread at a time (an RLock), with
the pragmas of `loa.db` (WAL, synchronous=FULL, foreign_keys, busy_timeout=10000).

The file is opened with `mode=rw`: never created. A database file deleted under the daemon
stays readable and writable through the open connection (the inode lives while it is open),
which is what `scheduler.dbfile` copies back to the path with `VACUUM INTO`; `reopen()` then
moves the connection to the restored file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

PRAGMAS = (
    # WAL: the daemon writes while `loa airtime report` reads. synchronous=FULL: a committed
    # airtime row survives a power cut. busy_timeout: a CLI and the daemon wait for each other.
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///PATH` URL (as loa.config resolves it), else None."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = url.removeprefix("sqlite:///")
    return Path(path) if path and path != ":memory:" else None


def connect(path: Path, flags: str = "mode=rw") -> sqlite3.Connection:
    """A connection to the existing file at `path` (sqlite3.OperationalError if it is not
    there: it is never created), autocommit, usable from any thread, with `PRAGMAS`; with
    read-only URI `flags` (`mode=ro`, `immutable=1`: a file this user may not write, as
    `loa.db.open_database` opens it for the commands that only read) the busy timeout only."""
    conn = sqlite3.connect(
        f"file:{quote(str(path))}?{flags}",
        uri=True,
        check_same_thread=False,
        isolation_level=None,
        timeout=10.0,
    )
    try:
        for pragma in PRAGMAS if "mode=ro" not in flags else PRAGMAS[-1:]:
            conn.execute(pragma)
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def rows(conn: sqlite3.Connection, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """The result of `sql` as dicts by column name."""
    cur = conn.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


class StationDB:
    """One station's SQLite file, opened once, shared by the daemon's threads."""

    def __init__(self, path: Path, flags: str = "mode=rw") -> None:
        self.path = Path(path).absolute()
        self.flags = flags
        self._lock = threading.RLock()
        self._conn = connect(self.path, flags)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads (each statement its own transaction), this thread only."""
        with self._lock:
            yield self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside `BEGIN IMMEDIATE` (the write lock first, so two writers never
        deadlock on an upgrade): committed at the end, rolled back on any exception."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:  # a full disk refuses the commit: nothing of it stays
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        with self.connection() as conn:
            return rows(conn, sql, args)

    def reopen(self) -> None:
        """Connect to the file now at the path (after a restore); the old connection closes."""
        with self._lock:
            conn = connect(self.path, self.flags)
            old, self._conn = self._conn, conn
            with suppress(sqlite3.Error):
                old.close()

    def close(self) -> None:
        with self._lock, suppress(sqlite3.Error):
            self._conn.close()

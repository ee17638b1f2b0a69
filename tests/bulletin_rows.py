"""Bulletin rows put straight into a station's SQLite file, as the bulletin fetcher stores
them (station migration 7): for `loa status` tests and bench/bench_status.py, which need a
station holding bulletins without a central database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path


def put_bulletins(database: Path, bulletins: Iterable[tuple[int, str, str]]) -> None:
    """One row per (central id, title, priority), received on 2026-01-01, 30 s playable."""
    with sqlite3.connect(database) as conn:
        for id, title, priority in bulletins:
            conn.execute(
                "INSERT INTO bulletin (id, title, priority, filename, sha256, path, playable_s,"
                " trim_start_s, gain_db, received_at, reported) VALUES"
                " (?, ?, ?, 'b.mp3', ?, '.ban-tin/b.mp3', 30.0, 0.0, 0.0,"
                " '2026-01-01 00:00:00.000000', '')",
                (id, title, priority, f"{id:064x}"),
            )
    conn.close()  # the context manager commits; it does not close

"""`AirLog.batch` (what `loa simulate` writes with) goes through the same checks as the
single-row path: a bad kind, a naive time, a negative played_s or an unknown field is refused
in both, and nothing of the refused row is stored. Real SQLite."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from tests.airlog_engine import engine_of

NOW = datetime(2021, 3, 1, 6, 0, tzinfo=UTC)
NAIVE = datetime(2021, 3, 1, 6, 0)

BAD: list[tuple[str, Callable[[AirLog], object], str]] = [
    ("kind", lambda a: a.open_play(started_at=NOW, kind="radio"), "kind 'radio'"),
    ("naive start", lambda a: a.open_play(started_at=NAIVE), "naive"),
    ("unknown field", lambda a: a.open_play(started_at=NOW, colour="red"), "colour"),
    ("negative", lambda a: a.close_play(a.open_play(started_at=NOW), NOW, -1.0, "completed", None),
     "negative"),
    ("not closing", lambda a: a.close_play(a.open_play(started_at=NOW), NOW, 1.0, "playing", None),
     "does not close"),
    ("record naive", lambda a: a.record(status="missed", scheduled_at=NAIVE), "naive"),
    ("record unplaced", lambda a: a.record(status="missed"), "placed in time"),
]  # fmt: skip


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize(("case", "write", "message"), BAD, ids=[b[0] for b in BAD])
def test_batch_and_single_row_refuse_alike(
    tmp_path: Path, batch: bool, case: str, write: Callable[[AirLog], object], message: str
) -> None:
    airlog = AirLog(station_db(open_database(f"sqlite:///{tmp_path}/loa.db")), "xa")
    scope = airlog.batch() if batch else contextlib.nullcontext()
    with pytest.raises((ValueError, TypeError), match=message), scope:
        write(airlog)
    with engine_of(airlog).connect() as conn:
        stored = conn.exec_driver_sql("select status from airtime").fetchall()
    assert all(status == "playing" for (status,) in stored) and not (batch and stored)

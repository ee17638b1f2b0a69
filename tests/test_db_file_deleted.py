"""The station's SQLite file deleted (or replaced) under a running daemon (scheduler/dbfile.py).

Before, the daemon went on writing the airtime log into the deleted inode and lost all of it at
the next restart. Now the heartbeat puts the file back from the open connection with every
committed row (those written after the deletion too), or, when another file took the path,
leaves that file alone, saves a copy and says what to do. Real SQLite files in WAL mode, the
real AirLog; what is on disk is read back with a separate sqlite3 connection."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from loa.db import open_database, sqlite_path, station_db
from loa.errors import DatabaseError
from scheduler import dbfile
from scheduler.airlog import AirLog
from scheduler.dbfile import DatabaseFile
from tests.run_station import ROOT, start_run, write_station

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def play(airlog: AirLog, n: int) -> None:
    """One completed scheduled play, spot `s<n>`."""
    at = T0 + timedelta(minutes=n)
    airlog.record(
        status="completed", kind="scheduled", slot="sang", spot=f"s{n}", topic="tin",
        path=f"tin/{n}.mp3", title=f"Tin {n}", scheduled_at=T0, started_at=at,
        ended_at=at + timedelta(seconds=20), played_s=20.0,
    )  # fmt: skip


def on_disk(path: Path, sql: str) -> list[tuple[object, ...]]:
    """What a separate connection reads from the file at `path` (not the daemon's inode)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def spots(path: Path) -> list[str]:
    return [r[0] for r in on_disk(path, "SELECT spot FROM airtime ORDER BY seq")]


def file_events(path: Path) -> list[str]:
    return [r[0] for r in on_disk(path, "SELECT message FROM event WHERE source = 'database'")]


def delete(path: Path) -> None:
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        (path.parent / name).unlink()


def beat(airlog: AirLog, n: int = 0) -> None:
    airlog.beat(T0 + timedelta(seconds=5 * n), pid=os.getpid(), started_at=T0)


@pytest.fixture
def station(tmp_path: Path) -> tuple[Path, AirLog]:
    path = tmp_path / "data" / "loa.db"
    airlog = AirLog(station_db(open_database(f"sqlite:///{path}")), "xa-thu")
    for n in range(3):
        play(airlog, n)
    beat(airlog)
    assert (path.parent / "loa.db-wal").exists()  # WAL mode: rows not all in the main file
    return path, airlog


def test_a_deleted_database_file_is_restored_with_every_row(
    station: tuple[Path, AirLog], caplog: pytest.LogCaptureFixture
) -> None:
    path, airlog = station
    delete(path)
    play(airlog, 3)  # after the deletion, before the heartbeat: into the deleted inode
    assert not path.exists()
    caplog.set_level(logging.INFO, logger="loa")
    beat(airlog, 1)
    assert path.is_file(), "the heartbeat did not put the database back"
    assert spots(path) == ["s0", "s1", "s2", "s3"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in caplog.records]
    line = errors[0].getMessage()
    assert "\n" not in line and str(path) in line
    assert (
        line.startswith("database: tệp cơ sở dữ liệu") and "(the database file was deleted" in line
    )
    assert [m for m in file_events(path) if "bị xoá" in m] == [line.removeprefix("database: ")]
    heartbeat = on_disk(path, "SELECT heartbeat_at FROM daemon_state")
    assert heartbeat and heartbeat[0][0].startswith("2026-03-02 06:00:05")  # the beat landed

    play(airlog, 4)  # the next write goes to the restored file
    assert spots(path)[-1] == "s4"
    assert not list(path.parent.glob("*.tmp-*")), "the temporary copy was left behind"

    caplog.clear()
    beat(airlog, 2)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert len(file_events(path)) == 1  # a second heartbeat says nothing new


def test_a_connection_opened_after_the_deletion_creates_no_empty_file(
    station: tuple[Path, AirLog],
) -> None:
    """SQLite creates a missing file on connect: a connection opened after the deletion would
    have put a new empty database at the path. It fails instead (`mode=rw`), the open one
    goes on writing, and what it wrote lands in the restored file."""
    path, airlog = station
    delete(path)
    with pytest.raises(sqlite3.OperationalError):
        airlog.db.reopen()
    assert not path.exists(), "a new connection created an empty database at the path"
    play(airlog, 3)
    assert not path.exists()
    assert airlog.outage() is None  # the open connection took the write
    beat(airlog, 1)
    assert spots(path) == ["s0", "s1", "s2", "s3"]
    assert any("bị xoá" in m for m in file_events(path))


def test_a_replaced_database_file_is_left_alone_and_ours_comes_back_when_moved_away(
    station: tuple[Path, AirLog], caplog: pytest.LogCaptureFixture
) -> None:
    path, airlog = station
    delete(path)
    other = sqlite3.connect(path)  # somebody's other database now at the path
    other.execute("CREATE TABLE theirs (x)")
    other.execute("INSERT INTO theirs VALUES ('của họ')")
    other.commit()
    other.close()
    theirs = path.read_bytes()
    play(airlog, 3)
    caplog.set_level(logging.INFO, logger="loa")
    beat(airlog, 1)
    assert path.read_bytes() == theirs, "the other file was overwritten"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert (
        "đã bị thay bằng một tệp khác" in errors[0]
        and "keeps writing to the file it opened" in errors[0]
    )
    copies = list(path.parent.glob("loa.db.loa-*"))
    assert len(copies) == 1 and str(copies[0]) in errors[0]
    assert spots(copies[0]) == ["s0", "s1", "s2", "s3"]  # safe on disk meanwhile
    # loa writes on into the file it opened, and its event is there for `loa status`
    play(airlog, 4)
    assert [e.message for e in airlog.events(1)] == [errors[0].removeprefix("database: ")]
    assert on_disk(path, "SELECT x FROM theirs") == [("của họ",)]

    caplog.clear()
    beat(airlog, 2)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []

    path.rename(path.with_name("theirs.db"))  # what the message says to do
    beat(airlog, 3)
    assert spots(path) == ["s0", "s1", "s2", "s3", "s4"]
    assert on_disk(path.with_name("theirs.db"), "SELECT x FROM theirs") == [("của họ",)]
    play(airlog, 5)
    assert spots(path)[-1] == "s5"


def test_the_check_is_one_stat_and_never_breaks_the_heartbeat(
    station: tuple[Path, AirLog], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path, airlog = station
    calls: list[object] = []
    real_stat = os.stat

    def counting_stat(target: object, *args: object, **kwargs: object) -> os.stat_result:
        calls.append(target)
        return real_stat(target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dbfile.os, "stat", counting_stat)
    beat(airlog, 1)
    assert calls == [path]
    monkeypatch.setattr(dbfile.os, "stat", real_stat)
    watch = DatabaseFile(airlog.db)
    start = time.perf_counter()
    for _ in range(1000):
        assert watch.check() is None
    assert (time.perf_counter() - start) / 1000 < 0.001  # well under a millisecond each

    def broken(_self: DatabaseFile) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(DatabaseFile, "check", broken)
    caplog.set_level(logging.INFO, logger="loa")
    beat(airlog, 2)
    beat(airlog, 3)
    assert on_disk(path, "SELECT heartbeat_at FROM daemon_state")[0][0].startswith(
        "2026-03-02 06:00:15"
    )  # the heartbeat was still written, both times
    assert len([r for r in caplog.records if "checking the database file" in r.getMessage()]) == 1


def test_only_plain_sqlite_files_are_station_databases(tmp_path: Path) -> None:
    """The daemon's database (and so the file watched) is a plain SQLite file; anything else
    is refused with the key to fix, not watched half-way."""
    assert sqlite_path(sa.create_engine("sqlite://")) is None
    assert sqlite_path(sa.create_engine("sqlite:///:memory:")) is None
    assert sqlite_path(sa.create_engine("postgresql+psycopg://loa@localhost/loa")) is None
    ro = sa.create_engine(f"sqlite:///file:{tmp_path}/x.db?mode=ro&uri=true")
    assert sqlite_path(ro) is None
    with pytest.raises(DatabaseError, match=r"^database.url: sqlite:///:memory: is not a SQLite"):
        station_db(open_database("sqlite:///:memory:"))


def loa(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def closed_rows(path: Path) -> list[tuple[str, str, str]]:
    try:
        return [
            (r[0], r[1], r[2])
            for r in on_disk(path, "SELECT id, started_at, status FROM airtime ORDER BY seq")
            if r[2] != "playing"
        ]
    except sqlite3.Error:  # mid-restore, or not there
        return []


@pytest.mark.slow
def test_loa_run_puts_its_deleted_database_back_in_the_middle_of_a_slot(tmp_path: Path) -> None:
    """The real `loa run` (null output, wall clock, heartbeat 1 s): the database deleted while
    a slot airs is back within a heartbeat or two, with the rows aired before and after."""
    start = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
    config = write_station(tmp_path, [("thu", start, 12)], spot_s=1.0)
    db = tmp_path / "data" / "loa.db"
    proc = start_run(config)
    try:
        before: list[tuple[str, str, str]] = []
        while (
            not before and proc.poll() is None and datetime.now(UTC) < start + timedelta(seconds=8)
        ):
            before = closed_rows(db)
            time.sleep(0.1)
        assert before, "no row aired"
        delete(db)
        deleted_at = datetime.now(UTC)
        while not db.exists() and datetime.now(UTC) < deleted_at + timedelta(seconds=5):
            time.sleep(0.05)
        back_after = (datetime.now(UTC) - deleted_at).total_seconds()
        assert db.exists(), "loa run did not put its database back"
        time.sleep(max(0.0, (start + timedelta(seconds=15) - datetime.now(UTC)).total_seconds()))
        status = loa(config, "status", "--json")
        assert status.returncode == 0, status.stderr
        problems = json.loads(status.stdout)["problems"]
        assert [p["source"] for p in problems if "bị xoá" in p["message"]] == ["database"]
    finally:
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    assert len([line for line in log.splitlines() if "bị xoá" in line]) == 1, log
    after = closed_rows(db)
    assert set(before) <= set(after)
    late = [r for r in after if datetime.fromisoformat(r[1]).replace(tzinfo=UTC) > deleted_at]
    assert late, "no row aired after the deletion reached the restored file"
    assert on_disk(db, "SELECT count(*) FROM airtime WHERE status = 'playing'") == [(0,)]
    verify = loa(config, "airtime", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    print(
        f"restored {back_after:.2f} s after the deletion; {len(before)} rows before, {len(after)} after"
    )

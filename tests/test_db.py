"""The database: pragmas, the airtime table, ordered migrations on real SQLite files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from airtime.models import Airtime
from loa.db import MIGRATIONS, Migration, latest_version, open_database
from loa.errors import DatabaseError

FIXTURES = Path(__file__).parent / "fixtures"


def schema_of(path: Path) -> dict[str, object]:
    con = sqlite3.connect(path)
    tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
    shape = {
        t: sorted((c[1], c[2], c[3]) for c in con.execute(f"pragma table_info('{t}')"))
        for t in tables
    }
    shape["indexes"] = sorted(
        r[0]
        for r in con.execute("select sql from sqlite_master where type='index' and sql is not null")
    )
    con.close()
    return shape


def test_new_database_has_pragmas_and_latest_version(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/sub/loa.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("pragma synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("pragma foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("select max(version) from loa_schema").scalar() == (
            latest_version()
        )
    names = set(sa.inspect(engine).get_table_names())
    assert {"airtime", "event", "loa_schema"} <= names
    indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("airtime")}
    assert {
        "ix_airtime_started",
        "ix_airtime_topic_started",
        "ix_airtime_slot_scheduled",
    } <= indexes


def test_airtime_row_round_trip_keeps_utc(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/loa.db")
    ict = timezone(timedelta(hours=7))
    start = datetime(2021, 3, 1, 6, 0, 0, 12000, tzinfo=ict)
    with Session(engine) as session:
        session.add(
            Airtime(
                station="xa",
                slot="sang",
                topic="chi-so",
                spot="abc",
                title="Tin",
                path="chi-so/tin.mp3",
                scheduled_at=start,
                started_at=start,
                ended_at=start + timedelta(seconds=90),
                played_s=90.0,
                status="completed",
            )
        )
        session.commit()
    with Session(engine) as session:
        row = session.exec(select(Airtime)).one()
    assert row.started_at == start
    assert row.started_at.tzinfo == UTC
    assert len(row.id) == 36 and row.seq == 1


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/loa.db")
    with Session(engine) as session:
        session.add(Airtime(station="xa", started_at=datetime(2021, 3, 1, 6, 0)))
        with pytest.raises(sa.exc.StatementError, match="timezone-aware"):
            session.commit()


def make_v1(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript((FIXTURES / "schema-v1.sql").read_text("utf-8"))
    con.execute(
        "insert into airtime (id, station, kind, title, path, played_s, status, started_at) "
        "values ('a1', 'xa', 'scheduled', 'Tin một', 'chi-so/1.mp3', 12.5, 'completed', "
        "'2021-03-01 00:00:00')"
    )
    con.commit()
    con.close()


def test_a_version_1_database_opens_in_this_release(tmp_path: Path) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    make_v1(old)
    engine = open_database(f"sqlite:///{old}")
    with Session(engine) as session:
        row = session.exec(select(Airtime)).one()
    assert (row.id, row.title, row.played_s) == ("a1", "Tin một", 12.5)
    with engine.connect() as conn:
        versions = [r[0] for r in conn.exec_driver_sql("select version from loa_schema order by 1")]
    assert versions == sorted({1, *(m.version for m in MIGRATIONS)})
    engine.dispose()
    open_database(f"sqlite:///{new}").dispose()
    # the upgraded database has exactly the schema of a new one
    assert schema_of(old) == schema_of(new)


def test_migrations_run_in_order_and_keep_data(tmp_path: Path) -> None:
    calls: list[int] = []

    def add_note(conn: sa.Connection) -> None:
        calls.append(2)
        conn.exec_driver_sql("alter table airtime add column note varchar")

    def fill_note(conn: sa.Connection) -> None:
        calls.append(3)
        conn.exec_driver_sql("update airtime set note = 'từ v1'")

    steps = (*MIGRATIONS[:1], Migration(2, "note", add_note), Migration(3, "fill", fill_note))
    path = tmp_path / "old.db"
    make_v1(path)
    engine = open_database(f"sqlite:///{path}", steps)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select id, note from airtime").all() == [("a1", "từ v1")]
        assert conn.exec_driver_sql("select max(version) from loa_schema").scalar() == 3
    engine.dispose()
    assert calls == [2, 3]
    # opening again runs nothing
    open_database(f"sqlite:///{path}", steps).dispose()
    assert calls == [2, 3]


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    steps = (*MIGRATIONS, Migration(latest_version() + 1, "future", lambda c: None))
    open_database(f"sqlite:///{path}", steps).dispose()
    with pytest.raises(DatabaseError) as info:
        open_database(f"sqlite:///{path}")
    assert str(info.value) == (
        f"database.url: sqlite:///{path} has schema version {latest_version() + 1}, newer than "
        f"this loa knows ({latest_version()}): install the newer loa that made it, or point "
        "[database] url at another file"
    )


def test_a_file_that_is_no_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("không phải cơ sở dữ liệu " * 100, "utf-8")
    with pytest.raises(DatabaseError) as info:
        open_database(f"sqlite:///{path}")
    assert str(info.value).startswith(f"database.url: cannot open sqlite:///{path}: ")
    assert "file is not a database" in str(info.value)
    assert path.read_text("utf-8").startswith("không phải")  # nothing lost


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    """The daemon and a CLI started together on a fresh station: one creates the schema, the
    others wait for its lock and find it made (before, one failed "table already exists")."""
    import subprocess
    import sys

    db = tmp_path / "new.sqlite"
    code = (
        "import sys, time; from loa.db import open_database\n"
        "t = float(sys.argv[1])\n"
        "while time.time() < t: pass\n"
        f"open_database('sqlite:///{db}')\n"
    )
    start = f"{__import__('time').time() + 1.5:.3f}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, start],
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        for _ in range(6)
    ]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    con = sqlite3.connect(db)
    versions = [v for (v,) in con.execute("SELECT version FROM loa_schema")]
    con.close()
    assert versions == [latest_version()]

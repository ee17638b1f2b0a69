"""The integrity chain on a real SQLite log: the write API chains rows as it closes them, and
`loa airtime verify` finds an edited, a deleted and an inserted row, naming the first one."""

from __future__ import annotations

import json
import os
import pty
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from airtime.chain import ChainRow, link, verify
from airtime.log import close_open_plays, close_play, open_play, record_closed
from airtime.store import verify_station
from loa.cli import cli
from loa.db import open_database, station_db
from tests.airtime_fixtures import STATION, TZ, write_config, write_log

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("template") / "loa.db"
    write_log(db)  # the engine is disposed: the WAL is checkpointed into the file
    return db


@pytest.fixture
def station(tmp_path: Path, template: Path) -> tuple[Path, Path]:
    """A fresh copy of the written log for each test (each one tampers with it)."""
    db = tmp_path / "loa.db"
    shutil.copyfile(template, db)
    return write_config(tmp_path, f"sqlite:///{db}"), db


def verify_cli(cfg: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), "airtime", "verify"])
    return result.exit_code, result.stdout, result.stderr


def sql(db: Path, statement: str, *params: object) -> list[tuple]:
    con = sqlite3.connect(db)
    rows = con.execute(statement, params).fetchall()
    con.commit()
    con.close()
    return rows


def test_a_clean_log_verifies_and_open_rows_are_not_errors(station: tuple[Path, Path]) -> None:
    cfg, db = station
    code, out, err = verify_cli(cfg)
    assert code == 0, err
    closed = sql(db, "select count(*) from airtime where status != 'playing'")[0][0]
    assert (
        f"nhật ký toàn vẹn (log verified): {STATION}: {closed} bản ghi (rows), 1 đang phát" in out
    )
    open_seq = sql(db, "select seq from airtime where status = 'playing'")[0][0]
    assert f"đang phát, chưa đóng (open, not an error): seq {open_seq}" in out
    # positions are 1..n without gaps, in closing order
    positions = [
        r[0]
        for r in sql(
            db, "select chain_seq from airtime where chain_seq is not null order by chain_seq"
        )
    ]
    assert positions == list(range(1, closed + 1))


def test_an_edited_row_is_found(station: tuple[Path, Path]) -> None:
    cfg, db = station
    seq = sql(db, "select seq from airtime where chain_seq = 5")[0][0]
    sql(db, "update airtime set played_s = played_s + 60 where seq = ?", seq)
    code, out, err = verify_cli(cfg)
    assert code == 1
    assert f"bản ghi lỗi đầu tiên (first broken row): seq {seq}," in err
    assert "content does not match its hash: this row was edited" in err
    assert "đã kiểm tra đúng (good links before the break): 4 bản ghi" in out


def test_an_edited_title_or_time_is_found(station: tuple[Path, Path]) -> None:
    cfg, db = station
    seq = sql(db, "select seq from airtime where chain_seq = 9")[0][0]
    sql(db, "update airtime set started_at = '2021-05-18 23:00:00.000000' where seq = ?", seq)
    assert f"seq {seq}," in verify_cli(cfg)[2]


def test_a_deleted_row_is_found_at_the_next_row(station: tuple[Path, Path]) -> None:
    cfg, db = station
    seq_next = sql(db, "select seq from airtime where chain_seq = 8")[0][0]
    sql(db, "delete from airtime where chain_seq = 7")
    code, _, err = verify_cli(cfg)
    assert code == 1
    assert f"seq {seq_next}," in err
    assert "chain position 8 where 7 was expected: a row before it was deleted" in err


def test_a_deleted_row_with_renumbered_positions_is_still_found(station: tuple[Path, Path]) -> None:
    cfg, db = station
    seq_next = sql(db, "select seq from airtime where chain_seq = 8")[0][0]
    sql(db, "delete from airtime where chain_seq = 7")
    sql(db, "update airtime set chain_seq = -chain_seq where chain_seq > 7")
    sql(db, "update airtime set chain_seq = -chain_seq - 1 where chain_seq < 0")
    code, _, err = verify_cli(cfg)
    assert code == 1
    assert f"seq {seq_next}," in err and "content does not match its hash" in err


def test_an_inserted_row_is_found(station: tuple[Path, Path]) -> None:
    cfg, db = station
    sql(db, "insert into airtime (id, station, kind, topic, title, path, started_at, played_s, status) "
            "values ('gia-mao', ?, 'scheduled', 'chi-so', 'Tin giả', 'chi-so/gia.mp3', "
            "'2021-06-01 00:00:00.000000', 90.0, 'completed')", STATION)  # fmt: skip
    code, _, err = verify_cli(cfg)
    assert code == 1
    assert "id gia-mao" in err and "outside the chain: inserted" in err


def test_a_row_inserted_inside_the_chain_is_found(station: tuple[Path, Path]) -> None:
    cfg, db = station
    sql(db, "update airtime set chain_seq = chain_seq + 1000 where chain_seq >= 4")
    sql(db, "update airtime set chain_seq = chain_seq - 999 where chain_seq >= 1004")
    prev = sql(db, "select hash from airtime where chain_seq = 3")[0][0]
    sql(db, "insert into airtime (id, station, kind, title, path, started_at, played_s, status, chain_seq, hash) "
            "values ('chen', ?, 'scheduled', 'Tin chèn', 'x.mp3', '2021-02-01 00:00:00.000000', 60.0, "
            "'completed', 4, ?)", STATION, prev)  # fmt: skip
    code, _, err = verify_cli(cfg)
    assert code == 1
    assert "id chen" in err and "chain position 4" in err


def test_rows_closed_out_of_order_and_crash_recovery_still_verify(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/loa.db")
    t = datetime(2021, 3, 1, 6, 0, tzinfo=TZ)
    db = station_db(engine)
    with db.transaction() as s:
        a = open_play(s, station=STATION, started_at=t, topic="chi-so", spot="a", title="Một")
        record_closed(s, station=STATION, status="missed", scheduled_at=t + timedelta(hours=11))
        close_play(s, a, t + timedelta(seconds=30), 30.0)
        b = open_play(s, station=STATION, started_at=t + timedelta(minutes=1), title="Hai")
        c = open_play(s, station="xa-khac", started_at=t, title="Đài khác")
        closed = close_open_plays(s, t + timedelta(minutes=1, seconds=12), station=STATION)
        assert [r.id for r in closed] == [b.id]
        assert closed[0].status == "interrupted" and closed[0].played_s == pytest.approx(12.0)
        assert closed[0].ended_at == t + timedelta(minutes=1, seconds=12)
        assert a.chain_seq == 2 and closed[0].chain_seq == 3
        with pytest.raises(ValueError, match="already closed"):
            close_play(s, a, t, 1.0)
        with pytest.raises(ValueError, match="naive"):
            open_play(s, station=STATION, started_at=datetime(2021, 3, 1, 6))
        with pytest.raises(ValueError, match="does not close a play"):
            record_closed(s, station=STATION, status="playing", started_at=t)
        other_open = (c.seq, c.id)
    with engine.connect() as conn:
        result = verify_station(conn, STATION)
        other = verify_station(conn, "xa-khac")
    db.close()
    engine.dispose()
    assert result.ok and result.rows == 3 and result.open_rows == []
    assert other.ok and other.rows == 0 and other.open_rows == [other_open]


def test_chain_is_pure_and_order_sensitive() -> None:
    values = ("id1", "xa", "sang", "scheduled", "chi-so", "s", "Tiêu đề", "p.mp3",
              datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC),
              datetime(2021, 1, 1, 0, 1, tzinfo=UTC), 60.0, "completed", None)  # fmt: skip
    # the stored string form and the datetime form hash alike
    stored = (*values[:8], "2021-01-01 00:00:00.000000", "2021-01-01 00:00:00.000000",
              "2021-01-01 00:01:00.000000", 60.0, "completed", None)  # fmt: skip
    h1 = link("", values)
    assert h1 == link("", stored)
    h2 = link(h1, values)
    assert h2 != h1
    good = [ChainRow(1, 1, h1, values), ChainRow(2, 2, h2, values)]
    assert verify(STATION, good, []).ok
    swapped = [ChainRow(2, 1, h2, values), ChainRow(1, 2, h1, values)]
    broken = verify(STATION, swapped, []).broken
    assert broken is not None and broken.seq == 2


def test_a_binary_report_is_not_written_to_a_terminal(station: tuple[Path, Path]) -> None:
    cfg, _ = station
    leader, follower = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(cfg), "airtime", "report",
         "--period", "2021", "--format", "xlsx", "--output", "-"],
        stdout=follower, stderr=subprocess.PIPE, cwd=ROOT, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    os.close(follower)
    os.close(leader)
    assert proc.returncode == 1
    assert "xlsx là tệp nhị phân, không in ra màn hình" in proc.stderr.decode()


def test_every_report_states_that_the_log_did_not_verify(station: tuple[Path, Path]) -> None:
    cfg, db = station
    seq = sql(db, "select seq from airtime where chain_seq = 2")[0][0]
    sql(db, "update airtime set title = 'Tiêu đề đã sửa' where seq = ?", seq)
    base = ["--config", str(cfg), "airtime", "report", "--period", "2021"]
    data = json.loads(CliRunner().invoke(cli, [*base, "--format", "json"]).stdout)
    assert data["verified"]["ok"] is False and data["verified"]["broken"]["seq"] == seq
    text = CliRunner().invoke(cli, base)
    assert "CẢNH BÁO: nhật ký phát sóng KHÔNG toàn vẹn (log NOT verified)" in " ".join(
        text.stdout.split()
    )
    assert "nhật ký phát sóng không toàn vẹn, xem `loa airtime verify`" in text.stderr
    csv_out = CliRunner().invoke(cli, [*base, "--format", "csv"]).stdout
    assert f"lỗi là seq {seq}" in csv_out

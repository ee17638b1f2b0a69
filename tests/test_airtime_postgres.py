"""`loa airtime push` into a real, throwaway PostgreSQL 15 server, and the report and verify
running there: the central copy verifies and reports what the station's log does."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from airtime.periods import parse_period
from airtime.report import build_report
from airtime.store import report_data, verify_station
from loa.cli import cli
from loa.db import open_database
from tests.airtime_fixtures import STATION, TOPICS, TZ, write_config, write_log

PG_BIN = Path("/usr/lib/postgresql/15/bin")
pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without runuser: cannot start postgres as a normal user")
    return [runuser, "-u", "postgres", "--", *args]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    if os.environ.get("LOA_TEST_PG_URL"):
        yield os.environ["LOA_TEST_PG_URL"]
        return
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 is not installed ({PG_BIN}/initdb missing; apt postgresql-15)")
    # under /tmp directly: the postgres user cannot enter pytest's root-only tmp folders
    base = Path(tempfile.mkdtemp(prefix="loa-pg-"))
    base.chmod(0o755)
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    port = _free_port()
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "loa",
                                 "--auth=trust", "-E", "UTF8", "--no-sync"]),
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l",
                                 str(base / "log"), "-o", f"-p {port} -k {base} -h 127.0.0.1",
                                 "start"]), check=True, capture_output=True)  # fmt: skip
    try:
        subprocess.run(_as_postgres([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                                     "-U", "loa", "loa"]), check=True, capture_output=True)  # fmt: skip
        yield f"postgresql+psycopg://loa@127.0.0.1:{port}/loa"
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                     "stop"]), capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def test_push_is_idempotent_and_the_central_copy_verifies_and_reports(
    tmp_path: Path, pg_url: str
) -> None:
    cfg = write_config(tmp_path, write_log(tmp_path / "loa.db"))
    runner = CliRunner()
    first = runner.invoke(cli, ["--config", str(cfg), "airtime", "push", "--to", pg_url])
    assert first.exit_code == 0, first.stderr
    assert "đã gửi (copied) 18 bản ghi, đã có sẵn (already there) 0" in first.stdout
    assert "(open, next push) 1" in first.stdout
    again = runner.invoke(cli, ["--config", str(cfg), "airtime", "push", "--to", pg_url])
    assert "đã gửi (copied) 0 bản ghi, đã có sẵn (already there) 18" in again.stdout

    local = runner.invoke(cli, ["--config", str(cfg), "airtime", "report", "--period", "2021",
                                "--format", "json"])  # fmt: skip
    want = json.loads(local.stdout)
    engine = open_database(pg_url)
    period = parse_period("2021")
    with engine.connect() as conn:
        result = verify_station(conn, STATION)
        groups, months = report_data(conn, STATION, period, TZ)
        count = conn.exec_driver_sql("select count(*) from airtime").scalar()
    report = build_report(groups, station_id=STATION, station_name="x", period=period,
                          topics=TOPICS, months=months)  # fmt: skip
    assert count == 18
    assert result.ok and result.rows == 18, result.broken
    assert result.head == want["verified"]["head"]
    assert [t.plays for t in report.topics] == [t["plays"] for t in want["topics"]]
    assert report.total.seconds == pytest.approx(want["total"]["seconds"])
    assert [m.plays for m in report.months] == [m["plays"] for m in want["months"]]
    # tampering in the central copy is found there too
    with engine.begin() as conn:
        conn.exec_driver_sql("update airtime set title = 'sửa' where chain_seq = 3")
    with engine.connect() as conn:
        broken = verify_station(conn, STATION).broken
    engine.dispose()
    assert broken is not None and broken.chain_seq == 3

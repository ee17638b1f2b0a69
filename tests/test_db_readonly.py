"""A station database the user running loa may not write (a read-only folder after a restore,
a file copied as root) is named with what to do, not "check that the file is a loa database"."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loa.db import MIGRATIONS, open_database, station_db
from scheduler.airlog import AirLog

ROOT = Path(__file__).resolve().parent.parent


def _as_unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:  # util-linux is in every Debian; without it root ignores the modes
        pytest.fail("running as root without setpriv: apt-get install util-linux")
    return [setpriv, "--inh-caps=-all", "--bounding-set=-all", "--"]  # root without DAC bypass


def _run_locked_down(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `args` as a user who may not write `data` or its files (then give them back)."""
    for f in data.iterdir():
        f.chmod(0o444)
    data.chmod(0o555)
    try:
        return subprocess.run(
            [*_as_unprivileged(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
    finally:
        data.chmod(0o755)


def test_an_up_to_date_read_only_database_can_be_read(tmp_path: Path) -> None:
    """`loa status` and `loa airtime log` only read: no write lock on an up-to-date file;
    `loa run` writes, so it still says what to do."""
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'loa.db'}"
    engine = open_database(url)
    db = station_db(engine)
    AirLog(db, "xa-thu").record(
        status="completed", kind="scheduled", slot="sang", spot="s1", topic="a", path="a/tin.wav",
        title="Tin một", scheduled_at=datetime(2021, 3, 1, 6, tzinfo=UTC),
        started_at=datetime(2021, 3, 1, 6, tzinfo=UTC),
        ended_at=datetime(2021, 3, 1, 6, 0, 3, tzinfo=UTC), played_s=3.0,
    )  # fmt: skip
    db.close()  # as a daemon that stopped: no -wal or -shm left beside the file
    engine.dispose()
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(url=url), "utf-8")
    (tmp_path / "lib" / "a").mkdir(parents=True)
    loa = [sys.executable, "-m", "loa", "--config", str(config)]
    log = _run_locked_down(data, *loa, "airtime", "log", "--from", "2021-03-01")
    assert log.returncode == 0, log.stderr
    assert "Tin một" in log.stdout or "a/tin.wav" in log.stdout, log.stdout
    status = _run_locked_down(data, *loa, "status")
    assert status.returncode == 0, status.stderr
    assert "readonly" not in status.stdout + status.stderr
    # the commands that read through sqlite3 as the daemon does (scheduler/station_db.py)
    preview = _run_locked_down(data, *loa, "playlist", "preview")
    assert preview.returncode == 0, preview.stderr
    assert "sang" in preview.stdout, preview.stdout
    bulletins = _run_locked_down(data, *loa, "bulletin", "list")
    assert bulletins.returncode == 0, bulletins.stderr
    assert "no bulletins received" in bulletins.stdout, bulletins.stdout
    run = _run_locked_down(data, *loa, "run")  # the daemon writes: refused with what to do
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1] == (
        f"database.url: cannot open {url}: attempt to write a readonly database; give the user "
        "running loa write permission on the file and its folder (SQLite writes its journal "
        "beside the file)"
    ), run.stderr


def test_a_read_only_database_due_a_migration_says_which_and_what_to_do(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'loa.db'}"
    open_database(url, MIGRATIONS[:-1]).dispose()  # made by the loa before the last migration
    code = f"from loa.db import open_database\nopen_database({url!r})"
    done = _run_locked_down(data, sys.executable, "-c", code)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    before, latest = MIGRATIONS[-2].version, MIGRATIONS[-1].version
    assert last.endswith(
        f"database.url: cannot open {url}: attempt to write a readonly database; it has schema "
        f"version {before} and this loa upgrades it to {latest} before use, which needs "
        "writing: give the user running loa write permission on the file and its folder "
        "(SQLite writes its journal beside the file), then run the command again"
    ), done.stderr


CONFIG = """
[station]
id = "xa-thu"
name = "Đài xã Thử"
timezone = "Asia/Ho_Chi_Minh"
[library]
root = "lib"
[database]
url = "{url}"
[output]
backend = "null"
[[topics]]
id = "a"
name = "Chủ đề A"
[[slots]]
name = "sang"
start = "06:00"
length = "10m"
"""

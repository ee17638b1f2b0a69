"""`daemon.socket` edited while `loa run` runs: the socket and the lock follow the edit; the keys
the daemon cannot take over while running are named once.

The reload took the edit silently but the daemon kept listening at the old path: `loa status`
(which reads the edited file) said no daemon runs, `loa play-now` played a second stream here
beside the daemon's, and a second `loa run` started (its lock is beside the new socket). An
edit of `database.url`, `output.*`, `station.id` or `daemon.heartbeat` was likewise said to be
"reloaded" while the daemon went on with the old value.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler.control import request
from tests.test_daemon_own_files import loa, station, wait_for

LATER = "daemon.heartbeat: thay đổi này chỉ có hiệu lực khi khởi động lại loa"


def edit(config: Path, old: str, new: str) -> None:
    text = config.read_text("utf-8")
    assert old in text
    config.write_text(text.replace(old, new), "utf-8")
    os.utime(config, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))  # a new mtime


@pytest.mark.slow
def test_the_socket_and_the_lock_follow_an_edit_of_daemon_socket(tmp_path: Path) -> None:
    config = station(tmp_path)
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert wait_for(lambda: (data / "loa.sock").is_socket(), 30), "the daemon did not start"
        edit(config, 'heartbeat = "1s"', 'heartbeat = "2s"\nsocket = "data/other.sock"')
        assert wait_for(lambda: (data / "other.sock").is_socket(), 5), "the socket did not move"
        assert wait_for(lambda: not (data / "loa.sock").exists(), 2)
        status = loa(config, "status", "--json")
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["alive"] is True and report["pid"] == proc.pid
        assert any(LATER in p["message"] for p in report["problems"])
        second = loa(config, "run", timeout=30)
        assert second.returncode == 1, second.stderr
        assert f"(pid {proc.pid}) already runs this station (lock {data / 'other.lock'})" in (
            second.stderr
        )
        # the same edit read again says nothing more; an impossible socket is refused whole
        os.utime(config, ns=(time.time_ns(), time.time_ns() + 2_000_000_000))
        time.sleep(2.5)
        (data / "blocker.sock").write_text("not a socket")
        edit(config, "data/other.sock", "data/blocker.sock")
        time.sleep(2.5)
        assert request(data / "other.sock", {"cmd": "ping"}, timeout=5)["ok"]
        assert (data / "blocker.sock").read_text() == "not a socket"
    finally:
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    assert len([line for line in log.splitlines() if LATER in line]) == 1, log
    assert "blocker.sock is a file, not loa's control socket" in log
    assert not (data / "other.sock").exists()


@pytest.mark.slow
def test_an_edit_loa_run_could_not_start_on_is_refused_while_running(tmp_path: Path) -> None:
    """`output.path` edited to name config.toml (or a database.url naming a text file): the
    reload took it, and the station failed to start at its next restart (exit 3), after a
    power cut; now the running daemon refuses it as `loa config check` does."""
    config = station(tmp_path)
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert wait_for(lambda: (data / "loa.sock").is_socket(), 30), "the daemon did not start"
        edit(config, 'backend = "null"', 'backend = "file"\npath = "config.toml"')
        time.sleep(2.5)
        status = loa(config, "status", "--json")
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["alive"] is True
        assert f"output.path: {config} là tệp cấu hình của đài" in report["config_error"]
    finally:
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, log
    assert (
        "sửa đổi config.toml bị từ chối" in log and f"output.path: {config} là tệp cấu hình" in log
    ), log
    assert "daemon.heartbeat" not in log and "output.backend, output.path" not in log
    assert config.read_text("utf-8").startswith("\n[station]")

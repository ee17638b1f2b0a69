"""The data folder removed under `loa run`: its control socket and its lock come back too.

The heartbeat put the database back (tests/test_db_file_deleted.py), but the control socket
and the one-daemon lock lived in the same folder and stayed gone: `loa status` said the daemon
was not running (with a heartbeat 0 s old), `loa play-now` played a second stream beside the
daemon's, and a second `loa run` started and aired the same station (two daemons were found
running here that way). Now each heartbeat binds the socket again and locks a new lock file.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_config import BASE
from tests.test_report_output import tone

SOCKET_BACK = "ổ điều khiển (the control socket)"
LOCK_BACK = "khoá một-daemon (the one-daemon lock)"


def loa(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), *args],
        cwd=config.parent, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def station(tmp_path: Path) -> Path:
    (tmp_path / "audio_library" / "chi-so").mkdir(parents=True)
    (tmp_path / "audio_library" / "dich-vu-cong").mkdir(parents=True)
    tone(tmp_path / "audio_library" / "chi-so" / "tin.wav")
    path = tmp_path / "config.toml"
    path.write_text(
        BASE + '\n[database]\nurl = "sqlite:///data/loa.db"\n[library]\nroot = "audio_library"\n'
        '[output]\nbackend = "null"\n[daemon]\nheartbeat = "1s"\n',
        "utf-8",
    )
    return path


def wait_for(check: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("removed", ["data", "data/loa.sock", "data/loa.lock"])
def test_loa_run_puts_back_its_socket_and_lock(tmp_path: Path, removed: str) -> None:
    config = station(tmp_path)
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert wait_for(lambda: (data / "loa.sock").is_socket(), 30), "the daemon did not start"
        assert loa(config, "status", "--json").returncode == 0
        target = tmp_path / removed
        shutil.rmtree(target) if target.is_dir() else target.unlink()
        assert wait_for(
            lambda: (data / "loa.sock").is_socket() and (data / "loa.lock").is_file(), 5
        ), "the socket or the lock did not come back"
        status = loa(config, "status", "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["alive"] is True
        second = loa(config, "run", timeout=30)  # it used to start and air the station too
        assert second.returncode == 1
        assert f"another loa daemon (pid {proc.pid}) already runs this station" in second.stderr
        time.sleep(3)  # more heartbeats: nothing more to say
    finally:
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, log
    assert "Traceback" not in log
    expected = {
        "data": [SOCKET_BACK, LOCK_BACK],
        "data/loa.sock": [SOCKET_BACK],
        "data/loa.lock": [LOCK_BACK],
    }[removed]
    told = [w for w in (SOCKET_BACK, LOCK_BACK) for line in log.splitlines() if w in line]
    assert told == expected, log
    assert not (data / "loa.sock").exists()  # the daemon removed its own socket at the stop

"""The daemon's small parts on real sockets, processes and files."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.control import ControlServer, NoDaemon, request
from scheduler.hooks import run_hook
from scheduler.lock import AlreadyRunning, StationLock
from scheduler.notify import sd_notify, watchdog_interval_s


def test_control_channel_round_trip_and_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "run" / "loa.sock"
    seen = []

    def handler(req: dict) -> dict:
        seen.append(req)
        return {"ok": True, "echo": req.get("text")}

    server = ControlServer(path, handler)
    server.start()
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert request(path, {"cmd": "x", "text": "Tin khẩn cấp"}) == {
            "ok": True,
            "echo": "Tin khẩn cấp",
        }
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.connect(str(path))
            raw.sendall(b"not json\n")
            reply = raw.recv(4096)
        assert reply.startswith(b'{"ok": false, "error": "bad request')
    finally:
        server.stop()
    assert seen == [{"cmd": "x", "text": "Tin khẩn cấp"}]
    assert not path.exists()
    with pytest.raises(NoDaemon):
        request(path, {"cmd": "ping"})


def test_hooks_report_failure_and_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "relay-on"
    assert run_hook("on_air", f"touch {marker}", 5) is None
    assert marker.exists()
    assert run_hook("on_air", None, 5) is None
    assert run_hook("off_air", "echo relay stuck >&2; exit 3", 5) == (
        "off_air: `echo relay stuck >&2; exit 3` exited with 3 relay stuck"
    )
    assert run_hook("on_air", "sleep 5", 0.2) == "on_air: `sleep 5` did not finish within 0.2 s"


def test_one_daemon_per_station(tmp_path: Path) -> None:
    path = tmp_path / "loa.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; sys.path.insert(0, sys.argv[2]);"
                "from scheduler.lock import StationLock; l = StationLock(__import__('pathlib').Path(sys.argv[1]));"
                "l.acquire(); print('held', flush=True); time.sleep(30)"
            ),
            str(path),
            str(Path(__file__).resolve().parent.parent),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        lock = StationLock(path)
        assert lock.held_by_other() == str(holder.pid)
        with pytest.raises(AlreadyRunning, match=f"pid {holder.pid}"):
            lock.acquire()
    finally:
        holder.kill()
        holder.wait()
    lock = StationLock(path)
    assert lock.held_by_other() is None
    lock.acquire()  # the dead holder's lock is free again
    assert path.read_text() == f"{os.getpid()}\n"
    lock.release()


def test_sd_notify_sends_a_datagram(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        monkeypatch.setenv("WATCHDOG_USEC", "30000000")
        assert sd_notify("READY=1")
        assert sock.recv(100) == b"READY=1"
    assert watchdog_interval_s() == 15.0
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not sd_notify("READY=1")

"""A jingle deleted on the station PC never stops the station: `loa config check` refuses it
(naming the key), but `loa run` starts, the slot airs without it (the file output decodes each
item), and `loa status` shows the problem."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.audio_media import tone

ROOT = Path(__file__).resolve().parent.parent
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def loa(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_loa_run_airs_a_slot_whose_intro_is_gone(tmp_path: Path) -> None:
    (tmp_path / "lib" / "a").mkdir(parents=True)
    tone(tmp_path / "lib" / "a" / "tin.wav", 440.0, 2.0, amp=0.3)
    gone = tmp_path / "nhac-hieu.wav"
    config = tmp_path / "config.toml"

    def write(start: datetime) -> None:
        config.write_text(
            f"""
[station]
id = "xa-thu"
name = "Đài xã Thử"
timezone = "Asia/Ho_Chi_Minh"
[library]
root = "lib"
[output]
backend = "file"
path = "data/air.wav"
[daemon]
socket = "data/loa.sock"
heartbeat = "1s"
[[topics]]
id = "a"
name = "Chủ đề A"
[[slots]]
name = "thu"
start = "{start:%H:%M:%S}"
length = "5s"
intro = "{gone}"
""",
            "utf-8",
        )

    write(datetime.now(HCM) + timedelta(hours=1))
    checked = loa(config, "config", "check")
    assert checked.returncode == 3 and "slots[0].intro" in checked.stderr
    assert loa(config, "library", "scan").returncode == 0
    write(datetime.now(HCM) + timedelta(seconds=10))  # the daemon starts in 1-3 s
    daemon = subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    db = tmp_path / "data" / "loa.db"
    try:
        deadline = time.monotonic() + 90
        rows: list[tuple[str, str]] = []
        while time.monotonic() < deadline and daemon.poll() is None:
            time.sleep(0.5)
            if db.exists():
                try:
                    with sqlite3.connect(db) as conn:
                        rows = conn.execute("select path, status from airtime").fetchall()
                except sqlite3.OperationalError:  # the daemon is still creating its tables
                    continue
                if any(status == "completed" for _, status in rows):
                    break
        assert daemon.poll() is None, daemon.stdout.read() if daemon.stdout else ""
        assert ("a/tin.wav", "completed") in rows, rows
        assert not any(str(gone) in path for path, _ in rows)  # no intro planned or failed
        status = loa(config, "status", "--json")
        problems = json.dumps(json.loads(status.stdout), ensure_ascii=False)
        assert "slots[0].intro" in problems  # a problem of config.toml, the daemon alive
        assert '"alive": true' in problems
        with sqlite3.connect(db) as conn:
            events = [m for (m,) in conn.execute("select message from event")]
        assert any("slots[0].intro" in m and "airs without this jingle" in m for m in events)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)

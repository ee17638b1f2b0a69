"""The real `loa run` daemon, unattended, pushing to a real central PostgreSQL in the
background while its slots air (null output, wall clock): the rows of the slot reach the
central database during the slot, with the heartbeat and the schedule; `loa status` shows the
push; the central chain verifies with the station's."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.audio_media import tone
from tests.central_support import central, connect_as, loa, scalar

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_the_daemon_pushes_in_the_background_while_slots_air(
    tmp_path: Path, pg_admin_url: str
) -> None:
    url = central(pg_admin_url, ("xa-thu", "h-thu"))["xa-thu"]
    for rel, freq in (("a/a1.wav", 440.0), ("a/a2.wav", 660.0), ("b/b1.wav", 880.0)):
        (tmp_path / "lib" / rel).parent.mkdir(parents=True, exist_ok=True)
        tone(tmp_path / "lib" / rel, freq, 1.5, amp=0.3)
    start = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[station]
id = "xa-thu"
name = "Đài xã Thử"
[library]
root = "lib"
[output]
backend = "null"
[daemon]
socket = "data/loa.sock"
heartbeat = "1s"
[central]
url = "{url}"
push_every = "2s"
[[topics]]
id = "a"
name = "Chủ đề A"
weight = 2
[[topics]]
id = "b"
name = "Chủ đề B"
[[slots]]
name = "thu"
start = "{start.astimezone(HCM):%H:%M:%S}"
length = "20s"
""",
        "utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        # during the slot (it ends at start + 20 s) some of its rows are already central
        during = 0
        while datetime.now(UTC) < start + timedelta(seconds=18) and proc.poll() is None:
            during = int(scalar(pg_admin_url, "select count(*) from central.airtime") or 0)
            if during:
                break
            time.sleep(0.2)
        assert during > 0 and datetime.now(UTC) < start + timedelta(seconds=20)
        time.sleep(max(0.0, (start + timedelta(seconds=24) - datetime.now(UTC)).total_seconds()))
        code, out, _ = loa("--config", str(config), "status", "--json")
        pushed = json.loads(out)["central"]
        assert pushed["waiting"] == 0 and pushed["error"] is None and pushed["pushed_at"]
    finally:
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, log
    total = int(scalar(pg_admin_url, "select count(*) from central.airtime") or 0)
    con = sqlite3.connect(tmp_path / "data" / "loa.db")
    closed = con.execute("select count(*) from airtime where chain_seq is not null").fetchone()[0]
    con.close()
    assert total == closed >= 3  # the slot's three spots, nothing lost or doubled
    with connect_as(pg_admin_url) as conn:
        schedule, version = conn.execute(
            "select schedule, loa_version from central.station_report"
        ).fetchone()
    assert [t["weight"] for t in schedule["topics"]] == [2.0, 1.0]
    assert schedule["slots"][0]["length_s"] == 20.0 and version
    code, out, _ = loa("central", "--url", pg_admin_url, "verify")
    local = loa("--config", str(config), "airtime", "verify")[1]
    assert code == 0 and out.split("head ")[1].strip() in local

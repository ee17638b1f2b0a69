"""The real `loa run` daemon, unattended, pushing to a real central PostgreSQL in the
background while its slots air (null output, wall clock): the rows of the slot reach the
central database during the slot, with the heartbeat and the schedule; `loa status` shows the
push; the central chain verifies with the station's."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.central_support import central, connect_as, loa, scalar
from tests.run_station import start_run, write_station

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_the_daemon_pushes_in_the_background_while_slots_air(
    tmp_path: Path, pg_admin_url: str
) -> None:
    url = central(pg_admin_url, ("xa-thu", "h-thu"))["xa-thu"]
    start = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
    central_keys = f'[central]\nurl = "{url}"\npush_every = "2s"\n'
    config = write_station(
        tmp_path,
        [("thu", start, 20)],
        spot_s=1.5,
        sections='[output]\nbackend = "null"\n' + central_keys,
        weight_a=2,
    )
    proc = start_run(config)
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

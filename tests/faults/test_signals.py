"""Signals to a real `loa run` (file output, so real decoders run: mpg123 for the mp3s): a
SIGHUP to its process group (the terminal of `make run` closed) reloads the config and every
spot completes;
SIGTERM ends the process within 10 s whatever is stuck; kill -9 leaves no decoder behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.faults.station import Station, alive, decoder_children, make_station

pytestmark = pytest.mark.slow


@pytest.fixture
def stations() -> Iterator[list[Station]]:
    made: list[Station] = []
    yield made
    for st in made:
        st.cleanup()
        for proc in st.procs:  # a hook's shell left by a forced exit
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def soon(seconds: float) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)


LATER = soon(3 * 3600)  # a slot that will not come during a test: replaced once running


def started(st: Station, slots: list[tuple[str, float]]) -> tuple[subprocess.Popen[str], datetime]:
    """`loa run` started, then given slots `lead` s from now (name, length): the slot's
    instant does not depend on how long start-up took."""
    proc = st.start()
    st.wait_running(proc)
    start = soon(5)  # the slot's job fires 2 s early: leave the reload time
    st.set_slots(proc, [(name, start, length) for name, length in slots])
    return proc, start


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def test_sighup_to_the_process_group_mid_slot_every_spot_completes(
    tmp_path: Path, stations: list[Station]
) -> None:
    st = make_station(tmp_path, [("thu", LATER, 13)], spots=2, spot_s=4.0, backend="file")
    stations.append(st)
    proc, start = started(st, [("thu", 13)])
    sleep_until(start + timedelta(seconds=2.5))
    decoders = decoder_children(proc.pid)
    assert decoders, "no decoder running mid-slot"
    os.killpg(proc.pid, signal.SIGHUP)  # what the terminal does when it closes
    sleep_until(start + timedelta(seconds=13.5))
    assert proc.poll() is None, st.output(proc)
    out = st.stop(proc)
    logged = [r for r in st.rows() if r["slot"] == "thu"]
    assert len(logged) == 3, out  # 3 spots of 4 s fill a 13 s slot
    assert {r["status"] for r in logged} == {"completed"}, [dict(r) for r in logged]
    assert "config.toml reloaded" in out
    print(f"SIGHUP to the group mid-slot: {len(logged)}/{len(logged)} spots completed")


def test_sigterm_exits_within_10_s_with_a_stuck_hook(
    tmp_path: Path, stations: list[Station]
) -> None:
    st = make_station(
        tmp_path,
        [("thu", LATER, 20)],
        extra='[amplifier]\non_air = "sleep 120"\ntimeout = "100s"',
    )
    stations.append(st)
    proc, start = started(st, [("thu", 20)])
    sleep_until(start)  # the on_air hook started a second ago and hangs
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    took = time.monotonic() - sent
    out = st.output(proc)
    assert took < 10, f"exit took {took:.1f} s\n{out}"
    print(f"SIGTERM with a hung on_air hook: exited in {took:.1f} s, code {proc.returncode}")
    assert "the air worker is stuck" in out or "something is stuck" in out, out


def test_sigterm_exits_with_a_stuck_decoder_and_leaves_no_decoder(
    tmp_path: Path, stations: list[Station]
) -> None:
    st = make_station(tmp_path, [("thu", LATER, 12)], spots=2, spot_s=5.0, backend="file")
    stations.append(st)
    proc, start = started(st, [("thu", 12)])
    sleep_until(start + timedelta(seconds=1))
    decoders = decoder_children(proc.pid)
    assert decoders
    for pid in decoders:  # the decoders hang (as on a hung mount)
        os.kill(pid, signal.SIGSTOP)
    time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    took = time.monotonic() - sent
    assert took < 10, st.output(proc)
    print(f"SIGTERM with stopped decoders: exited in {took:.1f} s, code {proc.returncode}")
    time.sleep(0.5)
    assert not [p for p in decoders if alive(p)]
    assert not [r for r in st.rows() if r["status"] == "playing"]


def test_kill_9_leaves_no_decoder_behind(tmp_path: Path, stations: list[Station]) -> None:
    st = make_station(tmp_path, [("thu", LATER, 12)], spots=2, spot_s=5.0, backend="file")
    stations.append(st)
    proc, start = started(st, [("thu", 12)])
    sleep_until(start + timedelta(seconds=1))
    decoders = decoder_children(proc.pid)
    assert decoders
    proc.kill()
    proc.wait()
    time.sleep(0.5)
    assert not [p for p in decoders if alive(p)], "a decoder outlived the daemon"


WATCHDOG = """
import logging, sys, time
from datetime import UTC, datetime
from pathlib import Path
from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.clock import SystemClock
from scheduler.daemon import Daemon
from scheduler.lock import StationLock
from scheduler.output.null import NullOutput
from scheduler.runner import Runner
from tests.test_daemon_virtual import STATION

logging.basicConfig(level=logging.INFO)
tmp = Path(sys.argv[1])
airlog = AirLog(station_db(open_database(f"sqlite:///{tmp}/loa.db")), STATION.id)
airlog.open_play(started_at=datetime.now(UTC), kind="scheduled", slot="sang", title="on air")
clock = SystemClock()
runner = Runner(STATION, airlog, NullOutput(), clock, spots=lambda: [])
daemon = Daemon(load_station=lambda: STATION, airlog=airlog, runner=runner,
                lock=StationLock(tmp / "loa.lock"), control_path=tmp / "loa.sock",
                resolve_adhoc=lambda r: [], clock=clock)
daemon.arm_exit_watchdog(0.5)
time.sleep(60)  # the graceful stop hangs (a stuck library scan, an output that never closes)
"""


def test_the_stop_watchdog_closes_the_rows_and_exits(tmp_path: Path) -> None:
    """Whatever hangs the graceful stop, the watchdog armed by SIGTERM exits the process,
    after closing the open rows as interrupted. A real process (it must be: os._exit)."""
    import sqlite3
    import sys

    from tests.faults.station import ROOT

    sent = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", WATCHDOG, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    took = time.monotonic() - sent
    assert done.returncode == 1, done.stderr
    assert "something is stuck" in done.stderr and took < 20
    con = sqlite3.connect(tmp_path / "loa.db")
    [(status, error)] = con.execute("select status, error from airtime").fetchall()
    con.close()
    assert status == "interrupted" and "crash" in error

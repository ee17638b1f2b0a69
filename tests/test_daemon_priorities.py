"""The daemon on the wall clock: APScheduler fires the slot, play-now arrives over the control
socket; priority goes before normal. Real APScheduler, real unix socket, real SQLite; the null
output follows the wall clock."""

from __future__ import annotations

import threading
import time as walltime
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from airtime.models import Airtime
from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.clock import SystemClock
from scheduler.control import request
from scheduler.daemon import Daemon
from scheduler.lock import StationLock
from scheduler.output.null import NullOutput
from scheduler.runner import Runner, Spot
from scheduler.spec import SlotSpec, StationSpec

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def spot(i: int, topic: str, seconds: float) -> Spot:
    return Spot(
        f"{topic}-{i}",
        topic,
        f"{topic}/{i}.ogg",
        Path(f"/x/{topic}/{i}.ogg"),
        f"{topic} {i}",
        seconds,
    )


SLOT_SPOTS = [spot(i, "chi-so", 2.0) for i in range(8)]
EMERGENCY = spot(0, "", 1.5)
NORMAL = spot(1, "", 1.0)
PRIORITY = spot(2, "", 1.0)


def rows(engine) -> list[Airtime]:
    with Session(engine) as session:
        return list(session.exec(select(Airtime).order_by(Airtime.seq)))


def wait_for(condition, timeout: float = 20.0) -> None:
    end = walltime.monotonic() + timeout
    while not condition():
        if walltime.monotonic() > end:
            raise AssertionError("timed out")
        walltime.sleep(0.02)


@pytest.fixture
def daemon(tmp_path: Path):
    engine = open_database(f"sqlite:///{tmp_path}/loa.db")
    start = (datetime.now(HCM) + timedelta(seconds=4)).replace(microsecond=0)
    slot = SlotSpec("thu", start.time(), 12.0, days="mon-sun", pause_s=0.0)
    station = StationSpec(id="xa", name="Xã", tz=HCM, weights={"chi-so": 1}, slots=(slot,))
    airlog = AirLog(station_db(engine), station.id)
    output = NullOutput()
    runner = Runner(station, airlog, output, SystemClock(), spots=lambda: SLOT_SPOTS)
    by_file = {"emergency": [EMERGENCY], "normal": [NORMAL], "priority": [PRIORITY]}
    d = Daemon(
        load_station=lambda: station,
        airlog=airlog,
        runner=runner,
        lock=StationLock(tmp_path / "loa.lock"),
        control_path=tmp_path / "loa.sock",
        resolve_adhoc=lambda req: by_file[req["file"]],
        heartbeat_s=0.5,
    )
    thread = threading.Thread(target=d.run_forever, kwargs={"handle_signals": False})
    thread.start()
    wait_for(lambda: (tmp_path / "loa.sock").exists())
    yield d, engine, start, tmp_path / "loa.sock"
    d.stopping.set()
    thread.join(15)
    output.close()
    assert not thread.is_alive()


def test_play_now_over_the_socket_queues_behind_the_slot_in_priority_order(daemon) -> None:
    """The real parts: APScheduler fires the slot on time, play-now arrives over the unix
    socket, status answers over it. (The queue's rules, the emergency's cut and the resume
    are tested on the virtual clock: tests/test_daemon_virtual.py, tests/test_season.py.)"""
    d, engine, start, sock = daemon
    wait_for(lambda: d.runner.current is not None)
    assert request(sock, {"cmd": "play", "file": "normal", "priority": "normal"})["ok"]
    assert request(sock, {"cmd": "play", "file": "priority", "priority": "priority"})["ok"]
    wait_for(lambda: sum(r.kind == "adhoc" and r.status == "completed" for r in rows(engine)) == 2)
    logged = rows(engine)
    first = next(r for r in logged if r.kind == "scheduled")
    assert abs((first.started_at - start).total_seconds()) < 0.5  # APScheduler fired on time
    adhoc = [r for r in logged if r.kind == "adhoc"]
    assert [r.path for r in adhoc] == [PRIORITY.path, NORMAL.path]
    slot_end = max(r.ended_at for r in logged if r.kind == "scheduled")
    assert adhoc[0].started_at >= slot_end  # normal and priority wait for the slot
    assert not any(r.status in ("interrupted", "skipped") for r in logged)
    status = request(sock, {"cmd": "status"})
    assert status["ok"] and status["station"] == "xa" and status["queued"] == 0
    state = d.airlog.daemon_state()
    assert state is not None and (datetime.now(UTC) - state.heartbeat_at).total_seconds() < 2

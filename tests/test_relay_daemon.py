"""A relay slot in the daemon on the wall clock (real APScheduler, control socket, SQLite; the
null output stands for a stream that plays the whole frame): `status` shows the relay on
air with its source, an emergency cuts in and the relay resumes for the rest of its frame."""

from __future__ import annotations

import threading
import time as walltime
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.clock import SystemClock
from scheduler.control import request
from scheduler.daemon import Daemon
from scheduler.lock import StationLock
from scheduler.output.null import NullOutput
from scheduler.relay import CONNECT_S
from scheduler.runner import Runner
from scheduler.spec import RelaySpec, SlotSpec, StationSpec
from tests.test_daemon_priorities import EMERGENCY, HCM, rows, wait_for


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[Daemon, Any, datetime, Path]]:
    engine = open_database(f"sqlite:///{tmp_path}/loa.db")
    start = (datetime.now(HCM) + timedelta(seconds=CONNECT_S + 4)).replace(microsecond=0)
    relay = RelaySpec("vov1", "VOV1", "http://127.0.0.1:9/vov1", "spots", 10.0)
    slot = SlotSpec("thoi-su", start.time(), 10.0, topics=("chi-so",), relay=relay)
    station = StationSpec(id="xa", name="Xã", tz=HCM, weights={"chi-so": 1}, slots=(slot,))
    airlog = AirLog(station_db(engine), station.id)
    output = NullOutput()
    runner = Runner(station, airlog, output, SystemClock(), spots=lambda: [])
    d = Daemon(
        load_station=lambda: station,
        airlog=airlog,
        runner=runner,
        lock=StationLock(tmp_path / "loa.lock"),
        control_path=tmp_path / "loa.sock",
        resolve_adhoc=lambda req: [EMERGENCY],
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


def test_status_shows_the_relay_and_an_emergency_cuts_it(daemon) -> None:
    _d, engine, start, sock = daemon
    wait_for(lambda: any(r.kind == "relay" for r in rows(engine)))
    status = request(sock, {"cmd": "status"})
    assert status["on_air"]["slot"] == "thoi-su" and status["on_air"]["titles"] == ["VOV1"]
    (playing,) = status["playing"]
    assert playing["kind"] == "relay" and playing["title"] == "VOV1"
    assert abs(datetime.fromisoformat(playing["started_at"]) - start) < timedelta(seconds=0.5)
    walltime.sleep(2)
    assert request(sock, {"cmd": "play", "file": "x", "priority": "emergency"})["ok"]
    wait_for(
        lambda: sum(1 for r in rows(engine) if r.kind == "relay" and r.status == "completed") == 1,
        timeout=30,
    )
    relay = [r for r in rows(engine) if r.kind == "relay"]
    emergency = next(r for r in rows(engine) if r.kind == "emergency")
    assert [r.status for r in relay] == ["interrupted", "completed"]
    assert relay[0].ended_at <= emergency.started_at <= relay[1].started_at
    # the relay resumes for the rest of its frame only: it ends at the frame's end
    assert abs(relay[1].ended_at - (start + timedelta(seconds=10))) < timedelta(seconds=0.5)
    assert all(r.spot == "vov1" for r in relay)

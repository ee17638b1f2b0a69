"""Killed between two spots of a slot: the restart airs the rest of the slot (its last
heartbeat says the slot was on air), not nothing; a slot that had ended its plan is not
aired again. Virtual clock, real SQLite, the null output."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from loa.db import station_db
from scheduler.airlog import AirLog
from scheduler.clock import VirtualClock
from tests.faults.test_failed_slots import OCC
from tests.test_daemon_virtual import SPOTS, daemon_for, rows
from tests.test_daemon_virtual import STATION as BASE


@pytest.fixture
def airlog(tmp_path: Path) -> AirLog:
    from loa.db import open_database

    return AirLog(station_db(open_database(f"sqlite:///{tmp_path}/loa.db")), BASE.id)


@pytest.mark.parametrize("on_air", [True, False])
def test_killed_between_two_spots(airlog: AirLog, tmp_path: Path, on_air: bool) -> None:
    first = SPOTS[0]
    seq = airlog.open_play(
        started_at=OCC.at, kind="scheduled", slot="sang", topic=first.topic, spot=first.id,
        title=first.title, path=first.path, scheduled_at=OCC.at,
    )  # fmt: skip
    ended = OCC.at + timedelta(seconds=first.duration_s)
    airlog.close_play(seq, ended, first.duration_s, "completed", None)
    state = {"on_air": {"kind": "scheduled", "slot": "sang"} if on_air else None}
    beat = ended + timedelta(seconds=0.5)  # the last heartbeat, then kill -9 in the pause
    airlog.beat(beat, pid=1, started_at=OCC.at, state=json.dumps(state))
    clock = VirtualClock(beat + timedelta(seconds=3))
    daemon = daemon_for(airlog, tmp_path, clock, lambda: BASE)
    daemon.recover()
    daemon.air_queued()
    logged = rows(airlog)
    if not on_air:  # its plan had ended: the slot is not aired again
        assert len(logged) == 1
        return
    assert len(logged) > 3, [(r.spot, r.status) for r in logged]
    assert {r.status for r in logged} == {"completed"}
    spots = [r.spot for r in logged]
    assert len(spots) == len(set(spots))  # the rest, not again from the start
    assert all(r.ended_at <= OCC.end for r in logged)
    assert logged[1].started_at > beat  # after the restart, inside the slot

"""The wall clock stepped ±1 h while the daemon runs: no double air, no silent skip.

The real clock cannot move here: stepping the machine's clock would move it for every
process on this shared machine, and libfaketime 0.9.10 (Debian) cannot step the wall clock
alone (with FAKETIME_DONT_FAKE_MONOTONIC=1 Python's sleeps fail with EINVAL; without it the
monotonic clock jumps too, which a real step never does). So the daemon's clock is injected:
`StepClock` below is a fake wall clock that steps; the monotonic clock is the value the
heartbeat loop passes to `Daemon.check_clock`. Real SQLite, the null output, the real runner.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from loa.db import station_db
from scheduler.airlog import AirLog
from scheduler.clock import VirtualClock
from scheduler.daemon import Daemon
from scheduler.slots import Occurrence
from scheduler.spec import SlotSpec
from tests.test_daemon_virtual import MONDAY, SANG, STATION, daemon_for, rows

SOM = SlotSpec("som", time(5, 30), 120, pause_s=1.0)
TWO = dataclasses.replace(STATION, slots=(SOM, SANG), quiet_hours=None)


class StepClock(VirtualClock):
    """A fake wall clock that an operator or NTP can step, backwards too."""

    def step(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


@pytest.fixture
def airlog(tmp_path: Path) -> AirLog:
    from loa.db import open_database

    return AirLog(station_db(open_database(f"sqlite:///{tmp_path}/loa.db")), STATION.id)


def work(daemon: Daemon) -> None:
    daemon.air_queued()


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return MONDAY.replace(hour=hour, minute=minute, second=second)


def test_a_step_forward_of_an_hour_logs_the_slots_it_jumped_over(
    airlog: AirLog, tmp_path: Path
) -> None:
    clock = StepClock(at(5, 2))
    daemon = daemon_for(airlog, tmp_path, clock, lambda: TWO)
    assert daemon.check_clock(100.0) == 0.0  # the first heartbeat marks the clock
    clock.step(3600)  # 05:02 -> 06:02: over `som` (05:30), into `sang` (06:00-06:05)
    assert daemon.check_clock(101.0) == pytest.approx(3599.0)
    work(daemon)
    logged = rows(airlog)
    som = [r for r in logged if r.slot == "som"]
    assert [(r.status, r.scheduled_at) for r in som] == [("missed", at(5, 30))]
    assert "jumped over" in (som[0].error or "")
    sang = [r for r in logged if r.slot == "sang"]
    assert sang and {r.status for r in sang} == {"completed"}  # the rest of it aired
    assert all(at(6, 2) < r.started_at and r.ended_at <= at(6, 5) for r in sang)
    assert any(e.source == "clock" and "+3599 s" in e.message for e in airlog.events())


def test_a_step_back_of_an_hour_airs_nothing_twice(airlog: AirLog, tmp_path: Path) -> None:
    clock = StepClock(at(5, 29, 55))
    daemon = daemon_for(airlog, tmp_path, clock, lambda: TWO)
    for occ in (Occurrence(at(5, 30), SOM), Occurrence(at(6, 0), SANG)):
        clock.set(occ.at - timedelta(seconds=4))
        daemon.enqueue_slot(occ)
        work(daemon)
    aired = rows(airlog)
    assert {r.slot for r in aired} == {"som", "sang"} and {r.status for r in aired} == {"completed"}
    clock.set(at(6, 6))
    daemon.check_clock(500.0)
    clock.step(-3600)  # 06:06 -> 05:06: both slots come round again within the hour
    assert daemon.check_clock(501.0) == pytest.approx(-3601.0)
    for occ in (Occurrence(at(5, 30), SOM), Occurrence(at(6, 0), SANG)):
        clock.set(occ.at - timedelta(seconds=4))  # the rescheduled job fires again
        item = daemon.enqueue_slot(occ)
        work(daemon)
        assert item.outcome is not None and item.outcome.status == "already"
    assert [r.id for r in rows(airlog)] == [r.id for r in aired]  # not one row more
    assert any(e.source == "clock" and "-3601 s" in e.message for e in airlog.events())

"""Slot firing, both kinds: APScheduler on the wall clock tells of a job it ran too late, and
the virtual loop fires the same triggers at the instants `occurrences` computes."""

from __future__ import annotations

import threading
import time as walltime
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.date import DateTrigger

from scheduler.clock import VirtualClock
from scheduler.firing import SlotJob, VirtualFiring, WallFiring
from scheduler.slots import EarlyTrigger, occurrences, slot_trigger
from scheduler.spec import SlotSpec, StationSpec

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


class Target:
    def __init__(self, clock: VirtualClock | None = None) -> None:
        self.clock = clock
        self.fired: list[tuple[str, datetime | None]] = []
        self.missed: list[tuple[str, datetime]] = []
        self.aired = 0
        self.stop = threading.Event()

    def fire_slot(self, slot: str) -> None:
        self.fired.append((slot, self.clock.now() if self.clock else None))

    def slot_missed(self, slot: str, fire_time: datetime) -> None:
        self.missed.append((slot, fire_time))

    def air_queued(self) -> None:
        self.aired += 1

    def air_until_stopped(self) -> None:
        self.stop.wait(10)


def test_apscheduler_tells_of_a_job_past_its_grace() -> None:
    firing = WallFiring()
    target = Target()
    late = datetime.now(UTC) - timedelta(seconds=30)
    try:
        firing.start(HCM, target, [SlotJob("sang", DateTrigger(late), grace_s=1)])
        end = walltime.monotonic() + 10
        while not target.missed and walltime.monotonic() < end:
            walltime.sleep(0.02)
    finally:
        target.stop.set()
        assert firing.shutdown(5)
    assert target.missed == [("sang", late)]
    assert target.fired == []


def test_the_virtual_loop_fires_the_triggers_at_their_instants() -> None:
    sang = SlotSpec("sang", time(6, 0), 600)
    chieu = SlotSpec("chieu", time(17, 30), 600, days="mon-fri")
    station = StationSpec("x", "X", HCM, {"a": 1}, (sang, chieu))
    start = datetime(2021, 3, 1, tzinfo=HCM)
    clock = VirtualClock(start)
    firing = VirtualFiring(clock, until=start + timedelta(days=7))
    target = Target(clock)
    jobs = [SlotJob(s.name, EarlyTrigger(slot_trigger(s, HCM), 2.0), 600) for s in station.slots]
    firing.start(HCM, target, jobs)
    stop = threading.Event()
    while not firing.wait(stop, 3600):
        pass
    expected = [
        (o.slot.name, o.at - timedelta(seconds=2))
        for o in occurrences(station, start, start + timedelta(days=7))
    ]
    assert target.fired == expected and len(expected) == 12
    assert target.aired >= len(expected)  # what a job queued airs before the clock moves on
    assert clock.now() == start + timedelta(days=7)


def test_rescheduled_jobs_do_not_fire_twice() -> None:
    sang = SlotSpec("sang", time(6, 0), 600)
    start = datetime(2021, 3, 1, tzinfo=HCM)
    clock = VirtualClock(start)
    firing = VirtualFiring(clock, until=start + timedelta(days=2))
    target = Target(clock)
    job = SlotJob("sang", slot_trigger(sang, HCM), 600)
    firing.start(HCM, target, [job])
    firing.schedule([job])  # a reload: the first job's alarm is void
    stop = threading.Event()
    while not firing.wait(stop, 3600):
        pass
    assert [at for _, at in target.fired] == [start.replace(hour=6), start.replace(day=2, hour=6)]
    assert firing.next_runs() == {"slot:sang": start.replace(day=3, hour=6)}

"""Slot firing: when a slot's job runs, and who airs what it queued.

One small interface, two implementations, chosen by the composition root:

- `WallFiring`: APScheduler's BackgroundScheduler on the wall clock (misfire grace, coalesce,
  a missed-job listener) and one air worker thread;
- `VirtualFiring`: a loop over the same triggers on a `VirtualClock`: the clock jumps to the
  next fire time (or alarm), the job runs, and what it queued airs before the clock moves on.

The daemon (`FiringTarget`) is the same object on both: the firing calls `fire_slot` at a
job's time, `slot_missed` for a job APScheduler ran too late to run at all, and
`air_until_stopped` (the worker thread) or `air_queued` (after each step) to air.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger

from scheduler.clock import VirtualClock

log = logging.getLogger("loa.firing")


class ProcessKilled(BaseException):
    """The process is gone (kill -9, a power cut) in a simulated season: nothing more of the
    daemon runs, not even its graceful stop; its open rows stay open for the next start."""


@dataclass(frozen=True)
class SlotJob:
    """One slot's job: its (early) trigger and how late it may still run."""

    slot: str
    trigger: BaseTrigger
    grace_s: int

    @property
    def id(self) -> str:
        return f"slot:{self.slot}"


class FiringTarget(Protocol):
    def fire_slot(self, slot: str) -> None: ...

    def slot_missed(self, slot: str, fire_time: datetime) -> None: ...

    def air_queued(self) -> None: ...

    def air_until_stopped(self) -> None: ...


class SlotFiring(Protocol):
    def start(self, tz: tzinfo, target: FiringTarget, jobs: Sequence[SlotJob]) -> None:
        """Schedule `jobs` and start firing them (and airing) for `target`."""
        ...

    def schedule(self, jobs: Sequence[SlotJob]) -> None:
        """Replace every slot job (a reload, a clock step): next fire times from now."""
        ...

    def call_at(self, moment: datetime, action: Callable[[], None]) -> None:
        """Run `action` once at `moment` (it only queues or checks; it never airs)."""
        ...

    def next_runs(self) -> dict[str, datetime]:
        """Each job's next fire time, by job id."""
        ...

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """The heartbeat's pause: True when the daemon is to stop."""
        ...

    def shutdown(self, timeout_s: float) -> bool:
        """No more jobs; wait for the air worker; False when it is stuck."""
        ...


class WallFiring:
    """APScheduler's BackgroundScheduler on the wall clock, and one air worker thread."""

    def __init__(self) -> None:
        self._scheduler: BackgroundScheduler | None = None
        self._target: FiringTarget | None = None
        self._worker: threading.Thread | None = None

    def start(self, tz: tzinfo, target: FiringTarget, jobs: Sequence[SlotJob]) -> None:
        self._target = target
        self._scheduler = BackgroundScheduler(timezone=tz)
        self._scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        self.schedule(jobs)
        self._scheduler.start()
        self._worker = threading.Thread(
            target=target.air_until_stopped, name="loa-air", daemon=True
        )
        self._worker.start()

    def schedule(self, jobs: Sequence[SlotJob]) -> None:
        assert self._scheduler is not None and self._target is not None
        for job in self._scheduler.get_jobs():
            if job.id.startswith("slot:"):
                job.remove()
        for job in jobs:
            self._scheduler.add_job(
                self._target.fire_slot,
                trigger=job.trigger,
                args=[job.slot],
                id=job.id,
                name=job.slot,
                # Late by less than the slot's length (a busy machine, a suspend): still run;
                # the runner airs what fits. Coalesce: after a long suspend, run once, not N times.
                misfire_grace_time=job.grace_s,
                coalesce=True,
                max_instances=1,
                replace_existing=True,
            )

    def call_at(self, moment: datetime, action: Callable[[], None]) -> None:
        if self._scheduler is not None:
            self._scheduler.add_job(action, DateTrigger(moment), misfire_grace_time=None)

    def next_runs(self) -> dict[str, datetime]:
        if self._scheduler is None:
            return {}
        return {
            j.id: j.next_run_time
            for j in self._scheduler.get_jobs()
            if j.id.startswith("slot:") and j.next_run_time
        }

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(seconds)

    def shutdown(self, timeout_s: float) -> bool:
        if self._scheduler is not None:
            with contextlib.suppress(Exception):  # not started, or already shut down
                self._scheduler.shutdown(wait=False)
        if self._worker is not None:
            self._worker.join(timeout=timeout_s)
            return not self._worker.is_alive()
        return True

    def _on_missed(self, event: JobExecutionEvent) -> None:
        job_id = str(event.job_id)
        if self._target is not None and job_id.startswith("slot:"):
            self._target.slot_missed(job_id.removeprefix("slot:"), event.scheduled_run_time)


class VirtualFiring:
    """The same triggers on a virtual clock: jump to the next fire time, fire, air, go on.

    `until`: the end of the simulated time (the heartbeat loop is told to stop there).
    `step`: a context each heartbeat's stretch of time runs in (`loa simulate` writes one
    transaction a simulated day with `AirLog.batch`)."""

    def __init__(
        self,
        clock: VirtualClock,
        until: datetime | None = None,
        step: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> None:
        self.clock = clock
        self.until = until
        self.step = step or contextlib.nullcontext
        self._target: FiringTarget | None = None
        self._next: dict[str, tuple[SlotJob, datetime]] = {}
        self._generation = 0
        self._woken = False

    def start(self, tz: tzinfo, target: FiringTarget, jobs: Sequence[SlotJob]) -> None:
        self._target = target
        self.schedule(jobs)
        target.air_queued()  # what recovery queued

    def schedule(self, jobs: Sequence[SlotJob]) -> None:
        self._generation += 1  # alarms of the jobs replaced are void
        self._next = {}
        now = self.clock.now()
        for job in jobs:
            fire = job.trigger.get_next_fire_time(None, now)
            if fire is not None:
                self._arm(job, fire, self._generation)

    def _arm(self, job: SlotJob, fire: datetime, generation: int) -> None:
        self._next[job.id] = (job, fire)
        self.clock.call_at(fire, lambda: self._fire(job, fire, generation))

    def _fire(self, job: SlotJob, fire: datetime, generation: int) -> None:
        if generation != self._generation or self._target is None:
            return
        self._target.fire_slot(job.slot)
        nxt = _after(job.trigger, fire)
        if nxt is None:
            self._next.pop(job.id, None)
        else:
            self._arm(job, nxt, generation)

    def call_at(self, moment: datetime, action: Callable[[], None]) -> None:
        self.clock.call_at(moment, action)

    def next_runs(self) -> dict[str, datetime]:
        return {job_id: fire for job_id, (_, fire) in self._next.items()}

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        target = self.clock.now() + timedelta(seconds=seconds)
        if self.until is not None:
            target = min(target, self.until)
        with self.step():
            while not stop.is_set() and self.clock.run_next_alarm(target):
                self._air()
                if self._woken:  # the heartbeat's work is wanted now (a reload asked for)
                    break
            else:
                self.clock.set(target)
        self._woken = False
        return stop.is_set() or (self.until is not None and self.clock.now() >= self.until)

    def wake(self) -> None:
        """End the heartbeat's pause after the alarm running now (as a SIGHUP would soon)."""
        self._woken = True

    def _air(self) -> None:
        if self._target is not None:
            self._target.air_queued()

    def shutdown(self, timeout_s: float) -> bool:
        self._air()  # the stop item, and whatever was queued before it
        return True


def _after(trigger: BaseTrigger, fire: datetime) -> datetime | None:
    """The trigger's next fire time after `fire` (past a DST fold, see `slots.occurrences`)."""
    nxt = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    look = fire
    while nxt is not None and nxt.replace(tzinfo=None) <= fire.replace(tzinfo=None):
        look += timedelta(hours=3)
        nxt = trigger.get_next_fire_time(None, look)
    return nxt

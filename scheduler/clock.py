"""Clocks: the wall clock for `loa run`, a virtual one for `loa simulate` and the tests."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock nobody can step (to notice a step of `now`)."""
        ...

    def sleep_until(self, moment: datetime, stop: threading.Event | None = None) -> bool:
        """Wait until `moment`; False if `stop` was set first."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep_until(self, moment: datetime, stop: threading.Event | None = None) -> bool:
        stop = stop or threading.Event()
        while True:
            left = (moment - self.now()).total_seconds()
            if left <= 0:
                return True
            if stop.wait(min(left, 1.0)):
                return False


class VirtualClock:
    """A clock that only moves when told to: sleeping jumps straight to the moment.

    Alarms (`call_at`) are what happens meanwhile on a virtual clock: sleeping past an alarm's
    moment stops there, runs it, and goes on unless the alarm set the sleeper's `stop` event
    (an emergency cutting a spot that is "playing" is an alarm that sets the spot's cut)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a virtual clock starts at a timezone-aware instant")
        self._now = start.astimezone(UTC)
        self._monotonic = 0.0
        self._alarms: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self.set(self._now + timedelta(seconds=seconds))

    def set(self, moment: datetime) -> None:
        """Move to `moment` without running alarms (never backwards)."""
        if moment > self._now:
            self._monotonic += (moment - self._now).total_seconds()
            self._now = moment.astimezone(UTC)

    def call_at(self, moment: datetime, alarm: Callable[[], None]) -> None:
        """Run `alarm` when a sleep reaches `moment` (at once on the next sleep if past)."""
        heapq.heappush(self._alarms, (moment.astimezone(UTC), next(self._order), alarm))

    def next_alarm(self) -> datetime | None:
        return self._alarms[0][0] if self._alarms else None

    def run_next_alarm(self, until: datetime) -> bool:
        """Move to the first alarm due by `until` and run it; False when none is due."""
        if not self._alarms or self._alarms[0][0] > until:
            return False
        moment, _, alarm = heapq.heappop(self._alarms)
        self.set(moment)
        alarm()
        return True

    def sleep_until(self, moment: datetime, stop: threading.Event | None = None) -> bool:
        while True:
            if stop is not None and stop.is_set():
                return False
            if not self.run_next_alarm(moment):
                break
        self.set(moment)
        return True

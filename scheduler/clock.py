"""Clocks: the wall clock for `loa run`, a virtual one for `loa simulate` and the tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def sleep_until(self, moment: datetime, stop: threading.Event | None = None) -> bool:
        """Wait until `moment`; False if `stop` was set first."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, moment: datetime, stop: threading.Event | None = None) -> bool:
        stop = stop or threading.Event()
        while True:
            left = (moment - self.now()).total_seconds()
            if left <= 0:
                return True
            if stop.wait(min(left, 1.0)):
                return False


class VirtualClock:
    """A clock that only moves when told to: sleeping jumps straight to the moment."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a virtual clock starts at a timezone-aware instant")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, moment: datetime) -> None:
        if moment > self._now:
            self._now = moment.astimezone(UTC)

    def sleep_until(self, moment: datetime, stop: threading.Event | None = None) -> bool:
        if stop is not None and stop.is_set():
            return False
        self.set(moment)
        return True

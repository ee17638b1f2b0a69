"""An output on a virtual clock that takes its time: for `loa simulate --events`.

The null backend on a virtual clock plays a whole plan inside `play`, without moving the clock;
nothing can happen meanwhile. This one plays like the wall clock's null output, item by item,
but on the virtual clock: waiting on the handle moves the clock to each item's start and end,
so the alarms in between run (a slot's job fires, an emergency cuts in, a crash, the sound
device failing). A cut ends the item playing as ``interrupted`` at that instant and skips the
rest; while the device is failing (`fail`, `recover`), items end ``failed`` as the device's do,
and `error` says why, as the device output's does.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from scheduler.clock import VirtualClock
from scheduler.output.base import EventCallback, ItemEnded, ItemStarted, PlayHandle, PlayItem
from scheduler.output.null import item_duration


class VirtualPlayHandle(PlayHandle):
    def __init__(
        self,
        items: Sequence[PlayItem],
        on_event: EventCallback | None,
        output: SteppingOutput,
        at: datetime,
    ) -> None:
        super().__init__(items, on_event)
        self.output = output
        self.at = at
        self.cut_event = threading.Event()
        self._cut = lambda _fade_ms: self.cut_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        if not self.done:
            self._play()
        return True

    def _sleep(self, moment: datetime) -> bool:
        """Sleep until `moment`; False when a cut or the device stopped it first."""
        clock = self.output.clock
        while clock.now() < moment:
            if self.cut_event.is_set() or self.output.error is not None:
                return False
            nxt = clock.next_alarm()
            if nxt is None or nxt > moment:
                clock.set(moment)
                break
            clock.run_next_alarm(moment)
        return not (self.cut_event.is_set() or self.output.error is not None)

    def _play(self) -> None:
        output, clock = self.output, self.output.clock
        skipping = False
        for i, item in enumerate(self.items):
            start = self.at + timedelta(seconds=item.offset_s)
            if output.last_end is not None and output.last_end > start:
                start = output.last_end
            if not skipping and not self._sleep(start) and self.cut_event.is_set():
                skipping = True
            if skipping:
                self._deliver(ItemEnded(i, item.key, clock.now(), 0.0, "skipped"))
                continue
            if output.error is not None:
                self._deliver(ItemEnded(i, item.key, clock.now(), 0.0, "failed", output.error))
                continue
            dur, err = item_duration(item)
            if dur is None:
                self._deliver(ItemEnded(i, item.key, start, 0.0, "failed", err))
                continue
            self._deliver(ItemStarted(i, item.key, start, measured=False))
            end = start + timedelta(seconds=dur)
            if self._sleep(end):
                output.last_end = end
                self._deliver(ItemEnded(i, item.key, end, dur, "completed"))
                continue
            now = clock.now()
            played = (now - start).total_seconds()
            output.last_end = now
            if self.cut_event.is_set():
                self._deliver(ItemEnded(i, item.key, now, played, "interrupted"))
                skipping = True
            else:
                self._deliver(ItemEnded(i, item.key, now, played, "failed", output.error))


class SteppingOutput:
    """The null output, item by item on a virtual clock (see the module's docstring)."""

    name = "null"

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.last_end: datetime | None = None
        self.error: str | None = None

    def fail(self, why: str) -> None:
        self.error = why

    def recover(self) -> None:
        self.error = None

    def play(
        self, items: Sequence[PlayItem], at: datetime, on_event: EventCallback | None = None
    ) -> PlayHandle:
        return VirtualPlayHandle(items, on_event, self, at)

    def close(self) -> None:
        pass

"""The null backend: plays nothing, reports what would have aired.

With a `clock` (a virtual clock, ``loa simulate``) everything happens inside `play`: item ``i``
is reported started at ``max(at + offset_s, end of the previous item)`` and ended
``duration_s`` later, as ``completed``, synchronously and without sleeping; the handle is done
when `play` returns. Plans chain: a plan never starts before the previous one ended.

Without a clock it follows the wall clock: a thread reports each start and end when its
instant comes, and `cut` ends the item at once (``interrupted``) and skips the rest.

An item with no ``duration_s`` gets its length from the file's tags (mutagen); if that fails
it is reported ``failed``, as the device would.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from scheduler.output.base import (
    Clock,
    EventCallback,
    ItemEnded,
    ItemStarted,
    OutputError,
    PlayHandle,
    PlayItem,
    from_epoch,
    to_epoch,
)

log = logging.getLogger("loa.output.null")


def item_duration(item: PlayItem) -> tuple[float | None, str | None]:
    """(seconds, None) or (None, why not)."""
    if item.length_s is not None:
        return max(0.0, float(item.length_s)), None
    if item.duration_s is not None:
        return max(0.0, float(item.duration_s)), None
    try:
        import mutagen

        f = mutagen.File(str(item.path))
        if f is None or f.info is None or not f.info.length:
            return None, f"cannot tell the length of {item.path}"
        return float(f.info.length), None
    except Exception as e:
        return None, f"cannot read {item.path}: {e}"


class NullOutput:
    name = "null"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock
        self._last_end: datetime | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._plans: queue.Queue[tuple[PlayHandle, datetime, threading.Event] | None] = (
            queue.Queue()
        )
        self._thread: threading.Thread | None = None
        if clock is None:
            self._thread = threading.Thread(
                target=self._worker, name="loa-output-null", daemon=True
            )
            self._thread.start()

    def play(
        self, items: Sequence[PlayItem], at: datetime, on_event: EventCallback | None = None
    ) -> PlayHandle:
        if self._closed:
            raise OutputError("output null is closed")
        to_epoch(at)  # refuses naive datetimes
        handle = PlayHandle(items, on_event)
        if not handle.items:
            return handle
        if self.clock is not None:
            with self._lock:
                self._play_virtual(handle, at)
            return handle
        cut = threading.Event()
        handle._cut = lambda _fade_ms: cut.set()
        self._plans.put((handle, at, cut))
        return handle

    def _play_virtual(self, handle: PlayHandle, at: datetime) -> None:
        end = self._last_end
        for i, item in enumerate(handle.items):
            start = at + timedelta(seconds=item.offset_s)
            if end is not None and end > start:
                start = end
            dur, err = item_duration(item)
            if dur is None:
                handle._deliver(ItemEnded(i, item.key, start, 0.0, "failed", err))
                end = start
                continue
            end = start + timedelta(seconds=dur)
            handle._deliver(ItemStarted(i, item.key, start, measured=False))
            handle._deliver(ItemEnded(i, item.key, end, dur, "completed"))
        self._last_end = end

    def _worker(self) -> None:
        last_end = 0.0
        while True:
            job = self._plans.get()
            if job is None:
                return
            handle, at, cut = job
            base = to_epoch(at)
            skipping = False
            for i, item in enumerate(handle.items):
                start = max(base + item.offset_s, last_end)
                if skipping or cut.wait(max(0.0, start - time.time())):
                    skipping = True
                    now = time.time()
                    handle._deliver(ItemEnded(i, item.key, from_epoch(now), 0.0, "skipped"))
                    continue
                if self._closed:
                    handle._deliver(
                        ItemEnded(i, item.key, from_epoch(time.time()), 0.0, "failed", "closed")
                    )
                    continue
                dur, err = item_duration(item)
                if dur is None:
                    handle._deliver(ItemEnded(i, item.key, from_epoch(start), 0.0, "failed", err))
                    continue
                handle._deliver(ItemStarted(i, item.key, from_epoch(start), measured=False))
                if cut.wait(max(0.0, start + dur - time.time())):
                    now = max(time.time(), start)
                    last_end = now
                    handle._deliver(
                        ItemEnded(i, item.key, from_epoch(now), now - start, "interrupted")
                    )
                    skipping = True
                    continue
                last_end = start + dur
                handle._deliver(ItemEnded(i, item.key, from_epoch(last_end), dur, "completed"))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            # plans still queued end as failed; the one playing ends at its next instant
            while True:
                try:
                    job = self._plans.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    handle, _at, _cut = job
                    for i, item in enumerate(handle.items):
                        handle._deliver(
                            ItemEnded(i, item.key, from_epoch(time.time()), 0.0, "failed", "closed")
                        )
            self._plans.put(None)

    def __enter__(self) -> NullOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""What the device and file backends share: plans in, decoders ahead, events out.

`MixerOutput` owns an `Mixer` (the timeline, run by the audio callback or the file writer)
and does the non-realtime work around it from its own service thread: it starts the decoders
of the next items before they are due (up to `PREFETCH` items ahead, one ffmpeg at a time: see
`prefetch`), and delivers the engine's raw events to the plans' handles as
`ItemStarted`/`ItemEnded`, converted from the output clock to UTC, never before the instant
they describe (``hold=True``) so an ``ItemStarted`` means the sample is at the DAC now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime

from scheduler.output.base import (
    EventCallback,
    ItemEnded,
    ItemStarted,
    OutputError,
    PlayHandle,
    PlayItem,
    from_epoch,
    to_epoch,
)
from scheduler.output.decoder import StreamDecoder
from scheduler.output.mixer import DONE, Mixer, MixItem, MixPlan, RawEnd, RawEvent

log = logging.getLogger("loa.output")

PREFETCH = 3  # items with a decoder: the current one and the next two
# an item this long or longer keeps the next item's decoder waiting until it has been decoded
# (then >= `max_buffer_s` of it is still to play); shorter ones, or of unknown length, do not:
# a chain of short spots is decoded in parallel, as the device renders several in one block
HOLD_S = 3.0


def holds_back(item: PlayItem) -> bool:
    """Does `item`, while its ffmpeg runs, keep the next item's decoder from starting?"""
    length = item.length_s if item.length_s is not None else item.duration_s
    return bool(length) and length >= HOLD_S


class MixerOutput:
    name = "engine"

    def __init__(self, rate: int, *, max_buffer_s: float = 2.0) -> None:
        self.rate = int(rate)
        self.mixer = Mixer(self.rate)
        self.max_buffer_s = max_buffer_s
        self._pending: list[RawEvent] = []
        self._closed = False
        self._stop = threading.Event()
        self._wake = threading.Event()  # the service thread sleeps on it: set when work comes
        self._service_lock = threading.Lock()

    # -- clock: output clock = POSIX time + offset -------------------------------------------
    def clock_offset(self) -> float:
        return 0.0

    # -- the Output interface ----------------------------------------------------------------
    def play(
        self, items: Sequence[PlayItem], at: datetime, on_event: EventCallback | None = None
    ) -> PlayHandle:
        if self._closed:
            raise OutputError(f"output {self.name} is closed")
        handle = PlayHandle(items, on_event)
        if not handle.items:
            return handle
        plan = MixPlan(
            handle=handle,
            start_s=to_epoch(at) + self.clock_offset(),
            items=[MixItem(i, it) for i, it in enumerate(handle.items)],
        )

        def cut(fade_ms: float) -> None:
            plan.cut_request = fade_ms
            self._wake.set()

        handle._cut = cut
        self._before_submit(plan)
        self.mixer.submit(plan)
        self._wake.set()  # start its decoders now
        return handle

    def _before_submit(self, plan: MixPlan) -> None:
        """Hook for subclasses (the file backend fixes its origin on the first plan)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> MixerOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- non-realtime service ----------------------------------------------------------------
    def prefetch(self) -> None:
        """Start decoders for the next `PREFETCH` items that will play, one ffmpeg at a time.

        An item's decoder starts once the decoder before it has decoded its whole file: that
        ffmpeg has exited with up to `max_buffer_s` (+ a pipe's 0.34 s) of audio still to
        play, and the next one needs ~0.05 s to its first samples (it wakes the service thread
        when it is over). So a slot of many spots runs one ffmpeg, not three at once: each
        costs ~32 MB of RSS (BENCHMARKS.md, "Playout"). A source that does not say whether it
        is still decoding (no `decoding` attribute) does not hold the next one back, nor does
        a short item (see `holds_back`)."""
        count = 0
        busy = False  # an earlier item's decoder still runs its ffmpeg
        for plan in self.mixer.plans():
            for it in plan.items[plan.cur :]:
                if it.state == DONE:
                    continue
                if it.source is None and it.item.live is not None:  # a relayed stream
                    it.source = it.item.live  # type: ignore[assignment]
                if it.source is None:
                    if busy:
                        return
                    it.source = StreamDecoder(
                        it.item.path,
                        self.rate,
                        it.item.gain_db,
                        self.max_buffer_s,
                        start_s=it.item.start_s,
                        length_s=it.item.length_s,
                        on_decoded=self._wake.set,
                    )
                busy = busy or (holds_back(it.item) and bool(getattr(it.source, "decoding", False)))
                count += 1
                if count >= PREFETCH:
                    return

    def dispatch(self, hold: bool) -> float | None:
        """Deliver raw events whose instant has come (all of them if not `hold`).

        Returns the POSIX time of the next event held back, None if none is."""
        ev = self.mixer.events
        while ev:
            self._pending.append(ev.popleft())
        if not self._pending:
            return None
        offset = self.clock_offset()
        now = time.time()
        n = 0
        due: float | None = None
        for raw in self._pending:
            t = raw.t - offset
            if hold and t > now:
                due = t
                break
            self._deliver(raw, t)
            n += 1
        del self._pending[:n]
        return due

    def _deliver(self, raw: RawEvent, t: float) -> None:
        plan = raw.plan
        item = plan.items[raw.index]
        key = item.item.key
        if isinstance(raw, RawEnd):
            if item.source is not None:
                item.source.close()
            if raw.status == "failed":
                log.warning("item %d (%s) failed: %s", raw.index, item.item.path, raw.error)
            plan.handle._deliver(
                ItemEnded(
                    raw.index, key, from_epoch(t), raw.frames / self.rate, raw.status, raw.error
                )
            )
        else:
            plan.handle._deliver(ItemStarted(raw.index, key, from_epoch(t), measured=True))

    def _shutdown_mixer(self, error: str) -> None:
        """Fail what is left and deliver every event now. Only once render() has stopped."""
        self.mixer.abort(time.time() + self.clock_offset(), error)
        self.dispatch(hold=False)  # closes the decoders of the ended items

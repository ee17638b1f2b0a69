"""The playout timeline: turns queued plans into PCM blocks and raw events.

Pure logic over an abstract output clock (seconds, float): `Mixer.render(out, t0)` fills one
block whose first frame sounds at ``t0`` and records what started and ended inside it, at
sample precision. The device backend calls it from the audio callback with the DAC time of the
block; the file backend calls it from its writer with the file position. Nothing here sleeps,
blocks, logs or allocates more than the block's arithmetic: it is safe in an audio callback.

Sources (decoders) are attached to items by the non-realtime side before they are needed.

Samples travel as buffers of native float32 (`memoryview`s of ffmpeg's bytes, or numpy arrays:
anything with the buffer protocol), and the block is written through a memoryview: copying a
mono chunk to each channel is a strided memoryview assignment, done in C. The playout path
therefore does not import numpy (~15 MB of RSS for the daemon's life; BENCHMARKS.md,
"Playout"). Only a fade, a few thousand frames once per cut, is computed in Python.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from scheduler.output.base import PlayHandle, PlayItem, Status

PENDING, PLAYING, DONE = 0, 1, 2

# a 1-D buffer of native float32 samples: memoryview("f"), array("f"), numpy float32...
Samples = Any


def floats(buf: Any) -> memoryview:
    """A flat memoryview of format "f" over `buf` (C-contiguous float32), without a copy."""
    view = memoryview(buf)
    return view if view.format == "f" and view.ndim == 1 else view.cast("B").cast("f")


class Source(Protocol):
    finished: bool
    error: str | None

    def read(self, max_frames: int) -> Samples: ...

    def close(self) -> None: ...


@dataclass(eq=False)
class MixItem:
    index: int
    item: PlayItem
    source: Source | None = None
    state: int = PENDING
    frames: int = 0  # frames played


@dataclass(eq=False)
class MixPlan:
    handle: PlayHandle
    start_s: float  # on the output clock
    items: list[MixItem]
    cur: int = 0
    cut_request: float | None = None  # fade length in ms, set from another thread
    fade: list[int] | None = None  # [frames done, frames total]
    over: bool = False


@dataclass(frozen=True)
class RawStart:
    plan: MixPlan
    index: int
    t: float


@dataclass(frozen=True)
class RawEnd:
    plan: MixPlan
    index: int
    t: float
    frames: int
    status: Status
    error: str | None = None


RawEvent = RawStart | RawEnd


@dataclass(eq=False)
class Mixer:
    rate: int
    queue: deque[MixPlan] = field(default_factory=deque)
    plan: MixPlan | None = None
    events: deque[RawEvent] = field(default_factory=deque)
    last_end: float = -math.inf
    starved: int = 0  # blocks cut short because a source had no data ready
    _zeros: memoryview = field(default_factory=lambda: floats(array("f")), repr=False)

    def submit(self, plan: MixPlan) -> None:
        self.queue.append(plan)

    @property
    def busy(self) -> bool:
        return self.plan is not None or bool(self.queue)

    def plans(self) -> list[MixPlan]:
        """The current plan then the queued ones (a snapshot, for the non-realtime side)."""
        cur = self.plan
        return ([cur] if cur is not None else []) + list(self.queue)

    # -- the block renderer -------------------------------------------------------------------
    def render(self, out: Any, t0: float) -> int:
        """Fill `out` (frames x channels, float32: a 2-D numpy array or memoryview) for a
        block starting at `t0`.

        Returns how many frames are valid: all of them, or fewer if a source had no data
        ready (the rest is silence; a file writer retries from there, a device plays it).
        """
        shape = memoryview(out).shape or (0,)
        frames = shape[0]
        ch = shape[1] if len(shape) > 1 else 1
        flat = floats(out)
        if len(self._zeros) < len(flat):  # once, at the first block (or a larger one)
            self._zeros = floats(array("f", bytes(4 * len(flat))))
        flat[:] = self._zeros[: len(flat)]
        rate = self.rate
        self._cut_queued(t0)
        i = 0
        while i < frames:
            plan = self.plan
            if plan is None:
                if not self.queue:
                    return frames
                plan = self.plan = self.queue.popleft()
            t = t0 + i / rate
            if plan.cut_request is not None and plan.fade is None and not self._start_cut(plan, t):
                continue
            if plan.cur >= len(plan.items):
                plan.over = True
                self.plan = None
                continue
            it = plan.items[plan.cur]
            src = it.source
            if it.state == PENDING:
                start = max(plan.start_s + it.item.offset_s, self.last_end)
                k = round((start - t0) * rate)
                if k >= frames:
                    return frames
                i = max(i, k)
                if src is None:
                    self.starved += 1
                    return i
            assert src is not None
            want = frames - i
            if plan.fade is not None:
                want = min(want, plan.fade[1] - plan.fade[0])
            chunk = src.read(want)
            if not len(chunk):
                if not src.finished:
                    self.starved += 1
                    return i
                t = t0 + i / rate
                if it.state == PLAYING:
                    self.last_end = t
                if src.error is not None:
                    self._end(plan, it, t, "failed", src.error)
                else:
                    self._end(plan, it, t, "completed")
                continue
            if it.state == PENDING:
                it.state = PLAYING
                self.events.append(RawStart(plan, it.index, t0 + i / rate))
            n = len(chunk)
            src_f = floats(chunk)
            if plan.fade is not None:
                done, total = plan.fade
                src_f = floats(
                    array("f", [x * (1.0 - (done + k) / total) for k, x in enumerate(src_f, 1)])
                )
                plan.fade[0] += n
            for c in range(ch):  # the mono chunk on every channel of the device
                flat[i * ch + c : (i + n) * ch : ch] = src_f
            it.frames += n
            i += n
            if plan.fade is not None and plan.fade[0] >= plan.fade[1]:
                t = t0 + i / rate
                self.last_end = t
                self._end(plan, it, t, "interrupted")
                self._finish(plan, t, "skipped", None)
        return frames

    def _start_cut(self, plan: MixPlan, t: float) -> bool:
        """Begin a requested cut. True if a fade is now running, False if the plan is over."""
        it = plan.items[plan.cur] if plan.cur < len(plan.items) else None
        total = round((plan.cut_request or 0.0) * self.rate / 1000.0)
        if it is not None and it.state == PLAYING and total > 0:
            plan.fade = [0, total]
            return True
        if it is not None and it.state == PLAYING:
            self.last_end = t
            self._end(plan, it, t, "interrupted")
        self._finish(plan, t, "skipped", None)
        return False

    def _end(
        self, plan: MixPlan, it: MixItem, t: float, status: Status, error: str | None = None
    ) -> None:
        it.state = DONE
        self.events.append(RawEnd(plan, it.index, t, it.frames, status, error))
        if plan.cur == it.index:
            plan.cur += 1

    def _finish(self, plan: MixPlan, t: float, status: Status, error: str | None) -> None:
        """End every item of `plan` not yet ended with `status` (played frames kept)."""
        for it in plan.items[plan.cur :]:
            if it.state != DONE:
                st: Status = status
                if it.state == PLAYING and status == "skipped":
                    st = "interrupted"
                it.state = DONE
                self.events.append(RawEnd(plan, it.index, t, it.frames, st, error))
        plan.cur = len(plan.items)
        plan.over = True
        if self.plan is plan:
            self.plan = None

    def _cut_queued(self, t: float) -> None:
        for plan in [p for p in self.queue if p.cut_request is not None]:
            self.queue.remove(plan)
            self._finish(plan, t, "skipped", None)

    # -- called only while render() cannot run (device down, output closing) -------------------
    def abort(self, t: float, error: str) -> None:
        """Fail everything not yet over: the item playing keeps its played frames."""
        for plan in self.plans():
            self._finish(plan, t, "failed", error)
        self.queue.clear()
        self.plan = None

    def fail_due(self, now: float, error: str) -> None:
        """The output cannot play: fail the plans whose start has come."""
        for plan in self.plans():
            if plan.start_s <= now:
                if plan in self.queue:
                    self.queue.remove(plan)
                self._finish(plan, now, "failed", error)

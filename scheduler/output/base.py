"""The small output interface of the playout: plan items, events, the play handle.

A *plan* is a sequence of `PlayItem`s handed to an `Output` with the instant it should start.
Item ``i`` starts at ``max(at + items[i].offset_s, end of item i-1)``: consecutive items follow
each other with no gap, and a pause is expressed by a larger offset. Plans handed to the same
output play in the order they were given; a plan never starts before the previous one ended.

Every item gets exactly one `ItemEnded`. It is preceded by an `ItemStarted` only if the item's
first sample actually reached the output. Statuses:

- ``completed``: played to its last sample;
- ``interrupted``: cut (`PlayHandle.cut`) while it played;
- ``failed``: could not be decoded, or the device was missing or failed (``error`` says why);
  ``played_s`` is what did air before the failure (often 0);
- ``skipped``: never started because the plan was cut before it.

Times are timezone-aware UTC datetimes. The device backend measures them on the audio device's
clock (PortAudio's ``outputBufferDacTime``) and converts them to the wall clock with an offset
measured against ``time.time()`` (on Linux PortAudio's clock is CLOCK_REALTIME based and the
offset is a few microseconds; on other hosts it is measured and refreshed every second).
``started_at`` is when the first sample reached the DAC, ``ended_at`` when the last sample did
(the instant right after it), ``played_s`` the number of samples played divided by the rate.

Events are delivered from a background thread of the output (never from the audio callback),
no earlier than the instant they describe, in order for each plan.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

log = logging.getLogger("loa.output")

Status = Literal["completed", "interrupted", "failed", "skipped"]


@dataclass(frozen=True)
class PlayItem:
    """One spot of a plan.

    path: the audio file (any format ffmpeg decodes).
    gain_db: loudness gain applied while playing (e.g. target LUFS - measured LUFS).
    offset_s: earliest start, in seconds from the plan's start instant.
    duration_s: the expected length; the null backend plays that long (it plays nothing), the
        others start the next decoder after a long item has been decoded (player.HOLD_S).
    key: an opaque id of the caller, echoed in the events.
    start_s: where in the file playing starts (the leading silence the library measured).
    length_s: play at most this long from `start_s` (None: to the end of the file).
    live: a ready source the output reads instead of decoding `path` (a relayed stream,
        `scheduler.output.stream.LiveSource`); None for a file.
    """

    path: Path
    gain_db: float = 0.0
    offset_s: float = 0.0
    duration_s: float | None = None
    key: str = ""
    start_s: float = 0.0
    length_s: float | None = None
    live: object | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ItemStarted:
    index: int
    key: str
    started_at: datetime
    measured: bool  # True: read from the output's clock; False: planned (null backend)


@dataclass(frozen=True)
class ItemEnded:
    index: int
    key: str
    ended_at: datetime
    played_s: float
    status: Status
    error: str | None = None


Event = ItemStarted | ItemEnded
EventCallback = Callable[[Event], None]


class Clock(Protocol):
    """What the null backend needs of a (virtual) clock."""

    def now(self) -> datetime: ...


class OutputError(Exception):
    """A user-facing problem with the output configuration (bad backend, missing path...)."""


def to_epoch(at: datetime) -> float:
    """Timezone-aware datetime -> POSIX seconds. Naive datetimes are refused (ambiguous)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"plan start must be timezone-aware, got naive {at.isoformat()}")
    return at.timestamp()


def from_epoch(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


class PlayHandle:
    """What `Output.play` returns: follow, wait for and cut one plan."""

    def __init__(self, items: Sequence[PlayItem], on_event: EventCallback | None) -> None:
        self.items: tuple[PlayItem, ...] = tuple(items)
        self._on_event = on_event
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.started: list[ItemStarted | None] = [None] * len(self.items)
        self.ended: list[ItemEnded | None] = [None] * len(self.items)
        self._cut: Callable[[float], None] | None = None
        if not self.items:
            self._done.set()

    # -- for callers -------------------------------------------------------------------------
    def wait(self, timeout: float | None = None) -> bool:
        """Block until every item has ended (events delivered). False on timeout."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def cut(self, fade_ms: float = 50.0) -> None:
        """Fade the item now playing out over `fade_ms` and end it as ``interrupted``; the items
        not yet started end as ``skipped``. No effect once the plan is over."""
        if self._cut is not None and not self.done:
            self._cut(max(0.0, float(fade_ms)))

    def results(self) -> list[ItemEnded]:
        """The ItemEnded events so far, in item order (complete once `wait` returned True)."""
        with self._lock:
            return [e for e in self.ended if e is not None]

    # -- for backends ------------------------------------------------------------------------
    def _deliver(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, ItemStarted):
                self.started[event.index] = event
            else:
                self.ended[event.index] = event
            finished = all(e is not None for e in self.ended)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("on_event callback raised for %r", event)
        if finished:
            self._done.set()


@runtime_checkable
class Output(Protocol):
    """A place plans play to: the sound device, a WAV file, or nowhere."""

    name: str

    def play(
        self,
        items: Sequence[PlayItem],
        at: datetime,
        on_event: EventCallback | None = None,
    ) -> PlayHandle:
        """Queue a plan to start at `at` (aware datetime). Returns at once."""
        ...

    def close(self) -> None:
        """Stop: plans not yet over end as failed ("output closed"); resources are freed."""
        ...


@dataclass(frozen=True)
class DeviceInfo:
    """An output-capable sound device as `loa output list` shows it."""

    index: int
    name: str
    hostapi: str
    channels: int
    samplerate: float
    is_default: bool

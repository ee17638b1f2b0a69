"""A withdrawn bulletin leaves the air: the station's output, wrapped, cuts it or never starts it.

The guard wraps the runner's output. Every plan handed over is watched while it plays; a
bulletin (a spot id `bulletin-<id>-<priority>`) that is withdrawn (the fetcher learnt of it) is

- cut with a fade while it plays (it ends `interrupted`),
- kept from starting when nothing of its plan has aired yet (the plan is cut before its first
  sample: it ends `skipped`; a slot so cut resumes after it, without the bulletin),
- cut the moment it starts when it comes after other spots of a plan already on air (a cut
  would take the spot before it off the air too).

The airtime row of the withdrawn bulletin says so in its `error`; so do the rows of the spots
the cut skipped. Everything else passes through to the wrapped output unchanged.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from airtime.bulletin_spot import parse_spot
from scheduler.output.base import Event, EventCallback, ItemStarted, PlayHandle, PlayItem

log = logging.getLogger("loa.bulletins")

# the fade of a withdrawal (the one the daemon uses when it stops): short enough to leave the
# air at once, long enough not to click
FADE_MS = 500.0
WITHDRAWN = "bản tin đã bị thu hồi (the bulletin was withdrawn by the district)"
CUT_FOR_WITHDRAWAL = "bị cắt vì một bản tin bị thu hồi (cut: a bulletin in the plan was withdrawn)"


def bulletin_of(key: str) -> int | None:
    found = parse_spot(key)
    return int(found[0]) if found else None


@dataclasses.dataclass
class Watch:
    """One plan on the output: which of its items are withdrawn bulletins, what has started."""

    items: tuple[PlayItem, ...]
    handle: PlayHandle | None = None
    started: set[int] = dataclasses.field(default_factory=set)
    ended: set[int] = dataclasses.field(default_factory=set)
    withdrawn: set[int] = dataclasses.field(default_factory=set)  # indexes cut for withdrawal
    cut: bool = False

    def bulletins(self) -> dict[int, int]:
        """{item index: bulletin id} of the plan's bulletin items."""
        out = {}
        for i, item in enumerate(self.items):
            bid = bulletin_of(item.key)
            if bid is not None:
                out[i] = bid
        return out


def cut_now(watch: Watch, index: int) -> bool:
    """Pure: cut the plan now for its withdrawn item `index`? Yes while it plays, and while
    nothing of the plan plays (before its start, between two items); no while an earlier spot
    plays (it is cut when it starts)."""
    if index in watch.ended:
        return False
    return index in watch.started or not (watch.started - watch.ended)


class GuardedOutput:
    """The runner's output, with withdrawn bulletins taken off the air (see the module)."""

    def __init__(
        self, inner: Any, is_withdrawn: Callable[[int], bool], fade_ms: float = FADE_MS
    ) -> None:
        self.inner = inner
        self.is_withdrawn = is_withdrawn
        self.fade_ms = fade_ms
        self._lock = threading.Lock()
        self._watches: list[Watch] = []

    def __getattr__(self, name: str) -> Any:  # name, error, close... of the wrapped output
        return getattr(self.inner, name)

    def _cut(self, watch: Watch, index: int) -> None:
        with self._lock:
            watch.withdrawn.add(index)
            if watch.cut or watch.handle is None:
                return
            watch.cut = True
            handle = watch.handle
        log.warning("bulletin %s withdrawn: taken off the air", watch.items[index].key)
        handle.cut(self.fade_ms)

    def play(
        self, items: Sequence[PlayItem], at: datetime, on_event: EventCallback | None = None
    ) -> PlayHandle:
        watch = Watch(tuple(items))
        bulletins = watch.bulletins()

        def event(ev: Event) -> None:
            if isinstance(ev, ItemStarted):
                with self._lock:
                    watch.started.add(ev.index)
                bid = bulletins.get(ev.index)
                if bid is not None and self._withdrawn(bid):
                    self._cut(watch, ev.index)
            else:
                with self._lock:
                    watch.ended.add(ev.index)
                    cut_for = bool(watch.withdrawn)
                    mine = ev.index in watch.withdrawn
                    done = len(watch.ended) == len(watch.items)
                if mine and ev.status in ("interrupted", "skipped"):
                    ev = dataclasses.replace(ev, error=ev.error or WITHDRAWN)
                elif cut_for and ev.status in ("interrupted", "skipped"):
                    ev = dataclasses.replace(ev, error=ev.error or CUT_FOR_WITHDRAWAL)
                if done:
                    self._forget(watch)
            if on_event is not None:
                on_event(ev)

        if bulletins:
            with self._lock:
                self._watches.append(watch)
        handle = self.inner.play(items, at, event if bulletins else on_event)
        if not bulletins:
            return handle
        with self._lock:
            watch.handle = handle
            pending = sorted(watch.withdrawn)
        if handle.done:
            self._forget(watch)
            return handle
        # withdrawn already when handed over (an emergency queued behind another one)
        for index, bid in bulletins.items():
            if self._withdrawn(bid) and cut_now(watch, index):
                pending.append(index)
        if pending:
            watch.withdrawn.update(pending)
            self._cut(watch, pending[0])
        return handle

    def _withdrawn(self, bulletin: int) -> bool:
        try:
            return self.is_withdrawn(bulletin)
        except Exception:  # never let the guard take the station off the air
            log.exception("cannot tell whether bulletin %s is withdrawn", bulletin)
            return False

    def _forget(self, watch: Watch) -> None:
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)

    def withdraw(self, bulletin: int) -> int:
        """The fetcher learnt that `bulletin` is withdrawn: cut it where it is on air or about
        to start; elsewhere it is cut when it starts. Returns how many plans were cut now."""
        with self._lock:
            watches = list(self._watches)
        cut = 0
        for watch in watches:
            for index, bid in watch.bulletins().items():
                if bid == bulletin and cut_now(watch, index):
                    self._cut(watch, index)
                    cut += 1
                    break
        return cut

"""The air worker's queue: broadcasts in priority order (emergency, then priority, then slots
and normal ad hoc broadcasts in arrival order)."""

from __future__ import annotations

import itertools
import queue
import threading
from dataclasses import dataclass, field

from scheduler.runner import Outcome
from scheduler.slots import Occurrence
from scheduler.spec import Spot

PRIORITIES = {"emergency": 0, "priority": 1, "normal": 2}
SLOT_PRIORITY = 2
STOP_PRIORITY = -1


@dataclass(order=True)
class Broadcast:
    priority: int
    order: int
    kind: str = field(compare=False)  # "slot" | "adhoc" | "emergency" | "stop"
    occurrence: Occurrence | None = field(default=None, compare=False)
    spots: list[Spot] = field(default_factory=list, compare=False)
    done: threading.Event = field(default_factory=threading.Event, compare=False)
    outcome: Outcome | None = field(default=None, compare=False)
    unfinished: bool = field(default=False, compare=False)  # on air when the daemon died


class BroadcastQueue:
    """A priority queue of broadcasts; ties go in arrival order."""

    def __init__(self) -> None:
        self._queue: queue.PriorityQueue[Broadcast] = queue.PriorityQueue()
        self._order = itertools.count()

    def slot(self, occ: Occurrence, priority: int, unfinished: bool = False) -> Broadcast:
        item = Broadcast(priority, next(self._order), "slot", occurrence=occ, unfinished=unfinished)
        self._queue.put(item)
        return item

    def adhoc(self, spots: list[Spot], priority: str) -> Broadcast:
        kind = "emergency" if priority == "emergency" else "adhoc"
        item = Broadcast(PRIORITIES[priority], next(self._order), kind, spots=spots)
        self._queue.put(item)
        return item

    def stop(self) -> None:
        """The worker's last item: it goes before everything still queued."""
        self._queue.put(Broadcast(STOP_PRIORITY, next(self._order), "stop"))

    def get(self, block: bool = True) -> Broadcast | None:
        try:
            return self._queue.get(block)
        except queue.Empty:
            return None

    def pending(self) -> list[Broadcast]:
        """What is queued, in the order it will air (a copy)."""
        with self._queue.mutex:
            return sorted(self._queue.queue)

    def __len__(self) -> int:
        return self._queue.qsize()

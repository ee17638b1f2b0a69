"""The spots of each topic, ordered least recently aired first, with validity by date.

The library is indexed once and then moved forward date by date, so planning a year of slots
does not re-sort 5,000 spots for every slot.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from datetime import date

from playlists.state import US, RotationState
from playlists.types import Candidate

NEVER = -(2**62)  # sorts before every real play time
_FEW = 32  # at most this many spots short enough: pick among them directly
FIRST_DAY = date.min.toordinal()
LAST_DAY = date.max.toordinal()


class TopicPool:
    """The live spots of one topic on the current date.

    `lru` is a heap of (last aired us, spot id): least recently aired first, ties by spot id.
    An entry whose key no longer matches the state's last-aired time is stale and skipped.
    Spots not valid yet wait in `waiting`; spots past their window are marked `dead` (dates
    only move forward) and dropped lazily from `lru`.
    """

    __slots__ = ("by_duration", "dead", "expiry", "lru", "topic", "waiting")

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.lru: list[tuple[int, str]] = []
        self.waiting: list[tuple[int, str, int]] = []  # (from day, spot, until day)
        self.expiry: list[tuple[int, str]] = []  # (until day, spot) of live spots
        self.by_duration: list[tuple[int, str]] = []  # sorted (duration us, spot) of live spots
        self.dead: set[str] = set()

    def __len__(self) -> int:
        return len(self.by_duration)

    def find(
        self,
        room_us: int,
        used: set[str],
        last_seen: dict[str, int],
        duration_us: dict[str, int],
        aside: list[tuple[int, str]],
    ) -> tuple[tuple[int, str], bool] | None:
        """The least recently aired live spot not in `used` that lasts at most `room_us`.

        Returns (entry, popped): `popped` tells whether the entry left the heap (then the
        caller puts it back or re-keys it). When few spots are short enough, they are read
        from `by_duration` without touching the heap; otherwise the heap is popped and the
        live entries that do not fit go to `aside`.
        """
        by_duration = self.by_duration
        fitting = bisect_left(by_duration, (room_us + 1,))
        if fitting <= _FEW:
            best: tuple[int, str] | None = None
            for _, spot in by_duration[:fitting]:
                if spot not in used:
                    key = (last_seen.get(spot, NEVER), spot)
                    if best is None or key < best:
                        best = key
            return None if best is None else (best, False)
        lru = self.lru
        dead = self.dead
        while lru:
            entry = heapq.heappop(lru)
            spot = entry[1]
            if spot in dead or entry[0] != last_seen.get(spot, NEVER):
                continue  # expired, or a stale key of a spot that aired since
            if duration_us[spot] <= room_us and spot not in used:
                return entry, True
            aside.append(entry)
        return None

    def push(self, entry: tuple[int, str]) -> None:
        if entry[1] not in self.dead:
            heapq.heappush(self.lru, entry)


class Library:
    """The rotation's view of the candidates: per-topic pools standing at one date."""

    __slots__ = ("candidate", "day", "duration_us", "pools")

    def __init__(
        self,
        candidates: Iterable[Candidate],
        state: RotationState,
        *,
        day: int,
        require_approval: bool,
    ) -> None:
        """Index the eligible candidates at `day` (a date ordinal).

        Refused, unapproved (when required) and zero-length spots are left out for good, and
        so are spots whose window ended before `day`, since a library only moves forward.
        """
        candidates = list(candidates)
        _check_unique(candidates)
        self.day = day
        self.candidate: dict[str, Candidate] = {}
        self.duration_us: dict[str, int] = {}
        self.pools: dict[str, TopicPool] = {}
        chosen = self.candidate
        durations = self.duration_us
        pools = self.pools
        last_get = state.last_seen.get
        inf = float("inf")
        for cand in candidates:
            if not cand.ok or (require_approval and not cand.approved):
                continue
            duration = cand.duration_s
            if not 0 < duration < inf:
                continue
            length = round(duration * US)
            ends = cand.valid_until
            until = LAST_DAY if ends is None else ends.toordinal()
            if length <= 0 or until < day:
                continue
            spot = cand.spot
            chosen[spot] = cand
            durations[spot] = length
            pool = pools.get(cand.topic)
            if pool is None:
                pool = pools[cand.topic] = TopicPool(cand.topic)
            begins = cand.valid_from
            if begins is not None and begins.toordinal() > day:
                pool.waiting.append((begins.toordinal(), spot, until))
                continue
            pool.lru.append((last_get(spot, NEVER), spot))
            pool.by_duration.append((length, spot))
            if until < LAST_DAY:
                pool.expiry.append((until, spot))
        for pool in pools.values():
            heapq.heapify(pool.lru)
            heapq.heapify(pool.waiting)
            heapq.heapify(pool.expiry)
            pool.by_duration.sort()

    def advance(self, day: int, state: RotationState) -> None:
        """Move every pool to `day` (never backwards): expire and activate spots."""
        if day <= self.day:
            return
        self.day = day
        durations = self.duration_us
        for pool in self.pools.values():
            while pool.expiry and pool.expiry[0][0] < day:
                _, spot = heapq.heappop(pool.expiry)
                pool.dead.add(spot)
                pool.by_duration.remove((durations[spot], spot))
            while pool.waiting and pool.waiting[0][0] <= day:
                _, spot, until = heapq.heappop(pool.waiting)
                if until < day:
                    continue
                heapq.heappush(pool.lru, (state.last_seen.get(spot, NEVER), spot))
                insort(pool.by_duration, (durations[spot], spot))
                if until < LAST_DAY:
                    heapq.heappush(pool.expiry, (until, spot))


def _check_unique(candidates: Sequence[Candidate]) -> None:
    ids = [cand.spot for cand in candidates]
    if len(set(ids)) == len(ids):
        return
    first: dict[str, str] = {}
    for cand in candidates:
        if cand.spot in first:
            raise ValueError(
                f"candidates: spot id {cand.spot!r} appears twice "
                f"({first[cand.spot]!r} and {cand.path!r}); spot ids must be unique"
            )
        first[cand.spot] = cand.path

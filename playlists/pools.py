"""The spots of each topic: which are due in the round, longest first, valid by date.

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
FIRST_DAY = date.min.toordinal()
LAST_DAY = date.max.toordinal()


class TopicPool:
    """The live spots of one topic on the current date.

    `by_duration` holds the live spots sorted by (duration us, spot id); `pending` the subset
    due in the topic's current round (rotation count at most the round), rebuilt when the
    round moves on. Spots not valid yet wait in `waiting`; spots past their window leave both
    lists (dates only move forward).
    """

    __slots__ = ("by_duration", "expiry", "pending", "round", "topic", "waiting")

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.waiting: list[tuple[int, str, int]] = []  # (from day, spot, until day)
        self.expiry: list[tuple[int, str]] = []  # (until day, spot) of live spots
        self.by_duration: list[tuple[int, str]] = []  # sorted (duration us, spot) of live spots
        self.pending: list[tuple[int, str]] = []  # sorted (duration us, spot), due this round
        self.round = -1  # the round `pending` was built for (-1: not built)

    def __len__(self) -> int:
        return len(self.by_duration)

    def _sync(self, state: RotationState) -> int:
        current = state.round_of(self.topic)
        if current != self.round:
            topic, counts = self.topic, state.counts
            pending = []
            for item in self.by_duration:
                seen = counts.get(item[1])  # (topic it last aired in, count there)
                if seen is None or seen[0] != topic or seen[1] <= current:
                    pending.append(item)
            self.pending = pending
            self.round = current
        return current

    def limit(self, room_us: int, state: RotationState) -> int:
        """The highest rotation count that is due in a slot that gives spots `room_us` at most.

        While a spot of the current round that fits the slot has not aired, only the current
        round's spots are due. Spots that cannot fit the slot do not hold the round back (a
        spot longer than the slot would otherwise stop its topic): once every spot that fits
        has aired in the round, the next round opens for every spot.
        """
        current = self._sync(state)
        if self.pending and self.pending[0][0] <= room_us:
            return current
        if self.by_duration and self.by_duration[0][0] <= room_us:
            return current + 1  # no count exceeds the round + 1: every spot is due
        return current

    def due(self, room_us: int, state: RotationState) -> list[str]:
        """Spot ids due in a slot that gives spots `room_us` at most, sorted."""
        limit = self.limit(room_us, state)
        topic = self.topic
        return sorted(spot for _, spot in self.by_duration if state.effective(spot, topic) <= limit)

    def find(self, room_us: int, used: set[str], state: RotationState, limit: int) -> str | None:
        """The longest due spot (count <= `limit`) not in `used` that lasts at most `room_us`.

        Among spots of the same duration, the least recently aired (then the spot id) wins.
        Longest first is the fill's knapsack rule: a round spends its long spots while the
        slot has room and keeps the short ones for the ends of slots.
        """
        current = self._sync(state)
        # The limit is the round (`pending` is exactly the spots due) or the round + 1 (all).
        items = self.pending if limit == current else self.by_duration
        at = bisect_left(items, (room_us + 1,)) - 1
        while at >= 0:
            length, spot = items[at]
            at -= 1
            if spot in used:
                continue
            # The longest that fits; among the spots as long, the least recently aired.
            last_seen = state.last_seen
            best = (last_seen.get(spot, NEVER), spot)
            while at >= 0 and items[at][0] == length:
                other = items[at][1]
                at -= 1
                if other in used:
                    continue
                key = (last_seen.get(other, NEVER), other)
                if key < best:
                    best = key
            return best[1]
        return None

    def played(self, spot: str, duration_us: int, state: RotationState) -> None:
        """Note that `spot` has just been counted as aired (after `state.record`)."""
        if state.round_of(self.topic) != self.round:
            return  # the round moved on: `pending` is rebuilt when next needed
        _remove(self.pending, (duration_us, spot))

    def drop(self, item: tuple[int, str]) -> None:
        """Take a live (duration, spot) out of the sorted lists (its window has closed)."""
        _remove(self.by_duration, item)
        _remove(self.pending, item)

    def add(self, item: tuple[int, str], state: RotationState) -> None:
        """Put a (duration, spot) whose window has opened into the sorted lists."""
        insort(self.by_duration, item)
        if (
            self.round == state.round_of(self.topic)
            and state.effective(item[1], self.topic) <= self.round
        ):
            insort(self.pending, item)


def _remove(items: list[tuple[int, str]], item: tuple[int, str]) -> None:
    at = bisect_left(items, item)
    if at < len(items) and items[at] == item:
        del items[at]


class SpotPool:
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
            pool.by_duration.append((length, spot))
            if until < LAST_DAY:
                pool.expiry.append((until, spot))
        for pool in pools.values():
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
                pool.drop((durations[spot], spot))
            while pool.waiting and pool.waiting[0][0] <= day:
                _, spot, until = heapq.heappop(pool.waiting)
                if until < day:
                    continue
                pool.add((durations[spot], spot), state)
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

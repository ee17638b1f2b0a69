"""Rotation state derived from the airtime log, kept incrementally.

All times and durations are integer microseconds so that sums do not drift and the same log
gives bit-identical state however it was built (all at once or slot by slot).

Two kinds of state. Between topics: each topic's aired seconds over a trailing window (the
fairness horizon). Within a topic: rounds. Every topic has a *round* number and every spot a
*rotation count*; a play of spot s of topic T counts as

    pre = max(count[s], round[T]);  count[s] = pre + 1;  round[T] = pre

read in the order the plays started (ties by topic, then spot id). So a spot whose count is
at or below its topic's round has not aired in the current round and is due; one that aired
in it waits (count = round + 1, never more). A count belongs to the topic the spot last
aired in: a spot moved to another topic starts there at 0, like a newcomer.

A newcomer (a new file, a spot whose validity window or approval has just begun) starts at
count 0, at or below the round: it joins the current round at once and then keeps pace. It
never gets extra plays to make up for the time before it came, so it cannot take its topic
over. Likewise a spot an older log neglected is due once, at the round, and then even: the
backlog is forgiven, not repaid. Counts need no window: they are relative to the round.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from playlists.types import Play

US = 1_000_000
DEFAULT_HORIZON_DAYS = 30
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_INF = float("inf")


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    return (moment - _EPOCH) // _ONE_US


def from_us(value: int, tz: object) -> datetime:
    return (_EPOCH + timedelta(microseconds=value)).astimezone(tz)  # type: ignore[arg-type]


def seconds_to_us(seconds: float) -> int:
    return round(seconds * US)


class RotationState:
    """Per-topic aired seconds over a trailing window, and when each spot last aired.

    The fairness horizon is a trailing window of `horizon_days` ending at the slot start: a
    topic's airtime is the sum of `played_s` of its plays that started inside the window. The
    last-aired time of a spot looks at the whole history.
    """

    __slots__ = (
        "_count",
        "_last_us",
        "_now_us",
        "_round",
        "_topic_us",
        "_window",
        "horizon_us",
    )

    def __init__(self, horizon_days: float = DEFAULT_HORIZON_DAYS) -> None:
        if not horizon_days > 0:
            raise ValueError("horizon_days must be > 0")
        self.horizon_us = round(horizon_days * 86_400 * US)
        self._window: deque[tuple[int, str, int]] = deque()  # (started_us, topic, played_us)
        self._topic_us: dict[str, int] = {}
        self._last_us: dict[str, int] = {}
        # spot -> (topic it last aired in, rotation count there); see the module docstring
        self._count: dict[str, tuple[str, int]] = {}
        self._round: dict[str, int] = {}  # topic -> current round
        self._now_us: int | None = None

    @classmethod
    def from_history(
        cls,
        history: Iterable[Play],
        *,
        until: datetime,
        horizon_days: float = DEFAULT_HORIZON_DAYS,
    ) -> RotationState:
        """Build the state as it stands at `until`; plays starting at or after it are ignored."""
        state = cls(horizon_days)
        plays = list(history)
        if plays:
            # Comparing datetimes that share a tzinfo object skips the utcoffset() calls; the
            # log is usually all UTC, so compare in the zone of its first row.
            zone = plays[0].started_at.tzinfo
            if zone is None:
                raise ValueError(
                    "history: every play's started_at must be timezone-aware "
                    f"(first play {plays[0]!r})"
                )
            until = until.astimezone(zone)
        window_start = until - timedelta(microseconds=state.horizon_us)
        # Rounds depend on the order of plays: oldest first, ties by topic then spot id, so
        # that the same log in any order gives the same state (the index only orders copies
        # of one play, which count the same either way). A log read in time order is
        # already sorted, which the sort notices in one pass.
        aired: list[tuple[datetime, str, str, int, Play]] = []
        try:
            for i, play in enumerate(plays):
                started = play.started_at
                if 0 < play.played_s < _INF and started < until:
                    aired.append((started, play.topic or "", play.spot or "", i, play))
            aired.sort()
        except TypeError as exc:
            raise ValueError(
                "history: every play's started_at must be timezone-aware "
                f"(compare with slot start {until.isoformat()}): {exc}"
            ) from exc
        last: dict[str, datetime] = {}
        count = state._count
        rounds = state._round
        recent: list[Play] = []
        for started, _, _, _, play in aired:
            spot, topic = play.spot, play.topic
            if spot is not None:
                last[spot] = started  # oldest first: the last write is the latest
                if topic is not None:
                    level = rounds.get(topic, 0)
                    seen = count.get(spot)
                    pre = seen[1] if seen is not None and seen[0] == topic else 0
                    if pre < level:
                        pre = level
                    count[spot] = (topic, pre + 1)
                    rounds[topic] = pre
            if topic is not None and started >= window_start:
                recent.append(play)
        state._last_us = {spot: to_us(moment) for spot, moment in last.items()}
        rows = [(to_us(p.started_at), p.topic, seconds_to_us(p.played_s)) for p in recent]
        topic_us = state._topic_us
        for _, topic, played in rows:
            topic_us[topic] = topic_us.get(topic, 0) + played  # type: ignore[index]
        state._window.extend(rows)
        state._now_us = to_us(until)
        return state

    @property
    def last_seen(self) -> dict[str, int]:
        """Spot id -> when it last started airing (epoch microseconds); read-only view."""
        return self._last_us

    @property
    def now_us(self) -> int | None:
        return self._now_us

    def advance(self, now_us: int) -> None:
        """Move the window's end to `now_us` (never backwards), dropping plays that left it."""
        if self._now_us is not None and now_us < self._now_us:
            raise ValueError("rotation state cannot go back in time; plan slots in order")
        self._now_us = now_us
        oldest = now_us - self.horizon_us
        window = self._window
        topic_us = self._topic_us
        while window and window[0][0] < oldest:
            _, topic, played = window.popleft()
            topic_us[topic] -= played

    def record(self, spot: str | None, topic: str | None, started_us: int, played_us: int) -> None:
        """Count one play that started at `started_us` (not before the plays already counted)."""
        if played_us <= 0:
            return
        if spot is not None:
            seen = self._last_us.get(spot)
            if seen is None or started_us > seen:
                self._last_us[spot] = started_us
            if topic is not None:
                level = self._round.get(topic, 0)
                pre = max(self.effective(spot, topic), level)
                self._count[spot] = (topic, pre + 1)
                self._round[topic] = pre
        if topic is not None:
            self._window.append((started_us, topic, played_us))
            self._topic_us[topic] = self._topic_us.get(topic, 0) + played_us

    @property
    def counts(self) -> dict[str, tuple[str, int]]:
        """Spot id -> (topic it last aired in, its rotation count there); read-only view."""
        return self._count

    def effective(self, spot: str, topic: str) -> int:
        """The rotation count of `spot` in `topic` (0 if it never aired there)."""
        seen = self._count.get(spot)
        return seen[1] if seen is not None and seen[0] == topic else 0

    def round_of(self, topic: str) -> int:
        """The current round of `topic`: a spot whose count is at most this is due."""
        return self._round.get(topic, 0)

    def topic_us(self, topic: str) -> int:
        """Microseconds of `topic` aired inside the window."""
        return self._topic_us.get(topic, 0)

    def topic_seconds(self, topic: str) -> float:
        return self._topic_us.get(topic, 0) / US

    def last_us(self, spot: str) -> int | None:
        """When `spot` last started airing (epoch microseconds), None if never."""
        return self._last_us.get(spot)

"""Slot filling: topics by weighted airtime deficit, within a topic the longest due spot first."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from playlists.pools import SpotPool
from playlists.state import DEFAULT_HORIZON_DAYS, US, RotationState, seconds_to_us, to_us
from playlists.types import Candidate, Plan, PlanItem, Play, SlotRequest

_JINGLE_NAMES = {"intro": "mở đầu", "outro": "kết thúc"}

# (role, candidate, offset_us, duration_us)
_Placed = tuple[str, Candidate, int, int]


def check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Topic weights as floats; a negative or non-numeric weight is an error naming the topic."""
    checked: dict[str, float] = {}
    for topic, weight in weights.items():
        try:
            value = float(weight)
        except (TypeError, ValueError):
            value = math.nan
        if not (value >= 0 and math.isfinite(value)):
            raise ValueError(
                f"topics.{topic}.weight: {weight!r} is not a finite number >= 0; "
                "give each topic a weight such as 1 or 2"
            )
        checked[topic] = value
    return checked


def no_spot_note(topic: str) -> str:
    return f"Chủ đề «{topic}» không có tin/bài hợp lệ (no eligible spot)"


class Rotation:
    """Plans slots one after another, treating every planned slot as aired.

    Built once from the library and the log as they stand at `start`; plays in `history` at or
    after `start` are ignored (the planned slots take their place). Slots must come in order.
    """

    def __init__(
        self,
        candidates: Iterable[Candidate],
        history: Iterable[Play],
        weights: Mapping[str, float],
        *,
        start: datetime,
        require_approval: bool = False,
        horizon_days: float = DEFAULT_HORIZON_DAYS,
    ) -> None:
        self.weights = check_weights(weights)
        self.require_approval = require_approval
        self.state = RotationState.from_history(history, until=start, horizon_days=horizon_days)
        self.library = SpotPool(
            candidates,
            self.state,
            day=start.date().toordinal(),
            require_approval=require_approval,
        )

    def plan(self, slot: SlotRequest) -> Plan:
        """Plan `slot` and count its spots as aired at their planned offsets."""
        start_us = to_us(slot.start)
        self.state.advance(start_us)
        self.library.advance(slot.start.date().toordinal(), self.state)
        notes: list[str] = []
        allowed = self._allowed_topics(slot, notes)
        intro, outro = (
            self._jingle(slot, jingle, role, notes)
            for role, jingle in (("intro", slot.intro), ("outro", slot.outro))
        )
        length_us = seconds_to_us(slot.length_s)
        pause_us = seconds_to_us(slot.pause_s)
        placed: list[_Placed] = []
        if allowed:
            # Jingles yield to spots: without a spot that fits, drop the outro, then the intro.
            attempts = [(intro, outro), (intro, None), (None, None)]
            for first, last in dict.fromkeys(attempts):
                placed = self._fill(allowed, first, last, start_us, length_us, pause_us)
                if placed:
                    break
            roles = {role for role, *_ in placed}
            for role, jingle in (("intro", intro), ("outro", outro)):
                if placed and jingle is not None and role not in roles:
                    notes.append(
                        f"Nhạc hiệu {_JINGLE_NAMES[role]} «{jingle.path}» không vừa khung giờ "
                        f"cùng tin/bài, bỏ qua ({role} does not fit the slot, skipped)"
                    )
            if not placed:
                notes.append(
                    f"Khung giờ «{slot.name}»: không có tin/bài nào vừa thời lượng "
                    "(no spot fits the slot)"
                )
        else:
            notes.append(
                f"Khung giờ «{slot.name}» không có chủ đề nào có tin/bài hợp lệ "
                "(no allowed topic has an eligible spot)"
            )
        items = tuple(
            PlanItem(
                spot=cand.spot,
                topic=cand.topic,
                path=cand.path,
                title=cand.title,
                offset_s=offset / US,
                duration_s=duration / US,
                role=role,
            )
            for role, cand, offset, duration in placed
        )
        end_us = placed[-1][2] + placed[-1][3] if placed else 0
        return Plan(
            slot=slot.name,
            start=slot.start,
            length_s=slot.length_s,
            items=items,
            unfilled_s=(length_us - end_us) / US,
            notes=tuple(notes),
        )

    def _allowed_topics(self, slot: SlotRequest, notes: list[str]) -> list[str]:
        weights = self.weights
        if slot.all_topics:
            names = sorted(topic for topic, weight in weights.items() if weight > 0)
        else:
            names = list(dict.fromkeys(slot.topics))
        allowed: list[str] = []
        for topic in names:
            if weights.get(topic, 0.0) <= 0:
                notes.append(
                    f"Chủ đề «{topic}» không có trong cấu hình hoặc có trọng số 0, bỏ qua "
                    "(not a weighted topic, skipped)"
                )
                continue
            pool = self.library.pools.get(topic)
            if pool is None or not len(pool):
                notes.append(no_spot_note(topic))
                continue
            allowed.append(topic)
        return sorted(allowed)

    def _jingle(
        self, slot: SlotRequest, jingle: Candidate | None, role: str, notes: list[str]
    ) -> Candidate | None:
        if jingle is None:
            return None
        if not jingle.eligible_on(slot.start.date(), require_approval=self.require_approval):
            notes.append(
                f"Nhạc hiệu {_JINGLE_NAMES[role]} «{jingle.path}» không hợp lệ hôm nay, bỏ qua "
                f"({role} jingle not eligible, skipped)"
            )
            return None
        return jingle

    def _fill(
        self,
        allowed: list[str],
        intro: Candidate | None,
        outro: Candidate | None,
        start_us: int,
        length_us: int,
        pause_us: int,
    ) -> list[_Placed]:
        """Greedy fill; every spot placed is counted as aired at once (state and pools).

        When nothing is placed, nothing is counted and the caller may retry without jingles.
        """
        library = self.library
        durations = library.duration_us
        pools = library.pools
        weights = self.weights
        state = self.state
        topic_us = state.topic_us
        placed: list[_Placed] = []
        cursor = 0
        if intro is not None:
            intro_us = seconds_to_us(intro.duration_s)
            if intro_us <= length_us:
                placed.append(("intro", intro, 0, intro_us))
                cursor = intro_us
        tail = 0
        if outro is not None:
            outro_us = seconds_to_us(outro.duration_s)
            tail = pause_us + outro_us
            if cursor + tail > length_us:
                outro, tail = None, 0
        # The most any spot of this slot can get: it decides which spots can hold a round.
        widest = length_us - tail - cursor - (pause_us if placed else 0)
        limits = {topic: pools[topic].limit(widest, state) for topic in allowed}
        used: set[str] = set()
        heads: dict[str, str | None] = {}
        taken = False
        previous: str | None = None
        while True:
            gap = pause_us if placed else 0
            room = length_us - tail - cursor - gap
            if room <= 0:
                break
            options: list[str] = []
            for topic in allowed:
                head = heads.get(topic)
                if head is None or durations[head] > room:
                    head = heads[topic] = pools[topic].find(room, used, state, limits[topic])
                    if head is None:
                        continue
                options.append(topic)
            if not options:
                break
            if previous in options and len(options) > 1:
                options.remove(previous)
            # The topic furthest behind its weight goes first, whatever the length of its spot:
            # weighing the spot in too would keep a topic's long spots for slots' ends.
            best = min(options, key=lambda tp: (topic_us(tp) / weights[tp], tp))
            spot = heads[best]
            assert spot is not None
            heads[best] = None
            length = durations[spot]
            offset = cursor + gap
            placed.append(("spot", library.candidate[spot], offset, length))
            cursor = offset + length
            used.add(spot)
            taken = True
            previous = best
            # Count it as aired now: the topic's round (and so what is due) may move on.
            pool = pools[best]
            state.record(spot, best, start_us + offset, length)
            pool.played(spot, length, state)
            limits[best] = pool.limit(widest, state)
        if not taken:
            return []  # nothing counted: the caller may retry; no jingle-only plan
        if outro is not None:
            placed.append(("outro", outro, cursor + pause_us, seconds_to_us(outro.duration_s)))
        return placed


def plan_slot(
    slot: SlotRequest,
    candidates: Sequence[Candidate],
    history: Sequence[Play],
    weights: Mapping[str, float],
    *,
    require_approval: bool = False,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
) -> Plan:
    """Plan one slot from the library and the log as they stand at `slot.start`."""
    rotation = Rotation(
        candidates,
        history,
        weights,
        start=slot.start,
        require_approval=require_approval,
        horizon_days=horizon_days,
    )
    return rotation.plan(slot)


def plan_sequence(
    slots: Iterable[SlotRequest],
    candidates: Sequence[Candidate],
    history: Sequence[Play],
    weights: Mapping[str, float],
    *,
    require_approval: bool = False,
    horizon_days: float = DEFAULT_HORIZON_DAYS,
) -> list[Plan]:
    """Plan many slots in time order, each planned slot counted as aired before the next.

    Plans come back sorted by (start, name). Plays in `history` at or after the first slot's
    start are ignored: the sequence assumes its own plans air.
    """
    ordered = sorted(slots, key=lambda s: (to_us(s.start), s.name))
    if not ordered:
        return []
    rotation = Rotation(
        candidates,
        history,
        weights,
        start=ordered[0].start,
        require_approval=require_approval,
        horizon_days=horizon_days,
    )
    return [rotation.plan(slot) for slot in ordered]


def plan_to_plays(plan: Plan) -> list[Play]:
    """The plays a plan produces when it airs in full (spots only; jingles carry no topic)."""
    return [
        Play(
            spot=item.spot,
            topic=item.topic,
            started_at=plan.start_of(item),
            played_s=item.duration_s,
        )
        for item in plan.spots
    ]

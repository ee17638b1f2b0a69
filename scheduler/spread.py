"""How evenly each topic's spots aired over a period, and why not when they did not.

Pure: the station's slots and spots and the plays counted per spot in, one summary per topic
out. `loa simulate` prints it beside the topic shares (issue 16: within a topic the play
counts of its spots differ by at most 2 over 30 days or more, where the topic aired at least
as many times as it has spots).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from scheduler.spec import SlotSpec, Spot, StationSpec

MAX_SPREAD = 2


@dataclass(frozen=True)
class TopicSpread:
    topic: str
    spots: int  # eligible at some time in the period
    plays: int
    spread: int  # most plays of one spot less the fewest (0 without spots)
    reasons: tuple[str, ...] = ()  # why the spread is above MAX_SPREAD, when it is

    @property
    def flagged(self) -> bool:
        return self.spread > MAX_SPREAD


def spot_room(slot: SlotSpec) -> float:
    """The most a spot can get in `slot`: its length less the jingles and their pauses."""
    room = slot.length_s
    for jingle in (slot.intro, slot.outro):
        if jingle is not None:
            room -= jingle.duration_s + slot.pause_s
    return room


def topic_spreads(
    station: StationSpec,
    spots: Sequence[Spot],
    plays_by_spot: Mapping[str, int],
    first: date,
    last: date,
) -> dict[str, TopicSpread]:
    """Per weighted topic, the spread of play counts among its spots from `first` to `last`."""
    out: dict[str, TopicSpread] = {}
    for topic in station.weights:
        rooms = [
            spot_room(slot)
            for slot in station.slots
            if not slot.topics or "*" in slot.topics or topic in slot.topics
        ]
        mine = [
            s
            for s in spots
            if s.topic == topic
            and (s.approved or not station.require_approval)
            and (s.valid_from is None or s.valid_from <= last)
            and (s.valid_until is None or first <= s.valid_until)
        ]
        counts = [plays_by_spot.get(s.id, 0) for s in mine]
        spread = max(counts) - min(counts) if counts else 0
        plays = sum(counts)
        reasons: list[str] = []
        if spread > MAX_SPREAD:
            reasons = _reasons(mine, rooms, plays, first, last)
        out[topic] = TopicSpread(topic, len(mine), plays, spread, tuple(reasons))
    return out


def _reasons(
    mine: Sequence[Spot], rooms: Sequence[float], plays: int, first: date, last: date
) -> list[str]:
    reasons: list[str] = []
    widest = max(rooms, default=0.0)
    narrowest = min(rooms, default=0.0)
    for spot in mine:
        if spot.duration_s > widest:
            reasons.append(
                f"«{spot.path}» ({spot.duration_s:.0f} s) dài hơn mọi buổi phát của chủ đề "
                "(longer than any slot of the topic: it never airs)"
            )
        elif spot.duration_s > narrowest:
            reasons.append(
                f"«{spot.path}» ({spot.duration_s:.0f} s) chỉ vừa buổi phát dài "
                "(fits only the longer slots: it airs only there)"
            )
    for spot in mine:
        opens = spot.valid_from is not None and first < spot.valid_from
        closes = spot.valid_until is not None and spot.valid_until < last
        if opens or closes:
            reasons.append(
                f"«{spot.path}» có hiệu lực chỉ một phần kỳ "
                "(valid for part of the period: it keeps pace only while valid)"
            )
    if plays < len(mine) * (MAX_SPREAD + 1):
        reasons.append("chủ đề phát ít lượt so với số tin/bài (few plays for its number of spots)")
    if not reasons:
        reasons.append(
            "nhật ký trước kỳ hoặc phát bổ sung (the log before the period, or ad hoc plays)"
        )
    return reasons

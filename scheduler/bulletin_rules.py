"""Which bulletin airs where, by the priorities of Thông tư 39/2020 (pure: rows and counts in,
spots and plans out).

- khan-cap: at once, as `loa play-now --priority emergency` airs (quiet hours too).
- uu-tien: at the head of the next slot that airs (after its intro jingle, before its spots,
  counted in its length); a slot in quiet hours does not air, so neither does it.
- thuong: only once the operator accepted it; with a topic it joins that topic's rotation,
  without one (or with a topic this station does not have) it heads the next slot once.

Each airs only inside its validity window (station-local dates, inclusive), only while not
withdrawn and not refused, and at most `times` times (once by default, except a thuong in its
topic's rotation, which airs as often as its rotation gives it within its window).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from airtime.bulletin_spot import spot_id
from playlists.types import Plan, PlanItem, SlotRequest
from scheduler.spec import Spot

if TYPE_CHECKING:  # the store's SQLModel class; the rules read its attributes only
    from scheduler.bulletin_store import Bulletin

Planner = Callable[[SlotRequest, Sequence[Spot]], Plan]


def valid_on(row: Bulletin, day: date) -> bool:
    return (row.valid_from is None or row.valid_from <= day) and (
        row.valid_until is None or day <= row.valid_until
    )


def live(
    row: Bulletin, day: date, aired: Mapping[str, int], topics: Collection[str] | None = None
) -> bool:
    """May air on `day` at all: valid, not withdrawn, not refused, not aired `times` times."""
    if row.withdrawn_at is not None or row.refused_at is not None or not valid_on(row, day):
        return False
    limit = row.times
    if limit is None and not in_rotation(row, topics):
        limit = 1
    return limit is None or aired.get(str(row.id), 0) < limit


def in_rotation(row: Bulletin, topics: Collection[str] | None = None) -> bool:
    """An accepted thuong bulletin of one of the station's topics (`topics`; None: any)."""
    known = bool(row.topic) and (topics is None or row.topic in topics)
    return row.priority == "thuong" and known and row.accepted_at is not None


def heads_slot(row: Bulletin, topics: Collection[str] | None = None) -> bool:
    """Airs at the head of a slot: uu-tien; an accepted thuong outside any rotation here."""
    if row.priority == "uu-tien":
        return True
    accepted = row.priority == "thuong" and row.accepted_at is not None
    return accepted and not in_rotation(row, topics)


def to_spot(row: Bulletin, root: Path, whole: bool = False) -> Spot:
    """The spot a bulletin airs as. `whole`: from the file's first sample (an emergency airs
    through the ad hoc path, which does not skip the leading silence)."""
    return Spot(
        id=spot_id(row.id, row.priority),
        topic=row.topic or "",
        path=row.path,
        file=root / row.path,
        title=row.title,
        duration_s=row.playable_s + (row.trim_start_s if whole else 0.0),
        gain_db=row.gain_db,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        start_s=0.0 if whole else row.trim_start_s,
    )


def emergencies(
    rows: Sequence[Bulletin], day: date, aired: Mapping[str, int], sent: set[int]
) -> list[Bulletin]:
    """khan-cap bulletins to air now: live and not already handed to the air worker."""
    return [
        r for r in rows if r.priority == "khan-cap" and r.id not in sent and live(r, day, aired)
    ]


def slot_spots(
    rows: Sequence[Bulletin],
    day: date,
    aired: Mapping[str, int],
    root: Path,
    topics: Collection[str] | None = None,
) -> list[Spot]:
    """The bulletins a slot on `day` may air: those that head it and those in rotation."""
    return [
        to_spot(r, root)
        for r in rows
        if (heads_slot(r, topics) or in_rotation(r, topics)) and live(r, day, aired, topics)
    ]


def head_first(
    request: SlotRequest, spots: Sequence[Spot], heads: Sequence[str], base: Planner
) -> Plan:
    """The plan with the head bulletins (spot ids, in order) after the intro jingle, before
    the spots the base planner fills the rest of the slot with. Those that do not fit the slot
    wait for the next one (a note says so)."""
    by_id = {s.id: s for s in spots}
    mine = [by_id[h] for h in heads if h in by_id]
    if not mine:
        return base(request, [s for s in spots if s.id not in set(heads)])
    items: list[PlanItem] = []
    notes: list[str] = []
    offset = 0.0
    intro = request.intro
    if intro is not None and intro.duration_s + request.pause_s <= request.length_s:
        items.append(
            PlanItem(
                intro.spot, intro.topic, intro.path, intro.title, 0.0, intro.duration_s, "intro"
            )
        )
        offset = intro.duration_s + request.pause_s
    for spot in mine:
        if offset + spot.duration_s > request.length_s:
            notes.append(
                f"bản tin {spot.title!r} dài hơn phần còn lại của buổi, chờ buổi sau "
                "(the bulletin does not fit this slot: it waits for the next)"
            )
            continue
        items.append(
            PlanItem(
                spot.id, spot.topic, spot.path, spot.title, offset, spot.duration_s, "bulletin"
            )
        )
        offset += spot.duration_s + request.pause_s
    rest = dataclasses.replace(
        request,
        intro=None,
        start=request.start + timedelta(seconds=offset),
        length_s=max(0.0, request.length_s - offset),
    )
    plan = base(rest, [s for s in spots if s.id not in set(heads)])
    items += [dataclasses.replace(i, offset_s=i.offset_s + offset) for i in plan.items]
    return Plan(
        request.name, request.start, request.length_s, tuple(items), plan.unfilled_s,
        (*notes, *plan.notes),
    )  # fmt: skip


# A bulletin whose airing failed (its file unreadable, the device failing) is tried again while
# the daemon runs, after these delays (after the 1st, 2nd... failed attempt); after the last,
# it is given up until the daemon restarts (an operator's restart is a fresh set of attempts).
RETRY_S = (10.0, 30.0, 60.0, 120.0, 300.0)
MAX_ATTEMPTS = len(RETRY_S) + 1


def retry_after(failures: int, delays: Sequence[float] = RETRY_S) -> float | None:
    """Seconds to wait before the next attempt after `failures` failed ones; None: give up."""
    if failures < 1:
        return 0.0
    return delays[failures - 1] if failures <= len(delays) else None


def done_since(
    row: Bulletin,
    day: date,
    aired: Mapping[str, int],
    last_aired: datetime | None,
    tz: tzinfo,
    topics: Collection[str] | None = None,
) -> datetime | None:
    """Since when the bulletin's file is no longer needed: withdrawn, refused, past its window,
    or aired as often as it may; None while it may still air (not valid yet, waiting for the
    operator, or in its topic's rotation without a limit)."""
    if row.withdrawn_at is not None:
        return row.withdrawn_at
    if row.refused_at is not None:
        return row.refused_at
    if row.valid_until is not None and row.valid_until < day:
        return datetime.combine(row.valid_until + timedelta(days=1), time(0), tzinfo=tz)
    limit = row.times
    if limit is None and not in_rotation(row, topics):
        limit = 1
    if limit is not None and aired.get(str(row.id), 0) >= limit:
        return last_aired or row.received_at
    return None

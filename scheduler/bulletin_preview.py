"""The bulletins in `loa playlist preview` and in `loa status`'s next slots: the same rules the
daemon's board plans by (scheduler.bulletins), over a run of slot occurrences.

The head bulletins (ưu tiên, and accepted thông thường ones outside any rotation) head the
first slot that airs (not one in quiet hours), and the next ones while they may air again
(`--times`); the accepted thông thường ones of a station topic join its rotation. Each planned
airing counts as aired for the slots after it, as a planned spot does.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from airtime.bulletin_spot import parse_spot
from playlists.planner import Rotation
from playlists.types import Plan, Play, SlotRequest
from scheduler.bulletin_rules import head_first, heads_slot, in_rotation, live, to_spot
from scheduler.slots import Occurrence, quiet_overlap, slot_request
from scheduler.spec import Spot, StationSpec

if TYPE_CHECKING:  # rows of the store, or the same columns read with sqlite3 (sqlite_read)
    from scheduler.bulletin_store import Bulletin


@dataclass
class BulletinView:
    """What the preview needs of the station's bulletins (read by the caller)."""

    rows: Sequence[Bulletin]
    aired: dict[str, int]  # completed airings so far, from the log
    root: Path
    topics: Collection[str] | None = None
    planned: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = dict(self.aired)
        for b, n in self.planned.items():
            out[b] = out.get(b, 0) + n
        return out


def label(spot: str) -> str | None:
    """`bản tin ưu tiên` for a bulletin's spot id (what the plan's topic column shows)."""
    found = parse_spot(spot)
    if found is None:
        return None
    names = {"thuong": "thông thường", "uu-tien": "ưu tiên", "khan-cap": "khẩn cấp"}
    return f"bản tin {names[found[1]]}"


def _airs(station: StationSpec, occ: Occurrence, request: SlotRequest) -> bool:
    quiet = None if occ.slot.quiet_exempt else station.quiet_hours
    starts_quiet = quiet_overlap(request.start, request.length_s, quiet, station.tz)
    return starts_quiet is None or starts_quiet > request.start


def plan_with_bulletins(
    station: StationSpec,
    found: Sequence[Occurrence],
    spots: Sequence[Spot],
    history: Sequence[Play],
    view: BulletinView,
) -> list[Plan]:
    """The plans of `found` (no relay slots), as the runner plans each with the bulletins."""
    pairs = sorted(
        ((occ, slot_request(station, occ)) for occ in found),
        key=lambda p: (p[1].start, p[1].name),
    )
    if not pairs:
        return []
    day0 = pairs[0][1].start.date()
    rotating = [
        to_spot(r, view.root)
        for r in view.rows
        if in_rotation(r, view.topics) and live(r, day0, view.aired, view.topics)
    ]
    rotation = Rotation(
        [s.candidate() for s in [*spots, *rotating]],
        history,
        station.weights,
        start=pairs[0][1].start,
        require_approval=station.require_approval,
    )
    ordered = sorted(view.rows, key=lambda r: (r.priority != "uu-tien", r.id))
    plans: list[Plan] = []
    for occ, request in pairs:
        day = request.start.astimezone(station.tz).date()
        counts = view.counts()
        heads = [
            r for r in ordered if heads_slot(r, view.topics) and live(r, day, counts, view.topics)
        ]
        if not heads or not _airs(station, occ, request):
            plans.append(rotation.plan(request))
            continue
        head_spots = [to_spot(r, view.root) for r in heads]
        plan = head_first(
            request,
            head_spots,
            [s.id for s in head_spots],
            lambda rest, _spots: rotation.plan(rest),
        )
        for item in plan.items:
            found_spot = parse_spot(item.spot) if item.role == "bulletin" else None
            if found_spot is not None:
                view.planned[found_spot[0]] = view.planned.get(found_spot[0], 0) + 1
        plans.append(plan)
    return plans


def plan_bulletins(plan: Plan) -> list[dict[str, object]]:
    """The bulletins heading a plan: title, priority, length (what the plan views show)."""
    out = []
    for item in plan.items:
        found = parse_spot(item.spot) if item.role == "bulletin" else None
        if found is not None:
            out.append(
                {
                    "bulletin": int(found[0]),
                    "title": item.title,
                    "priority": found[1],
                    "seconds": round(item.duration_s, 1),
                }
            )
    return out

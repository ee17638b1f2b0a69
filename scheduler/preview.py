"""What will air: the plans of every slot occurrence in a range, from the log as it stands.

The runner plans each slot with the same planner from the same log, so the preview of a day
is what that day airs as long as the earlier slots air as planned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from playlists.planner import plan_sequence
from playlists.types import Plan, PlanItem, Play
from scheduler.slots import Occurrence, occurrences, slot_request
from scheduler.spec import Spot, StationSpec, shown_url


def preview(
    station: StationSpec,
    spots: Sequence[Spot],
    history: Sequence[Play],
    start: datetime,
    end: datetime,
    bulletins: Any = None,
) -> list[Plan]:
    """`bulletins`: the station's (a scheduler.bulletin_preview.BulletinView), planned as the
    daemon plans them: heading the next slots, or in their topic's rotation."""
    found = occurrences(station, start, end)
    if bulletins is not None and bulletins.rows:
        from scheduler.bulletin_preview import plan_with_bulletins

        spot_occs = [occ for occ in found if occ.slot.relay is None]
        plans = plan_with_bulletins(station, spot_occs, spots, history, bulletins)
    else:
        requests = [slot_request(station, occ) for occ in found if occ.slot.relay is None]
        plans = plan_sequence(
            requests,
            [s.candidate() for s in spots],
            history,
            station.weights,
            require_approval=station.require_approval,
        )
    relays = [relay_plan(station, occ) for occ in found if occ.slot.relay is not None]
    if not relays:
        return plans
    return sorted([*plans, *relays], key=lambda p: p.start)


def relay_plan(station: StationSpec, occ: Occurrence) -> Plan:
    """A relay slot as a plan: one item, role "relay", the stream for the whole frame (the
    fallback spots are planned only when the stream dies, from the log as it is then)."""
    relay = occ.slot.relay
    assert relay is not None
    item = PlanItem(
        spot=relay.source,
        topic="tiếp sóng",
        path=shown_url(relay.url),
        title=f"{relay.name} (tiếp sóng, relay)",
        offset_s=0.0,
        duration_s=occ.slot.length_s,
        role="relay",
    )
    return Plan(occ.slot.name, occ.at.astimezone(station.tz), occ.slot.length_s, (item,), 0.0)

"""What will air: the plans of every slot occurrence in a range, from the log as it stands.

The runner plans each slot with the same planner from the same log, so the preview of a day
is what that day airs as long as the earlier slots air as planned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from playlists.planner import plan_sequence
from playlists.types import Plan, Play
from scheduler.runner import Spot
from scheduler.slots import occurrences, slot_request
from scheduler.spec import StationSpec


def preview(
    station: StationSpec,
    spots: Sequence[Spot],
    history: Sequence[Play],
    start: datetime,
    end: datetime,
) -> list[Plan]:
    requests = [slot_request(station, occ) for occ in occurrences(station, start, end)]
    return plan_sequence(
        requests,
        [s.candidate() for s in spots],
        history,
        station.weights,
        require_approval=station.require_approval,
    )

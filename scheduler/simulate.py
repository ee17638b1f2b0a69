"""`loa simulate`: the real runner on a virtual clock with the null output.

It steps through APScheduler's triggers (the same `occurrences` the daemon's jobs fire on),
moves the virtual clock to each slot and lets the runner air it through the null output, which
reports every item as played at its planned instant. The airtime rows are written by the same
code as on air. One Rotation carries the planner's state from slot to slot, as the log would.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from playlists.planner import Rotation
from scheduler.airlog import AirLog
from scheduler.clock import VirtualClock
from scheduler.output.null import NullOutput
from scheduler.runner import LEAD_S, Runner, Spot
from scheduler.slots import Occurrence, occurrences
from scheduler.spec import AmplifierSpec, StationSpec


@dataclass
class Simulation:
    slots: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    plays: int = 0
    seconds_by_topic: Counter[str] = field(default_factory=Counter)
    plays_by_topic: Counter[str] = field(default_factory=Counter)
    plays_by_spot: Counter[str] = field(default_factory=Counter)  # completed plays, by spot id


def simulate(
    station: StationSpec,
    airlog: AirLog,
    spots: Sequence[Spot],
    start: datetime,
    end: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> Simulation:
    # Hooks switch real relays: never in a simulation.
    station = dataclasses.replace(station, amplifier=AmplifierSpec())
    clock = VirtualClock(start)
    rotation = Rotation(
        [s.candidate() for s in spots],
        airlog.history(),
        station.weights,
        start=start,
        require_approval=station.require_approval,
    )
    runner = Runner(
        station,
        airlog,
        NullOutput(clock),
        clock,
        spots=lambda: spots,
        planner=lambda request, _spots: rotation.plan(request),
    )
    topic_of = {s.id: s.topic for s in spots}
    result = Simulation()
    todo = occurrences(station, start, end)
    quiet = logging.getLogger("loa.runner")  # a line per simulated play would be noise
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        _run(runner, clock, airlog, todo, topic_of, result, progress)
    finally:
        quiet.setLevel(level)
    return result


def _run(
    runner: Runner,
    clock: VirtualClock,
    airlog: AirLog,
    todo: list[Occurrence],
    topic_of: dict[str, str],
    result: Simulation,
    progress: Callable[[int, int], None] | None,
) -> None:
    done = 0
    for day in _days(todo):
        with airlog.batch():  # one transaction a day: fast, and a stop loses one day at most
            for occ in day:
                clock.set(occ.at - timedelta(seconds=LEAD_S + 1))
                outcome = runner.air_slot(occ)
                result.slots += 1
                result.outcomes[outcome.status] += 1
                for ended in outcome.results:
                    if ended.status == "completed":
                        topic = topic_of.get(ended.key, "")
                        result.plays += 1
                        result.plays_by_topic[topic] += 1
                        result.plays_by_spot[ended.key] += 1
                        result.seconds_by_topic[topic] += ended.played_s
        done += len(day)
        if progress is not None:
            progress(done, len(todo))


def _days(todo: list[Occurrence]) -> list[list[Occurrence]]:
    days: list[list[Occurrence]] = []
    for occ in todo:
        if days and days[-1][0].at.date() == occ.at.date():
            days[-1].append(occ)
        else:
            days.append([occ])
    return days

"""`loa simulate`: the real daemon on a virtual clock with the null output.

The `Daemon` of `loa run`, unchanged: its slot jobs fire from the same triggers on a
`VirtualFiring` (the clock jumps from one fire time to the next), its queue, recovery and
heartbeat run as on air, and the runner airs through the null output, which reports every item
as played at its planned instant. The airtime rows are written by the same code as on air, one
transaction a simulated week. One Rotation carries the planner's state from slot to slot, as
the log would (every planned slot airs in full on the null output).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from playlists.planner import Rotation
from scheduler.airlog import AirLog
from scheduler.broadcasts import Broadcast
from scheduler.clock import VirtualClock
from scheduler.control import NoControl
from scheduler.daemon import Daemon
from scheduler.firing import VirtualFiring
from scheduler.lock import NoLock
from scheduler.output.null import NullOutput
from scheduler.runner import Runner, Spot
from scheduler.spec import AmplifierSpec, StationSpec

# The simulated heartbeat: a simulation never crashes, so a beat a week is enough (each is a
# database write); each week is one transaction.
HEARTBEAT_S = 7 * 86400.0


@dataclass
class Simulation:
    slots: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    plays: int = 0
    seconds_by_topic: Counter[str] = field(default_factory=Counter)
    plays_by_topic: Counter[str] = field(default_factory=Counter)
    plays_by_spot: Counter[str] = field(default_factory=Counter)  # completed plays, by spot id
    relayed_s: Counter[str] = field(default_factory=Counter)  # relay slots: seconds by source

    def count(self, item: Broadcast, topic_of: dict[str, str]) -> None:
        """One broadcast the daemon aired (or did not)."""
        if item.outcome is None:
            return
        if item.kind == "slot":
            self.slots += 1
            self.outcomes[item.outcome.status] += 1
        relay = item.occurrence.slot.relay if item.occurrence is not None else None
        if relay is not None:  # tiếp sóng: not a topic's airtime
            self.relayed_s[relay.source] += sum(e.played_s for e in item.outcome.results)
            return
        for ended in item.outcome.results:
            if ended.status == "completed":
                topic = topic_of.get(ended.key, "")
                self.plays += 1
                self.plays_by_topic[topic] += 1
                self.plays_by_spot[ended.key] += 1
                self.seconds_by_topic[topic] += ended.played_s


def simulate(
    station: StationSpec,
    airlog: AirLog,
    spots: Sequence[Spot],
    start: datetime,
    end: datetime,
    progress: Callable[[datetime], None] | None = None,
) -> Simulation:
    """Run the daemon from `start` to `end` on a virtual clock; `progress(now)` weekly."""
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

    @contextmanager
    def one_week() -> Iterator[None]:
        with airlog.batch():  # one transaction a week: fast, and a stop loses a week at most
            yield
        if progress is not None:
            progress(clock.now())

    daemon = Daemon(
        load_station=lambda: station,
        airlog=airlog,
        runner=runner,
        lock=NoLock(),
        resolve_adhoc=lambda request: [],
        control=NoControl(),
        firing=VirtualFiring(clock, until=end, step=one_week),
        clock=clock,
        heartbeat_s=HEARTBEAT_S,
        on_aired=lambda item: result.count(item, topic_of),
    )
    with quiet_plays():
        daemon.run_forever(handle_signals=False)
    return result


@contextmanager
def quiet_plays(*quieter: str) -> Iterator[None]:
    """A line per simulated play would be noise: the runner and daemon say warnings only;
    the `quieter` loggers say nothing below critical."""
    names = ("loa.runner", "loa.daemon", *quieter)
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for name, lg in zip(names, loggers, strict=True):
        lg.setLevel(logging.CRITICAL if name in quieter else logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)

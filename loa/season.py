"""`loa simulate --events FILE`: a scripted season replayed on the virtual clock.

The script is a TOML list of timed events (README, "A scripted season"); each is read into a
`SeasonEvent`, with an error naming the file, the event and the key for a bad one. The replay
runs the station's real `Daemon` on a virtual clock with an output that takes its time
(`scheduler.virtual_output`), the real planner reading the log, and each event as an alarm at
its instant: a broadcast goes in through `Daemon.enqueue_adhoc` as `loa play-now` would, a
crash drops the daemon as kill -9 does (nothing of it runs any more, its open rows stay open)
and starts a new one that recovers the log at the last heartbeat, a config edit is read as
`loa run` reads one (a bad one is refused and the last good config keeps running), spots come
and go in the catalogue, the sound device fails and comes back.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from loa.config import Config, ConfigError, validate
from loa.db import station_db
from loa.errors import LoaError
from loa.units import parse_duration
from scheduler.airlog import AirLog
from scheduler.clock import VirtualClock
from scheduler.control import NoControl
from scheduler.daemon import PRIORITIES, Daemon
from scheduler.firing import ProcessKilled, VirtualFiring
from scheduler.lock import NoLock
from scheduler.runner import Runner
from scheduler.simulate import quiet_plays
from scheduler.spec import AmplifierSpec, Spot, StationSpec
from scheduler.virtual_output import SteppingOutput

KINDS = ("broadcast", "crash", "config", "spots", "device")
# The simulated heartbeat between broadcasts (each beat is a database write; a config edit
# wakes it at once)...
HEARTBEAT_S = 3600.0
# ... and while one is on air, as `loa run`'s heartbeat thread beats (`daemon.heartbeat`'s
# default): the last beat before a crash is where recovery closes the open rows.
ON_AIR_BEAT_S = 5.0
# Problems shown under one event (the rest are counted).
MAX_PROBLEMS = 5


@dataclass(frozen=True)
class SeasonEvent:
    """One timed event of a script (`index` counts from 0, as `events[i]` in messages)."""

    index: int
    at: datetime
    kind: str
    note: str = ""
    priority: str = "normal"  # broadcast
    topic: str | None = None  # broadcast: the topic's next spot in rotation
    spot: str | None = None  # broadcast: a spot by id or path
    down_s: float = 60.0  # crash: how long the station is off
    old: str = ""  # config: text of config.toml replaced ...
    new: str = ""  # ... by this
    add: tuple[Spot, ...] = ()  # spots
    remove: tuple[str, ...] = ()  # spots: ids or paths
    for_s: float = 0.0  # device: how long it fails

    def describe(self) -> str:
        at = f"{self.at:%Y-%m-%d %H:%M:%S}"
        what = {
            "broadcast": f"{self.priority} {self.topic or self.spot}",
            "crash": f"down {self.down_s:g} s",
            "config": "edit",
            "spots": f"+{len(self.add)} -{len(self.remove)}",
            "device": f"fails for {self.for_s:g} s",
        }[self.kind]
        return f"{at} {self.kind} {what}" + (f" ({self.note})" if self.note else "")


# ---------------------------------------------------------------- reading the script


def read_season(path: Path, config: Config) -> list[SeasonEvent]:
    """The script's events in time order; a LoaError names every problem as `FILE: key`."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise LoaError(f"--events: {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LoaError(f"--events: {path}: cannot read the file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LoaError(f"--events: {path}: TOML syntax error: {exc}") from None
    items = raw.get("events")
    if not isinstance(items, list) or not items:
        raise LoaError(f"{path}: events: give a list of [[events]] tables (see the README)")
    events, problems = [], []
    for i, item in enumerate(items):
        try:
            events.append(_event(i, item, config))
        except ValueError as exc:
            problems.append(f"{path}: events[{i}].{exc}")
    if problems:
        raise LoaError("\n".join(problems))
    return sorted(events, key=lambda e: (e.at, e.index))


def _event(i: int, item: Any, config: Config) -> SeasonEvent:
    if not isinstance(item, dict):
        raise ValueError("at: each event is a table with at = ... and kind = ...")
    known = {"at", "kind", "note", "priority", "topic", "spot", "down", "old", "new", "add"}
    known |= {"remove", "for"}
    unknown = sorted(set(item) - known)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key; the keys are {', '.join(sorted(known))}")
    kind = item.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    at = _moment(item.get("at"), config)
    fields: dict[str, Any] = {"note": str(item.get("note", ""))}
    if kind == "broadcast":
        priority = item.get("priority", "normal")
        if priority not in PRIORITIES:
            raise ValueError(f"priority: {priority!r} is not one of {', '.join(PRIORITIES)}")
        topic, spot = item.get("topic"), item.get("spot")
        if bool(topic) == bool(spot):
            raise ValueError("topic: give topic = ID or spot = ID or PATH (one of them)")
        if topic and topic not in config.topic_ids:
            raise ValueError(
                f"topic: no topic {topic!r}; the topics: {', '.join(config.topic_ids)}"
            )
        fields |= {"priority": priority, "topic": topic, "spot": spot}
    elif kind == "crash":
        fields["down_s"] = _seconds(item, "down", "1m")
    elif kind == "config":
        old, new = item.get("old"), item.get("new")
        if not isinstance(old, str) or not old or not isinstance(new, str):
            raise ValueError('old: give old = "text in config.toml" and new = "its replacement"')
        fields |= {"old": old, "new": new}
    elif kind == "spots":
        fields["add"] = tuple(_new_spot(j, s, config) for j, s in enumerate(item.get("add", [])))
        remove = item.get("remove", [])
        if not isinstance(remove, list) or not all(isinstance(r, str) for r in remove):
            raise ValueError('remove: a list of spot ids or paths ("topic/file.mp3")')
        fields["remove"] = tuple(remove)
        if not fields["add"] and not fields["remove"]:
            raise ValueError("add: give add = [...] or remove = [...]")
    elif kind == "device":
        fields["for_s"] = _seconds(item, "for", None)
    return SeasonEvent(index=i, at=at, kind=kind, **fields)


def _moment(value: object, config: Config) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f'at: {value!r} is not a time ("2021-03-01 06:05")') from None
    else:
        raise ValueError('at: give the local time of the station, e.g. at = "2021-03-01 06:05"')
    return moment if moment.tzinfo else moment.replace(tzinfo=config.tz)


def _seconds(item: dict[str, Any], key: str, default: str | None) -> float:
    value = item.get(key, default)
    if value is None:
        raise ValueError(f'{key}: required, a duration such as "10m"')
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def _new_spot(j: int, item: Any, config: Config) -> Spot:
    where = f"add[{j}]"
    if not isinstance(item, dict) or item.get("topic") not in config.topic_ids:
        raise ValueError(f"{where}.topic: a spot is {{topic = ID, title = ..., length = ...}}")
    try:
        seconds = parse_duration(item.get("length", "60s"))
    except ValueError as exc:
        raise ValueError(f"{where}.length: {exc}") from None
    topic, title = str(item["topic"]), str(item.get("title", f"spot {j}"))
    path = str(item.get("path", f"{topic}/{title}.mp3"))
    return Spot(
        id=f"season-{path}",
        topic=topic,
        path=path,
        file=config.library.root / path,
        title=title,
        duration_s=seconds,
    )


# ---------------------------------------------------------------- the replay


@dataclass
class Effect:
    """What followed one event until the next: airtime rows and problems logged."""

    event: SeasonEvent
    rows: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, status)
    problems: list[str] = field(default_factory=list)
    refused: str | None = None  # why the event itself could not happen


@dataclass
class Season:
    effects: list[Effect]
    rows: Counter[tuple[str, str]]
    restarts: int


class _Station:
    """The replayed station: its config text, catalogue and device outlive a daemon."""

    def __init__(
        self, config: Config, text: str, spots: list[Spot], engine: Engine, clock: VirtualClock
    ) -> None:
        self.config = config
        self.text = text
        self.spots = list(spots)
        self.airlog = AirLog(station_db(engine), config.station.id)
        self.clock = clock
        self.output = SteppingOutput(clock)  # the sound device: a crash does not repair it
        self.daemon: Daemon | None = None
        self.effect: Effect | None = None

    def load_station(self) -> StationSpec:
        from loa.compose import station_spec

        source = self.config.source
        assert source is not None
        try:
            raw = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(source), [f"TOML syntax error: {exc}"]) from None
        config, problems = validate(raw, source.parent)
        if config is None:
            raise ConfigError(str(source), problems)
        config._source = source
        self.config = config
        station = station_spec(config)
        return _without_hooks(station)

    def new_daemon(self, until: datetime) -> Daemon:
        station = self.load_station()
        runner = Runner(station, self.airlog, self.output, self.clock, spots=lambda: self.spots)
        self.daemon = Daemon(
            load_station=self.load_station,
            airlog=self.airlog,
            runner=runner,
            lock=NoLock(),
            resolve_adhoc=lambda request: [],
            control=NoControl(),
            firing=VirtualFiring(self.clock, until=until),
            clock=self.clock,
            heartbeat_s=HEARTBEAT_S,
        )
        return self.daemon


def _without_hooks(station: StationSpec) -> StationSpec:
    import dataclasses

    return dataclasses.replace(station, amplifier=AmplifierSpec())  # hooks switch real relays


def replay(
    config: Config,
    engine: Engine,
    spots: list[Spot],
    events: list[SeasonEvent],
    start: datetime,
    end: datetime,
) -> Season:
    """Replay `events` on the station from `start` to `end`, writing into `engine`'s log."""
    clock = VirtualClock(start)
    text = config.source.read_text("utf-8")
    station = _Station(config, text, spots, engine, clock)
    effects = [Effect(e) for e in events]
    marks: list[tuple[int, int]] = []
    crashes: list[SeasonEvent] = []

    def arm(effect: Effect) -> None:
        def happen() -> None:
            marks.append(_marks(engine))
            station.effect = effect
            _happen(station, effect, crashes)

        clock.call_at(effect.event.at, happen)

    for effect in effects:
        arm(effect)
    restarts = 0
    with quiet_plays("loa.airlog"):  # its problems are in the report
        while True:
            daemon = station.new_daemon(end)
            heartbeat_while_on_air(station, clock, end)
            try:
                daemon.run_forever(handle_signals=False)
                break
            except ProcessKilled:
                crash = crashes[-1]
                restarts += 1
                station.daemon = None
                assert isinstance(daemon.firing, VirtualFiring)
                daemon.firing.schedule([])  # the dead process's jobs die with it
                clock.sleep_until(min(end, crash.at + timedelta(seconds=crash.down_s)))
                station.output.last_end = None
                if clock.now() >= end:
                    break
    marks.append(_marks(engine))
    _fill_effects(engine, config.station.id, effects, marks)
    return Season(effects, _all_rows(engine, config.station.id), restarts)


def heartbeat_while_on_air(station: _Station, clock: VirtualClock, end: datetime) -> None:
    """On air, `loa run`'s heartbeat thread goes on beating: here an alarm every few seconds
    that beats while a broadcast is on air."""
    daemon = station.daemon

    def beat() -> None:
        if station.daemon is not daemon or clock.now() >= end:
            return
        if daemon is not None and daemon.runner.current is not None:
            daemon.beat()
        clock.call_at(clock.now() + timedelta(seconds=ON_AIR_BEAT_S), beat)

    clock.call_at(clock.now() + timedelta(seconds=ON_AIR_BEAT_S), beat)


def _happen(station: _Station, effect: Effect, crashes: list[SeasonEvent]) -> None:
    event, daemon = effect.event, station.daemon
    if event.kind == "broadcast":
        if daemon is None or daemon.stopping.is_set():
            effect.refused = "loa was not running (play-now finds no daemon)"
            return
        found = _spots_for(station, event)
        if isinstance(found, str):
            effect.refused = found
            return
        daemon.enqueue_adhoc(found, event.priority)
    elif event.kind == "crash":
        if daemon is None:
            effect.refused = "loa was not running"
            return
        crashes.append(event)
        raise ProcessKilled(event.describe())
    elif event.kind == "config":
        if event.old not in station.text:
            effect.refused = f"config.toml has no {event.old!r} to replace"
            return
        station.text = station.text.replace(event.old, event.new, 1)
        if daemon is not None:
            daemon.reload_requested.set()  # as SIGHUP, or the edit's new mtime, would
            if isinstance(daemon.firing, VirtualFiring):
                daemon.firing.wake()
    elif event.kind == "spots":
        gone = set(event.remove)
        missing = sorted(gone - {s.id for s in station.spots} - {s.path for s in station.spots})
        if missing:
            effect.problems.append(f"no such spot to remove: {', '.join(missing)}")
        station.spots = [s for s in station.spots if s.id not in gone and s.path not in gone]
        station.spots.extend(event.add)
    elif event.kind == "device":
        why = f"sound device failed (simulated, {event.for_s:g} s)"
        station.output.fail(why)
        station.clock.call_at(event.at + timedelta(seconds=event.for_s), station.output.recover)


def _spots_for(station: _Station, event: SeasonEvent) -> list[Spot] | str:
    if event.spot:
        found = [s for s in station.spots if event.spot in (s.id, s.path)]
        return found[:1] or f"no spot {event.spot!r} in the catalogue"
    from playlists.planner import plan_slot
    from playlists.types import SlotRequest

    spots = [s for s in station.spots if s.topic == event.topic]
    if not spots:
        return f"topic {event.topic}: no playable spot"
    plan = plan_slot(
        SlotRequest("play-now", event.at, max(s.duration_s for s in spots), (str(event.topic),)),
        [s.candidate() for s in spots],
        station.airlog.history(),
        {str(event.topic): 1.0},
        require_approval=station.config.library.require_approval,
    )
    if not plan.items:
        return f"topic {event.topic}: no eligible spot ({'; '.join(plan.notes)})"
    return [next(s for s in spots if s.id == plan.items[0].spot)]


def _marks(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select coalesce(max(seq), 0) from airtime")).scalar()
        events = conn.execute(sa.text("select coalesce(max(seq), 0) from event")).scalar()
    return int(rows or 0), int(events or 0)


def _fill_effects(
    engine: Engine, station: str, effects: list[Effect], marks: list[tuple[int, int]]
) -> None:
    """Each event's share: rows and problems logged from it until the next event."""
    with engine.connect() as conn:
        for effect, a, b in zip(effects, marks, marks[1:], strict=False):
            for kind, status in conn.execute(
                sa.text(
                    "select kind, status from airtime where station = :s and seq > :lo "
                    "and seq <= :hi order by seq"
                ),
                {"s": station, "lo": a[0], "hi": b[0]},
            ):
                effect.rows[(kind, status)] += 1
            for level, message in conn.execute(
                sa.text(
                    "select level, message from event where seq > :lo and seq <= :hi "
                    "and level in ('warning', 'error') order by seq"
                ),
                {"lo": a[1], "hi": b[1]},
            ):
                effect.problems.append(f"{level}: {' / '.join(message.splitlines())[:400]}")


def _all_rows(engine: Engine, station: str) -> Counter[tuple[str, str]]:
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("select kind, status, count(*) from airtime where station = :s group by 1, 2"),
            {"s": station},
        )
        return Counter({(k, s): int(n) for k, s, n in found})


ReportLine = Callable[[str], None]


def report(season: Season, echo: ReportLine) -> None:
    """What aired, and what each event caused."""
    shown = ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(season.rows.items()))
    echo(f"Đã phát (what aired): {shown}; {season.restarts} lần khởi động lại (restarts)")
    for effect in season.effects:
        echo(f"- {effect.event.describe()}")
        if effect.refused:
            echo(f"    không thực hiện được (did not happen): {effect.refused}")
        caused = ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(effect.rows.items()))
        echo(f"    sau đó (then): {caused or 'nothing aired'}")
        for problem in effect.problems[:MAX_PROBLEMS]:
            echo(f"    {problem}")
        if len(effect.problems) > MAX_PROBLEMS:
            echo(f"    ... {len(effect.problems) - MAX_PROBLEMS} more (thêm)")

"""The composition root: config.toml in, the engine's parts out.

Everything that turns the validated `Config` into the scheduler's plain values, and picks the
implementations (library, output, clock, slot firing, control server), lives here, so
`scheduler` never reads config.toml and the commands stay thin.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loa.config import Config
from loa.errors import ConfigError, LoaError
from loa.rescan_child import GRACE_S, ChildScan, Killed, ScanFailed, ScanJob
from scheduler.lock import LibraryBusy, exclusive
from scheduler.spec import AmplifierSpec, RelaySpec, SlotSpec, Spot, StationSpec

if TYPE_CHECKING:  # `loa status` reads the database without SQLAlchemy (issue 17)
    from sqlalchemy.engine import Engine

    from scheduler.station_db import StationDB

log = logging.getLogger("loa.compose")

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def probed_spot(config: Config, path: Path, key: str, id_prefix: str = "") -> Spot:
    """A file outside the catalogue measured like a spot (length, silence, loudness gain).

    Its logged path is relative to the library root when it lies inside it; its topic is the
    topic folder it lies in, if any. A file the library would refuse is an error naming `key`."""
    from audio_library.probe import probe

    path = path.expanduser().resolve()
    try:
        info = probe(
            path,
            target_lufs=config.library.target_loudness,
            max_boost_db=config.library.max_boost,
        )
    except ValueError as exc:
        raise LoaError(f"{key}: {path}: {exc}") from None
    root = config.library.root.resolve()
    shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    folder = shown.split("/", 1)[0] if "/" in shown else ""
    return Spot(
        id=f"{id_prefix}{info.id}",
        topic=folder if folder in config.topic_ids else "",
        path=shown,
        file=path,
        title=info.title,
        duration_s=info.playable_s,
        gain_db=info.gain_db,
        start_s=info.trim_start_s,
    )


def jingle(config: Config, key: str, path: Path | None) -> Spot | None:
    """An intro/outro jingle: not part of the rotation, logged without a topic. A jingle that
    cannot air is a problem of config.toml (ConfigError naming `key`): `loa config check`
    refuses it, `loa status` shows it as a refused edit."""
    if path is None:
        return None
    try:
        spot = probed_spot(config, path, key, "jingle-")
    except LoaError as exc:
        raise ConfigError(str(config.source or "config.toml"), [str(exc)]) from None
    return dataclasses.replace(spot, topic="")


def jingle_missing(airlog: Any) -> Callable[[str], None]:
    """The daemon's `on_bad_jingle`: the problem is an event of `loa status` (and the log)."""

    def record(problem: str) -> None:
        airlog.event(
            "error",
            "config",
            f"{problem}; buổi phát vẫn phát nhưng không có tệp này (the slot airs without "
            "this jingle until the file is fixed)",
        )

    return record


def station_spec(
    config: Config,
    extra_slots: tuple[SlotSpec, ...] = (),
    on_bad_jingle: Callable[[str], None] | None = None,
) -> StationSpec:
    """The engine's view of config.toml. Jingles are measured here (one decode each).

    A jingle that cannot air raises ConfigError, unless `on_bad_jingle` is given: then the
    slot airs without it and the problem (`slots[i].intro: ...`) goes to `on_bad_jingle`. The
    daemon takes that path, so a jingle deleted on the station PC never stops the station."""

    def framing(key: str, path: Path | None) -> Spot | None:
        try:
            return jingle(config, key, path)
        except ConfigError as exc:
            if on_bad_jingle is None:
                raise
            for problem in exc.problems:
                on_bad_jingle(problem)
            return None

    slots = tuple(
        SlotSpec(
            name=s.name,
            start=s.start,
            length_s=s.length,
            days=s.days,
            topics=tuple(config.slot_topics(s)),
            pause_s=s.pause,
            intro=framing(f"slots[{i}].intro", s.intro),
            outro=framing(f"slots[{i}].outro", s.outro),
            relay=relay_spec(config, s),
        )
        for i, s in enumerate(config.slots)
    )
    amp = config.amplifier
    return StationSpec(
        id=config.station.id,
        name=config.station.name,
        tz=config.tz,
        weights={t.id: t.weight for t in config.topics},
        slots=slots + extra_slots,
        quiet_hours=config.station.quiet_hours,
        library_root=config.library.root,
        require_approval=config.library.require_approval,
        target_loudness=config.library.target_loudness,
        catch_up=config.daemon.catch_up,
        amplifier=AmplifierSpec(
            on_air=amp.on_air or None,
            off_air=amp.off_air or None,
            pre_roll_s=amp.pre_roll,
            timeout_s=amp.timeout,
        ),
    )


def relay_spec(config: Config, slot: Any) -> RelaySpec | None:
    """The stream a relay slot airs (config check guarantees the source exists)."""
    source = next((x for x in config.sources if x.id == slot.relay), None)
    if source is None:
        return None
    return RelaySpec(source.id, source.name, source.url, slot.fallback, slot.source_timeout)


def demo_slot(
    config: Config, now: datetime, lead_s: float = 20.0, length_s: float = 60.0
) -> SlotSpec:
    """A one-minute slot starting `lead_s` from now, today only: `loa run --demo`."""
    local = (now + timedelta(seconds=lead_s)).astimezone(config.tz).replace(microsecond=0)
    return SlotSpec(
        name="demo",
        start=local.time(),
        length_s=length_s,
        days=WEEKDAY_NAMES[local.weekday()],
        topics=tuple(config.topic_ids),
        pause_s=1.0,
        quiet_exempt=True,
    )


def max_slot_length(config: Config) -> float | None:
    """The longest a spot may be: the longest slot (its cap when it has one)."""
    return max((s.max_length or s.length for s in config.slots), default=None)


# ---------------------------------------------------------------- the library


def library_spots(config: Config, db: StationDB) -> list[Spot]:
    """The catalogue's good spots as the runner needs them. Validity windows and approval are
    left to the planner (it judges them on each slot's own date), so this list serves a
    preview of many days as well as one slot. Read with sqlite3 (the query of
    `audio_library.catalog.list_spots`): the daemon never imports SQLAlchemy (issue 17)."""
    from scheduler.sqlite_read import StationReader

    with db.connection() as conn:
        records = StationReader(conn, config.station.id).spot_records(config.library.root)
    return spots_of(config, records)


def spots_of(config: Config, records: Iterable[Any]) -> list[Spot]:
    """`library_spots` from catalogue records (`SpotRecord`s without the removed ones), however
    they were read (SQLAlchemy, or sqlite3 in `loa status`: scheduler/sqlite_read.py)."""
    from audio_library.verdict import playback_gain

    lib = config.library

    def gain(r: Any) -> float:
        # the rule of the scan, with the config in force now (a reload takes effect at once)
        return playback_gain(r.loudness_lufs, r.peak_dbtp, lib.target_loudness, lib.max_boost)

    return [
        Spot(
            id=r.id,
            topic=r.topic,
            path=r.path,
            file=r.abs_path,
            title=r.title,
            duration_s=r.playable_s,
            gain_db=gain(r).gain_db or 0.0,
            valid_from=r.valid_from,
            valid_until=r.valid_until,
            approved=r.approved,
            start_s=r.trim_start_s,
        )
        for r in records
        if r.status == "ok" and r.topic in config.topic_ids and r.playable_s > 0
    ]


def library_lock_file(config: Config) -> Path:
    """The file whose lock makes one scan at a time per station (beside the control socket)."""
    return config.daemon.socket.parent / "library.lock"


@contextmanager
def library_lock(config: Config, wait: bool = True) -> Iterator[None]:
    """One scan at a time per station: the daemon's background rescan and an operator's
    `loa library scan` would otherwise both add the same new file. `wait=False`: LibraryBusy
    at once when another scan holds it (the daemon skips its rescan rather than queue)."""
    with exclusive(library_lock_file(config), wait, LibraryBusy):
        yield


def missing_root(root: Path) -> str | None:
    """What the operator is told when the library folder is not there to scan (a typo in
    `library.root`, a USB stick not mounted); None when it is a folder."""
    try:
        if root.is_dir():
            return None
    except OSError:
        pass
    return (
        f"library.root: không có thư mục {root} (the library folder does not exist): tạo "
        "thư mục đó, mỗi chủ đề một thư mục con mang mã chủ đề, hoặc sửa [library] root"
    )


def scan_job(config: Config, *, wait: bool = True, database: str | None = None) -> ScanJob:
    """What a scan needs of `config`, as plain values: the daemon's rescan child reads them as
    JSON (`loa.rescan_child`), so the config in force at each scan is the one it scans with."""
    return ScanJob(
        root=str(config.library.root),
        topic_ids=list(config.topic_ids),
        target_lufs=config.library.target_loudness,
        max_boost_db=config.library.max_boost,
        max_spot_s=max_slot_length(config),
        lock=str(library_lock_file(config)),
        wait=wait,
        database=database,
    )


def rescan(config: Config, engine: Engine, *, wait: bool = True, **options: Any) -> Any:
    """Incremental scan of the library (unchanged files are not decoded again), in this
    process (`loa library scan`; the daemon's rescan runs `loa.rescan_child`)."""
    from loa.rescan_child import scan

    return scan(engine, scan_job(config, wait=wait), **options)


# A background rescan still running after this long is abandoned (its child process killed;
# every step inside has its own time limit, so this is the last resort).
RESCAN_TIMEOUT_S = 1800.0


class LibrarySource:
    """The spots the runner plans from, kept fresh by a background rescan.

    `refresh()` rescans (unchanged files are not decoded again) and reloads the catalogue; a
    failing scan is logged and the last good list stays. Calling the source returns the last
    list at once, so a slot never waits for a scan: with `start(every_s)` a spot dropped into
    its folder airs from the first slot after the next rescan.

    Each scan runs in a child process (`loa.rescan_child`: the scan needs SQLAlchemy, which
    the daemon never imports, issue 17), with `self.config` as it is when the scan starts (a
    reload replaces it). Nothing here can hold up the daemon: `load()` reads the catalogue
    without scanning (the start of `loa run`), `start()` scans at once and then every
    `every_s` in a daemon thread, each rescan waited on by its own daemon thread. While one is
    still running the next is skipped (one warning when that starts, one line when it ends);
    one running past `rescan_timeout_s` is abandoned (its child killed) and the next goes
    ahead. `stop()` cancels a running scan (kills its child) and never waits long."""

    def __init__(
        self,
        config: Config,
        db: StationDB,
        report: Any = None,
        rescan_timeout_s: float = RESCAN_TIMEOUT_S,
    ) -> None:
        self.config = config
        self.db = db
        self.report = report
        self.rescan_timeout_s = rescan_timeout_s
        self._last: list[Spot] = []
        self._refused: set[str] = set()
        self._error: str | None = None
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._scan: threading.Thread | None = None
        self._scan_started = 0.0
        self._skipping = False
        self._children_lock = threading.Lock()
        self._child: ChildScan | None = None  # the scan under way, to kill

    def __call__(self) -> list[Spot]:
        return self._last

    def _report(self, level: str, message: str) -> None:
        if self.report is not None:
            try:
                self.report(level, "library", message)
            except Exception:  # the log's own trouble must not stop the library
                log.exception("could not record a library event")

    def load(self) -> list[Spot]:
        """The catalogue as it is, without scanning (a database read)."""
        try:
            self._last = library_spots(self.config, self.db)
        except Exception:
            log.exception("cannot read the catalogue; using the last good list")
        return self._last

    def refresh(self, wait: bool = True) -> list[Spot]:
        """Rescan in a child process, then reload the catalogue; the list in use."""
        config = self.config  # a reload may replace it meanwhile: this scan keeps its own
        child = ChildScan(scan_job(config, wait=wait, database=f"sqlite:///{self.db.path}"))
        with self._children_lock:
            if self._cancel.is_set():
                return self._last
            self._child = child
        try:
            rejected = child.run()
            refused = {f"{r['path']}: {r['reason']}" for r in rejected}
            for line in sorted(refused - self._refused):
                self._report("warning", f"tệp bị từ chối (file refused): {line}")
            self._refused = refused
            self._last = library_spots(config, self.db)
            if self._error is not None:
                self._report("info", "quét thư viện hoạt động lại (library rescan recovered)")
            self._error = None
        except LibraryBusy:
            log.info("library rescan skipped: another scan holds the library")
        except Killed:
            log.info("library rescan stopped (the daemon is stopping, or it was stuck)")
        except Exception as exc:  # never stop the station for a library problem
            missing = missing_root(config.library.root)  # the operator's to fix: no trace
            message = f"rescan failed: {missing or exc}"
            if message != self._error:
                if missing:
                    log.error("library %s; using the last good list", message)
                elif isinstance(exc, ScanFailed):
                    said = f" ({exc.last_line})" if exc.last_line else ""
                    log.error("library %s%s; using the last good list", message, said)
                else:
                    log.exception("library rescan failed; using the last good list")
                self._report("error", message)
            self._error = message
        finally:
            with self._children_lock:
                if self._child is child:
                    self._child = None
        return self._last

    def _kill_child(self, timeout_s: float) -> None:
        with self._children_lock:
            child = self._child
        if child is not None:
            child.kill(timeout_s)

    def tick(self) -> None:
        """Start a rescan in the background unless one is still running."""
        running = self._scan
        if running is not None and running.is_alive():
            age = time.monotonic() - self._scan_started
            if age < self.rescan_timeout_s:
                if not self._skipping:
                    self._skipping = True
                    log.warning("library rescan still running after %.0f s; next ones skipped", age)
                    self._report(
                        "warning",
                        f"quét thư viện chưa xong sau {age:.0f} s, bỏ qua lần quét kế tiếp "
                        "(a rescan is still running; the next ones are skipped)",
                    )
                return
            log.error("library rescan stuck for %.0f s: abandoned", age)
            self._report(
                "error",
                f"quét thư viện treo {age:.0f} s, bỏ lại và quét lần mới "
                "(a rescan was stuck: abandoned, a new one starts)",
            )
            self._kill_child(GRACE_S * 2)
        elif self._skipping:
            log.info("library rescan finished; rescans go on")
        self._skipping = False
        self._scan_started = time.monotonic()
        self._scan = threading.Thread(
            target=self.refresh, kwargs={"wait": False}, name="loa-rescan", daemon=True
        )
        self._scan.start()

    def start(self, every_s: float) -> None:
        def loop() -> None:
            self.tick()  # the first scan at once, in the background
            while not self._stop.wait(every_s):
                self.tick()

        self._thread = threading.Thread(target=loop, name="loa-library", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop rescanning; a scan under way is cancelled (its child process killed, and so its
        ffmpeg). Waits at most `timeout_s`: a child stuck in the kernel is left to its waiting
        thread (a daemon thread), which reaps it when it dies."""
        deadline = time.monotonic() + timeout_s
        self._stop.set()
        with self._children_lock:
            self._cancel.set()
        self._kill_child(timeout_s)
        for thread in (self._thread, self._scan):
            if thread is not None:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))


def resolve_adhoc(config: Config, db: StationDB, request: dict[str, Any]) -> list[Spot]:
    """`loa play-now`: a topic's next spot in rotation, or any audio file."""
    topic = request.get("topic")
    file = request.get("file")
    if bool(topic) == bool(file):
        raise LoaError("play-now: give --topic ID or --file PATH (one of them)")
    if topic:
        if topic not in config.topic_ids:
            raise LoaError(
                f"--topic: no topic {topic!r}; the topics are: {', '.join(config.topic_ids)}"
            )
        from playlists.planner import plan_slot
        from playlists.types import SlotRequest
        from scheduler.airlog import AirLog

        spots = [s for s in library_spots(config, db) if s.topic == topic]
        if not spots:
            raise LoaError(
                f"--topic {topic}: chủ đề chưa có tin/bài nào phát được (no playable spot); "
                "run `loa library scan` and `loa library list --topic " + topic + "`"
            )
        now = datetime.now(config.tz)
        plan = plan_slot(
            SlotRequest("play-now", now, max(s.duration_s for s in spots), (topic,)),
            [s.candidate() for s in spots],
            AirLog(db, config.station.id).history(),
            {topic: 1.0},
            require_approval=config.library.require_approval,
        )
        if not plan.items:
            raise LoaError(f"--topic {topic}: no eligible spot today ({'; '.join(plan.notes)})")
        first = plan.items[0].spot
        return [next(s for s in spots if s.id == first)]
    return [probed_spot(config, Path(str(file)), "--file")]


# ---------------------------------------------------------------- the daemon


def restart_only_changes(running: Config, edited: Config) -> list[str]:
    """The keys of an edit that the running daemon cannot take over (its database, output,
    station id and heartbeat are opened or fixed at the start), by name."""
    keys = {
        "station.id": lambda c: c.station.id,
        "database.url": lambda c: c.database.url,
        "output.backend": lambda c: c.output.backend,
        "output.device": lambda c: c.output.device,
        "output.path": lambda c: c.output.path,
        "daemon.heartbeat": lambda c: c.daemon.heartbeat,
    }
    return [key for key, value in keys.items() if value(running) != value(edited)]


def station_daemon(
    config: Config,
    config_path: Path,
    db: StationDB,
    station: StationSpec,
    source: LibrarySource,
    output: Any,
    lock: Any,
    extra_slots: tuple[SlotSpec, ...] = (),
) -> Any:
    """`loa run`'s daemon for `station` (`station_spec(config, extra_slots)`): the wall
    clock, APScheduler's slot firing, the control socket, the configured output; a reload
    reads config.toml again (and the library follows it)."""
    from loa.status_report import LoadedConfig, StatusControl, config_mtime_ns
    from scheduler.airlog import AirLog
    from scheduler.clock import SystemClock
    from scheduler.control import ControlServer
    from scheduler.daemon import Daemon
    from scheduler.firing import WallFiring
    from scheduler.runner import Runner

    airlog = AirLog(db, config.station.id)
    clock = SystemClock()
    runner = Runner(station, airlog, output, clock, source)
    loaded = LoadedConfig(config_path, config, config_mtime_ns(config_path))
    control = StatusControl(ControlServer(config.daemon.socket), lambda: loaded, db)
    told: list[str] = []  # the restart-only keys last said to differ

    def load_station() -> StationSpec:
        from loa.config import load_config

        mtime = config_mtime_ns(config_path)
        new_config = load_config(config_path)
        from loa.commands.config_cmd import start_problems
        from loa.errors import ConfigError

        problems = start_problems(
            new_config, config_path
        )  # `loa run` would not start again on them
        if problems:
            raise ConfigError(str(config_path), problems)
        spec = station_spec(new_config, extra_slots, jingle_missing(airlog))
        # the socket and its lock follow the edit: `loa status` and `loa play-now` read the
        # edited file (a ControlPathTaken or AlreadyRunning refuses the edit, nothing moved)
        held = lock.path
        lock.move(new_config.daemon.socket.with_suffix(".lock"))
        try:
            control.move(new_config.daemon.socket)
        except BaseException:
            lock.move(held)
            raise
        source.config = new_config
        loaded.config, loaded.mtime_ns = new_config, mtime
        later = restart_only_changes(config, new_config)
        if later and later != told:
            airlog.event(
                "warning",
                "config",
                f"{', '.join(later)}: thay đổi này chỉ có hiệu lực khi khởi động lại loa "
                "(takes effect when loa restarts: systemctl restart loa); đến lúc đó vẫn dùng "
                "giá trị cũ (until then the old value is used)",
            )
        told[:] = later
        return spec

    return Daemon(
        load_station=load_station,
        airlog=airlog,
        runner=runner,
        lock=lock,
        resolve_adhoc=lambda request: resolve_adhoc(source.config, db, request),
        # it answers `loa status` whole too (loa/status_report.py)
        control=control,
        firing=WallFiring(),
        config_path=config_path,
        clock=clock,
        heartbeat_s=config.daemon.heartbeat,
    )


# ---------------------------------------------------------------- the central database


def central_report(config: Config) -> Any:
    """What the station tells the district besides its log: schedule and loa version (plain
    values, sent as JSON to the daemon's push process: built without psycopg or SQLAlchemy)."""
    from central.push_process import StationReport
    from loa import __version__

    return StationReport(
        schedule={
            "station": config.station.name,
            "timezone": config.station.timezone,
            "topics": [{"id": t.id, "name": t.name, "weight": t.weight} for t in config.topics],
            "slots": [
                {
                    "name": s.name,
                    "start": s.start.strftime("%H:%M"),
                    "days": s.days,
                    "length_s": s.length,
                    "topics": config.slot_topics(s),
                }
                for s in config.slots
            ],
        },
        version=__version__,
    )


def start_pusher(config: Config, db: StationDB, event: Any, current: Any = None) -> Any:
    """The background push when `[central] url` is set (else None), each push in a child
    process (scheduler.pusher). `current()` gives the config in use after a reload."""
    if not config.central.url:
        return None
    from scheduler.pusher import Pusher

    pusher = Pusher(
        db,
        config.station.id,
        config.central.url,
        config.central.push_every,
        report=lambda: central_report(current() if current else config),
        event=event,
    )
    pusher.start()
    return pusher

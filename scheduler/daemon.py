"""The unattended daemon: its lifecycle (start, heartbeat loop, stop, signals) and the air
worker, wiring the parts that each have their module: slot jobs (`scheduler.slot_jobs`), the
priority queue (`scheduler.broadcasts`), crash recovery (`scheduler.recovery`), config
watching (`scheduler.config_watch`), the status document (`scheduler.status_doc`) and the
control protocol (`scheduler.control_protocol`).

The same object runs on the wall clock (`loa run`) and on a virtual clock (`loa simulate`):
the composition root hands it its clock, its slot firing (`scheduler.firing`), its control
server and (in the runner) its output. A slot's job only enqueues (it never plays audio
itself); the air worker plays broadcasts one at a time in priority order (emergency, then
priority, then slots and normal ad hoc broadcasts in arrival order); the control server
answers `loa play-now` and `loa status`; the caller's thread runs the heartbeat loop, which
also watches config.toml.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from scheduler.airlog import AirLog
from scheduler.broadcasts import PRIORITIES, SLOT_PRIORITY, Broadcast, BroadcastQueue
from scheduler.clock import Clock
from scheduler.config_watch import ConfigWatch
from scheduler.control import ControlServer, Handler
from scheduler.control_protocol import handle_request
from scheduler.firing import ProcessKilled, SlotFiring, SlotJob, WallFiring
from scheduler.lock import StationLock
from scheduler.notify import sd_notify, watchdog_interval_s
from scheduler.recovery import recover
from scheduler.runner import Runner, Spot
from scheduler.slot_jobs import (
    job_lead_s,
    jumped_over,
    missed_occurrence,
    near_occurrences,
    occurrence_of,
    slot_jobs,
)
from scheduler.slots import Occurrence
from scheduler.spec import StationSpec
from scheduler.status_doc import status_document

log = logging.getLogger("loa.daemon")

# Others import these from here.
__all__ = ["PRIORITIES", "SLOT_PRIORITY", "Broadcast", "Daemon", "job_lead_s"]

# SIGTERM: if the graceful stop (fade, close rows, join threads) is not over by then, the
# daemon closes its open rows and exits anyway: systemd's TimeoutStopSec is 20 s, the issue
# asks for 10 s whatever is stuck (a hook, a decoder, a library scan).
STOP_DEADLINE_S = 8.0
# The wall clock moved this much more (or less) than the monotonic clock between two
# heartbeats: someone or NTP stepped it. The slots are rescheduled from the new time.
CLOCK_STEP_S = 2.0
# How often a slot cut by a failing sound device looks whether the device is back.
DEVICE_POLL_S = 0.5


StationLoader = Callable[[], StationSpec]
AdhocResolver = Callable[[dict[str, Any]], list[Spot]]


class Control(Protocol):
    """The daemon's control channel (the unix socket, or none in a simulation)."""

    def start(self, handler: Handler | None = None) -> None: ...

    def stop(self) -> None: ...


class Daemon:
    def __init__(
        self,
        *,
        load_station: StationLoader,
        airlog: AirLog,
        runner: Runner,
        lock: StationLock,
        resolve_adhoc: AdhocResolver,
        control: Control | None = None,
        control_path: Path | None = None,
        firing: SlotFiring | None = None,
        config_path: Path | None = None,
        clock: Clock | None = None,
        heartbeat_s: float = 5.0,
        on_aired: Callable[[Broadcast], None] | None = None,
    ) -> None:
        """`control`: the control server (or `control_path`, a unix socket there); `firing`:
        how slot jobs fire (APScheduler on the wall clock by default); `clock`: the runner's
        unless given; `on_aired`: told of every broadcast once it is over (`loa simulate`
        counts what aired with it)."""
        self.load_station = load_station
        self.airlog = airlog
        self.runner = runner
        self.lock = lock
        if control is None:
            if control_path is None:
                raise ValueError("Daemon: give control or control_path")
            control = ControlServer(control_path)
        self.control = control
        self.firing: SlotFiring = firing or WallFiring()
        self.resolve_adhoc = resolve_adhoc
        self.config_path = config_path
        self.clock = clock or runner.clock
        self.heartbeat_s = heartbeat_s
        self.on_aired = on_aired
        self.stopping = threading.Event()
        self.config_watch = ConfigWatch(config_path)
        self.reload_requested = self.config_watch.requested  # SIGHUP sets it
        self.config_error: str | None = None
        self.started_at = self.clock.now()
        self._queue = BroadcastQueue()
        self._started = False
        self._output_error: str | None = None
        self._own_file_errors: dict[str, str] = {}  # what could not be put back, logged once
        self._exit_timer: threading.Timer | None = None
        self._missed_lock = threading.Lock()
        self._clock_mark: tuple[datetime, float] | None = None

    @property
    def station(self) -> StationSpec:
        return self.runner.station

    # ------------------------------------------------------------------ start and stop
    def start(self) -> None:
        self.lock.acquire()
        self.recover()
        self.control.start(self.handle_request)
        self._started = True
        self.firing.start(self.station.tz, self, self.slot_jobs())
        self.beat()
        sd_notify("READY=1\nSTATUS=loa: on air duty")
        log.info(
            "station %s running: %d slots, next %s",
            self.station.id,
            len(self.station.slots),
            ", ".join(f"{i}@{t:%Y-%m-%d %H:%M:%S}" for i, t in self.firing.next_runs().items()),
        )

    def stop(self, fade_ms: float = 500.0) -> None:
        """Fade out what is on air, close its rows as interrupted, stop every thread."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        sd_notify("STOPPING=1")
        self.runner.cut_current(fade_ms)
        self._queue.stop()
        if self._started and not self.firing.shutdown(timeout_s=fade_ms / 1000 + 5):
            log.error(
                "the air worker is stuck (a hook or the output does not return): "
                "stopping without it"
            )
        self.control.stop()
        closed = self.airlog.close_open(self.clock.now())
        if closed:
            log.warning("closed %d open airtime rows as interrupted at shutdown", closed)
        self.beat()
        self._log_unwritten()
        self.lock.release()
        log.info("station %s stopped", self.station.id)

    def _log_unwritten(self) -> None:
        """Stopping while the database refuses writes: what is held goes to the journal."""
        lines = self.airlog.held_lines()
        if lines:
            log.error(
                "the database still refuses writes (%s): %d airtime writes are lost; "
                "they follow, one a line",
                self.airlog.db_error,
                len(lines),
            )
            for line in lines:
                log.error("unwritten: %s", line)

    def arm_exit_watchdog(self, seconds: float = STOP_DEADLINE_S) -> None:
        """Exit `seconds` from now even if the graceful stop is stuck; the open rows are
        closed as interrupted first (within 1.5 s more). For the real process only."""
        if self._exit_timer is not None:
            return
        self._exit_timer = threading.Timer(seconds, self._force_exit, args=(seconds,))
        self._exit_timer.daemon = True
        self._exit_timer.start()

    def _force_exit(self, seconds: float) -> None:
        log.error("stopping takes more than %.0f s (something is stuck): exiting now", seconds)

        def last_rows() -> None:
            try:
                self.airlog.close_open(self.clock.now())
                self._log_unwritten()
            except Exception:
                log.exception("could not close the open rows")

        closer = threading.Thread(target=last_rows, name="loa-last-rows", daemon=True)
        closer.start()
        closer.join(1.5)
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):  # exiting: nothing else to do with it
                handler.flush()
        os._exit(1)

    def _on_stop_signal(self, *_: object) -> None:
        self.stopping.set()
        self.arm_exit_watchdog()

    def run_forever(self, handle_signals: bool = True) -> None:
        if handle_signals:
            signal.signal(signal.SIGTERM, self._on_stop_signal)
            signal.signal(signal.SIGINT, self._on_stop_signal)
            # `systemctl reload`, and also a closed terminal (SIGHUP to the process group of
            # `make run`): re-read config.toml and go on airing. The decoders are in sessions
            # of their own, so the group's SIGHUP does not reach them.
            signal.signal(signal.SIGHUP, lambda *_: self.reload_requested.set())
        self.start()
        watchdog = watchdog_interval_s()
        interval = min(self.heartbeat_s, watchdog or self.heartbeat_s)
        killed = False
        try:
            while not self.firing.wait(self.stopping, interval):
                self.check_clock(self.clock.monotonic())
                self.beat()
                if watchdog:
                    sd_notify("WATCHDOG=1")
                if self.config_watch.due():
                    self.reload()
        except ProcessKilled:
            killed = True  # as after kill -9: no stop, the open rows stay open
            raise
        finally:
            if not killed:
                self._stop_after_loop(handle_signals)

    def _stop_after_loop(self, handle_signals: bool) -> None:
        if handle_signals:
            self.arm_exit_watchdog()
        self.stopping.clear()
        self.stop()

    # ------------------------------------------------------------------ crash recovery
    def recover(self) -> None:
        """Close rows left open by a crash at the last heartbeat; log slots missed meanwhile;
        air what still fits of a slot we are inside (`scheduler.recovery`)."""
        for occ, unfinished in recover(self.airlog, self.runner, self.clock.now()):
            self.enqueue_slot(occ, unfinished=unfinished)

    # ------------------------------------------------------------------ slots
    def slot_jobs(self) -> list[SlotJob]:
        return slot_jobs(self.station)

    def fire_slot(self, slot_name: str) -> None:
        """A slot's job fired (a little before the slot): queue its occurrence."""
        occ = occurrence_of(self.station, slot_name, self.clock.now())
        if occ is not None:
            self.enqueue_slot(occ)

    def slot_missed(self, slot_name: str, fire_time: datetime) -> None:
        """A job that ran too late to run at all (past its grace): the slot is missed."""
        occ = missed_occurrence(self.station, slot_name, fire_time)
        if occ is not None:
            self._missed_unless_logged(
                occ, "APScheduler missed the slot's start (machine busy or asleep)"
            )

    def check_clock(self, monotonic_s: float) -> float:
        """Called every heartbeat with the monotonic clock: a step of the wall clock (NTP,
        an operator, a dead RTC battery) is an event; the slots the clock jumped over get a
        missed row each (never silence without a row), the slot we landed inside airs what
        fits, and every job is rescheduled from the new time, so a slot that aired before a
        step back is found aired (the runner looks at its rows) and not aired again.
        Returns the step in seconds (0 when none)."""
        now = self.clock.now()
        mark, self._clock_mark = self._clock_mark, (now, monotonic_s)
        if mark is None:
            return 0.0
        expected = mark[0] + timedelta(seconds=monotonic_s - mark[1])
        step = (now - expected).total_seconds()
        if abs(step) < CLOCK_STEP_S:
            return 0.0
        self.airlog.event(
            "warning",
            "clock",
            f"đồng hồ hệ thống bị chỉnh (the system clock stepped) {step:+.0f} s: "
            f"{expected.isoformat(timespec='seconds')} -> {now.isoformat(timespec='seconds')}",
        )
        if step > 0:
            for occ in jumped_over(self.station, expected, now):
                self._missed_unless_logged(
                    occ, "đồng hồ nhảy qua buổi phát (the system clock jumped over the slot)"
                )
        self._reschedule(now, inside=True)
        return step

    def _reschedule(self, now: datetime, inside: bool) -> None:
        """Jobs anew from `now`; what they would skip to tomorrow is queued here (never twice
        on air: the runner looks for an occurrence's rows first)."""
        for occ in near_occurrences(self.station, now, inside):
            self.enqueue_slot(occ)
        if self._started:
            self.firing.schedule(self.slot_jobs())

    def _missed_unless_logged(self, occ: Occurrence, why: str) -> None:
        with self._missed_lock:
            if not self.airlog.rows_between(occ.slot.name, occ.at, occ.end):
                self.runner.record_missed(occ, why)

    def enqueue_slot(
        self, occ: Occurrence, priority: int = SLOT_PRIORITY, unfinished: bool = False
    ) -> Broadcast:
        return self._queue.slot(occ, priority, unfinished)

    # ------------------------------------------------------------------ ad hoc
    def enqueue_adhoc(self, spots: list[Spot], priority: str) -> Broadcast:
        item = self._queue.adhoc(spots, priority)
        current = self.runner.current
        if item.kind == "emergency" and current is not None and current.kind != "emergency":
            self.runner.cut_current(50)
        return item

    def queued(self) -> list[Broadcast]:
        """What waits to air, in the order it will."""
        return self._queue.pending()

    # ------------------------------------------------------------------ the air worker
    def air_until_stopped(self) -> None:
        """The air worker on the wall clock: air broadcasts as they come, until stopped."""
        while self._air_next(block=True):
            pass

    def air_queued(self) -> None:
        """Air what is queued now, in priority order, and return (on a virtual clock, after
        each step of the clock; also what a test calls to air what it queued)."""
        while self._air_next(block=False):
            pass

    def _air_next(self, block: bool) -> bool:
        """Air the next broadcast; False when there is none (not blocking) or it says stop."""
        item = self._queue.get(block)
        if item is None:
            return False
        if item.kind == "stop" or self.stopping.is_set():
            item.done.set()
            return item.kind != "stop"
        self._air(item)
        return True

    def _air(self, item: Broadcast) -> None:
        try:
            if item.occurrence is not None:
                item.outcome = self.runner.air_slot(item.occurrence, item.unfinished)
                if item.outcome.status == "cut" and not self.stopping.is_set():
                    # cut by an emergency: the rest of the slot airs after it, if time allows
                    self.enqueue_slot(item.occurrence, PRIORITIES["priority"])
                elif item.outcome.status == "device" and not self.stopping.is_set():
                    self._resume_when_device_is_back(item.occurrence)
            else:
                item.outcome = self.runner.air_adhoc(item.kind, item.spots)
        except Exception as exc:  # one bad broadcast never stops the station
            log.exception("broadcast failed")
            self._record_failure(item, f"{type(exc).__name__}: {exc}")
        finally:
            item.done.set()
        if self.on_aired is not None:
            try:
                self.on_aired(item)
            except Exception:
                log.exception("the on_aired observer failed")

    def _record_failure(self, item: Broadcast, error: str) -> None:
        """A broadcast that raised still leaves its rows: silence with no row is impossible."""
        why = f"phát lỗi (broadcast failed): {error}"
        try:
            if item.occurrence is not None:
                item.outcome = self.runner.record_missed(item.occurrence, why, status="failed")
            else:
                item.outcome = self.runner.record_failed_adhoc(item.kind, item.spots, why)
        except Exception:
            log.exception("could not even record the failure")
            self.airlog.event("error", "daemon", f"{item.kind}: {why}")

    def _resume_when_device_is_back(self, occ: Occurrence) -> None:
        """The sound device failed during a slot: once it works again, the rest of the slot
        airs if its time allows (the output reopens the device by itself, with backoff)."""

        def check() -> None:
            if self.stopping.is_set() or self.clock.now() >= occ.end:
                return
            if self.runner.output_error() is None:
                self.enqueue_slot(occ, PRIORITIES["priority"])
            else:
                self.firing.call_at(self.clock.now() + timedelta(seconds=DEVICE_POLL_S), check)

        self.firing.call_at(self.clock.now() + timedelta(seconds=DEVICE_POLL_S), check)

    # ------------------------------------------------------------------ reload, heartbeat
    def reload(self) -> bool:
        """Read config.toml again: a good edit takes effect at once (its jobs rescheduled), a
        bad one is refused and the last good config keeps running."""
        self.config_watch.seen()
        try:
            station = self.load_station()
        except Exception as exc:
            message = str(exc).strip()
            self.config_error = message
            self.airlog.event(
                "error",
                "config",
                "sửa đổi config.toml bị từ chối, vẫn chạy cấu hình cũ "
                f"(edit refused, the last good config keeps running):\n{message}",
            )
            return False
        self.config_error = None
        self.runner.station = station
        if self._started:
            self._reschedule(self.clock.now(), inside=False)
        self.airlog.event("info", "config", "config.toml reloaded (đã nạp lại cấu hình)")
        return True

    def status(self) -> dict[str, Any]:
        return status_document(
            station=self.station.id,
            config_error=self.config_error,
            airing=self.runner.current,
            queued=len(self._queue),
            output_error=self._output_error,
            airlog=self.airlog,
            next_runs=self.firing.next_runs(),
        )

    def _watch_output(self) -> None:
        """A device that fails or comes back is a problem `loa status` shows, once."""
        error = getattr(self.runner.output, "error", None)
        if error != self._output_error:
            if error:
                self.airlog.event("error", "output", f"thiết bị âm thanh (sound device): {error}")
            elif self._output_error:
                self.airlog.event("info", "output", "thiết bị âm thanh hoạt động lại (recovered)")
            self._output_error = error

    def _keep_own_files(self) -> None:
        """The control socket and the lock are files (beside the database, by default): if
        they are deleted (the data folder removed) `loa status` says no daemon runs,
        `loa play-now` plays a second stream here and a second `loa run` starts. Each
        heartbeat puts them back; one event when it does, one when it cannot (and when it
        then can)."""
        parts = (
            ("control", self.control, "ổ điều khiển (the control socket)"),
            ("lock", self.lock, "khoá một-daemon (the one-daemon lock)"),
        )
        for key, part, what in parts:
            ensure = getattr(part, "ensure", None)
            if ensure is None or not self._started or self.stopping.is_set():
                continue
            try:
                done = ensure()
            except Exception as exc:
                error = str(exc)
                if self._own_file_errors.get(key) != error:
                    self._own_file_errors[key] = error
                    self.airlog.event(
                        "error",
                        "daemon",
                        f"{what} bị xoá và không tạo lại được (was deleted and cannot be made "
                        f"again): {error}; `loa status` và `loa play-now` không tới được daemon "
                        "này: sửa lỗi rồi khởi động lại loa (fix it, then restart loa)",
                    )
                continue
            self._own_file_errors.pop(key, None)
            if done is not None:
                self.airlog.event(
                    "warning",
                    "daemon",
                    f"{what} {done} bị xoá khi loa đang chạy, đã tạo lại (was deleted while "
                    "loa was running; made again): kiểm tra ai hoặc chương trình nào đã xoá "
                    "thư mục dữ liệu (find out what deleted it)",
                )

    def beat(self) -> None:
        self._watch_output()
        try:
            self.airlog.beat(
                self.clock.now(),
                pid=os.getpid(),
                started_at=self.started_at,
                state=json.dumps(self.status(), ensure_ascii=False),
            )
        except Exception:
            log.exception("heartbeat failed")
        self._keep_own_files()  # after the database's own check (it may restore data/)

    # ------------------------------------------------------------------ control channel
    def handle_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """One request of the control channel (`scheduler.control_protocol`)."""
        return handle_request(self, request)

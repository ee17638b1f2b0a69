"""The daemon's bulletins: the board the runner plans and airs them from (the background
fetcher that fills it is scheduler.bulletin_fetch, imported only with `[central] url`).

The board reads the station's bulletin rows and the airtime log at each use: khan-cap ones are
handed to the air worker as emergencies, the others enter the slots (scheduler.bulletin_rules).

An airing that failed (the file unreadable, the device failing, the output refusing the plan) is
tried again while the daemon runs: a khan-cap one after `RETRY_S` (10 s, 30 s, 1 min, 2 min,
5 min), a head bulletin at the next slots; after `MAX_ATTEMPTS` failed attempts it is given up
until the daemon restarts. Each failure, retry and giving up is a station event (so `loa status`
shows it), once per change; every failed attempt is a `failed` airtime row (the output's).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from airtime.bulletin_spot import parse_spot, spot_id
from playlists.types import Plan, SlotRequest
from scheduler import bulletin_store as store
from scheduler.bulletin_rules import (
    MAX_ATTEMPTS,
    RETRY_S,
    Planner,
    emergencies,
    head_first,
    heads_slot,
    live,
    retry_after,
    slot_spots,
    to_spot,
)
from scheduler.spec import Spot

if TYPE_CHECKING:
    from scheduler.station_db import StationDB

log = logging.getLogger("loa.bulletins")

EventSink = Callable[[str, str, str], None]
AirNow = Callable[[list[Spot]], Any]


class Board:
    """What the slots and the air worker take from the station's bulletins."""

    def __init__(
        self,
        db: StationDB,
        station: str,
        root: Callable[[], Path],
        tz: ZoneInfo,
        topics: Callable[[], Collection[str]] | None = None,
    ) -> None:
        # the station's topic ids (a thuong bulletin of another topic heads a slot instead)
        self.topics: Callable[[], Collection[str] | None] = topics or (lambda: None)
        self.db = db  # the station database (the daemon's one sqlite3 connection)
        self.station = station
        self.root = root
        self.tz = tz
        self.event: EventSink | None = None  # station events (the wiring sets the airlog's)
        self.started_at = store.now()  # failed attempts are counted since the daemon started
        self.retry_s: Sequence[float] = RETRY_S  # the waits between attempts (tests shorten)
        self.sent: set[int] = set()  # khan-cap ones handed to the air worker, not yet settled
        self.handed: dict[int, Any] = {}  # bulletin -> the broadcast it airs in (its .done)
        self.failures: dict[int, int] = {}  # failed attempts since the start
        self.retry_at: dict[int, float] = {}  # monotonic time of the next attempt
        self.given_up: set[int] = set()
        self._withdrawn: set[int] | None = None
        self._lock = threading.RLock()
        self._timers: list[threading.Timer] = []
        self._air_now: AirNow | None = None
        self._told: dict[int, str] = {}

    def today(self) -> Any:
        return datetime.now(self.tz).date()

    def rows(self) -> list[store.Bulletin]:
        return store.all_rows(self.db)

    def source(self, library: Callable[[], Sequence[Spot]]) -> Callable[[], list[Spot]]:
        """The runner's spot source: the library's spots and the bulletins a slot may air."""

        def spots() -> list[Spot]:
            mine: list[Spot] = []
            try:
                aired = store.airings(self.db, self.station)
                rows = self.without_given_up(self.rows())
                mine = slot_spots(rows, self.today(), aired, self.root(), self.topics())
            except Exception:  # the bulletins never hold up the station's own spots
                log.exception("cannot read the bulletins; the slot airs without them")
            return [*library(), *mine]

        return spots

    def planner(self, base: Planner) -> Planner:
        """The runner's planner: the head bulletins first, then what `base` plans."""

        def plan(request: SlotRequest, spots: Sequence[Spot]) -> Plan:
            try:
                aired = store.airings(self.db, self.station)
                day = request.start.astimezone(self.tz).date()
                heads = [
                    spot_id(r.id, r.priority)
                    for r in sorted(
                        self.without_given_up(self.rows()),
                        key=lambda r: (r.priority != "uu-tien", r.id),
                    )
                    if heads_slot(r, self.topics()) and live(r, day, aired, self.topics())
                ]
            except Exception:
                log.exception("cannot read the bulletins; the slot airs without them")
                heads = []
            return head_first(request, spots, heads, base)

        return plan

    # ------------------------------------------------------------------ withdrawn
    def is_withdrawn(self, bulletin: int) -> bool:
        """Withdrawn, as the station knows it (the guard asks at every item start)."""
        with self._lock:
            if self._withdrawn is None:
                self._withdrawn = {r.id for r in self.rows() if r.withdrawn_at is not None}
            return bulletin in self._withdrawn

    def withdrawn(self, bulletin: int) -> None:
        """The fetcher recorded a withdrawal: no attempt of it is made again."""
        with self._lock:
            if self._withdrawn is not None:
                self._withdrawn.add(bulletin)
            self.retry_at.pop(bulletin, None)

    # ------------------------------------------------------------------ failed attempts
    def _tell(self, bulletin: int, level: str, message: str) -> None:
        """A bulletin's airing trouble, told once per change of message."""
        if self._told.get(bulletin) == message:
            return
        self._told[bulletin] = message
        text = f"bản tin (bulletin) {bulletin}: {message}"
        if self.event is not None:
            try:
                self.event(level, "bulletin", text)
                return
            except Exception:
                log.exception("could not record a bulletin event")
        log.warning("%s", text)

    def without_given_up(self, rows: list[store.Bulletin]) -> list[store.Bulletin]:
        """The rows a slot may plan: a head bulletin that failed MAX_ATTEMPTS times since the
        start waits for a restart (its failed rows are in the log)."""
        failed = store.failures_since(self.db, self.station, self.started_at)
        out = []
        for r in rows:
            n = failed.get(str(r.id), 0)
            if r.priority != "khan-cap" and n >= MAX_ATTEMPTS:
                self._tell(
                    r.id,
                    "error",
                    f"phát lỗi {n} lần, thôi thử đến khi khởi động lại (its airing failed {n} "
                    "times: given up until the daemon restarts; `loa airtime log` shows why)",
                )
                continue
            if r.priority != "khan-cap" and n:
                self._tell(
                    r.id,
                    "warning",
                    f"phát lỗi {n} lần, thử lại ở buổi sau (its airing failed {n} times: tried "
                    f"again at the next slot, at most {MAX_ATTEMPTS} times)",
                )
            out.append(r)
        return out

    def _settle(self, bulletin: int, monotonic: float) -> None:
        """Its broadcast is over: an airing that did not complete (failed, or cut short) of
        one still live is tried again later, or given up. One that completed stays handed
        over until the next start (a khan-cap `--times N` airs once per start, as before)."""
        self.handed.pop(bulletin, None)
        row = store.get(self.db, bulletin)
        aired = store.airings(self.db, self.station)
        last = store.last_airing(self.db, self.station, bulletin)
        if row is None or not live(row, self.today(), aired, self.topics()):
            self.failures.pop(bulletin, None)
            self._told.pop(bulletin, None)
            return
        if last is not None and last[0] == "completed":
            self.failures.pop(bulletin, None)
            return
        self.sent.discard(bulletin)
        why = f"{last[0]}{f': {last[1]}' if last and last[1] else ''}" if last else "no row"
        n = self.failures[bulletin] = self.failures.get(bulletin, 0) + 1
        after = retry_after(n, self.retry_s)
        total = len(self.retry_s) + 1
        if after is None:
            self.given_up.add(bulletin)
            self._tell(
                bulletin,
                "error",
                f"phát khẩn cấp lỗi {n} lần, thôi thử đến khi khởi động lại (the emergency "
                f"failed {n} times, given up until the daemon restarts): {why}",
            )
            return
        self.retry_at[bulletin] = monotonic + after
        self._tell(
            bulletin,
            "warning",
            f"phát khẩn cấp lỗi, thử lại sau {after:.0f} s (the emergency's airing failed, "
            f"attempt {n + 1} of {total} in {after:.0f} s): {why}",
        )
        self._later(after)

    def _later(self, seconds: float) -> None:
        if self._air_now is None:
            return
        air_now = self._air_now
        timer = threading.Timer(seconds, lambda: self.air_emergencies(air_now))
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _watch(self, bulletin: int, broadcast: Any) -> None:
        """Settle the bulletin once its broadcast is over (a broadcast without `done`, as a
        benchmark's, is never settled: tried once per start)."""
        done = getattr(broadcast, "done", None)
        if done is None:
            return

        def wait() -> None:
            done.wait()
            try:
                with self._lock:
                    self._settle(bulletin, time.monotonic())
            except Exception:
                log.exception("cannot settle bulletin %s", bulletin)

        threading.Thread(target=wait, name=f"loa-bulletin-{bulletin}", daemon=True).start()

    def next_retry_s(self) -> float | None:
        """Seconds until the next attempt of a failed emergency (None: none is waiting)."""
        with self._lock:
            if not self.retry_at:
                return None
            return max(0.0, min(self.retry_at.values()) - time.monotonic())

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()

    # ------------------------------------------------------------------ khan-cap
    def air_emergencies(self, air_now: AirNow) -> list[Spot]:
        """Hand the khan-cap bulletins due now to the air worker, each as its own emergency
        (a withdrawal then cuts that one alone); returns what was handed."""
        with self._lock:
            self._air_now = air_now
            due = self.due_emergencies()
            for spot in due:
                found = parse_spot(spot.id)
                broadcast = air_now([spot])
                if found is not None:
                    bid = int(found[0])
                    self.handed[bid] = broadcast
                    self._watch(bid, broadcast)
            return due

    def due_emergencies(self) -> list[Spot]:
        """khan-cap bulletins to air now: live, not on air or queued already, not waiting for
        their next attempt, not given up."""
        with self._lock:
            aired = store.airings(self.db, self.station)
            now = time.monotonic()
            waiting = {b for b, at in self.retry_at.items() if at > now}
            skip = self.sent | self.given_up | waiting
            due = emergencies(self.rows(), self.today(), aired, skip)
            for r in due:
                self.retry_at.pop(r.id, None)
            self.sent.update(r.id for r in due)
            return [to_spot(r, self.root(), whole=True) for r in due]

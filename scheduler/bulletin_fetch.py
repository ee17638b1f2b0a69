"""The daemon's background fetch of bulletins from the central database.

The fetcher (modelled on scheduler.pusher) holds one connection under the station's own role,
LISTENs on the bulletins channel and re-reads what is addressed to the station whenever it is
told, and every `poll_s` anyway (the fallback when notifications are lost). A new bulletin is
downloaded, its SHA-256 checked (a corrupted download is refused, logged, and fetched again at
the next try), stored in the library's bulletin folder, measured as the library measures a spot
(a file the library refuses is refused, and reported so), and reported `delivered`; the
operator's acceptance or refusal (`loa bulletin accept|refuse`, written into the station
database) goes up the same way. A withdrawal is recorded as soon as the station learns of it,
and the bulletin is taken off the air if it airs or waits to (`on_withdrawn`: the output's
guard, scheduler.bulletin_guard). Once an hour the files of finished bulletins are removed
after their retention (scheduler.bulletin_retention); a finished one's file is not fetched again.
While the network or the server is down it retries with a doubling delay capped at `poll_s`,
and the station airs what it holds. Failures are station events, once per change of message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import psycopg

from central import bulletin_feed as feed
from central.conn import connect
from central.errors import CentralError
from scheduler import bulletin_retention as retention
from scheduler import bulletin_store as store
from scheduler.backoff import doubling_delay
from scheduler.bulletins import Board
from scheduler.spec import Spot

log = logging.getLogger("loa.bulletins")

EventSink = Callable[[str, str, str], None]
FIRST_RETRY_S = 2.0
# The LISTEN connection is held open for hours: a network that drops without a reset (a cut
# cable, a dead village router) is found within about half a minute, then reconnected.
KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30000,
}


class Measured(Protocol):
    playable_s: float
    trim_start_s: float
    gain_db: float


class Fetcher:
    def __init__(
        self,
        board: Board,
        url: str,
        measure: Callable[[Path], Measured],
        air_now: Callable[[list[Spot]], Any],
        event: EventSink | None = None,
        poll_s: float = 30.0,
        first_retry_s: float = FIRST_RETRY_S,
        on_withdrawn: Callable[[int], Any] | None = None,
        keep_days: float = retention.KEEP_DAYS,
    ) -> None:
        self.board = board
        self.url = url
        self.measure = measure
        self.air_now = air_now
        self.event = event
        self.poll_s = poll_s
        self.first_retry_s = first_retry_s
        self.on_withdrawn = on_withdrawn  # the output's guard: off the air at once
        self.keep_days = keep_days
        self._pruned_at = -1e18  # monotonic time of the last clean-up of old files
        self.failures = 0
        self.error: str | None = None
        self._problems: dict[int, str] = {}
        self._conn: psycopg.Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.retry_soon = False
        self._verified: dict[int, tuple[int, int]] = {}  # id -> (size, mtime_ns) last hashed

    # ------------------------------------------------------------------ one pass
    def _file_ok(self, root: Path, row: store.Bulletin) -> bool:
        """The stored file is whole: hashed again only when its size or mtime changed."""
        try:
            st = (root / row.path).stat()
        except OSError:
            return False
        mark = (st.st_size, st.st_mtime_ns)
        if self._verified.get(row.id) == mark:
            return True
        if not store.file_ok(root, row):
            return False
        self._verified[row.id] = mark
        return True

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.url, autocommit=True, **KEEPALIVE)
            feed.listen(self._conn)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                log.debug("closing the bulletins connection failed", exc_info=True)
        self._conn = None

    def _tell(self, level: str, message: str) -> None:
        if self.event is not None:
            try:
                self.event(level, "bulletin", message)
                return
            except Exception:
                log.exception("could not record a bulletin event")
        log.log(logging.WARNING if level != "info" else logging.INFO, "%s", message)

    def _problem(self, bulletin: int, message: str | None) -> None:
        """A bulletin's trouble, told once per change of message."""
        if message is None:
            self._problems.pop(bulletin, None)
            return
        if self._problems.get(bulletin) != message:
            self._problems[bulletin] = message
            self._tell("warning", f"bản tin (bulletin) {bulletin}: {message}")

    def _receive(self, conn: psycopg.Connection, offer: feed.Offered) -> None:
        root = self.board.root()
        data = feed.audio(conn, offer.id)
        try:
            kept = store.store_file(root, offer.id, offer.sha256, data, Path(offer.filename).suffix)
        except ValueError as exc:
            self.retry_soon = True
            self._problem(
                offer.id,
                f"tải về bị hỏng, đã từ chối, sẽ tải lại (corrupted download refused, fetched "
                f"again): {exc}",
            )
            return
        self._problem(offer.id, None)
        now = store.now()
        row = store.Bulletin(
            id=offer.id, title=offer.title, priority=offer.priority, topic=offer.topic,
            valid_from=offer.valid_from, valid_until=offer.valid_until, times=offer.times,
            filename=offer.filename, sha256=offer.sha256, path=kept.path, playable_s=0.0,
            sent_at=offer.created_at, received_at=now, withdrawn_at=offer.withdrawn_at,
        )  # fmt: skip
        try:
            info = self.measure(kept.file)
            row.playable_s, row.trim_start_s = info.playable_s, info.trim_start_s
            row.gain_db = info.gain_db
        except ValueError as exc:
            row.refused_at = now
            row.note = f"thư viện của đài từ chối (the station's library refuses it): {exc}"
            self._tell("warning", f"bản tin (bulletin) {offer.id}: {row.note}")
        old = store.get(self.board.db, offer.id)
        if old is not None:  # fetched again (its file was lost): the decisions stay
            row.received_at, row.accepted_at = old.received_at, old.accepted_at
            row.refused_at = old.refused_at or row.refused_at
            row.note, row.reported = old.note or row.note, old.reported
        store.save(self.board.db, row)
        self._tell(
            "info",
            f"nhận bản tin (bulletin received) {offer.id} [{offer.priority}]: {offer.title}",
        )

    def sync_once(self) -> None:
        """Fetch what is new, record withdrawals, report decisions, air emergencies. Raises on
        a network or server failure (the loop retries)."""
        self.retry_soon = False
        conn = self._connection()
        db = self.board.db
        root = self.board.root()
        local = {r.id: r for r in store.all_rows(db)}
        station = self.board.station
        finished: dict[int, Any] | None = None  # read only when a file is missing

        def done_with(row: store.Bulletin) -> bool:
            nonlocal finished
            if finished is None:
                finished = retention.finished(db, station, local.values(), self.board)
            return row.id in finished

        for offer in feed.offered(conn):
            mine = local.get(offer.id)
            if offer.withdrawn_at is not None and (mine is None or mine.withdrawn_at is None):
                if mine is None:
                    continue  # withdrawn before it reached us: nothing to air or report
                self._withdraw(offer.id, offer.withdrawn_at)
            elif mine is None or (not self._file_ok(root, mine) and not done_with(mine)):
                self._receive(conn, offer)  # new, or its file lost while it may still air
        self.air_emergencies()  # before the reports: a khan-cap one is on the air sooner
        done = feed.reported(conn)
        for row in store.all_rows(db):
            states = [("delivered", row.received_at, None)]
            if row.accepted_at is not None:
                states.append(("accepted", row.accepted_at, None))
            if row.refused_at is not None:
                states.append(("refused", row.refused_at, row.note))
            fresh = [s for s in states if (row.id, s[0]) not in done]
            for state, at, note in fresh:
                feed.report(conn, row.id, state, at, note)
            reported = ",".join(s[0] for s in states)
            if fresh or row.reported != reported:
                store.update(db, row.id, reported=reported)

    def _withdraw(self, bulletin: int, at: Any) -> None:
        """Recorded, and off the air at once if it is airing or about to."""
        store.update(self.board.db, bulletin, withdrawn_at=at)
        self.board.withdrawn(bulletin)
        cut = 0
        if self.on_withdrawn is not None:
            try:
                cut = self.on_withdrawn(bulletin) or 0
            except Exception:
                log.exception("could not take bulletin %s off the air", bulletin)
        self._tell(
            "info",
            f"bản tin (bulletin) {bulletin} đã bị thu hồi (withdrawn)"
            + (", đã cắt khỏi sóng (cut off the air)" if cut else ""),
        )

    def air_emergencies(self) -> None:
        try:
            due = self.board.air_emergencies(self.air_now)
        except Exception:
            log.exception("cannot read the bulletins for emergencies")
            return
        if due:
            log.info("khan-cap bulletin(s) on air now: %s", ", ".join(s.title for s in due))

    def prune(self, every_s: float = 3600.0) -> int:
        """Remove the files of bulletins done with (at most once every `every_s`)."""
        now = time.monotonic()
        if now - self._pruned_at < every_s:
            return 0
        self._pruned_at = now
        try:
            gone = retention.prune(self.board.db, self.board.station, self.board, self.keep_days)
        except Exception:
            log.exception("cannot clean up old bulletin files")
            return 0
        for name in gone:
            self._verified.pop(int(name.split("-", 1)[0]) if name[:1].isdigit() else -1, None)
        if gone:
            self._tell(
                "info",
                f"đã xoá {len(gone)} tệp bản tin cũ (removed {len(gone)} old bulletin files, "
                f"kept {self.keep_days:g} days after their last use): {', '.join(gone[:5])}",
            )
        return len(gone)

    # ------------------------------------------------------------------ the thread
    def _failed(self, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, CentralError) else f"{type(exc).__name__}: {exc}"
        self.failures += 1
        if message != self.error:
            self._tell("warning", f"nhận bản tin lỗi (bulletins: fetch failed): {message}")
        self.error = message
        self._drop()

    def _recovered(self) -> None:
        if self.failures:
            self._tell(
                "info",
                f"nhận bản tin hoạt động lại (bulletins: fetching again) after {self.failures} "
                "failed attempts",
            )
        self.failures, self.error = 0, None

    def _wait(self, seconds: float) -> None:
        """Until told (NOTIFY), `seconds` passed, or stop."""
        conn = self._conn
        if conn is None:
            self._stop.wait(seconds)
            return
        step = min(1.0, seconds)
        waited = 0.0
        while waited < seconds and not self._stop.is_set():
            got = list(conn.notifies(timeout=step, stop_after=1))
            if got:
                # a burst (one send to many stations) is one wake: gather what follows it
                list(conn.notifies(timeout=0.05))
                return
            waited += step

    def next_delay(self) -> float:
        if self.failures:
            return doubling_delay(self.failures, self.first_retry_s, self.poll_s)
        return min(self.poll_s, self.first_retry_s) if self.retry_soon else self.poll_s

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.sync_once()
                    self._recovered()
                except Exception as exc:  # the network, the server: logged, retried
                    self._failed(exc)
                    self.air_emergencies()  # what the station holds still airs
                self.prune()
                try:
                    self._wait(self.next_delay())
                except Exception as exc:
                    self._failed(exc)

        self._thread = threading.Thread(target=loop, name="loa-bulletins", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.board.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._drop()

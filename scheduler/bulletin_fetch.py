"""The daemon's background fetch of bulletins from the central database.

The fetcher (modelled on scheduler.pusher) holds one connection under the station's own role,
LISTENs on the bulletins channel and re-reads what is addressed to the station whenever it is
told, and every `poll_s` anyway (the fallback when notifications are lost). A new bulletin is
downloaded, its SHA-256 checked (a corrupted download is refused, logged, and fetched again at
the next try), stored in the library's bulletin folder, measured as the library measures a spot
(a file the library refuses is refused, and reported so), and reported `delivered`; the
operator's acceptance or refusal (`loa bulletin accept|refuse`, written into the station
database) goes up the same way. A withdrawal is recorded as soon as the station learns of it.
While the network or the server is down it retries with a doubling delay capped at `poll_s`,
and the station airs what it holds. Failures are station events, once per change of message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import psycopg

from central import bulletin_feed as feed
from central.conn import connect
from central.errors import CentralError
from scheduler import bulletin_store as store
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
    ) -> None:
        self.board = board
        self.url = url
        self.measure = measure
        self.air_now = air_now
        self.event = event
        self.poll_s = poll_s
        self.first_retry_s = first_retry_s
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
        old = store.get(self.board.engine, offer.id)
        if old is not None:  # fetched again (its file was lost): the decisions stay
            row.received_at, row.accepted_at = old.received_at, old.accepted_at
            row.refused_at = old.refused_at or row.refused_at
            row.note, row.reported = old.note or row.note, old.reported
        store.save(self.board.engine, row)
        self._tell(
            "info",
            f"nhận bản tin (bulletin received) {offer.id} [{offer.priority}]: {offer.title}",
        )

    def sync_once(self) -> None:
        """Fetch what is new, record withdrawals, report decisions, air emergencies. Raises on
        a network or server failure (the loop retries)."""
        self.retry_soon = False
        conn = self._connection()
        engine = self.board.engine
        root = self.board.root()
        local = {r.id: r for r in store.all_rows(engine)}
        for offer in feed.offered(conn):
            mine = local.get(offer.id)
            if mine is None or not self._file_ok(root, mine):
                if offer.withdrawn_at is not None and mine is None:
                    continue  # withdrawn before it reached us: nothing to air or report
                self._receive(conn, offer)
            elif offer.withdrawn_at is not None and mine.withdrawn_at is None:
                store.update(engine, offer.id, withdrawn_at=offer.withdrawn_at)
                self._tell("info", f"bản tin (bulletin) {offer.id} đã bị thu hồi (withdrawn)")
        done = feed.reported(conn)
        for row in store.all_rows(engine):
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
                store.update(engine, row.id, reported=reported)
        self.air_emergencies()

    def air_emergencies(self) -> None:
        try:
            due = self.board.due_emergencies()
        except Exception:
            log.exception("cannot read the bulletins for emergencies")
            return
        if due:
            log.info("khan-cap bulletin(s) on air now: %s", ", ".join(s.title for s in due))
            self.air_now(due)

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
            return min(self.poll_s, self.first_retry_s * 2 ** min(self.failures - 1, 20))
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
                try:
                    self._wait(self.next_delay())
                except Exception as exc:
                    self._failed(exc)

        self._thread = threading.Thread(target=loop, name="loa-bulletins", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._drop()

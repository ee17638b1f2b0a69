"""The daemon's background push to the district's central database.

A thread of its own, never in a slot's path: every `every_s` it pushes the log (resumable by
the chain, central.push), the station's events, heartbeat and schedule. While the network or
the server is down it retries sooner, with a doubling delay (`retry_delay`, pure) capped at
`every_s`. Its state (last attempt, last success, the central chain position, the last error,
consecutive failures) is kept in the station's database (`push_state`) for `loa status`; a
failure is written to the station's events once per change of message, and the recovery once.

Each push runs in a child process (`central.push_process`): the push needs SQLAlchemy and
psycopg, which `loa run` never imports (issue 17). This thread keeps everything else: the
schedule, the backoff, the events and `push_state`, which only it writes (plain SQL on the
daemon's `StationDB`; the child only reads the log). A child still running after `timeout_s`
is killed, a failure like any other; `stop()` kills a running child.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from airtime.row import utc_text
from central.push_process import ChildPush, PushAnswer, PushRequest, StationReport
from scheduler.backoff import doubling_delay
from scheduler.sqlite_read import StationReader
from scheduler.station_db import StationDB

log = logging.getLogger("loa.pusher")

FIRST_RETRY_S = 10.0
# a first push of a long log over a slow link may take minutes; one killed part way loses
# nothing (whole batches stay written) and the next goes on from there
PUSH_TIMEOUT_S = 900.0
STOP_WAIT_S = 5.0

EventSink = Callable[[str, str, str], None]

_SAVE = """
INSERT INTO push_state (station, attempt_at, pushed_at, central_head, error, failures)
VALUES (:station, :attempt_at, NULL, 0, :error, :failures)
ON CONFLICT (station) DO UPDATE SET
  attempt_at = excluded.attempt_at, error = excluded.error, failures = excluded.failures
"""
_SAVE_PUSHED = """
INSERT INTO push_state (station, attempt_at, pushed_at, central_head, error, failures)
VALUES (:station, :attempt_at, :pushed_at, :central_head, NULL, 0)
ON CONFLICT (station) DO UPDATE SET
  attempt_at = excluded.attempt_at, pushed_at = excluded.pushed_at,
  central_head = excluded.central_head, error = NULL, failures = 0
"""


def retry_delay(failures: int, every_s: float, first_s: float = FIRST_RETRY_S) -> float:
    """Seconds until the next push: `every_s` after a success, else first_s, 2x, 4x, ... capped."""
    if failures <= 0:
        return every_s
    return doubling_delay(failures, first_s, every_s)


def read_state(db: StationDB, station: str) -> dict[str, object] | None:
    """The station's `push_state` row (times aware UTC): `StationReader.push_state`, the one
    copy of that read, on the daemon's connection."""
    with db.connection() as conn:
        return StationReader(conn, station).push_state()


class Pusher:
    def __init__(
        self,
        db: StationDB,
        station: str,
        url: str,
        every_s: float,
        report: Callable[[], StationReport] | None = None,
        event: EventSink | None = None,
        first_retry_s: float = FIRST_RETRY_S,
        timeout_s: float = PUSH_TIMEOUT_S,
    ) -> None:
        self.db = db
        self.station = station
        self.url = url
        self.every_s = every_s
        self.report = report
        self.event = event
        self.first_retry_s = first_retry_s
        self.timeout_s = timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # the child of the push under way, and the stop
        self._child: ChildPush | None = None
        state = read_state(db, station) or {}
        self.failures = int(state.get("failures") or 0)  # type: ignore[call-overload]
        self.error = state.get("error")

    def _save(self, sql: str, values: dict[str, object]) -> None:
        """Write `push_state`; a database that refuses (a full disk) is logged, not raised:
        the next push writes it again."""
        try:
            with self.db.transaction() as conn:
                conn.execute(sql, {"station": self.station, **values})
        except sqlite3.Error as exc:
            log.warning("cannot record the push in push_state: %s", exc)

    def _run_child(self) -> PushAnswer | None:
        """The push in its child process; None when `stop()` came first or ended it."""
        report = self.report() if self.report is not None else None
        request = PushRequest(str(self.db.path), self.station, self.url, report)
        with self._lock:
            if self._stop.is_set():
                return None
            self._child = child = ChildPush(request)
        try:
            answer = child.run(self.timeout_s)
        finally:
            with self._lock:
                self._child = None
        return None if self._stop.is_set() else answer

    def push_once(self) -> bool:
        """One push; its outcome recorded. Never raises (the station goes on)."""
        now = datetime.now(UTC)
        try:
            answer = self._run_child()
        except Exception as exc:  # the report could not be built: a failure like the others
            answer = PushAnswer.failed(f"{type(exc).__name__}: {exc}")
        if answer is None:  # stopped: not the network's failure, nothing to record
            return False
        if not answer.ok:
            message = answer.error or "the push failed"
            self.failures += 1
            if message != self.error:
                if self.event is not None:
                    text = f"gửi lên trung tâm lỗi (push failed): {message}"
                    self.event("warning", "central", text)
                else:
                    log.warning("push to the central database failed: %s", message)
            self.error = message
            values = {"attempt_at": utc_text(now), "error": message, "failures": self.failures}
            self._save(_SAVE, values)
            return False
        if self.failures and self.event is not None:
            self.event(
                "info",
                "central",
                f"đã gửi lại được (pushed again) after {self.failures} failed attempts",
            )
        self.failures, self.error = 0, None
        values = {
            "attempt_at": utc_text(now),
            "pushed_at": utc_text(datetime.now(UTC)),
            "central_head": answer.head,
        }
        self._save(_SAVE_PUSHED, values)
        log.info("pushed %d rows (central chain at %d)", answer.copied, answer.head)
        return True

    def next_delay(self) -> float:
        return retry_delay(self.failures, self.every_s, self.first_retry_s)

    def start(self, first_delay_s: float = 5.0) -> None:
        def loop() -> None:
            delay = first_delay_s
            while not self._stop.wait(delay):
                self.push_once()
                delay = self.next_delay()

        self._thread = threading.Thread(target=loop, name="loa-pusher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread: a push under way is killed (whole batches stay written; the next
        start goes on from them), so the daemon's stop never waits for the network."""
        with self._lock:
            self._stop.set()
            child = self._child
        if child is not None:
            child.kill()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT_S)

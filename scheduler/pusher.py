"""The daemon's background push to the district's central database.

A thread of its own, never in a slot's path: every `every_s` it pushes the log (resumable by
the chain, central.push), the station's events, heartbeat and schedule. While the network or
the server is down it retries sooner, with a doubling delay (`retry_delay`, pure) capped at
`every_s`. Its state (last attempt, last success, the central chain position, the last error,
consecutive failures) is kept in the station's database (`push_state`) for `loa status`; a
failure is written to the station's events once per change of message, and the recovery once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from central.errors import CentralError
from central.push import StationReport, push
from scheduler.backoff import doubling_delay
from scheduler.models import PushState

log = logging.getLogger("loa.pusher")

P = PushState.__table__  # type: ignore[attr-defined]
FIRST_RETRY_S = 10.0

EventSink = Callable[[str, str, str], None]


def retry_delay(failures: int, every_s: float, first_s: float = FIRST_RETRY_S) -> float:
    """Seconds until the next push: `every_s` after a success, else first_s, 2x, 4x, ... capped."""
    if failures <= 0:
        return every_s
    return doubling_delay(failures, first_s, every_s)


def read_state(engine: Engine, station: str) -> dict[str, object] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(P).where(P.c.station == station)).mappings().first()
    return dict(row) if row else None


class Pusher:
    def __init__(
        self,
        engine: Engine,
        station: str,
        url: str,
        every_s: float,
        report: Callable[[], StationReport] | None = None,
        event: EventSink | None = None,
        first_retry_s: float = FIRST_RETRY_S,
    ) -> None:
        self.engine = engine
        self.station = station
        self.url = url
        self.every_s = every_s
        self.report = report
        self.event = event
        self.first_retry_s = first_retry_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        state = read_state(engine, station) or {}
        self.failures = int(state.get("failures") or 0)  # type: ignore[call-overload]
        self.error = state.get("error")

    def _save(self, values: dict[str, object]) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(P.update().where(P.c.station == self.station).values(**values))
            if done.rowcount == 0:
                row = {"station": self.station, "central_head": 0, "failures": 0, **values}
                conn.execute(P.insert().values(**row))

    def push_once(self) -> bool:
        """One push; its outcome recorded. Never raises (the station goes on)."""
        now = datetime.now(UTC)
        try:
            report = self.report() if self.report is not None else None
            with self.engine.connect() as source:
                result = push(source, self.url, self.station, report)
        except Exception as exc:  # the network, the server, a refusal: logged, retried
            message = str(exc) if isinstance(exc, CentralError) else f"{type(exc).__name__}: {exc}"
            self.failures += 1
            if message != self.error:
                if self.event is not None:
                    text = f"gửi lên trung tâm lỗi (push failed): {message}"
                    self.event("warning", "central", text)
                else:
                    log.warning("push to the central database failed: %s", message)
            self.error = message
            self._save({"attempt_at": now, "error": message, "failures": self.failures})
            return False
        if self.failures and self.event is not None:
            self.event(
                "info",
                "central",
                f"đã gửi lại được (pushed again) after {self.failures} failed attempts",
            )
        self.failures, self.error = 0, None
        self._save(
            {
                "attempt_at": now,
                "pushed_at": datetime.now(UTC),
                "central_head": result.head,
                "error": None,
                "failures": 0,
            }
        )
        log.info("pushed %d rows (central chain at %d)", result.copied, result.head)
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
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

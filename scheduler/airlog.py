"""The engine's window on the database: airtime rows, play history, events, heartbeat.

Every method opens its own short session, so output threads, the scheduler's threads and
the control channel can all call it. The airtime package does the writing and chaining.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from airtime import log as airlog
from airtime.chain import OPEN
from airtime.models import Airtime, Event, new_id
from playlists.types import Play
from scheduler.models import DaemonState

log = logging.getLogger("loa.airlog")


class AirLog:
    def __init__(self, engine: Engine, station: str) -> None:
        self.engine = engine
        self.station = station
        self._pending: list[dict[str, object]] | None = None
        self._closed_order: list[int] = []

    def _session(self) -> Session:
        return Session(self.engine)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Collect the rows written inside and store them at the end in one transaction, chained
        in the order they were closed, as the per-row calls would have. For `loa simulate`
        (a year of rows in seconds); never for the daemon, where each row commits at once."""
        self._pending = []
        self._closed_order = []
        try:
            yield
        finally:
            pending, order = self._pending, self._closed_order
            self._pending = None
            self._closed_order = []
        self._store(pending, order)

    def _store(self, pending: list[dict[str, object]], order: list[int]) -> None:
        if not pending:
            return
        table = Airtime.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            airlog.chain_in_order(conn, self.station, [pending[i] for i in order])
            conn.execute(table.insert(), pending)

    # ------------------------------------------------------------------ airtime rows
    def open_play(self, **fields: object) -> int:
        if self._pending is not None:
            row = {
                "id": new_id(),
                "station": self.station,
                "status": OPEN,
                "played_s": 0.0,
                "ended_at": None,
                "error": None,
                **fields,
            }
            self._pending.append(row)
            return -len(self._pending)  # a batch position, not a seq
        with self._session() as session:
            row = airlog.open_play(session, station=self.station, **fields)  # type: ignore[arg-type]
            assert row.seq is not None
            return row.seq

    def close_play(
        self, seq: int, ended_at: datetime, played_s: float, status: str, error: str | None
    ) -> None:
        if self._pending is not None and seq < 0:
            index = -seq - 1
            self._pending[index].update(
                ended_at=ended_at, played_s=float(played_s), status=status, error=error
            )
            self._closed_order.append(index)
            return
        with self._session() as session:
            row = session.get(Airtime, seq)
            if row is None:
                raise LookupError(f"airtime row {seq} vanished")
            airlog.close_play(session, row, ended_at, played_s, status, error)

    def record(self, **fields: object) -> None:
        if self._pending is not None:
            row = {
                "id": new_id(),
                "station": self.station,
                "kind": "scheduled",
                "slot": None,
                "topic": None,
                "spot": None,
                "title": "",
                "path": "",
                "scheduled_at": None,
                "started_at": None,
                "ended_at": None,
                "played_s": 0.0,
                "error": None,
                **fields,
            }
            self._pending.append(row)
            self._closed_order.append(len(self._pending) - 1)
            return
        with self._session() as session:
            airlog.record_closed(session, station=self.station, **fields)  # type: ignore[arg-type]

    def rows_between(self, slot: str, start: datetime, end: datetime) -> list[Airtime]:
        """Rows of `slot` scheduled in [start, end): what this occurrence already aired."""
        with self._session() as session:
            query = (
                select(Airtime)
                .where(Airtime.station == self.station, Airtime.slot == slot)
                .where(Airtime.scheduled_at >= start, Airtime.scheduled_at < end)  # type: ignore[operator]
                .order_by(Airtime.seq)  # type: ignore[arg-type]
            )
            return list(session.exec(query))

    def history(self) -> list[Play]:
        """Every scheduled play that put sound on air, for the planner."""
        with self._session() as session:
            query = sa.select(
                Airtime.spot, Airtime.topic, Airtime.started_at, Airtime.played_s
            ).where(
                Airtime.station == self.station,
                Airtime.kind == "scheduled",
                Airtime.played_s > 0,
                Airtime.started_at.is_not(None),  # type: ignore[union-attr]
            )
            return [
                Play(spot, topic, start, played)
                for spot, topic, start, played in session.execute(query)
            ]

    def open_rows(self) -> list[Airtime]:
        with self._session() as session:
            query = select(Airtime).where(
                Airtime.station == self.station, Airtime.status == "playing"
            )
            return list(session.exec(query))

    def close_open(self, at: datetime) -> int:
        with self._session() as session:
            return len(airlog.close_open_plays(session, at, station=self.station))

    # ------------------------------------------------------------------ events and heartbeat
    def event(self, level: str, source: str, message: str, at: datetime | None = None) -> None:
        """A problem or notice for `loa status`; also logged."""
        getattr(log, "error" if level == "error" else level, log.info)("%s: %s", source, message)
        try:
            with self._session() as session:
                session.add(
                    Event(at=at or datetime.now(UTC), level=level, source=source, message=message)
                )
                session.commit()
        except sa.exc.SQLAlchemyError:
            log.exception("could not record the event in the database")

    def events(self, limit: int = 20) -> list[Event]:
        with self._session() as session:
            query = (
                select(Event)
                .order_by(Event.seq.desc())  # type: ignore[union-attr]
                .limit(limit)
            )
            return list(session.exec(query))

    def beat(self, at: datetime, *, pid: int, started_at: datetime, state: str = "{}") -> None:
        """The heartbeat: the last moment the daemon was known alive, and what it is doing."""
        with self._session() as session:
            row = session.get(DaemonState, self.station) or DaemonState(
                station=self.station, started_at=started_at, heartbeat_at=at
            )
            row.pid, row.started_at, row.heartbeat_at, row.state = pid, started_at, at, state
            session.add(row)
            session.commit()

    def daemon_state(self) -> DaemonState | None:
        with self._session() as session:
            return session.get(DaemonState, self.station)

"""The engine's window on the database: airtime rows, play history, events, heartbeat.

Every method takes the station database's one connection for one short transaction
(`scheduler.station_db.StationDB`, sqlite3: the daemon never imports SQLAlchemy, issue 17), so
output threads, the scheduler's threads and the control channel can all call it. The airtime
package does the writing and chaining.

When the database cannot be written (its disk is full, an I/O error, locked past the busy
timeout, a constraint or trigger refusing the row: any error the database raises) the daemon
airs on: each write is held in memory in order (`scheduler.airhold`) and
replayed, with its measured times, at the next write or heartbeat that succeeds. The outage
is one log line and one event when it starts and one when it ends, never one per heartbeat;
while it lasts, `outage()` says so for `loa status`, and reads (rows of an occurrence, open
rows, the planner's history) include what is held, so nothing airs twice meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from airtime import log as airlog
from airtime.chain import OPEN
from airtime.row import AirRow, new_id, utc_text
from playlists.types import Play
from scheduler.airhold import LIMIT, HoldQueue, apply_close, is_token
from scheduler.bulletin_store import with_bulletin
from scheduler.dbfile import DatabaseFile
from scheduler.sqlite_read import Row, StationReader
from scheduler.station_db import StationDB

# The fields a writer gives (batch or not): `airtime.log.open_play` / `record_closed`'s.
OPEN_FIELDS = frozenset(
    ("started_at", "kind", "slot", "topic", "spot", "title", "path", "scheduled_at")
)
RECORD_FIELDS = OPEN_FIELDS | {"status", "ended_at", "played_s", "error", "started_at"}


def _known(fields: dict[str, object], allowed: frozenset[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise TypeError(f"unknown airtime field(s): {', '.join(unknown)}")


log = logging.getLogger("loa.airlog")


class AirLog:
    def __init__(self, db: StationDB, station: str, hold_limit: int = LIMIT) -> None:
        self.db = db
        self.station = station
        self._pending: list[dict[str, object]] | None = None
        self._closed_order: list[int] = []
        self._held = HoldQueue(hold_limit)
        self._hold_lock = threading.RLock()
        self.db_error: str | None = None  # why the database cannot be written now
        self.db_error_since: datetime | None = None
        self._lost_reported = 0
        self._file = DatabaseFile(db)  # the SQLite file opened, checked every heartbeat
        self._file_check_failed = False

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
        with self.db.transaction() as conn:
            airlog.chain_in_order(conn, self.station, [pending[i] for i in order])
            airlog.insert_many(conn, [AirRow(**row) for row in pending])  # type: ignore[arg-type]

    # ------------------------------------------------------------------ airtime rows
    def open_play(self, **fields: object) -> int:
        fields = with_bulletin(fields)  # a bulletin's airing carries its id and priority
        if self._pending is not None:
            _known(fields, OPEN_FIELDS)
            airlog.check_open(
                str(fields.get("kind", "scheduled")),
                fields["started_at"],  # type: ignore[arg-type]
                fields.get("scheduled_at"),  # type: ignore[arg-type]
            )
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
        with self._hold_lock:
            token = self._held.token()
            seq = self._write("open", {"token": token, "fields": fields})
            if seq is None:
                return token
            self._held.seq_of.pop(token, None)
            return int(seq)

    def _open(self, token: int, fields: dict[str, Any]) -> int:
        with self.db.transaction() as conn:
            row = airlog.open_play(conn, station=self.station, **fields)
            assert row.seq is not None
            self._held.seq_of[token] = row.seq
            return row.seq

    def close_play(
        self, seq: int, ended_at: datetime, played_s: float, status: str, error: str | None
    ) -> None:
        if self._pending is not None and seq < 0:
            airlog.check_close(ended_at, played_s, status)
            index = -seq - 1
            self._pending[index].update(
                ended_at=ended_at, played_s=float(played_s), status=status, error=error
            )
            self._closed_order.append(index)
            return
        args = {"ref": seq, "ended_at": ended_at, "played_s": played_s}
        self._write("close", {**args, "status": status, "error": error})

    def _close(
        self, ref: int, ended_at: datetime, played_s: float, status: str, error: str | None
    ) -> None:
        seq = self._held.seq_of[ref] if is_token(ref) else ref
        with self.db.transaction() as conn:
            row = airlog.get(conn, seq)
            if row is None:
                raise LookupError(f"airtime row {seq} vanished")
            airlog.close_play(conn, row, ended_at, played_s, status, error)
        self._held.seq_of.pop(ref, None)  # only once written: a failed close is retried

    def record(self, **fields: object) -> None:
        fields = with_bulletin(fields)
        if self._pending is not None:
            _known(fields, RECORD_FIELDS)
            airlog.check_closed_row(
                str(fields.get("kind", "scheduled")),
                str(fields["status"]),
                fields.get("scheduled_at"),  # type: ignore[arg-type]
                fields.get("started_at"),  # type: ignore[arg-type]
                fields.get("ended_at"),  # type: ignore[arg-type]
                float(fields.get("played_s", 0.0)),  # type: ignore[arg-type]
            )
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
        self._write("record", {"fields": fields})

    def _record(self, fields: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            airlog.record_closed(conn, station=self.station, **fields)

    # ------------------------------------------------------------------ writes held in an outage
    def _write(self, op: str, args: dict[str, Any]) -> Any:
        """Write now, or hold the write (after those already held) while the database refuses.
        Returns the write's result, None when it was held."""
        with self._hold_lock:
            if not self.flush():
                self._hold(op, args)
                return None
            try:
                result = self._apply(op, args)
            except sqlite3.Error as exc:  # down, full, locked, or refusing: all may pass
                self._down(exc)
                self._hold(op, args)
                return None
            if self.db_error is not None:
                self._up()
            return result

    def _apply(self, op: str, args: dict[str, Any]) -> Any:
        do: dict[str, Callable[..., Any]] = {
            "open": self._open,
            "close": self._close,
            "record": self._record,
            "event": self._event,
            "close_open": self._close_open,
        }
        return do[op](**args)

    def _hold(self, op: str, args: dict[str, Any]) -> None:
        if not self._held.hold(op, args) and self._held.lost == 1:
            log.error(
                "database: %d writes held in memory, the most it keeps; later ones are lost "
                "until the database accepts writes again",
                self._held.limit,
            )

    def flush(self) -> bool:
        """Write what is held, in order. True when nothing is held any more."""
        with self._hold_lock:
            wrote = False
            while len(self._held):
                write = self._held.writes[0]
                try:
                    self._apply(write.op, write.args)
                except sqlite3.Error as exc:  # kept in order until the database takes it
                    self._down(exc)
                    return False
                except Exception:  # a write that can never succeed must not block the rest
                    log.exception("dropping a held write that cannot be stored: %s", write.op)
                self._held.writes.popleft()
                wrote = True
            if wrote and self.db_error is not None:
                self._up()
            return True

    def _down(self, exc: Exception) -> None:
        if self.db_error is not None:
            return
        self.db_error = str(exc).strip()
        self.db_error_since = datetime.now(UTC)
        message = (
            f"không ghi được cơ sở dữ liệu (cannot write the database): {self.db_error}; "
            "loa keeps airing and holds the airtime log in memory until it can write again"
        )
        log.error("database: %s", message)
        self._held.hold(
            "event",
            {"level": "error", "source": "database", "message": message, "at": self.db_error_since},
        )

    def _up(self) -> None:
        since, error = self.db_error_since, self.db_error
        self.db_error = self.db_error_since = None
        lost = self._held.lost - self._lost_reported
        self._lost_reported = self._held.lost
        seconds = (datetime.now(UTC) - since).total_seconds() if since else 0.0
        message = (
            f"ghi được cơ sở dữ liệu trở lại (the database accepts writes again) after "
            f"{seconds:.0f} s ({error}); the airtime held meanwhile is written"
            + (f"; {lost} writes were lost (over the in-memory limit)" if lost else "")
        )
        self.event("error" if lost else "warning", "database", message)

    def outage(self) -> dict[str, Any] | None:
        """The database outage now (for `loa status`), or None."""
        with self._hold_lock:
            if self.db_error is None:
                return None
            since = self.db_error_since
            return {
                "error": self.db_error,
                "since": since.isoformat() if since else None,
                "held": len(self._held),
                "lost": self._held.lost - self._lost_reported,
            }

    def held_lines(self) -> list[str]:
        """What is still held (one line each): for the journal if loa stops during an outage."""
        with self._hold_lock:
            return self._held.describe()

    def _overlay(self, rows: list[AirRow]) -> list[AirRow]:
        """Stored rows with their held closes applied, then the held rows."""
        with self._hold_lock:
            if not len(self._held):
                return rows
            closes = self._held.closes_of_stored()
            stored = [apply_close(r, closes[r.seq]) if r.seq in closes else r for r in rows]
            return stored + self._held.rows(self.station)

    def rows_between(self, slot: str, start: datetime, end: datetime) -> list[AirRow]:
        """Rows of `slot` scheduled in [start, end): what this occurrence already aired."""
        with self.db.connection() as conn:
            found = airlog.select(
                conn,
                "station = ? AND slot = ? AND scheduled_at >= ? AND scheduled_at < ?",
                *(self.station, slot, utc_text(start), utc_text(end)),
            )
        if not len(self._held):
            return found
        return [
            r
            for r in self._overlay(found)
            if r.slot == slot and r.scheduled_at is not None and start <= r.scheduled_at < end
        ]

    def history(self) -> list[Play]:
        """Every scheduled play that put sound on air, for the planner."""
        with self.db.connection() as conn:
            plays = StationReader(conn, self.station).history()
        with self._hold_lock:
            held = self._held.rows(self.station) if len(self._held) else []
            closes = self._held.closes_of_stored() if len(self._held) else {}
        if closes:  # stored open rows whose close is held: they aired
            with self.db.connection() as conn:
                for seq, args in closes.items():
                    row = airlog.get(conn, seq)
                    if row is not None:
                        held.append(apply_close(row, args))
        plays += [
            Play(r.spot, r.topic, r.started_at, r.played_s)
            for r in held
            if r.kind == "scheduled" and r.played_s > 0 and r.started_at is not None
        ]
        return plays

    def open_rows(self) -> list[AirRow]:
        with self.db.connection() as conn:
            found = airlog.select(conn, "station = ? AND status = ?", self.station, OPEN)
        return [r for r in self._overlay(found) if r.status == OPEN]

    def close_open(self, at: datetime) -> int:
        """Close every open row as interrupted at `at`; how many (0 while writes are held:
        the held closes come first, then this)."""
        return int(self._write("close_open", {"at": at}) or 0)

    def _close_open(self, at: datetime) -> int:
        with self.db.transaction() as conn:
            return len(airlog.close_open_plays(conn, at, station=self.station))

    # ------------------------------------------------------------------ events and heartbeat
    def event(self, level: str, source: str, message: str, at: datetime | None = None) -> None:
        """A problem or notice for `loa status`; also logged."""
        getattr(log, "error" if level == "error" else level, log.info)("%s: %s", source, message)
        fields = {"level": level, "source": source, "message": message}
        try:
            self._write("event", {**fields, "at": at or datetime.now(UTC)})
        except sqlite3.Error:
            log.exception("could not record the event in the database")

    def _event(self, level: str, source: str, message: str, at: datetime) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO event (at, level, source, message) VALUES (?, ?, ?, ?)",
                (utc_text(at), level, source, message),
            )

    def events(self, limit: int = 20) -> list[Row]:
        with self.db.connection() as conn:
            return StationReader(conn, self.station).events(limit)

    def beat(self, at: datetime, *, pid: int, started_at: datetime, state: str = "{}") -> None:
        """The heartbeat: the last moment the daemon was known alive, and what it is doing.
        It also writes what an outage held. Never held itself: only the latest one matters.
        First it checks that the SQLite file is still the one opened (scheduler/dbfile.py)."""
        self.check_file()
        if not self.flush():
            return
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO daemon_state (station, pid, started_at, heartbeat_at, state) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (station) DO UPDATE SET "
                    "pid = excluded.pid, started_at = excluded.started_at, "
                    "heartbeat_at = excluded.heartbeat_at, state = excluded.state",
                    (self.station, pid, utc_text(started_at), utc_text(at), state),
                )
        except sqlite3.Error as exc:
            with self._hold_lock:
                self._down(exc)
            return
        with self._hold_lock:
            if self.db_error is not None:
                self._up()

    def check_file(self) -> None:
        """The database file deleted or replaced under the daemon: restored, or reported,
        once (one log line and one event). One stat when all is well; never raises."""
        with self._hold_lock:  # no airtime write between the copy and the pool's disposal
            try:
                found = self._file.check()
            except Exception:  # the heartbeat goes on whatever happens here; logged once
                if not self._file_check_failed:
                    self._file_check_failed = True
                    log.exception("database: checking the database file failed")
                return
            if found is not None:
                self.event(found[0], "database", found[1])

    def daemon_state(self) -> Row | None:
        with self.db.connection() as conn:
            return StationReader(conn, self.station).daemon_state()

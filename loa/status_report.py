"""What `loa status` shows, as data: built from the config, the database and the daemon's view.

`build_status` runs in two places: inside the running daemon, which answers the whole status
over its control socket (`StatusControl`, so the `loa status` command itself needs neither
SQLAlchemy nor pydantic), and in the command when no daemon answers. Both give the same
dictionary (the `loa status --json` shape); loa/commands/status.py prints it.

What it reads of the database comes through `StatusReads`: `scheduler.sqlite_read.StationReader`
(the standard library's sqlite3), on a read-only connection of its own in the command, or on
the daemon's connection (`DatabaseReads`); neither imports SQLAlchemy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from audio_library.records import SpotRecord
from loa.compose import spots_of, station_spec
from loa.config import Config
from playlists.types import Play
from scheduler.bulletin_preview import plan_bulletins
from scheduler.preview import preview

# the control request the daemon answers with the whole status (see `status_handler`)
REPORT_CMD = "status-report"


class StatusReads(Protocol):
    """What the status reads of one station's database (rows: objects with the columns as
    attributes)."""

    def daemon_state(self) -> Any: ...
    def open_rows(self) -> list[Any]: ...
    def history(self) -> list[Play]: ...
    def events(self, limit: int = 20) -> list[Any]: ...
    def spot_records(self, root: Path) -> list[SpotRecord]: ...
    def push_state(self) -> dict[str, object] | None: ...
    def chain_length(self) -> int: ...
    def bulletins(self) -> list[Any]: ...
    def bulletin_view(self, config: Config) -> Any: ...


class DatabaseReads:
    """`StatusReads` on a `scheduler.station_db.StationDB` (the daemon's own connection):
    `StationReader`'s sqlite3 queries, each under the connection's lock, so a status request
    never interleaves with an airtime write of another thread."""

    def __init__(self, db: Any, station: str) -> None:
        self.db = db
        self.station = station

    def _read(self, name: str, *args: Any) -> Any:
        from scheduler.sqlite_read import StationReader

        with self.db.connection() as conn:
            return getattr(StationReader(conn, self.station), name)(*args)

    def daemon_state(self) -> Any:
        return self._read("daemon_state")

    def open_rows(self) -> list[Any]:
        return self._read("open_rows")  # type: ignore[no-any-return]

    def history(self) -> list[Play]:
        return self._read("history")  # type: ignore[no-any-return]

    def events(self, limit: int = 20) -> list[Any]:
        return self._read("events", limit)  # type: ignore[no-any-return]

    def spot_records(self, root: Path) -> list[SpotRecord]:
        return self._read("spot_records", root)  # type: ignore[no-any-return]

    def push_state(self) -> dict[str, object] | None:
        return self._read("push_state")  # type: ignore[no-any-return]

    def chain_length(self) -> int:
        return int(self._read("chain_length"))

    def bulletins(self) -> list[Any]:
        return self._read("bulletins")  # type: ignore[no-any-return]

    def bulletin_view(self, config: Config) -> Any:
        return self._read("bulletin_view", config)


def build_status(
    config: Config,
    reads: StatusReads,
    live: dict[str, Any] | None,
    lock_pid: str | None,
    days: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The status: `live` is the daemon's own {"cmd": "status"} reply (None: no daemon
    answered), `lock_pid` the pid holding the station's lock if another process does."""
    now = now or datetime.now(UTC)
    state = reads.daemon_state()
    alive = bool(live and live.get("ok")) or lock_pid is not None
    playing = (
        _live_playing(live["playing"], config.tz)
        if live and isinstance(live.get("playing"), list)
        else [
            {
                "slot": r.slot,
                "kind": r.kind,
                "title": r.title,
                "path": r.path,
                "started_at": r.started_at.astimezone(config.tz).isoformat(timespec="milliseconds")
                if r.started_at
                else None,
            }
            for r in reads.open_rows()
        ]
        if alive
        else []
    )
    start = now.astimezone(config.tz)
    plans = preview(
        station_spec(config),
        spots_of(config, reads.spot_records(config.library.root)),
        reads.history(),
        start,
        start + timedelta(days=days),
        reads.bulletin_view(config),  # the bulletins heading a slot (issue 13)
    )
    problems = [
        {
            "at": e.at.astimezone(config.tz).isoformat(timespec="seconds"),
            "level": e.level,
            "source": e.source,
            "message": e.message,
        }
        for e in reads.events(limit=10)
        if e.level in ("error", "warning")
    ]
    outage = (live or {}).get("database")
    if outage:  # the daemon cannot write its database now: the event itself waits in memory
        problems.insert(
            0,
            {
                "at": datetime.fromisoformat(outage["since"])
                .astimezone(config.tz)
                .isoformat(timespec="seconds"),
                "level": "error",
                "source": "database",
                "message": f"không ghi được cơ sở dữ liệu (cannot write the database): "
                f"{outage['error']}; {outage['held']} airtime writes held in memory",
            },
        )
    return {
        "station": {"id": config.station.id, "name": config.station.name},
        "alive": alive,
        "pid": (live or {}).get("pid")
        or (int(lock_pid) if lock_pid and lock_pid.isdigit() else None),
        "heartbeat_at": state.heartbeat_at.astimezone(config.tz).isoformat(timespec="seconds")
        if state
        else None,
        "config_error": (live or {}).get("config_error"),
        "on_air": playing,
        "next": [
            {
                "slot": p.slot,
                "start": p.start.isoformat(),
                "items": len(p.items),
                "seconds": round(sum(i.duration_s for i in p.items), 1),
                "titles": [i.title for i in p.items],
                "bulletins": plan_bulletins(p),
            }
            for p in plans
        ],
        "problems": problems,
        "central": central_status(config, reads),
        "bulletins_waiting": bulletins_waiting(reads.bulletins(), now.astimezone(config.tz).date()),
    }


def bulletins_waiting(rows: list[Any], today: date) -> list[dict[str, Any]]:
    """The thông thường bulletins waiting for the operator's decision (issue 13), from the
    bulletin rows read either way (SQLAlchemy or `scheduler.sqlite_read`)."""
    return [
        {"id": r.id, "title": r.title, "valid_until": str(r.valid_until or "") or None}
        for r in rows
        if r.priority == "thuong"
        and r.accepted_at is None
        and r.refused_at is None
        and r.withdrawn_at is None
        and (r.valid_until is None or today <= r.valid_until)
    ]


def central_status(config: Config, reads: StatusReads) -> dict[str, Any] | None:
    """The background push: last success, rows waiting, last error (None: no [central])."""
    if not config.central.url:
        return None
    state = reads.push_state() or {}
    total = reads.chain_length()

    def shown(value: Any) -> str | None:
        return value.astimezone(config.tz).isoformat(timespec="seconds") if value else None

    return {
        "pushed_at": shown(state.get("pushed_at")),
        "attempt_at": shown(state.get("attempt_at")),
        "waiting": total - int(state.get("central_head") or 0),
        "error": state.get("error"),
        "failures": int(state.get("failures") or 0),
    }


def _live_playing(rows: list[dict[str, Any]], tz: Any) -> list[dict[str, Any]]:
    """What the daemon says is on air (the database may lag while its writes are held)."""
    return [
        {
            **r,
            "started_at": datetime.fromisoformat(r["started_at"])
            .astimezone(tz)
            .isoformat(timespec="milliseconds")
            if r.get("started_at")
            else None,
        }
        for r in rows
    ]


def config_mtime_ns(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


class LoadedConfig:
    """The config the daemon runs on and the modification time of config.toml it was read at
    (the `loa status` command trusts the daemon's answer only for that same file and time)."""

    def __init__(self, path: Path, config: Config, mtime_ns: int | None) -> None:
        self.path = path
        self.config = config
        self.mtime_ns = mtime_ns


Handler = Callable[[dict[str, Any]], dict[str, Any]]


def status_handler(handle: Handler, loaded: Callable[[], LoadedConfig], db: Any) -> Handler:
    """The daemon's control handler `handle`, answering `REPORT_CMD` too: the whole status as
    `build_status` makes it, with the config file and time it was read from."""

    def handler(request: dict[str, Any]) -> dict[str, Any]:
        if request.get("cmd") != REPORT_CMD:
            return handle(request)
        live = handle({"cmd": "status"})
        current = loaded()
        try:
            days = max(1, min(14, int(request.get("days", 1))))
        except (TypeError, ValueError):
            days = 1
        return {
            "ok": True,
            "config_path": str(current.path.resolve()),
            "config_mtime_ns": current.mtime_ns,
            "config_error": live.get("config_error"),
            "report": build_status(
                current.config, DatabaseReads(db, current.config.station.id), live, None, days
            ),
        }

    return handler


class StatusControl:
    """The daemon's control server (`scheduler.control.ControlServer`), answering `REPORT_CMD`
    itself with `status_handler` around the daemon's own handler."""

    def __init__(self, server: Any, loaded: Callable[[], LoadedConfig], db: Any) -> None:
        self.server = server
        self.loaded = loaded
        self.db = db  # scheduler.station_db.StationDB

    def start(self, handler: Handler | None = None) -> None:
        inner = handler or (lambda request: {"ok": False, "error": "no handler"})
        self.server.start(status_handler(inner, self.loaded, self.db))

    def stop(self) -> None:
        self.server.stop()

    def ensure(self) -> str | None:
        return self.server.ensure()

    def move(self, path: Any) -> None:
        self.server.move(path)

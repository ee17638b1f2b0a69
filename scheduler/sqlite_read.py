"""Reading a station's SQLite database with the standard library's sqlite3.

These are the reads of the station's log, catalogue, push state and bulletins, one copy each:
the daemon runs them on its own connection (`scheduler.station_db.StationDB`, through
`scheduler.airlog.AirLog`, `loa.compose.library_spots`, `scheduler.pusher.read_state` and
`loa.status_report.DatabaseReads`: `loa run` never imports SQLAlchemy, issue 17), and
`loa status` with no daemon on a read-only connection of its own (`open_reader`). Values come
back as the SQLAlchemy column types give them (UTC datetimes stored naive come back aware,
dates as dates), so the reports' SQLAlchemy reads of the same file agree
(tests/test_status_sqlite.py compares them). The bulletins it reads with the bulletin store's
own functions (`scheduler.bulletin_store.read_rows`, `count_airings`).

`open_reader` reads only a database at exactly `SCHEMA_VERSION` (the schema and its
migrations stay in loa/db.py) and returns None for anything else (no file yet, another
version, a URL that is not a plain SQLite file); the command then lets SQLAlchemy create or
migrate it first.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airtime.row import date_value, utc_value
from audio_library.records import SpotRecord, spot_record
from playlists.types import Play
from scheduler import bulletin_store
from scheduler.bulletin_preview import BulletinView
from scheduler.bulletin_store import Bulletin
from scheduler.station_db import connect, sqlite_file

# the loa/db.py schema version these queries are written for (= loa.db.latest_version(),
# checked by tests/test_status_sqlite.py); any other version takes the SQLAlchemy path
SCHEMA_VERSION = 7


@dataclass(frozen=True)
class Row:
    """A row with its columns as attributes (what the status reads of an airtime or event
    row, a daemon_state row, a spot and its spot_meta)."""

    values: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def open_reader(url: str, station: str) -> StationReader | None:
    """A reader of the database at `url` if it is a SQLite file at `SCHEMA_VERSION`."""
    path = sqlite_file(url)
    if path is None or not path.is_file():
        return None
    try:
        conn = connect(path.resolve(), "mode=ro")  # with the busy timeout: the daemon writes
    except sqlite3.Error:
        return None
    reader = StationReader(conn, station)
    try:
        if reader.schema_version() == SCHEMA_VERSION:
            return reader
    except sqlite3.Error:
        pass
    conn.close()
    return None


class StationReader:
    """The reads of one station's database, on `open_reader`'s read-only connection or on
    the daemon's own (`scheduler.station_db.StationDB`)."""

    def __init__(self, conn: sqlite3.Connection, station: str) -> None:
        self.conn = conn
        self.station = station

    def close(self) -> None:
        self.conn.close()

    def _rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def schema_version(self) -> int:
        found = self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'loa_schema'"
        ).fetchone()
        if found is None:
            return 0
        return int(self.conn.execute("SELECT max(version) FROM loa_schema").fetchone()[0] or 0)

    # ---------------------------------------------------------------- the log (AirLog's reads)
    def history(self) -> list[Play]:
        """Every scheduled play that put sound on air (`AirLog.history`)."""
        cur = self.conn.execute(
            "SELECT spot, topic, started_at, played_s FROM airtime "
            "WHERE station = ? AND kind = ? AND played_s > ? AND started_at IS NOT NULL",
            (self.station, "scheduled", 0.0),
        )
        return [Play(spot, topic, utc_value(start), played) for spot, topic, start, played in cur]

    def open_rows(self) -> list[Row]:
        """The rows still playing (`AirLog.open_rows`): slot, kind, title, path, started_at."""
        rows = self._rows(
            "SELECT * FROM airtime WHERE station = ? AND status = ?", self.station, "playing"
        )
        for r in rows:
            for key in ("scheduled_at", "started_at", "ended_at"):
                r[key] = utc_value(r[key])
        return [Row(r) for r in rows]

    def events(self, limit: int = 20) -> list[Row]:
        rows = self._rows(
            "SELECT seq, at, level, source, message FROM event ORDER BY seq DESC LIMIT ?", limit
        )
        return [Row({**r, "at": utc_value(r["at"])}) for r in rows]

    def daemon_state(self) -> Row | None:
        rows = self._rows("SELECT * FROM daemon_state WHERE station = ?", self.station)
        if not rows:
            return None
        r = rows[0]
        return Row({**r, **{k: utc_value(r[k]) for k in ("started_at", "heartbeat_at")}})

    # ---------------------------------------------------------------- the catalogue
    def spot_records(self, root: Path) -> list[SpotRecord]:
        """`catalog.list_spots(engine, root, include_removed=False)`."""
        cur = self.conn.execute(
            "SELECT spot.*, spot_meta.id AS meta_id, spot_meta.valid_from, spot_meta.valid_until,"
            " spot_meta.approved, spot_meta.approved_by FROM spot"
            " LEFT OUTER JOIN spot_meta ON spot_meta.id = spot.id WHERE spot.status != ?"
            " ORDER BY spot.topic, CASE WHEN (spot.status = ?) THEN 1 ELSE 0 END,"
            " spot.path, spot.seq",
            ("removed", "removed"),
        )
        names = [d[0] for d in cur.description]
        out = []
        for values in cur.fetchall():
            r = dict(zip(names, values, strict=True))
            meta = None
            if r["meta_id"] is not None:
                meta = Row(
                    {
                        "valid_from": date_value(r["valid_from"]),
                        "valid_until": date_value(r["valid_until"]),
                        "approved": bool(r["approved"]),
                        "approved_by": r["approved_by"],
                    }
                )
            out.append(spot_record(root, Row(r), meta))
        return out

    # ---------------------------------------------------------------- the central push
    def push_state(self) -> dict[str, object] | None:
        """`scheduler.pusher.read_state`."""
        rows = self._rows("SELECT * FROM push_state WHERE station = ?", self.station)
        if not rows:
            return None
        r = rows[0]
        return {**r, **{k: utc_value(r[k]) for k in ("attempt_at", "pushed_at")}}

    def chain_length(self) -> int:
        """`airtime.push.chain_length`."""
        value = self.conn.execute(
            "SELECT max(chain_seq) FROM airtime WHERE station = ?", (self.station,)
        ).fetchone()[0]
        return int(value or 0)

    # ---------------------------------------------------------------- bulletins (issue 13)
    def bulletins(self) -> list[Bulletin]:
        """Every row of table bulletin, by id: the bulletin store's own read."""
        return bulletin_store.read_rows(self.conn)

    def airings(self) -> dict[str, int]:
        """{bulletin id: completed airings}: the bulletin store's own count."""
        return bulletin_store.count_airings(self.conn, self.station)

    def bulletin_view(self, config: Any) -> BulletinView | None:
        """The bulletins as the slot previews plan them (`loa.bulletin_wiring.view`)."""
        rows = self.bulletins()
        if not rows:
            return None
        return BulletinView(rows, self.airings(), config.library.root, config.topic_ids)

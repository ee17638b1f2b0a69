"""The database engine and the schema's ordered migrations.

Why a small declared list and not Alembic: loa ships as one package to station PCs that no
developer touches; the schema is a handful of tables that must open on SQLite (each station) and
PostgreSQL (the district); and upgrades run unattended at start-up. A list of
`Migration(version, why, upgrade)` applied in order inside one transaction each, with the version
recorded in `loa_schema`, does that with no migration environment, script folder or revision
graph to package. The rules:

- A new database is created from the current models and stamped with the latest version.
- An existing database is upgraded by running every migration above its version, in order.
- A migration is never edited once released; a change of schema is a new migration at the end.
  A migration that creates a table declares that table's columns itself (frozen), so it does not
  drift when the model changes later.
- A database whose version is newer than this loa is refused with a clear message (no downgrade).
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from airtime.models import Airtime, Event
from audio_library.models import SpotMeta, SpotRow
from loa.errors import DatabaseError
from scheduler.bulletin_table import BulletinTable
from scheduler.models import DaemonState, PushState

if TYPE_CHECKING:
    from scheduler.station_db import StationDB


@dataclass(frozen=True)
class Migration:
    version: int
    why: str
    upgrade: Callable[[Connection], None]


# Every table of loa, in creation order. A new table is added here AND by a new migration.
TABLES: tuple[sa.Table, ...] = (
    Airtime.__table__,  # type: ignore[attr-defined]
    Event.__table__,  # type: ignore[attr-defined]
    SpotRow.__table__,  # type: ignore[attr-defined]
    SpotMeta.__table__,  # type: ignore[attr-defined]
    DaemonState.__table__,  # type: ignore[attr-defined]
    PushState.__table__,  # type: ignore[attr-defined]
    BulletinTable.__table__,  # type: ignore[attr-defined]
)


def _v1_baseline(conn: Connection) -> None:
    SQLModel.metadata.create_all(conn, tables=[Airtime.__table__, Event.__table__])


def _v2_spot_catalogue(conn: Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "spot",
        meta,
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("path", sa.String, nullable=False),
        sa.Column("disk_path", sa.String, nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("problem", sa.String(16)),
        sa.Column("reason", sa.String),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("format", sa.String(32)),
        sa.Column("header_s", sa.Float),
        sa.Column("duration_s", sa.Float),
        sa.Column("loudness_lufs", sa.Float),
        sa.Column("trim_start_s", sa.Float, nullable=False),
        sa.Column("trim_end_s", sa.Float, nullable=False),
        sa.Column("gain_db", sa.Float),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.Column("removed_at", sa.DateTime),
        sa.Index("ix_spot_id", "id"),
        sa.Index("ix_spot_path", "path"),
        sa.Index("ix_spot_topic_status", "topic", "status"),
    )
    sa.Table(
        "spot_meta",
        meta,
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_until", sa.Date),
        sa.Column("approved", sa.Boolean, nullable=False),
        sa.Column("approved_by", sa.String),
        sa.Column("approved_at", sa.DateTime),
        sa.Column("note", sa.String),
    )
    meta.create_all(conn)


def _v3_airtime_chain(conn: Connection) -> None:
    """airtime.chain_seq (the integrity chain's order) and the indexes the report needs."""
    conn.exec_driver_sql("ALTER TABLE airtime ADD COLUMN chain_seq INTEGER")
    names = ("station", "chain_seq", "kind", "topic", "status", "spot", "path", "started_at")
    frozen = sa.Table("airtime", sa.MetaData(), *(sa.Column(n) for n in (*names, "played_s")))
    c = frozen.c
    sa.Index("ix_airtime_chain", c.station, c.chain_seq, unique=True).create(conn)
    sa.Index(
        "ix_airtime_report",
        *(c.station, c.kind, c.topic, c.status, c.spot, c.path, c.started_at, c.played_s),
    ).create(conn)
    sa.Index("ix_airtime_month", c.station, c.kind, c.status, c.started_at, c.played_s).create(conn)


def _v4_daemon_state(conn: Connection) -> None:
    """The daemon's heartbeat row (crash recovery, `loa status`)."""
    sa.Table(
        "daemon_state",
        sa.MetaData(),
        sa.Column("station", sa.String(64), primary_key=True),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("heartbeat_at", sa.DateTime, nullable=False),
        sa.Column("state", sa.String, nullable=False),
    ).create(conn)


def _v5_spot_true_peak(conn: Connection) -> None:
    """spot.peak_dbtp: the true peak, so the playback gain can be capped below clipping. Rows
    from before stay NULL until the next scan measures them (no boost meanwhile)."""
    conn.exec_driver_sql("ALTER TABLE spot ADD COLUMN peak_dbtp FLOAT")


def _v6_push_state(conn: Connection) -> None:
    """The background push to the central database (what `loa status` shows)."""
    sa.Table(
        "push_state",
        sa.MetaData(),
        sa.Column("station", sa.String(64), primary_key=True),
        sa.Column("attempt_at", sa.DateTime),
        sa.Column("pushed_at", sa.DateTime),
        sa.Column("central_head", sa.Integer, nullable=False),
        sa.Column("error", sa.String),
        sa.Column("failures", sa.Integer, nullable=False),
    ).create(conn, checkfirst=True)


def _v7_bulletins(conn: Connection) -> None:
    """Bulletins from the district (issue 13): their table, and the bulletin id and priority
    of an airing on its airtime row (NULL on every other row, so old rows hash as before)."""
    conn.exec_driver_sql("ALTER TABLE airtime ADD COLUMN bulletin VARCHAR(32)")
    conn.exec_driver_sql("ALTER TABLE airtime ADD COLUMN priority VARCHAR(16)")
    sa.Table(
        "bulletin",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("topic", sa.String(64)),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_until", sa.Date),
        sa.Column("times", sa.Integer),
        sa.Column("filename", sa.String, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.String, nullable=False),
        sa.Column("playable_s", sa.Float, nullable=False),
        sa.Column("trim_start_s", sa.Float, nullable=False),
        sa.Column("gain_db", sa.Float, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("accepted_at", sa.DateTime),
        sa.Column("refused_at", sa.DateTime),
        sa.Column("note", sa.String),
        sa.Column("withdrawn_at", sa.DateTime),
        sa.Column("reported", sa.String, nullable=False),
    ).create(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "airtime log and station events", _v1_baseline),
    Migration(
        2, "the spot catalogue of the audio library and operator metadata", _v2_spot_catalogue
    ),
    Migration(3, "airtime integrity chain order and report index", _v3_airtime_chain),
    Migration(4, "daemon heartbeat and state", _v4_daemon_state),
    Migration(5, "true peak of each spot, to cap the playback gain", _v5_spot_true_peak),
    Migration(6, "background push to the central database", _v6_push_state),
    Migration(
        7, "bulletins from the district, and their airings on the airtime rows", _v7_bulletins
    ),
)

SCHEMA_TABLE = sa.Table(
    "loa_schema",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("why", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)


def latest_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    return max(m.version for m in migrations)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: the daemon writes while `loa airtime report` reads. synchronous=FULL: a committed
    # airtime row survives a power cut. busy_timeout: a CLI and the daemon wait for each other.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _where(key: str) -> str:
    """What to fix: the config key, or the command-line option that named the database."""
    return "[database] url in config.toml" if key == "database.url" else key


def create_db_engine(url: str, *, key: str = "database.url") -> Engine:
    """An engine for `url`; SQLite files get their folder created and the pragmas above.
    `key` is what the operator wrote the URL in (`database.url`, `--to`): errors name it."""
    if url.startswith("sqlite:///") and url not in ("sqlite:///", "sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"{key}: cannot create the folder {path.parent}: {exc.strerror}; "
                f"check {_where(key)}"
            ) from None
    try:
        engine = sa.create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise DatabaseError(f"{key}: cannot use {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def schema_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table("loa_schema"):
        return 1 if sa.inspect(conn).has_table("airtime") else 0
    value = conn.execute(sa.select(sa.func.max(SCHEMA_TABLE.c.version))).scalar()
    return int(value or 0)


def migrate(
    engine: Engine, migrations: Sequence[Migration] = MIGRATIONS, *, key: str = "database.url"
) -> int:
    """Bring the database to the latest version; returns the version it had before."""
    latest = latest_version(migrations)
    with engine.connect() as conn:  # no migration due: no write lock (a read-only file opens)
        if schema_version(conn) == latest:
            return latest
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            # Take the write lock before reading the version: without it two processes that
            # open a brand-new file at once both see version 0 and both create the tables
            # (pysqlite runs DDL outside any transaction unless one is begun explicitly).
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        before = schema_version(conn)
        if before > latest:
            raise DatabaseError(
                f"{key}: {engine.url} has schema version {before}, newer than this loa "
                f"knows ({latest}): install the newer loa that made it, or point "
                f"{'[database] url' if key == 'database.url' else key} "
                "at another file"
            )
        SCHEMA_TABLE.create(conn, checkfirst=True)
        if before == 0:
            SQLModel.metadata.create_all(conn, tables=list(TABLES))
            pending = [Migration(latest, "created at this version", lambda _c: None)]
        else:
            pending = sorted((m for m in migrations if m.version > before), key=lambda m: m.version)
        for migration in pending:
            migration.upgrade(conn)
            conn.execute(
                SCHEMA_TABLE.insert().values(
                    version=migration.version,
                    why=migration.why,
                    applied_at=datetime.now(UTC).replace(tzinfo=None),
                )
            )
    return before


def _read_only_engine(url: str, migrations: Sequence[Migration]) -> tuple[Engine, int] | None:
    """A read-only engine on a SQLite file the user may not write, and its schema version.

    A WAL database cannot be read even with mode=ro when its folder is read-only and no -shm
    file lies beside it (SQLite would create one); with no -wal file beside it nothing is
    pending and nobody writes, so it is read as immutable. None when it cannot be read."""
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///"))
    if not path.is_file():
        return None
    wal = path.with_name(path.name + "-wal")
    flags = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    engine = sa.create_engine(f"sqlite:///file:{quote(str(path.resolve()))}?{flags}&uri=true")
    try:
        with engine.connect() as conn:
            return engine, schema_version(conn)
    except SQLAlchemyError:
        engine.dispose()
        return None


def open_database(
    url: str, migrations: Sequence[Migration] = MIGRATIONS, *, key: str = "database.url"
) -> Engine:
    """Engine for `url`, migrated to the latest schema. Errors become DatabaseError naming
    `key`, where the operator wrote the URL."""
    engine = create_db_engine(url, key=key)
    try:
        migrate(engine, migrations, key=key)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        advice = f"check {_where(key)} and that the file is a loa database"
        if url.startswith("sqlite:") and "readonly" in str(reason):  # a file or folder not ours
            advice = (
                "give the user running loa write permission on the file and its folder "
                "(SQLite writes its journal beside the file)"
            )
            reader = _read_only_engine(url, migrations)
            latest = latest_version(migrations)
            if reader is not None and reader[1] == latest:  # up to date: reading needs no write
                engine.dispose()
                return reader[0]
            if reader is not None:
                reader[0].dispose()
                advice = (
                    f"it has schema version {reader[1]} and this loa upgrades it to {latest} "
                    f"before use, which needs writing: {advice}, then run the command again"
                )
        raise DatabaseError(f"{key}: cannot open {url}: {reason}; {advice}") from None
    never_create(engine)
    return engine


def never_create(engine: Engine) -> None:
    """Once the database exists, a new connection opens the file without creating it.

    SQLite creates a missing file on connect: a connection opened after the file was deleted
    under the daemon (a command's, the daemon's rescan child's) would start a new empty
    database at the path, where the restore from the daemon's open connection
    (scheduler/dbfile.py) must go. With `mode=rw` that connection fails instead (the rescan
    is tried again at the next one, after the heartbeat put the file back)."""
    path = sqlite_path(engine)
    if path is None:
        return
    target = f"file:{quote(str(path))}?mode=rw"

    def connect(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        cargs[:1] = [target]
        cparams["uri"] = True

    event.listen(engine, "do_connect", connect)


def sqlite_path(engine: Engine) -> Path | None:
    """The file of a plain SQLite file engine, made absolute; None for anything else."""
    url = engine.url
    database = url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or url.query:  # a URI (read-only, immutable): not ours
        return None
    return Path(os.path.abspath(database))


def station_db(engine: Engine, *, key: str = "database.url") -> StationDB:
    """The daemon's sqlite3 view (`scheduler.station_db.StationDB`) of the station database
    `engine` opened (and migrated), read-only when `open_database` opened it so (a file this
    user may not write). A database that is not a SQLite file cannot be a station's:
    DatabaseError naming `key`."""
    from scheduler.station_db import StationDB

    path, flags = sqlite_path(engine), "mode=rw"
    if path is None and engine.url.query.get("mode") == "ro":  # `_read_only_engine`'s
        path = Path(unquote(str(engine.url.database).removeprefix("file:")))
        flags = "mode=ro&immutable=1" if engine.url.query.get("immutable") else "mode=ro"
    if path is None:
        from loa.station_open import NOT_A_STATION_FILE

        shown = unquote(engine.url.render_as_string(hide_password=True))
        raise DatabaseError(NOT_A_STATION_FILE.format(key=key, url=shown))
    try:
        return StationDB(path, flags)
    except sqlite3.Error as exc:
        raise DatabaseError(f"{key}: cannot open {path}: {exc}") from None


def _child_main(argv: list[str]) -> int:
    """`python -m loa.db URL KEY`: create or migrate the database at URL, for `loa run`
    (loa/station_open.py), which must not import SQLAlchemy itself (issue 17)."""
    url, key = argv
    try:
        open_database(url, key=key).dispose()
    except DatabaseError as exc:
        from loa.redact import mask_credentials

        print(mask_credentials(str(exc)), file=sys.stderr)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))

"""The bulletin store on a real station SQLite file, through sqlite3 (issue 17: the daemon does
not import SQLAlchemy): a row written by the store and one written through the SQLModel table
(`scheduler.bulletin_table`, what creates new databases) read the same either way, and the
airtime counts the board and the retention rely on are those of the log's rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from pydantic_core import PydanticUndefined
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from airtime.models import Airtime, UTCDateTime
from loa.db import open_database, station_db
from scheduler import bulletin_store as store
from scheduler.bulletin_table import BulletinTable
from scheduler.station_db import StationDB

T0 = datetime(2026, 3, 2, 6, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def station(tmp_path: Path) -> Iterator[tuple[Engine, StationDB]]:
    engine = open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    db = station_db(engine)
    try:
        yield engine, db
    finally:
        db.close()
        engine.dispose()


def values(id: int, **kw: object) -> dict[str, object]:
    return {
        "id": id,
        "title": f"Bản tin {id}",
        "priority": "thuong",
        "topic": "tin",
        "valid_from": date(2026, 3, 1),
        "valid_until": date(2026, 3, 31),
        "times": 2,
        "filename": f"b{id}.mp3",
        "sha256": f"{id:064x}",
        "path": f".ban-tin/{id}-{id:012x}.mp3",
        "playable_s": 30.5,
        "trim_start_s": 0.25,
        "gain_db": -1.5,
        "sent_at": T0 - timedelta(minutes=1),
        "received_at": T0,
        "note": "ghi chú",
        "reported": "delivered",
        **kw,
    }


def table_rows(engine: Engine) -> list[dict[str, object]]:
    with Session(engine) as session:
        return [r.model_dump() for r in session.exec(select(BulletinTable).order_by("id"))]


def test_the_dataclass_has_the_tables_columns_and_defaults() -> None:
    table = BulletinTable.model_fields
    assert tuple(table) == store.COLUMNS
    for f in dataclasses.fields(store.Bulletin):
        default = table[f.name].default
        assert f.default == (dataclasses.MISSING if default is PydanticUndefined else default)
    columns = BulletinTable.__table__.columns  # type: ignore[attr-defined]
    assert tuple(c.name for c in columns if isinstance(c.type, UTCDateTime)) == store.TIMES
    assert tuple(c.name for c in columns if isinstance(c.type, sa.Date)) == store.DATES


def test_rows_written_either_way_read_the_same(station: tuple[Engine, StationDB]) -> None:
    engine, db = station
    with Session(engine) as session:  # as `loa.db` tables and the tests write them
        session.add(BulletinTable(**values(1, accepted_at=T0 + timedelta(hours=1))))
        session.commit()
    store.save(db, store.Bulletin(**values(2, topic=None, valid_from=None, times=None)))
    read = store.all_rows(db)
    assert [r.model_dump() for r in read] == table_rows(engine)
    assert read[0].accepted_at == T0 + timedelta(hours=1) and read[0].valid_from == date(2026, 3, 1)
    assert read[1].received_at == T0 and read[1].received_at.tzinfo is UTC
    assert read[1].topic is None and read[1].valid_until == date(2026, 3, 31)
    assert store.get(db, 2) == read[1] and store.get(db, 3) is None

    # saved again (fetched again): every column replaced, no second row
    again = dataclasses.replace(read[1], title="Đổi tên", refused_at=T0, note=None)
    store.save(db, again)
    assert store.all_rows(db) == [read[0], again]
    # an aware time of another zone is stored as UTC, as the SQLAlchemy column stores it
    hanoi = datetime(2026, 3, 2, 14, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    store.update(db, 1, withdrawn_at=hanoi, reported="delivered,accepted")
    (first, second) = table_rows(engine)
    assert first["withdrawn_at"] == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert first["reported"] == "delivered,accepted" and second["title"] == "Đổi tên"
    assert [r.model_dump() for r in store.all_rows(db)] == [first, second]


def test_update_refuses_an_unknown_column_and_a_naive_time(
    station: tuple[Engine, StationDB],
) -> None:
    _, db = station
    store.save(db, store.Bulletin(**values(1)))
    before = store.get(db, 1)
    with pytest.raises(ValueError, match="no column 'accepted'"):
        store.update(db, 1, reported="x", accepted=T0)
    with pytest.raises(ValueError, match="naive datetime"):
        store.update(db, 1, accepted_at=datetime(2026, 3, 2, 6, 0))
    assert store.get(db, 1) == before  # nothing of either was written


def test_the_airtime_counts(station: tuple[Engine, StationDB]) -> None:
    engine, db = station
    since = T0 + timedelta(minutes=30)

    def air(bulletin: str | None, status: str, at: datetime, **kw: object) -> Airtime:
        return Airtime(
            station=kw.pop("station", "xa"), kind="scheduled", spot="s", title="t", path="p",
            bulletin=bulletin, status=status, scheduled_at=at, error=kw.pop("error", None), **kw,
        )  # fmt: skip

    with Session(engine) as session:  # written as the reports' SQLAlchemy sees them
        for row in (
            air("1", "completed", T0, started_at=T0, ended_at=T0 + timedelta(seconds=30)),
            air("1", "completed", T0 + timedelta(minutes=10), started_at=T0),
            air("1", "failed", T0 + timedelta(minutes=20), error="trước"),  # before `since`
            air("1", "failed", since, error="boom"),  # at `since`: counted
            air("2", "interrupted", T0, started_at=T0 + timedelta(minutes=5)),
            air("3", "skipped", T0 + timedelta(hours=2)),  # only its scheduled time
            air("1", "completed", T0 + timedelta(days=1), station="xa-khac"),  # not ours
            air(None, "completed", T0 + timedelta(days=2), ended_at=T0 + timedelta(days=2)),
        ):
            session.add(row)
        session.commit()
    assert store.airings(db, "xa") == {"1": 2}
    assert store.attempts(db, "xa") == {"1": 4, "2": 1, "3": 1}
    assert store.last_airing(db, "xa", 1) == ("failed", "boom")
    assert store.last_airing(db, "xa", 2) == ("interrupted", None)
    assert store.last_airing(db, "xa", 4) is None
    assert store.failures_since(db, "xa", since) == {"1": 1}
    assert store.failures_since(db, "xa", since + timedelta(microseconds=1)) == {}
    assert store.last_aired(db, "xa") == {
        "1": since,  # the latest of each row's end, else start, else scheduled time
        "2": T0 + timedelta(minutes=5),
        "3": T0 + timedelta(hours=2),
    }
    assert store.airings(db, "xa-khac") == {"1": 1}

"""`loa status` without a daemon reads the database with sqlite3 (scheduler/sqlite_read.py):
the same values as the SQLAlchemy reads the daemon uses, on a real SQLite file of every table
the status reads (airtime rows open and closed, events, the heartbeat, spots with and without
operator metadata, a removed spot, the push state, bulletins in every state)."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from airtime.bulletin_spot import spot_id
from audio_library.catalog import list_spots, set_meta
from audio_library.models import SpotRow
from loa import db
from loa.status_report import DatabaseReads, bulletins_waiting
from scheduler import bulletin_store, sqlite_read
from scheduler.airlog import AirLog
from scheduler.bulletin_table import BulletinTable
from scheduler.models import PushState

T0 = datetime(2026, 3, 2, 6, 0, 0, 123456, tzinfo=UTC)


def spot(seq: int, topic: str, path: str, status: str = "ok", **kw: object) -> SpotRow:
    values: dict[str, object] = {
        "seq": seq,
        "id": f"{seq:016x}",
        "topic": topic,
        "path": path,
        "disk_path": path,
        "title": f"Tin {seq}",
        "status": status,
        "sha256": f"{seq:064x}",
        "size": 1000 + seq,
        "mtime_ns": 10**18 + seq,
        "duration_s": 20.0 + seq / 3,
        "loudness_lufs": -20.5,
        "trim_start_s": 0.25,
        "trim_end_s": 0.5,
        "gain_db": 2.5,
        "added_at": datetime(2026, 1, 1, 8, 0, tzinfo=UTC),
        "peak_dbtp": -3.1,
    }
    return SpotRow(**{**values, **kw})


def bulletin(id: int, **kw: object) -> BulletinTable:
    values: dict[str, object] = {
        "id": id,
        "title": f"Bản tin {id}",
        "priority": "thuong",
        "filename": f"b{id}.mp3",
        "sha256": f"{id:064x}",
        "path": f"bulletins/b{id}.mp3",
        "playable_s": 30.0,
        "received_at": T0,
    }
    return BulletinTable(**{**values, **kw})  # written through SQLAlchemy, read with sqlite3


@pytest.fixture
def station_db(tmp_path: Path) -> tuple[str, object]:
    url = f"sqlite:///{tmp_path / 'loa.db'}"
    engine = db.open_database(url)
    log = AirLog(db.station_db(engine), "xa-thu")
    for i in range(3):  # closed scheduled plays, one missed, one ad hoc
        seq = log.open_play(
            slot="sang",
            kind="scheduled",
            topic="tin",
            spot=f"{i:016x}",
            title=f"Tin {i}",
            path=f"tin/{i}.mp3",
            scheduled_at=T0,
            started_at=T0 + timedelta(seconds=30 * i),
        )
        log.close_play(seq, T0 + timedelta(seconds=30 * i + 20), 20.0, "completed", None)
    log.record(
        slot="sang", kind="scheduled", topic="tin", spot="x", title="t", path="tin/x.mp3",
        scheduled_at=T0, status="missed", error="đài tắt",
    )  # fmt: skip
    log.open_play(
        slot=None, kind="adhoc", topic="tin", spot="a", title="Đang phát", path="tin/a.mp3",
        started_at=T0 + timedelta(minutes=5),
    )  # fmt: skip
    AirLog(db.station_db(engine), "xa-khac").open_play(  # another station's open row: not ours
        slot="sang", kind="scheduled", title="x", path="x", started_at=T0, scheduled_at=T0
    )
    for i, level in enumerate(("info", "warning", "error")):
        log.event(level, "library", f"sự kiện {i}\ndòng hai", at=T0 + timedelta(seconds=i))
    log.beat(T0 + timedelta(minutes=6), pid=4242, started_at=T0, state='{"a": 1}')
    with Session(engine) as session:
        for row in (
            spot(1, "tin", "tin/b.mp3"),
            spot(2, "tin", "tin/a.mp3", duration_s=None, loudness_lufs=None, peak_dbtp=None),
            spot(3, "dich-vu-cong", "dich-vu-cong/c.mp3"),
            spot(
                4,
                "tin",
                "tin/gone.mp3",
                status="removed",
                removed_at=datetime(2026, 2, 1, tzinfo=UTC),
            ),
            spot(5, "tin", "tin/bad.mp3", status="rejected", problem="silent", reason="im lặng"),
        ):
            session.add(row)
        session.add(
            PushState(
                station="xa-thu", attempt_at=T0, pushed_at=T0 - timedelta(hours=1),
                central_head=2, error="timeout", failures=3,
            )
        )  # fmt: skip
        session.add(bulletin(1))
        session.add(bulletin(2, accepted_at=T0))
        session.add(bulletin(3, refused_at=T0, note="không"))
        session.add(bulletin(4, valid_until=date(2026, 1, 1)))
        session.add(bulletin(5, valid_until=date(2099, 1, 1), valid_from=date(2026, 1, 1)))
        session.add(bulletin(6, priority="khan", withdrawn_at=T0))
        session.commit()
    set_meta(
        engine, f"{1:016x}", approved=True, approved_by="Chủ tịch", valid_from=date(2026, 3, 1)
    )
    set_meta(engine, f"{3:016x}", valid_until=date(2026, 12, 31))
    return url, engine


def test_the_read_only_reads_equal_the_daemons_and_the_catalogues(
    station_db: tuple[str, object],
) -> None:
    url, engine = station_db
    fast = sqlite_read.open_reader(url, "xa-thu")
    assert fast is not None
    slow = DatabaseReads(db.station_db(engine), "xa-thu")
    try:
        assert fast.history() == slow.history() and len(fast.history()) == 3
        assert [r.started_at for r in fast.history()] == [
            T0 + timedelta(seconds=30 * i) for i in range(3)
        ]

        def cols(rows: list[object], names: tuple[str, ...]) -> list[tuple[object, ...]]:
            return [tuple(getattr(r, n) for n in names) for r in rows]

        airtime = ("seq", "slot", "kind", "title", "path", "started_at", "scheduled_at")
        assert cols(fast.open_rows(), airtime) == cols(slow.open_rows(), airtime)
        assert [r.title for r in fast.open_rows()] == ["Đang phát"]
        event = ("seq", "at", "level", "source", "message")
        assert cols(fast.events(limit=2), event) == cols(slow.events(limit=2), event)
        assert cols(fast.events(), event) == cols(slow.events(), event)
        state = ("station", "pid", "started_at", "heartbeat_at", "state")
        assert cols([fast.daemon_state()], state) == cols([slow.daemon_state()], state)
        assert fast.daemon_state().heartbeat_at == T0 + timedelta(minutes=6)
        root = Path("/srv/lib")
        assert fast.spot_records(root) == slow.spot_records(root)
        # and the catalogue's own SQLAlchemy read (`loa library list`) agrees with both
        assert fast.spot_records(root) == list_spots(engine, root, include_removed=False)
        assert [r.path for r in fast.spot_records(root)] == [
            "dich-vu-cong/c.mp3", "tin/a.mp3", "tin/b.mp3", "tin/bad.mp3",
        ]  # fmt: skip
        assert fast.spot_records(root)[2].approved is True
        assert fast.push_state() == slow.push_state()
        assert fast.chain_length() == slow.chain_length() == 4  # open rows are not chained yet
        bulletin_cols = bulletin_store.COLUMNS  # every column of the store's row
        assert cols(fast.bulletins(), bulletin_cols) == cols(slow.bulletins(), bulletin_cols)
        assert fast.bulletins()[1].accepted_at == T0 and fast.bulletins()[0].playable_s == 30.0
        today = date(2026, 3, 2)
        assert bulletins_waiting(fast.bulletins(), today) == bulletins_waiting(
            slow.bulletins(), today
        )
        assert [b["id"] for b in bulletins_waiting(fast.bulletins(), today)] == [1, 5]
    finally:
        fast.close()


def test_only_a_sqlite_file_at_the_known_schema_is_read(tmp_path: Path) -> None:
    assert db.latest_version() == sqlite_read.SCHEMA_VERSION
    assert sqlite_read.open_reader(f"sqlite:///{tmp_path / 'none.db'}", "x") is None
    assert sqlite_read.open_reader("postgresql://u@h/db", "x") is None
    assert sqlite_read.open_reader("sqlite:///:memory:", "x") is None
    not_db = tmp_path / "not.db"
    not_db.write_text("this is not a database")
    assert sqlite_read.open_reader(f"sqlite:///{not_db}", "x") is None
    older = tmp_path / "older.db"
    engine = db.open_database(f"sqlite:///{older}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "DELETE FROM loa_schema WHERE version = (SELECT max(version) FROM loa_schema)"
        )
        conn.exec_driver_sql("INSERT INTO loa_schema VALUES (6, 'older', '2026-01-01 00:00:00')")
    engine.dispose()
    assert sqlite_read.open_reader(f"sqlite:///{older}", "x") is None


def test_the_status_built_from_either_read_is_the_same(
    tmp_path: Path, station_db: tuple[str, object]
) -> None:
    from loa.config import load_config
    from loa.status_report import build_status

    url, engine = station_db
    (tmp_path / "lib").mkdir()
    (tmp_path / "config.toml").write_text(
        """
[station]
id = "xa-thu"
name = "Đài xã Thử"
timezone = "Asia/Ho_Chi_Minh"
[library]
root = "lib"
[database]
url = "sqlite:///loa.db"
[central]
url = "postgresql://loa@trung-tam/loa"
[[topics]]
id = "tin"
name = "Tin tức"
[[topics]]
id = "dich-vu-cong"
name = "Dịch vụ công"
[[slots]]
name = "sang"
start = "06:00"
length = "10m"
""",
        "utf-8",
    )
    config = load_config(tmp_path / "config.toml")
    assert config.database.url == url
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    # the bulletins of the fixture plus one ưu tiên bulletin that may air twice and aired once
    with Session(engine) as session:
        session.add(bulletin(7, priority="uu-tien", times=2))
        session.commit()
    log = AirLog(db.station_db(engine), "xa-thu")
    seq = log.open_play(
        slot="sang", kind="scheduled", topic=None, spot=spot_id(7, "uu-tien"), title="Bản tin 7",
        path="bulletins/b7.mp3", scheduled_at=T0, started_at=T0 + timedelta(minutes=10),
    )  # fmt: skip
    log.close_play(seq, T0 + timedelta(minutes=10, seconds=30), 30.0, "completed", None)
    fast = sqlite_read.open_reader(url, "xa-thu")
    assert fast is not None
    try:  # a station holding bulletins: the next slots are planned with them on either path
        with closing(db.station_db(engine)) as own:
            assert fast.airings() == bulletin_store.airings(own, "xa-thu") == {"7": 1}
        a = build_status(config, fast, None, None, 3, now=now)
        b = build_status(
            config, DatabaseReads(db.station_db(engine), "xa-thu"), None, None, 3, now=now
        )
        assert a == b
        heads = [[x["bulletin"] for x in p["bulletins"]] for p in a["next"]]
        assert heads == [[7, 2], [], []]  # ưu tiên first; 2 airs once (no --times), 7 its 2nd
    finally:
        fast.close()
    with engine.begin() as conn:  # and a station holding none
        conn.exec_driver_sql("DELETE FROM bulletin")
    fast = sqlite_read.open_reader(url, "xa-thu")
    assert fast is not None and fast.bulletin_view(config) is None
    try:
        for live, lock_pid in ((None, None), (None, "4242")):
            a = build_status(config, fast, live, lock_pid, 3, now=now)
            b = build_status(
                config, DatabaseReads(db.station_db(engine), "xa-thu"), live, lock_pid, 3, now=now
            )
            assert a == b
        assert a["alive"] and a["on_air"][0]["title"] == "Đang phát"
        assert len(a["next"]) == 3 and a["next"][0]["items"] > 0
        assert [p["level"] for p in a["problems"]] == ["error", "warning"]
        # waiting: the fixture's 2 rows not yet pushed and the bulletin airing added above
        assert a["central"]["waiting"] == 3 and a["central"]["failures"] == 3
        assert a["bulletins_waiting"] == []
    finally:
        fast.close()

"""The ingest path itself (central.ingest): the faster canonical bytes equal the chain's own, a
break after the central head stops a push at that row, a failing page reader stops the
writing cleanly, a bundle must link to the central head, and the schema upgrade from v1."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from airtime.chain import FIELDS, ChainRow, canonical, link
from central import ingest
from central.conn import connect
from central.errors import ForkError
from central.push import push
from central.schema import MIGRATIONS, group_roles, init, latest_version
from loa.db import open_database
from tests.central_support import central, connect_as, loa, scalar, station_config, write_rows
from tests.pg_fixture import libpq

HANOI = timezone(timedelta(hours=7))


def _values(**given: object) -> tuple[object, ...]:
    base: dict[str, object] = {
        "id": "r", "station": "s", "kind": "scheduled", "title": "t", "path": "p",
        "played_s": 1.0, "status": "completed",
    }  # fmt: skip
    base.update(given)
    return tuple(base.get(f) for f in FIELDS)


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"title": 'Tin "nóng"\\ về\tđường\nmới\x01', "spot": "path:thư mục/ă.mp3"},
        {"started_at": datetime(2021, 3, 1, 6, 0, 0, 250, tzinfo=HANOI)},
        {"started_at": "2021-03-01 06:00:00.000250", "ended_at": "2021-03-01T06:01:00"},
        {"scheduled_at": datetime(2021, 1, 1, tzinfo=UTC), "played_s": 60},
        {"played_s": None, "error": "ffmpeg: lỗi"},
        {"played_s": 1e16, "topic": "chi-so"},
        {"played_s": 0.1 + 0.2},
        {"bulletin": "7", "priority": "khan-cap", "kind": "emergency"},
        {"priority": "uu-tien"},
        {"slot": 7, "topic": 3.5, "title": "số"},  # not text where text is expected
        {"title": '\u2028\ud7ff\U0001f4fb \\u0041 "\\/', "error": "\x00\x1f\x7f"},
    ],
)
def test_the_staged_canonical_bytes_are_the_chains_own(given: dict[str, object]) -> None:
    values = _values(**given)
    row = ChainRow(1, 1, link("", values), values)
    staged, content = ingest._staged(row)
    assert content == canonical(values)
    assert ingest.check_links(ingest.Head(), [row]) is None
    # what is staged is what the central table gets: times in UTC text, played_s a float
    assert isinstance(staged[FIELDS.index("played_s") + 2], float)
    if isinstance(given.get("started_at"), datetime):
        assert staged[FIELDS.index("started_at") + 2] == "2021-02-28 23:00:00.000250"


@pytest.mark.postgres
def test_a_break_after_the_central_head_stops_the_push_at_that_row(
    tmp_path: Path, pg_admin_url: str
) -> None:
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    db = tmp_path / "a.db"
    engine = open_database(write_rows(db, "xa-a", 1000))
    with engine.connect() as source:
        push(source, urls["xa-a"], "xa-a", batch=200)
    write_rows(db, "xa-a", 1000)
    with sqlite3.connect(db) as raw:  # a row not yet sent edited by hand
        raw.execute("UPDATE airtime SET title = 'sửa tay' WHERE chain_seq = 1650")
    with engine.connect() as source, pytest.raises(ForkError) as info:
        push(source, urls["xa-a"], "xa-a", batch=200)
    message = str(info.value)
    assert "chain position 1650:" in message and "does not link" in message
    assert "the 600 rows before it, each linking, were written" in message
    # whole pages only: 1001-1600 went in, nothing of the page holding 1650 nor after
    assert scalar(pg_admin_url, "select max(chain_seq) from central.airtime") == 1600
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_day") == 1600
    assert loa("central", "--url", pg_admin_url, "verify")[0] == 0
    engine.dispose()


@pytest.mark.postgres
def test_a_failing_page_reader_stops_the_writing_and_is_raised(pg_admin_url: str) -> None:
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    rows, prev = [], ""
    for i in range(1, 101):
        values = _values(id=f"r{i}", station="xa-a", started_at=datetime(2021, 1, 1, tzinfo=UTC))
        prev = link(prev, values)
        rows.append(ChainRow(i, i, prev, values))

    def pages():  # type: ignore[no-untyped-def]
        yield rows[:50]
        raise OSError("the station's disk went away")

    with connect(urls["xa-a"], autocommit=True) as pg, pytest.raises(OSError, match="disk"):
        ingest.write_checked(pg, "xa-a", ingest.Head(), pages())
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 50
    # and the same connection's next batch goes on from there
    with connect(urls["xa-a"], autocommit=True) as pg:
        at, broken = ingest.write_checked(pg, "xa-a", ingest.head(pg, "xa-a"), [rows[50:]])
    assert broken is None and at.chain_seq == 100
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_day") == 100


@pytest.mark.postgres
def test_a_bundle_that_does_not_link_to_the_central_head_is_refused(
    tmp_path: Path, pg_admin_url: str
) -> None:
    """Right after the central head, but another history: before, only the bundle's own
    manifest link was checked there."""
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    other = tmp_path / "other"
    cfg = station_config(other, "xa-a", write_rows(other / "a.db", "xa-a", 1800), None)
    feb = tmp_path / "feb.loa.gz"
    code, _o, err = loa("--config", str(cfg), "airtime", "export", "--period", "2021-02",
                        "--output", str(feb))  # fmt: skip
    assert code == 0, err
    # the central database holds January of another log of the same station
    mine = open_database(write_rows(tmp_path / "mine.db", "xa-a", 930))
    with mine.connect() as source:
        push(source, urls["xa-a"], "xa-a")
    code, _out, err = loa("central", "--url", pg_admin_url, "import", str(feb))
    assert code == 1 and "chain position 931" in err and "fork" in err
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 930


@pytest.mark.postgres
def test_the_upgrade_from_v1_lets_stations_stage_where_public_may_not(
    tmp_path: Path, pg_admin_url: str
) -> None:
    dbname = pg_admin_url.rsplit("/", 1)[1]
    with connect_as(pg_admin_url) as conn:
        conn.execute(f'REVOKE TEMPORARY ON DATABASE "{dbname}" FROM PUBLIC')
    assert init(pg_admin_url, MIGRATIONS[:1]) == (0, 1)
    code, url, err = loa("central", "--url", pg_admin_url, "add-station", "xa-a", "--name", "A",
                         "--district", "h-thu")  # fmt: skip
    assert code == 0, err
    rows = ingest.SMALL + 100  # a batch that goes by COPY through the temporary table
    engine = open_database(write_rows(tmp_path / "a.db", "xa-a", rows))
    with engine.connect() as source, pytest.raises(Exception, match="temporary"):
        push(source, url.strip(), "xa-a")
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 0
    code, out, err = loa("central", "--url", pg_admin_url, "init")
    assert code == 0 and f"1 -> {latest_version()}" in out, err
    station_group = group_roles(dbname)[0]
    with psycopg.connect(libpq(pg_admin_url)) as conn:
        allowed = conn.execute(
            "SELECT has_database_privilege(%s, current_database(), 'TEMPORARY')",
            (station_group,),
        ).fetchone()
    assert allowed == (True,)
    with engine.connect() as source:
        assert push(source, url.strip(), "xa-a").copied == rows
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_day") == rows
    engine.dispose()


@pytest.mark.postgres
def test_rows_with_odd_characters_arrive_by_copy_as_they_were(pg_admin_url: str) -> None:
    """A batch that goes by COPY: tabs, newlines, carriage returns, backslashes, a literal
    \\N and control characters in any text field arrive unchanged, so the central copy
    verifies and its canonical bytes are the station's."""
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    nasty = ["a\tb", "dòng 1\ndòng 2", "cr\r", "c:\\path\\N", "\\N", "\\.", "\x01\x7f", "ổn"]
    rows, prev = [], ""
    n = ingest.SMALL + 50  # a COPY batch, not the small batch's arrays
    for i in range(1, n + 1):
        text = nasty[i % len(nasty)]
        values = _values(
            id=f"r{i}", station="xa-a", title=f"Tin {text}", path=f"{text}/{i}.mp3",
            spot=None if i % 5 == 0 else f"spot {text}", topic=None if i % 7 == 0 else text,
            error=text if i % 3 == 0 else None, played_s=i / 7,
            started_at=datetime(2021, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
            bulletin=str(i) if i % 11 == 0 else None, priority="khan-cap" if i % 11 == 0 else None,
        )  # fmt: skip
        prev = link(prev, values)
        rows.append(ChainRow(i, i, prev, values))
    with connect(urls["xa-a"], autocommit=True) as pg:
        at, broken = ingest.write_checked(pg, "xa-a", ingest.Head(), [rows])
    assert broken is None and at.chain_seq == n
    with connect(pg_admin_url, autocommit=True) as pg:
        got = list(ingest.central_rows(pg, "xa-a"))
    assert [r.hash for r in got] == [r.hash for r in rows]
    assert [canonical(r.values) for r in got] == [canonical(r.values) for r in rows]
    assert loa("central", "--url", pg_admin_url, "verify")[0] == 0

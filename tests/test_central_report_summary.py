"""Central migration 6 on a real PostgreSQL: `central.station_year` (one row per station and
year, kept by a statement trigger on `rollup_year`) always equals what `rollup_year` holds,
after inserts across years, an update and a delete of day roll-ups (whose triggers upsert
`rollup_year`), and after a database at version 4 upgrades (the backfill)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import psycopg
import pytest

from central.schema import MIGRATIONS, init
from tests.pg_fixture import libpq

pytestmark = pytest.mark.postgres

Summary = dict[tuple[str, date], dict[str, Any]]


def from_rollup_year(pg: psycopg.Connection) -> Summary:
    """What station_year should hold, computed in Python from rollup_year's rows."""
    want: Summary = {}
    for station, year, topic, kind, status, plays, seconds in pg.execute(
        "SELECT station, year, topic, kind, status, plays, seconds FROM central.rollup_year"
    ):
        if kind == "relay":
            continue
        w = want.setdefault(
            (station, year),
            {"topics": defaultdict(lambda: [0, 0.0]), "problems": 0, "undone": 0,
             "adhoc": [0, 0.0], "emergency": [0, 0.0]},
        )  # fmt: skip
        special = kind in ("adhoc", "emergency")
        if status == "completed" and special:
            w[kind][0] += plays
            w[kind][1] += seconds
        elif status == "completed":
            w["topics"][topic][0] += plays
            w["topics"][topic][1] += seconds
        elif not special:
            w["problems"] += plays if status in ("missed", "failed") else 0
            w["undone"] += plays if status in ("interrupted", "failed", "missed") else 0
    return want


def summary(pg: psycopg.Connection) -> Summary:
    got: Summary = {}
    for row in pg.execute("SELECT * FROM central.station_year"):
        station, year, topics, plays, seconds, problems, undone, ah, ah_s, em, em_s = row
        assert topics == sorted(topics) and len(topics) == len(plays) == len(seconds)
        got[(station, year)] = {
            "topics": {t: [p, s] for t, p, s in zip(topics, plays, seconds, strict=True)},
            "problems": problems,
            "undone": undone,
            "adhoc": [ah, ah_s],
            "emergency": [em, em_s],
        }
    return got


def assert_agrees(pg: psycopg.Connection) -> int:
    want, got = from_rollup_year(pg), summary(pg)
    assert got.keys() == want.keys()
    for key, w in want.items():
        g = got[key]
        assert g["topics"].keys() == w["topics"].keys(), key
        for topic, (p, s) in w["topics"].items():
            assert g["topics"][topic][0] == p and g["topics"][topic][1] == pytest.approx(s)
        assert (g["problems"], g["undone"]) == (w["problems"], w["undone"]), key
        for kind in ("adhoc", "emergency"):
            assert g[kind][0] == w[kind][0] and g[kind][1] == pytest.approx(w[kind][1])
    return len(want)


DAY = "INSERT INTO central.rollup_day VALUES (%s, %s, %s, %s, %s, %s, %s, 1)"


def rows(station: str, year: int) -> list[tuple[Any, ...]]:
    out = []
    for month in (1, 6, 12):
        day = date(year, month, 3)
        out += [
            (station, day, "a", "scheduled", "completed", 3, 180.5),
            (station, day, "b", "scheduled", "completed", 1, 60.25),
            (station, day, "", "scheduled", "completed", 2, 10.0),  # jingles
            (station, day, "a", "scheduled", "missed", 1, 0.0),
            (station, day, "b", "scheduled", "interrupted", 1, 20.0),
            (station, day, "", "adhoc", "completed", 1, 45.0),
            (station, day, "", "emergency", "completed", 1, 30.0),
            (station, day, "", "relay", "completed", 1, 3600.0),  # never counted
        ]
    return out


def setup(url: str) -> None:
    with psycopg.connect(libpq(url)) as pg:
        pg.execute("INSERT INTO central.district VALUES ('h', 'Huyện H', NULL)")
        pg.execute(
            "INSERT INTO central.station (id, name, district) "
            "VALUES ('s1', 'Xã 1', 'h'), ('s2', 'Xã 2', 'h'), ('s3', 'Xã 3', 'h')"
        )


def test_the_summary_follows_rollup_year_through_inserts_an_update_and_a_delete(
    pg_admin_url: str,
) -> None:
    init(pg_admin_url)
    setup(pg_admin_url)
    with psycopg.connect(libpq(pg_admin_url)) as pg:
        # one statement across stations and years, then one more for a year already there
        pg.cursor().executemany(DAY, rows("s1", 2021) + rows("s2", 2021) + rows("s2", 2022))
        pg.commit()
        assert assert_agrees(pg) == 3
        with pg.cursor() as cur:
            cur.executemany(DAY, [r for r in rows("s1", 2022)] + [
                ("s1", date(2021, 2, 1), "c", "scheduled", "completed", 5, 300.0)])  # fmt: skip
        pg.commit()
        assert assert_agrees(pg) == 4
        assert summary(pg)[("s1", date(2021, 1, 1))]["topics"]["c"] == [5, 300.0]
        # an update (the month and year triggers upsert rollup_year)
        pg.execute(
            "UPDATE central.rollup_day SET plays = plays + 10, seconds = seconds + 600 "
            "WHERE station = 's2' AND topic = 'b' AND status = 'completed'"
        )
        pg.commit()
        assert assert_agrees(pg) == 4
        assert summary(pg)[("s2", date(2022, 1, 1))]["topics"]["b"][0] == 3 * (1 + 10)
        # a delete: rollup_year is decremented, the summary follows
        pg.execute("DELETE FROM central.rollup_day WHERE station = 's1' AND topic = 'a'")
        pg.commit()
        assert assert_agrees(pg) == 4
        assert summary(pg)[("s1", date(2021, 1, 1))]["topics"]["a"][0] == 0
        # rollup_year rows removed outright: the station year leaves the summary
        pg.execute("DELETE FROM central.rollup_year WHERE station = 's2' AND year = '2022-01-01'")
        pg.commit()
        assert assert_agrees(pg) == 3
        assert ("s2", date(2022, 1, 1)) not in summary(pg)
        # only relayed time in a year: no summary row (the station did not report then)
        pg.execute(DAY, ("s3", date(2023, 5, 5), "", "relay", "completed", 1, 60.0))
        pg.commit()
        assert assert_agrees(pg) == 3


def test_an_upgraded_database_gets_its_summary_from_the_roll_ups_already_there(
    pg_admin_url: str,
) -> None:
    init(pg_admin_url, [m for m in MIGRATIONS if m.version <= 4])
    setup(pg_admin_url)
    with psycopg.connect(libpq(pg_admin_url)) as pg:
        pg.cursor().executemany(DAY, rows("s1", 2021) + rows("s2", 2022) + rows("s3", 2021))
        pg.commit()
        assert pg.execute("SELECT to_regclass('central.station_year')").fetchone() == (None,)
    with psycopg.connect(libpq(pg_admin_url)) as pg:
        pg.execute(
            "INSERT INTO central.district_spot_month VALUES ('h', '2021-03-01', 'a', "
            "'scheduled', 'completed', 'x'), ('h', '2021-04-01', 'a', 'scheduled', "
            "'completed', 'x'), ('h', '2021-04-01', 'b', 'scheduled', 'completed', 'y')"
        )
    assert init(pg_admin_url) == (4, 6)
    with psycopg.connect(libpq(pg_admin_url)) as pg:
        assert assert_agrees(pg) == 3
        spots = (
            "SELECT district, year, topic, spot FROM central.district_spot_year ORDER BY 1, 2, 3"
        )
        assert pg.execute(spots).fetchall() == [
            ("h", date(2021, 1, 1), "a", "x"), ("h", date(2021, 1, 1), "b", "y")]  # fmt: skip
        pg.execute(
            "INSERT INTO central.district_spot_month VALUES ('h', '2022-05-01', 'a', "
            "'scheduled', 'completed', 'x')"
        )
        assert len(pg.execute(spots).fetchall()) == 3
        # and the trigger keeps it from then on
        pg.cursor().executemany(DAY, rows("s3", 2022))
        pg.commit()
        assert assert_agrees(pg) == 4

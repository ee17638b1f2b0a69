"""The roll-ups the ingest keeps equal what a GROUP BY over the raw rows gives.

Random batches (seeded) of three stations, two districts and two time zones, rows across a
month's and a year's end and near local midnight, every kind and status, rows without a topic,
without a spot (counted by path) or that never started (placed by their schedule), written
through the push's own path (`ingest.write_checked` as each station's role) in batches of
random sizes: small ones bound as arrays, large ones by COPY, a day's spots split between
batches. Then every roll-up table is compared with the raw rows, row for row."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from airtime.chain import FIELDS, ChainRow, link
from central import ingest
from central.conn import connect
from tests.central_support import central, connect_as

KINDS = ("scheduled", "scheduled", "adhoc", "emergency", "relay")
STATUSES = ("completed", "completed", "interrupted", "failed", "missed", "skipped")
TOPICS = ("dich-vu-cong", "chi-so", None)

PLACED = """
  FROM central.airtime a JOIN central.station s ON s.id = a.station
  CROSS JOIN LATERAL (SELECT (coalesce(a.started_at, a.scheduled_at)
                              AT TIME ZONE s.timezone)::date AS day,
                             coalesce(a.topic, '') AS topic,
                             coalesce(a.spot, 'path:' || a.path) AS spot) p
"""
CHECKS = {
    "rollup_spot_day": (
        "SELECT station, day, topic, kind, status, spot, plays, round(seconds::numeric, 6) "
        "FROM central.rollup_spot_day",
        "SELECT a.station, p.day, p.topic, a.kind, a.status, p.spot, count(*), "
        f"round(sum(a.played_s)::numeric, 6) {PLACED} GROUP BY 1, 2, 3, 4, 5, 6",
    ),
    "rollup_day": (
        "SELECT station, day, topic, kind, status, plays, round(seconds::numeric, 6), spots "
        "FROM central.rollup_day",
        "SELECT a.station, p.day, p.topic, a.kind, a.status, count(*), "
        f"round(sum(a.played_s)::numeric, 6), count(DISTINCT p.spot) {PLACED} "
        "GROUP BY 1, 2, 3, 4, 5",
    ),
    "rollup_month": (
        "SELECT station, month, topic, kind, status, plays, round(seconds::numeric, 6) "
        "FROM central.rollup_month",
        "SELECT a.station, date_trunc('month', p.day)::date, p.topic, a.kind, a.status, "
        f"count(*), round(sum(a.played_s)::numeric, 6) {PLACED} GROUP BY 1, 2, 3, 4, 5",
    ),
    "rollup_year": (
        "SELECT station, year, topic, kind, status, plays, round(seconds::numeric, 6) "
        "FROM central.rollup_year",
        "SELECT a.station, date_trunc('year', p.day)::date, p.topic, a.kind, a.status, "
        f"count(*), round(sum(a.played_s)::numeric, 6) {PLACED} GROUP BY 1, 2, 3, 4, 5",
    ),
    "district_spot_month": (
        "SELECT district, month, topic, kind, status, spot FROM central.district_spot_month",
        "SELECT DISTINCT s.district, date_trunc('month', p.day)::date, p.topic, a.kind, "
        f"a.status, p.spot {PLACED}",
    ),
}


def _rows(rng: random.Random, station: str, n: int) -> list[ChainRow]:
    """`n` chained rows of `station` between 2021-12-20 and 2022-02-10 (UTC)."""
    base = datetime(2021, 12, 20, tzinfo=UTC)
    rows, prev = [], ""
    for i in range(1, n + 1):
        # near 17:00 UTC is near local midnight at UTC+7; elsewhere any time of the day
        at = base + timedelta(days=rng.randrange(52), hours=rng.choice((16, 17, rng.randrange(24))),
                              minutes=rng.randrange(60), seconds=rng.random() * 60)  # fmt: skip
        topic = rng.choice(TOPICS)
        status = rng.choice(STATUSES)
        started = None if status in ("missed", "skipped") or rng.random() < 0.05 else at
        values = dict(
            id=f"{station}-{i}", station=station, slot=rng.choice(("sang", "chieu", None)),
            kind=rng.choice(KINDS), topic=topic,
            spot=None if rng.random() < 0.1 else f"{topic or 'x'}-{rng.randrange(6)}",
            title=f"Tin {i}", path=f"{topic or 'khac'}/{rng.randrange(4)}.mp3",
            scheduled_at=at, started_at=started,
            ended_at=None if started is None else at + timedelta(seconds=60),
            played_s=0.0 if started is None else round(rng.uniform(1, 300), 3), status=status,
            error="lỗi" if status == "failed" else None,
        )  # fmt: skip
        ordered = tuple(values.get(f) for f in FIELDS)
        prev = link(prev, ordered)
        rows.append(ChainRow(i, i, prev, ordered))
    return rows


def _batches(rng: random.Random, rows: list[ChainRow]) -> list[list[ChainRow]]:
    """Random batch sizes: some below ingest.SMALL (arrays), some above (COPY)."""
    out, k = [], 0
    while k < len(rows):
        size = rng.choice((1, 7, 60, ingest.SMALL - 1, ingest.SMALL, ingest.SMALL + 137, 700))
        out.append(rows[k : k + size])
        k += size
    return out


@pytest.mark.postgres
@pytest.mark.parametrize("seed", [11, 2026])
def test_every_roll_up_equals_a_group_by_over_the_raw_rows(pg_admin_url: str, seed: int) -> None:
    rng = random.Random(seed)
    stations = (("xa-a", "h-thu"), ("xa-b", "h-thu"), ("xa-c", "h-hai"))
    urls = central(pg_admin_url, *stations)
    with connect_as(pg_admin_url) as conn:  # a station of another time zone (UTC-3)
        conn.execute("UPDATE central.station SET timezone = 'America/Sao_Paulo' WHERE id = 'xa-c'")
    for station, _district in stations:
        rows = _rows(rng, station, 1500)
        pages = _batches(rng, rows)
        with connect(urls[station], autocommit=True) as pg:
            # in two pushes, so that the second's batches add to roll-ups the first made
            half = len(pages) // 2
            at, broken = ingest.write_checked(pg, station, ingest.Head(), pages[:half])
            assert broken is None
            at, broken = ingest.write_checked(pg, station, at, pages[half:])
            assert broken is None and at.chain_seq == len(rows)
    with connect_as(pg_admin_url) as conn:
        assert conn.execute("SELECT count(*) FROM central.airtime").fetchone() == (4500,)
        for table, (kept, raw) in CHECKS.items():
            got = sorted(conn.execute(kept).fetchall())
            want = sorted(conn.execute(raw).fetchall())
            assert got == want, f"{table} differs from the raw rows"
        # the data reached what it is meant to test: two years, three months, both zones
        years = conn.execute("SELECT DISTINCT year FROM central.rollup_year").fetchall()
        months = conn.execute("SELECT count(DISTINCT month) FROM central.rollup_month").fetchone()
        assert len(years) == 2 and months is not None and months[0] >= 3

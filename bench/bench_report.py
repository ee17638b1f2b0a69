"""Benchmark: the airtime report over 1,000,000 rows on SQLite (target <= 0.5 s).

A hundred stations for a year: 2 slots a day, 14 spots a slot, 11 topics, a few ad hoc and
emergency broadcasts and some failed/missed/interrupted plays; every row chained exactly as
`airtime.log` chains it (bulk-inserted for speed, hashes from `airtime.chain.link`).

Run:  /work/venv/bin/python bench/bench_report.py [--rows-per-station N] [--keep FILE]
Prints the timings, the query plan of the report query and the row counts.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from airtime.chain import BASE, link  # noqa: E402
from airtime.periods import parse_period  # noqa: E402
from airtime.report import build_report  # noqa: E402
from airtime.store import report_data, verify_station  # noqa: E402
from loa.db import open_database  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TOPICS = [f"chu-de-{i:02d}" for i in range(11)]
COLS = ("seq", *BASE, "hash", "chain_seq")  # rows without a bulletin


def fmt(value: datetime) -> str:
    v = value.astimezone(UTC)
    return v.strftime("%Y-%m-%d %H:%M:%S.") + f"{v.microsecond:06d}"


def generate(path: Path, stations: int, per_slot: int, year: int) -> int:
    engine = open_database(f"sqlite:///{path}")
    engine.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    rnd = random.Random(7)
    seq = 0
    insert = f"INSERT INTO airtime ({', '.join(COLS)}) VALUES ({', '.join('?' * len(COLS))})"
    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    for s in range(stations):
        station = f"xa-{s:03d}"
        prev, chain_seq, batch = "", 0, []
        for d in range(days):
            day = date(year, 1, 1) + timedelta(days=d)
            for slot, hour in (("sang", 6), ("chieu", 17)):
                at = datetime(day.year, day.month, day.day, hour, tzinfo=TZ)
                kinds = ["scheduled"] * per_slot
                if rnd.random() < 0.02:
                    kinds[0] = rnd.choice(("adhoc", "emergency"))
                for kind in kinds:
                    topic = rnd.choice(TOPICS)
                    spot = f"{topic}-{rnd.randrange(6)}"
                    status = rnd.choices(
                        ("completed", "interrupted", "failed", "missed"), (97, 1, 1, 1)
                    )[0]
                    length = 30.0 + rnd.random() * 60
                    played = 0.0 if status in ("failed", "missed") else length
                    start = None if status == "missed" else at
                    seq += 1
                    chain_seq += 1
                    values = (
                        f"{s:04d}-{seq:012d}",
                        station,
                        slot,
                        kind,
                        topic,
                        spot,
                        f"Tin bài số {spot}",
                        f"{topic}/{spot}.mp3",
                        fmt(at),
                        fmt(start) if start else None,
                        fmt(at + timedelta(seconds=played)) if start else None,
                        played,
                        status,
                        None,
                    )
                    prev = link(prev, values)
                    batch.append((seq, *values, prev, chain_seq))
                    at += timedelta(seconds=length + 1)
        con.executemany(insert, batch)
        con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()
    return seq


CPU: list[float] = []


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    """Median wall time of `fn`; its median CPU time goes to CPU[-1] (steadier on a busy box)."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU.append(statistics.median(cpu))
    return statistics.median(times), result


def query_plan(engine: sa.Engine, station: str | None, period) -> list[str]:
    captured: list[tuple[str, tuple]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        captured.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", grab)
    with engine.connect() as conn:
        report_data(conn, station, period, TZ)
    sa.event.remove(engine, "before_cursor_execute", grab)
    lines = []
    raw = engine.raw_connection()
    try:
        for statement, params in captured:
            for row in raw.cursor().execute("EXPLAIN QUERY PLAN " + statement, params):
                lines.append(str(row[-1]))
    finally:
        raw.close()
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=100)
    ap.add_argument("--per-slot", type=int, default=14)
    ap.add_argument("--keep", type=Path, help="keep the database at this path")
    ap.add_argument("--reuse", action="store_true", help="reuse the --keep database if present")
    args = ap.parse_args()
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
        f"{os.cpu_count()} CPUs, SQLite {sqlite3.sqlite_version}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.db"
        if not (args.reuse and path.exists()):
            for old in path.parent.glob(path.name + "*"):
                old.unlink()
            t0 = time.perf_counter()
            rows = generate(path, args.stations, args.per_slot, 2021)
            print(
                f"generated {rows:,} rows for {args.stations} stations in "
                f"{time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.0f} MB)"
            )
        engine = open_database(f"sqlite:///{path}")
        period = parse_period("2021")
        topics = [(t, t) for t in TOPICS]

        def report(station: str | None):  # type: ignore[no-untyped-def]
            with engine.connect() as conn:
                groups, months = report_data(conn, station, period, TZ)
            return build_report(
                groups,
                station_id=station or "*",
                station_name="x",
                period=period,
                topics=topics,
                months=months,
            )

        report(None)  # warm the OS file cache, as on a machine that just wrote the log
        t_all, rep_all = timed(lambda: report(None))
        rel = rep_all.reliability  # type: ignore[attr-defined]
        counted = sum(rel.values())
        print(
            f"yearly report, all stations ({counted:,} rows): median {t_all * 1000:.0f} ms "
            f"wall, {CPU[-1] * 1000:.0f} ms CPU"
        )
        t_one, rep_one = timed(lambda: report("xa-042"))
        print(
            f"yearly report, one station ({sum(rep_one.reliability.values()):,} rows): "  # type: ignore[attr-defined]
            f"median {t_one * 1000:.1f} ms wall, {CPU[-1] * 1000:.1f} ms CPU"
        )
        with engine.connect() as conn:
            t_ver, ver = timed(lambda: verify_station(conn, "xa-042"))
        print(
            f"verify one station's chain ({ver.rows:,} rows, ok={ver.ok}): "  # type: ignore[attr-defined]
            f"median {t_ver * 1000:.0f} ms wall, {CPU[-1] * 1000:.0f} ms CPU"
        )
        with engine.connect() as conn:
            t0 = time.perf_counter()
            checked = sum(verify_station(conn, f"xa-{s:03d}").rows for s in range(args.stations))
            t_every = time.perf_counter() - t0
        print(f"verify every station's chain ({checked:,} rows): {t_every:.1f} s (one run)")
        print("query plan (report, all stations):")
        for line in query_plan(engine, None, period):
            print("   ", line)
        print("query plan (report, one station):")
        for line in query_plan(engine, "xa-042", period):
            print("   ", line)
        engine.dispose()


if __name__ == "__main__":
    main()

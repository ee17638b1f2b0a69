"""Benchmark: the central PostgreSQL, ingest of pushes and what storage grows to.

Against a real PostgreSQL on this machine (a throwaway cluster made like the tests', with
fsync ON, or $LOA_TEST_PG_URL): every row goes in as in production, from a station's SQLite
log through `central.push` (keyset pages, each row's link checked, one transaction per batch:
COPY into a temporary table, one INSERT ... SELECT, the day roll-ups kept by the
trigger in the same transaction), over TCP with SCRAM, as the station's own RLS-bound role.

  1. one station's catch-up push of N rows (default 50,000): rows/s end to end, and the
     rate of the first and last tenth (does ingest slow down as the table grows?)
  2. the same rows written by `ingest.write_batch` from memory (no SQLite read, no link
     check, one batch at a time): the server's side
  3. a station's daily push (30 new rows, heartbeat, schedule, events) end to end, median
  4. 100 stations at once: a first push of 1,000 rows each, then a daily push each
  5. sizes (pg_total_relation_size) per row and the extrapolation to 10,000 stations x a year

Each of 1-4 runs --repeat times (default 3), each time into a new database from the same
station logs; the median is printed with every run's figure and the load average (1 min)
when it ended.

Run:  flock /tmp/loa-heavy.lock .venv/bin/python bench/bench_central.py [--rows N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from airtime import push as local  # noqa: E402
from central import ingest  # noqa: E402
from central.conn import connect  # noqa: E402
from central.push import StationReport, push  # noqa: E402
from loa.db import open_database  # noqa: E402
from tests.central_support import central, write_rows  # noqa: E402
from tests.pg_fixture import libpq, recreate_database, server_or_cluster  # noqa: E402

REPORT = StationReport(
    {"topics": [{"id": f"t{i}", "weight": 1.0} for i in range(11)], "slots": []}, "bench"
)
YEAR_ROWS = 10_000 * 30 * 365  # ~110 M


def sizes(admin: str) -> dict[str, int]:
    with psycopg.connect(libpq(admin)) as conn:
        return {
            t: int(
                conn.execute("select pg_total_relation_size(%s)", (f"central.{t}",)).fetchone()[0]
            )  # type: ignore[union-attr]
            for t in ("airtime", "rollup_day", "rollup_spot_day")
        }


def count(admin: str, table: str) -> int:
    with psycopg.connect(libpq(admin)) as conn:
        return int(conn.execute(f"select count(*) from central.{table}").fetchone()[0])  # type: ignore[index]


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def fresh_database(server: str, stations: list[str]) -> tuple[str, dict[str, str]]:
    """A new central database `bench_central` with `stations`; (admin URL, station URLs)."""
    admin = recreate_database(server, "bench_central")
    return admin, central(admin, *((s, f"h-{i % 10}") for i, s in enumerate(stations)))


def median_line(label: str, runs: list[tuple[float, str]], unit: str, fmt: str = ",.0f") -> None:
    values = ", ".join(f"{v:{fmt}} ({ld})" for v, ld in runs)
    print(f"{label}: median {statistics.median(v for v, _ in runs):{fmt}} {unit}; runs {values}")


def run_once(run: int, server: str, tmp: Path, ids: list[str], args: argparse.Namespace) -> dict:
    """Measures 1-4 once, into a new database; what they measured, with the load."""
    out: dict = {}
    admin, urls = fresh_database(server, ["big", "mem", *ids])
    shutil.copy(tmp / "big-0.db", tmp / "big.db")
    big = open_database(f"sqlite:///{tmp / 'big.db'}")

    # 1. one station's catch-up push, end to end
    marks: list[tuple[float, int]] = []
    original = ingest._write

    def timed(*a, **k):  # type: ignore[no-untyped-def]
        out = original(*a, **k)
        marks.append((time.perf_counter(), out.chain_seq))
        return out

    ingest._write = timed  # type: ignore[assignment]
    with big.connect() as source:
        t0 = time.perf_counter()
        result = push(source, urls["big"], "big", REPORT)
        elapsed = time.perf_counter() - t0
    ingest._write = original  # type: ignore[assignment]
    tenth = max(1, len(marks) // 10)
    first = marks[tenth - 1][1] / (marks[tenth - 1][0] - t0)
    if len(marks) > tenth:
        last_rows = marks[-1][1] - marks[-tenth - 1][1]
        last = last_rows / (marks[-1][0] - marks[-tenth - 1][0])
    else:
        last = first
    out.setdefault("e2e", []).append((result.copied / elapsed, load()))
    out.setdefault("tenths", []).append(f"{first:,.0f}/{last:,.0f}")
    print(f"  run {run + 1}: 1. push of {result.copied} rows end to end {elapsed:.2f} s "
          f"= {result.copied / elapsed:,.0f} rows/s (first tenth {first:,.0f}/s, last "
          f"tenth {last:,.0f}/s), {load()}")  # fmt: skip

    # 2. the server's side: the same rows from memory, as another station
    with big.connect() as source:
        pages = list(local.pages_after(source, "big", 0))
    rows = [
        [r.__class__(r.seq, r.chain_seq, r.hash, (r.values[0] + "m", "mem",
                                                  *r.values[2:])) for r in page]
        for page in pages
    ]  # fmt: skip
    # the chain of "mem" differs only by id and station, so its hashes are not valid;
    # write_batch does not check them (push does): this measures the server's work
    with connect(urls["mem"], autocommit=True) as pg:
        at = ingest.Head()
        t0 = time.perf_counter()
        for page in rows:
            at = ingest.write_batch(pg, "mem", at, page)
        elapsed = time.perf_counter() - t0
    out.setdefault("server_side", []).append((at.chain_seq / elapsed, load()))
    print(f"  run {run + 1}: 2. write_batch only, {at.chain_seq} rows: {elapsed:.2f} s = "
          f"{at.chain_seq / elapsed:,.0f} rows/s, {load()}")  # fmt: skip

    # 3. the daily push of a station with a long history
    times = []
    for _ in range(15):
        write_rows(tmp / "big.db", "big", 30)
        with big.connect() as source:
            t0 = time.perf_counter()
            push(source, urls["big"], "big", REPORT)
            times.append(time.perf_counter() - t0)
    big.dispose()
    out.setdefault("daily", []).append((statistics.median(times) * 1000, load()))
    print(f"  run {run + 1}: 3. daily push (30 rows + heartbeat + schedule + events), "
          f"{args.rows:,}-row history: median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms, {load()}")  # fmt: skip

    # 4. 100 stations at once
    for s in ids:
        shutil.copy(tmp / f"{s}-0.db", tmp / f"{s}.db")
    engines = {s: open_database(f"sqlite:///{tmp / f'{s}.db'}") for s in ids}

    def together(label: str) -> tuple[float, float, float]:
        lat: list[float] = []
        errors: list[BaseException] = []

        def one(s: str) -> None:
            try:
                with engines[s].connect() as source:
                    t = time.perf_counter()
                    push(source, urls[s], s, REPORT)
                    lat.append(time.perf_counter() - t)
            except BaseException as exc:
                errors.append(exc)

        before = count(admin, "airtime")
        threads = [threading.Thread(target=one, args=(s,)) for s in ids]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        n = count(admin, "airtime") - before
        lat.sort()
        p95 = lat[int(len(lat) * 0.95) - 1] * 1000
        print(f"  run {run + 1}: 4. {len(ids)} stations at once, {label}: {n:,} rows in "
              f"{wall:.2f} s = {n / wall:,.0f} rows/s; per push median "
              f"{statistics.median(lat) * 1000:.0f} ms, p95 {p95:.0f} ms; errors "
              f"{len(errors)}, {load()}")  # fmt: skip
        return n / wall, wall, p95

    rate, _wall, _p95 = together(f"first push of {args.station_rows} rows each")
    out.setdefault("first_all", []).append((rate, load()))
    for s in ids:
        write_rows(tmp / f"{s}.db", s, 30)
    _rate, wall, p95 = together("daily push of 30 rows each")
    out.setdefault("daily_all", []).append((wall, load()))
    out.setdefault("daily_all_lat", []).append(f"{p95:.0f}")
    for e in engines.values():
        e.dispose()
    out["admin"] = admin
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--stations", type=int, default=100)
    parser.add_argument("--station-rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server, cluster = server_or_cluster(fsync=True)
    tmp = Path(tempfile.mkdtemp(prefix="loa-bench-central-"))
    try:
        with psycopg.connect(libpq(server), autocommit=True) as conn:
            version = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
        ids = [f"xa-{i:03d}" for i in range(args.stations)]
        print(f"PostgreSQL {version}, fsync on, {os.cpu_count()} cores, {load()}")
        t0 = time.perf_counter()
        write_rows(tmp / "big-0.db", "big", args.rows)
        for s in ids:
            write_rows(tmp / f"{s}-0.db", s, args.station_rows)
        print(f"(prepared {args.rows} + {args.stations} x {args.station_rows} chained rows in "
              f"SQLite in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
        e2e: list[tuple[float, str]] = []
        tenths: list[str] = []
        server_side: list[tuple[float, str]] = []
        daily: list[tuple[float, str]] = []
        first_all: list[tuple[float, str]] = []
        daily_all: list[tuple[float, str]] = []
        daily_all_lat: list[str] = []
        for run in range(args.repeat):
            got = run_once(run, server, tmp, ids, args)
            admin = got.pop("admin")
            for key, values in got.items():
                {"e2e": e2e, "tenths": tenths, "server_side": server_side, "daily": daily,
                 "first_all": first_all, "daily_all": daily_all,
                 "daily_all_lat": daily_all_lat}[key].extend(values)  # fmt: skip
        print(f"over {args.repeat} runs (median; each run's figure and the load when it ended):")
        median_line(f"1. catch-up push of {args.rows:,} rows, end to end", e2e, "rows/s")
        print(f"   first/last tenth per run: {', '.join(tenths)} rows/s")
        median_line("2. write_batch only (the server's side)", server_side, "rows/s")
        median_line("3. daily push, median of 15", daily, "ms")
        median_line(f"4. {args.stations} stations' first push at once", first_all, "rows/s")
        median_line(f"4. {args.stations} stations' daily push at once, all done in", daily_all,
                    "s", ".2f")  # fmt: skip
        print(f"   p95 per push of the daily round, per run: {', '.join(daily_all_lat)} ms")

        # 5. sizes and the extrapolation (the last run's database)
        with psycopg.connect(libpq(admin), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE central.airtime")
        rows_total = count(admin, "airtime")
        size = sizes(admin)
        days = count(admin, "rollup_day")
        spot_days = count(admin, "rollup_spot_day")
        per_row = size["airtime"] / rows_total
        print(f"5. {rows_total:,} rows: airtime {size['airtime'] / 2**20:.0f} MiB "
              f"({per_row:.0f} B/row incl. indexes), rollup_day {days:,} rows "
              f"{size['rollup_day'] / 2**20:.1f} MiB, rollup_spot_day {spot_days:,} rows "
              f"{size['rollup_spot_day'] / 2**20:.1f} MiB")  # fmt: skip
        station_days = rows_total / 30
        print(f"   10,000 stations x a year = {YEAR_ROWS / 1e6:.0f} M rows: airtime "
              f"~{per_row * YEAR_ROWS / 2**30:.0f} GiB; roll-ups ~"
              f"{size['rollup_day'] / station_days * 3_650_000 / 2**30:.1f} + "
              f"{size['rollup_spot_day'] / station_days * 3_650_000 / 2**30:.1f} GiB "
              f"(per station-day, x 3.65 M station-days)")  # fmt: skip
        with psycopg.connect(libpq(admin)) as conn:
            t0 = time.perf_counter()
            conn.execute(
                "select station, topic, sum(plays), sum(seconds) from central.rollup_day "
                "where day between '2021-01-01' and '2021-12-31' and kind = 'scheduled' "
                "and status = 'completed' group by station, topic"
            ).fetchall()
            print(f"   a year's per-station, per-topic sums from rollup_day: "
                  f"{(time.perf_counter() - t0) * 1000:.0f} ms")  # fmt: skip
    finally:
        if cluster is not None:
            cluster.remove("fast")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

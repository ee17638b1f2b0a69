"""Benchmark: the district's and the province's report, and `loa central status`, at a
province's scale: 10,000 stations (100 districts of 100) with a year of roll-ups.

How the data is made (a throwaway cluster like the tests', or $LOA_TEST_PG_URL):

  1. district h-000: 100 stations registered with their own roles, each with a year (2021) of
     log written through the log's own chaining (tests/central_year.py: two sessions a day,
     four spots from the eleven topics, missed and failed sessions, ad hoc and emergency
     broadcasts) and pushed through the real push (`central.push`), so its raw rows, day
     roll-ups, month roll-ups and district spots are exactly what ingest makes.
  2. the other 99 districts: each a copy of h-000 under new station ids, made by INSERTing
     h-000's day roll-ups (rollup_day, rollup_spot_day) under the new ids. Those are the rows
     ingest would have made for the same rows under those ids (the key and sums do not depend
     on the id), and the INSERT fires the same statement triggers that keep the month
     roll-ups and the district's spots, as ingest does. Each copy gets a schedule, a heartbeat
     and one raw row (the head the reports look up), and the whole province a year of events
     (30 a station) with some in the last day.

Then, each the median of --repeat runs after a warm-up, end to end through the public functions
(connect, queries, the pure build):

  - the province's yearly report (10,000 stations): target <= 1 s
  - a district's yearly report (100 stations), as the admin and as the district's role
    (row-level security): target <= 0.2 s
  - `loa central status` for 10,000 stations: target <= 0.5 s
  - and, for information: the province's H1, a district's range with edge days, and
    the district's document rendered as docx and xlsx

Check: h-000's report computed from its raw rows (central.airtime, 100 stations) agrees with
the roll-up figures to the row (plays exactly, seconds to 1e-6) for the year and a range.

Run:  flock /tmp/loa-heavy.lock .venv/bin/python bench/bench_central_report.py [--districts N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from airtime.periods import parse_period  # noqa: E402
from central.conn import connect  # noqa: E402
from central.report_queries import central_report, read_figures  # noqa: E402
from central.roles import add_district, add_station  # noqa: E402
from central.schema import init  # noqa: E402
from central.status import read_status, status_lines  # noqa: E402
from tests.central_year import push_station, station_rows, write_station  # noqa: E402
from tests.pg_fixture import libpq, server_or_cluster  # noqa: E402

PER_DISTRICT = 100


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def sample(admin: str, tmp: Path) -> float:
    """District h-000: 100 stations, a year each, through the real push."""
    add_district(admin, "h-000", "Huyện Mẫu")
    t0 = time.perf_counter()
    for i in range(PER_DISTRICT):
        sid = f"x000-{i:03d}"
        issued = add_station(admin, sid, f"Đài Truyền thanh xã Mẫu {i}", "h-000")
        off = (date(2021, 3, 8), date(2021, 3, 21)) if i % 7 == 3 else None
        rows = station_rows(sid, date(2021, 1, 1), date(2021, 12, 31), i, off)
        push_station(write_station(tmp / f"{sid}.db", rows), issued.url, sid)
    return time.perf_counter() - t0


def copies(admin: str, districts: int) -> float:
    t0 = time.perf_counter()
    with connect(admin, autocommit=True) as pg:
        for d in range(1, districts):
            code = f"h-{d:03d}"
            pg.execute(
                "INSERT INTO central.district (code, name) VALUES (%s, %s)",
                (code, f"Huyện {d:03d}"),
            )
            with pg.transaction():
                pg.execute(
                    "CREATE TEMP TABLE copy_map ON COMMIT DROP AS SELECT id AS source, "
                    "replace(id, 'x000-', %s) AS id, replace(name, 'Mẫu', %s) AS name "
                    "FROM central.station WHERE district = 'h-000'",
                    (f"x{d:03d}-", f"{d:03d}"),
                )
                pg.execute(
                    "INSERT INTO central.station (id, name, district) "
                    "SELECT id, name, %s FROM copy_map",
                    (code,),
                )
                pg.execute(
                    "INSERT INTO central.station_report (station, heartbeat_at, loa_version, "
                    "schedule) SELECT c.id, now() - (random() * interval '3 hours'), "
                    "r.loa_version, r.schedule FROM copy_map c JOIN central.station_report r "
                    "ON r.station = c.source"
                )
                pg.execute(
                    "INSERT INTO central.rollup_day SELECT c.id, r.day, r.topic, r.kind, "
                    "r.status, r.plays, r.seconds, r.spots FROM central.rollup_day r "
                    "JOIN copy_map c ON c.source = r.station"
                )
                pg.execute(
                    "INSERT INTO central.rollup_spot_day SELECT c.id, r.day, r.topic, r.kind, "
                    "r.status, r.spot, r.plays, r.seconds FROM central.rollup_spot_day r "
                    "JOIN copy_map c ON c.source = r.station"
                )
                # the head of each copy's chain (a row of 2022: outside the year reported)
                pg.execute(
                    "INSERT INTO central.airtime (station, chain_seq, id, slot, kind, topic, "
                    "title, path, scheduled_at, played_s, status, hash, received_at) "
                    "SELECT id, 1, 'head-' || id, 'sang', 'scheduled', NULL, '', '', "
                    "'2022-06-01', 0, 'skipped', 'h', now() - random() * interval '2 days' "
                    "FROM copy_map"
                )
            print(f"  copied district {code}: {time.perf_counter() - t0:.0f} s", flush=True)
        # a year of events, 30 a station, some within the last day
        pg.execute(
            "INSERT INTO central.station_event (station, seq, at, level, source, message) "
            "SELECT s.id, g, CASE WHEN g > 28 AND hashtext(s.id) % 10 = 0 "
            "THEN now() - interval '2 hours' * (g - 28) "
            "ELSE timestamptz '2021-01-01' + interval '12 days' * g END, "
            "CASE WHEN g % 3 = 0 THEN 'warning' ELSE 'error' END, "
            "(ARRAY['output', 'library', 'config', 'slot', 'hook'])[1 + g % 5], "
            "'sự cố thử ' || g FROM central.station s, generate_series(1, 30) g "
            "ON CONFLICT DO NOTHING"
        )
        pg.execute("ANALYZE")
    return time.perf_counter() - t0


def status_all(admin: str) -> list[Any]:
    """What `loa central status` does: read, order, and the lines it prints."""
    stations = read_status(admin)
    status_lines(stations, datetime.now(UTC))
    return stations


RAW = """
SELECT a.station, coalesce(a.topic, ''), a.kind, a.status, count(*), sum(a.played_s)
  FROM central.airtime a JOIN central.station s ON s.id = a.station
 WHERE s.district = %s
   AND (coalesce(a.started_at, a.scheduled_at) AT TIME ZONE s.timezone)::date BETWEEN %s AND %s
 GROUP BY 1, 2, 3, 4
"""


def agrees_with_raw(admin: str, period_text: str) -> tuple[int, int]:
    """(figures compared, figures that differ) between h-000's report and its raw rows:
    per station, per topic plays and seconds, missed or failed, due, ad hoc, emergency."""
    period = parse_period(period_text)
    with psycopg.connect(libpq(admin)) as pg:
        raw = list(pg.execute(RAW, ("h-000", period.start, period.end)))
    want: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "topics": defaultdict(lambda: [0, 0.0]),
            "problems": 0,
            "due": 0,
            "adhoc": [0, 0.0],
            "emergency": [0, 0.0],
        }
    )
    for station, topic, kind, status, n, seconds in raw:
        w = want[station]
        if kind in ("adhoc", "emergency"):
            if status == "completed":
                w[kind][0] += n
                w[kind][1] += seconds
            continue
        if status == "completed":
            w["topics"][topic][0] += n
            w["topics"][topic][1] += seconds
        w["problems"] += n if status in ("missed", "failed") else 0
        w["due"] += n if status in ("completed", "interrupted", "failed", "missed") else 0
    with connect(admin) as pg:
        got = {f.station: f for f in read_figures(pg, period, "h-000")}
    compared = differ = 0
    for station in want.keys() | got.keys():
        w, f = want.get(station), got.get(station)
        if w is None or f is None:
            differ += 1
            continue
        pairs = [
            (w["problems"], f.problems),
            (w["due"], f.due),
            (w["adhoc"][0], f.adhoc),
            (w["emergency"][0], f.emergency),
        ]
        for topic in w["topics"].keys() | f.topics.keys():
            a, b = w["topics"].get(topic, [0, 0.0]), f.topics.get(topic, (0, 0.0))
            pairs.append((a[0], b[0]))
            compared += 1
            differ += abs(a[1] - b[1]) > 1e-6
        for a, b in pairs:
            compared += 1
            differ += a != b
    return compared, differ


def ingest_cost(
    server: str, tmp: Path, rounds: int = 5, versions: tuple[int, int] = (4, 6)
) -> None:
    """What a migration's triggers add to ingest (migration 6's by default; this loa's ingest
    writes the bulletin columns of migration 4, so no version before 4 can take it): four
    stations' years (~11,600 rows, in batches of 2,000 as a push
    sends them) written by `ingest.write_batch` into a database at each version (the
    migrations up to it), interleaved A/B `rounds` times; the median of each."""
    from airtime import push as local
    from central import ingest
    from central.schema import MIGRATIONS
    from loa.db import open_database

    batches: list[tuple[str, list[Any]]] = []
    for k in range(4):
        sid = f"x-cost-{k}"
        rows = station_rows(sid, date(2021, 1, 1), date(2021, 12, 31), k)
        engine = open_database(write_station(tmp / f"cost-{k}.db", rows))
        with engine.connect() as source:
            batches += [(sid, page) for page in local.pages_after(source, sid, 0)]
        engine.dispose()
    times: dict[int, list[float]] = {v: [] for v in versions}
    for r in range(rounds):
        for version in versions:
            name = f"bench_cost_{version}_{r}"
            with psycopg.connect(libpq(server), autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {name}")
            db = server.rsplit("/", 1)[0] + "/" + name
            init(db, [m for m in MIGRATIONS if m.version <= version])
            with connect(db, autocommit=True) as pg:
                pg.execute("INSERT INTO central.district VALUES ('h', 'h', NULL)")
                pg.execute(
                    "INSERT INTO central.station (id, name, district) "
                    "SELECT 'x-cost-' || k, 'x', 'h' FROM generate_series(0, 3) k"
                )
                heads: dict[str, Any] = {}
                t0 = time.perf_counter()
                for sid, page in batches:
                    heads[sid] = ingest.write_batch(pg, sid, heads.get(sid, ingest.Head()), page)
                times[version].append(time.perf_counter() - t0)
            with psycopg.connect(libpq(server), autocommit=True) as conn:
                conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
    n = sum(len(page) for _, page in batches)
    a, b = (statistics.median(times[v]) for v in versions)
    runs = {v: [round(t, 2) for t in ts] for v, ts in times.items()}
    print(
        f"  ingest of {n:,} rows by write_batch: version {versions[0]} {n / a:,.0f} rows/s, "
        f"version {versions[1]} {n / b:,.0f} rows/s ({(b - a) / a:+.0%} time); runs (s): {runs}"
    )


ROLLUPS = (
    ("rollup_day", "day, topic, kind, status, plays, round(seconds::numeric, 6), spots"),
    ("rollup_spot_day", "day, topic, kind, status, spot, plays, round(seconds::numeric, 6)"),
    ("rollup_month", "month, topic, kind, status, plays, round(seconds::numeric, 6)"),
    ("rollup_year", "year, topic, kind, status, plays, round(seconds::numeric, 6)"),
)


def copy_equals_ingest(admin: str, server: str, tmp: Path, i: int = 5) -> int:
    """A copied station's roll-ups equal what ingest makes of the same log pushed for real
    under its id (into a scratch database); the number of roll-up rows compared."""
    copy = f"x001-{i:03d}"
    with psycopg.connect(libpq(server), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS bench_copy_check WITH (FORCE)")
        conn.execute("CREATE DATABASE bench_copy_check")
    scratch = server.rsplit("/", 1)[0] + "/bench_copy_check"
    init(scratch)
    issued = add_station(scratch, copy, "x", "h-001")
    off = (date(2021, 3, 8), date(2021, 3, 21)) if i % 7 == 3 else None
    rows = station_rows(copy, date(2021, 1, 1), date(2021, 12, 31), i, off)
    push_station(write_station(tmp / f"{copy}.db", rows), issued.url, copy)
    compared = 0
    for table, cols in ROLLUPS:
        query = f"SELECT {cols} FROM central.{table} WHERE station = %s ORDER BY {cols}"
        with psycopg.connect(libpq(admin)) as a, psycopg.connect(libpq(scratch)) as b:
            got = a.execute(query, (copy,)).fetchall()
            want = b.execute(query, (copy,)).fetchall()
        got = [r for r in got if r[0].year == 2021]  # the copy's head row (2022) is not the log
        assert got == want, f"{table}: the copy differs from what ingest makes"
        compared += len(want)
    with psycopg.connect(libpq(server), autocommit=True) as conn:
        conn.execute("DROP DATABASE bench_copy_check WITH (FORCE)")
    return compared


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--districts", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="", help="measure only the lines containing this")
    parser.add_argument(
        "--ingest-cost", action="store_true", help="only what a migration adds to ingest"
    )
    parser.add_argument(
        "--versions",
        default="4,6",
        help="--ingest-cost: the two schema versions compared (4 or later)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep bench_report of $LOA_TEST_PG_URL as it is (no new data)",
    )
    args = parser.parse_args()
    server, cluster = server_or_cluster()
    tmp = Path(tempfile.mkdtemp(prefix="loa-bench-report-"))
    try:
        if args.ingest_cost:
            a, b = (int(v) for v in args.versions.split(","))
            if min(a, b) < 4:
                parser.error("--versions: this loa's ingest writes migration 4's bulletin columns")
            ingest_cost(server, tmp, versions=(a, b))
            return
        with psycopg.connect(libpq(server), autocommit=True) as conn:
            if not args.reuse:
                conn.execute("DROP DATABASE IF EXISTS bench_report WITH (FORCE)")
                conn.execute("CREATE DATABASE bench_report")
            version = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
        admin = server.rsplit("/", 1)[0] + "/bench_report"
        init(admin)
        print(f"PostgreSQL {version}, {args.districts} districts of {PER_DISTRICT} stations")
        if not args.reuse:
            took = sample(admin, tmp)
            print(f"sample district pushed through the real push: {took:.0f} s", flush=True)
            took = copies(admin, args.districts)
            print(f"copies made: {took:.0f} s", flush=True)
        district_url = add_district(
            admin, "h-050" if args.districts > 50 else "h-000", "Huyện 050"
        ).url
        with psycopg.connect(libpq(admin)) as pg:
            # exact counts of 26 M rows take minutes: not while measuring only some lines
            for table in (
                ()
                if args.only
                else (
                    "airtime",
                    "rollup_day",
                    "rollup_spot_day",
                    "rollup_month",
                    "district_spot_month",
                    "station_event",
                    "station",
                )
            ):
                n = pg.execute(f"select count(*) from central.{table}").fetchone()[0]  # type: ignore[index]
                size = pg.execute(
                    "select pg_total_relation_size(%s)", (f"central.{table}",)
                ).fetchone()[0]  # type: ignore[index]
                print(f"  {table}: {n:,} rows, {size / 2**20:,.0f} MiB")
        year, h1 = parse_period("2021"), parse_period("2021-H1")
        edge = parse_period("2021-01-15..2021-02-14")
        some = "h-050" if args.districts > 50 else "h-000"
        now = datetime(2022, 1, 5, tzinfo=UTC)
        results = [
            ("province, year 2021", lambda: central_report(admin, year, now=now), 1.0),
            ("province, 2021-H1", lambda: central_report(admin, h1, now=now), None),
            (
                f"district {some}, year, admin",
                lambda: central_report(admin, year, some, now=now),
                0.2,
            ),
            (
                f"district {some}, year, its own role",
                lambda: central_report(district_url, year, some, now=now),
                0.2,
            ),
            (
                f"district {some}, 2021-01-15..02-14 (edge days)",
                lambda: central_report(admin, edge, some, now=now),
                None,
            ),
            ("status, all stations", lambda: status_all(admin), 0.5),
        ]
        for label, fn, target in results:
            if args.only not in label:
                continue
            seconds, out = timed(fn, args.repeat)
            mark = "" if target is None else (" OK" if seconds <= target else " OVER TARGET")
            goal = "" if target is None else f" (target <= {target} s)"
            size = len(out.stations) if hasattr(out, "stations") else len(out)
            print(f"  {label}: {seconds * 1000:,.0f} ms for {size:,} stations{goal}{mark}")
        from airtime.export_docx import document_docx
        from airtime.export_xlsx import document_xlsx
        from central.document import central_document
        from loa.commands.central import report_letterhead

        if args.only:
            return
        r = central_report(admin, year, some, now=now)
        d = central_document(r, report_letterhead(r, {}), issued=now.date(), created=now)
        for label, writer in (("docx", document_docx), ("xlsx", document_xlsx)):
            seconds, data = timed(lambda w=writer: w(d), 1)
            print(f"  district document as {label}: {seconds * 1000:,.0f} ms, {len(data):,} bytes")
        if args.districts > 1:
            n = copy_equals_ingest(admin, server, tmp)
            print(f"  a copied station's roll-ups equal a real push of its log: {n} rows")
        for p in ("2021", "2021-06-25..2021-07-03"):
            n, differ = agrees_with_raw(admin, p)
            print(f"  h-000 {p}: report vs raw rows: {n} figures compared, {differ} differ")
            assert differ == 0
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        if cluster is not None:
            cluster.remove("immediate")


if __name__ == "__main__":
    main()

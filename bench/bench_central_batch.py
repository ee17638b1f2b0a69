"""Benchmark: where the milliseconds of one ingest batch go, schema versions side by side.

Against a throwaway cluster (fsync on, like bench_central.py) or $LOA_TEST_PG_URL. One
station's log of --rows rows (tests.central_support.write_rows: 30 plays a day, every play of a
day a different spot: the roll-ups' worst case) is read from SQLite and link-checked once
(timed: the station's side), then written batch by batch as the station's own RLS-bound role
into a new database per schema version (--versions, e.g. 3,4: the migrations up to each;
default the latest), alternated --rounds times so each version sees the same load. Per
batch, timed apart: advisory lock + head read, the binary COPY into the temporary table
(psycopg formatting each row included), the INSERT ... SELECT (the roll-up triggers run
inside it), the commit; and the backend's CPU time over the whole log (from /proc, when the
server runs here: a figure the shared machine's load disturbs less than wall time). The
trigger functions' own time comes from pg_stat_user_functions (track_functions = all).

Run:  flock /tmp/loa-heavy.lock .venv/bin/python bench/bench_central_batch.py [--rows 50000]
      [--batch 2000] [--versions 3,4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from central import ingest  # noqa: E402
from central.conn import connect  # noqa: E402
from central.push import pages as station_pages  # noqa: E402
from central.roles import add_district, add_station  # noqa: E402
from central.schema import MIGRATIONS, init  # noqa: E402
from loa.db import open_database  # noqa: E402
from tests.central_support import write_rows  # noqa: E402
from tests.pg_fixture import libpq, recreate_database, server_or_cluster  # noqa: E402

PHASES = ("lock+head", "copy", "insert", "commit")


def fresh_database(server: str, name: str, version: int) -> tuple[str, str]:
    """A new database at schema `version` with station `big`: (admin URL, station URL)."""
    admin = recreate_database(server, name)
    with psycopg.connect(libpq(server), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} SET track_functions = 'all'")
    init(admin, [m for m in MIGRATIONS if m.version <= version])
    add_district(admin, "h-0", "Huyện")
    return admin, add_station(admin, "big", "Đài xã", "h-0").url


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a local process (the server's backend), None when not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_all(url: str, batches: list[ingest._Batch]) -> dict[str, list[float]]:
    """Each batch as `ingest._write` does it, phase by phase (ms); "cpu": the backend's CPU
    seconds for them all (when the server runs on this machine)."""
    out: dict[str, list[float]] = defaultdict(list)
    with connect(url, autocommit=True) as pg:
        pid = int(pg.execute("select pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        cpu0 = cpu_seconds(pid)
        at = ingest.Head()
        for batch in batches:
            t0 = time.perf_counter()
            pg.execute("BEGIN")
            pg.execute(ingest.LOCK, ("big",))
            assert ingest._head_from(pg, "big", at.chain_seq) == at
            t1 = time.perf_counter()
            ingest.stage(pg, batch)  # creates the temporary table if needed, then the COPY
            t3 = time.perf_counter()
            pg.execute(ingest._FROM_STAGE)
            t4 = time.perf_counter()
            pg.execute("COMMIT")
            t5 = time.perf_counter()
            spans = (t1 - t0, t3 - t1, t4 - t3, t5 - t4)
            for phase, took in zip(PHASES, spans, strict=True):
                out[phase].append(took * 1000)
            at = batch.head
        cpu1 = cpu_seconds(pid)
    if cpu0 is not None and cpu1 is not None:
        out["cpu"] = [cpu1 - cpu0]
    return out


def functions(admin: str) -> dict[str, tuple[int, float]]:
    time.sleep(0.6)  # the backends' function statistics reach the shared ones within 1 s
    with psycopg.connect(libpq(admin)) as conn:
        return {
            str(name): (int(calls), float(total))
            for name, calls, total in conn.execute(
                "select funcname, calls, total_time from pg_stat_user_functions"
            )
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--versions", default=str(MIGRATIONS[-1].version))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    versions = [int(v) for v in args.versions.split(",")]
    server, cluster = server_or_cluster(fsync=True)
    tmp = Path(tempfile.mkdtemp(prefix="loa-bench-batch-"))
    try:
        engine = open_database(write_rows(tmp / "big.db", "big", args.rows))
        with engine.connect() as source:
            t0 = time.perf_counter()
            pages = list(station_pages(source, "big", 0, args.batch))
            read = time.perf_counter() - t0
        engine.dispose()
        t0 = time.perf_counter()
        batches, at = [], ingest.Head()
        for page in pages:
            prepared = ingest.prepare(at, page)
            assert isinstance(prepared, ingest._Batch)
            batches.append(prepared)
            at = prepared.head
        check = time.perf_counter() - t0
        n = at.chain_seq
        print(f"{n:,} rows in batches of {args.batch}, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"station side: SQLite read {read / n * 1e6:.1f} us/row, link check + COPY rows "
              f"{check / n * 1e6:.1f} us/row")  # fmt: skip
        totals: dict[int, list[float]] = defaultdict(list)
        cpus: dict[int, list[float]] = defaultdict(list)
        phases: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        funcs: dict[int, list[dict[str, tuple[int, float]]]] = defaultdict(list)
        for r in range(args.rounds):
            for v in versions:
                admin, url = fresh_database(server, f"bench_batch_{v}", v)
                got = write_all(url, batches)
                cpu = got.pop("cpu", [0.0])[0]
                total = sum(sum(x) for x in got.values())
                totals[v].append(n / total * 1000)
                cpus[v].append(cpu / n * 1e6)
                for phase, xs in got.items():
                    phases[v][phase].append(statistics.median(xs))
                funcs[v].append(functions(admin))
                print(f"  round {r + 1}, version {v}: {n / total * 1000:,.0f} rows/s "
                      f"(the server's side, sequential), server CPU {cpu / n * 1e6:.1f} us/row, "
                      f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
        for v in versions:
            print(f"version {v}: median {statistics.median(totals[v]):,.0f} rows/s, server CPU "
                  f"{statistics.median(cpus[v]):.1f} us/row; per batch "
                  "(median of the rounds' medians): " + ", ".join(
                      f"{p} {statistics.median(phases[v][p]):.1f} ms" for p in PHASES))  # fmt: skip
            names = sorted({f for run in funcs[v] for f in run})
            for f in names:
                per_call = [t / c for run in funcs[v] if f in run for c, t in [run[f]] if c]
                if per_call:
                    print(f"    {f}: {statistics.median(per_call):.2f} ms per call")
    finally:
        if cluster is not None:
            cluster.remove("fast")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""`loa simulate` speed: a year of four 15-minute slots a day through the real daemon.

    .venv/bin/python bench/bench_simulate.py [--days 365] [--runs 3]

The engine path is the one `loa simulate` takes: the `Daemon` of `loa run` on a virtual clock
(its slot jobs fired from the same APScheduler triggers by `VirtualFiring`) -> its queue ->
runner -> planner -> null output -> airtime rows written and chained in a real SQLite file.
The library is 11 topics x 8 spots of 60-127 s (the null output needs no audio files).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.runner import Spot
from scheduler.simulate import simulate
from scheduler.spec import SlotSpec, StationSpec

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def station() -> tuple[StationSpec, list[Spot]]:
    topics = [f"chu-de-{i:02d}" for i in range(11)]
    spots = [
        Spot(
            f"{t}-{i}", t, f"{t}/tin {i}.mp3", Path(f"/lib/{t}/tin {i}.mp3"), f"Tin {i}", 60 + 9 * i
        )
        for t in topics
        for i in range(8)
    ]
    slots = tuple(
        SlotSpec(name, clock_time(hour, 0), 900, pause_s=2.0)
        for name, hour in (("sang", 6), ("trua", 11), ("chieu", 17), ("toi", 20))
    )
    weights = {t: 2.0 if i == 4 else 1.0 for i, t in enumerate(topics)}
    return StationSpec("bench", "Đài thử", HCM, weights, slots), spots


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    spec, spots = station()
    start = datetime(2021, 1, 1, tzinfo=HCM)
    times = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            engine = open_database(f"sqlite:///{tmp}/sim.db")
            t0 = time.perf_counter()
            result = simulate(
                spec,
                AirLog(station_db(engine), spec.id),
                spots,
                start,
                start + timedelta(days=args.days),
            )
            times.append(time.perf_counter() - t0)
            with engine.connect() as conn:
                rows = conn.exec_driver_sql("select count(*) from airtime").scalar()
            engine.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"simulate {args.days} days x {len(spec.slots)} slots: {result.slots} slots, {rows} rows; "
        f"wall median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}) "
        f"over {args.runs} runs; peak RSS {rss:.0f} MB"
    )


if __name__ == "__main__":
    main()

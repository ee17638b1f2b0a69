"""Memory and open file descriptors stay flat over simulated weeks: `loa simulate`'s engine
(the real runner, planner and airtime log on a virtual clock, real SQLite, the null output)
airs three weeks of a busy station; after a first week of warm-up (caches, the SQLite page
cache, imports), the next two weeks add no open file and almost no memory."""

from __future__ import annotations

import dataclasses
import gc
import os
from datetime import time, timedelta
from pathlib import Path

from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.simulate import simulate
from scheduler.spec import SlotSpec
from tests.test_daemon_virtual import MONDAY, STATION, make_spots

SLOTS = tuple(SlotSpec(f"s{h:02d}", time(h, 0), 600, pause_s=1.0) for h in range(6, 21))
BUSY = dataclasses.replace(STATION, slots=SLOTS, quiet_hours=None)
LIBRARY = make_spots({"dich-vu-cong": 20, "chi-so": 20, "duong-day-nong": 10}, seconds=25.0)


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_memory_and_fds_flat_over_simulated_weeks(tmp_path: Path) -> None:
    airlog = AirLog(station_db(open_database(f"sqlite:///{tmp_path}/loa.db")), BUSY.id)
    week = timedelta(days=7)
    simulate(BUSY, airlog, LIBRARY, MONDAY, MONDAY + week)  # warm-up
    gc.collect()
    fd0, rss0 = fds(), rss_kib()
    result = simulate(BUSY, airlog, LIBRARY, MONDAY + week, MONDAY + 3 * week)
    gc.collect()
    fd1, rss1 = fds(), rss_kib()
    assert result.slots == 15 * 14 and result.plays > 3000
    assert fd1 == fd0, f"open files {fd0} -> {fd1}"
    growth = rss1 - rss0
    # Two weeks are ~4,000 rows: a leak of 1 KiB per row would be 4 MiB. Allow 3 MiB of
    # allocator noise; the last run's figure is in RELIABILITY.md.
    assert growth < 3 * 1024, f"RSS {rss0} KiB -> {rss1} KiB (+{growth} KiB)"
    print(f"2 simulated weeks, {result.plays} plays: fds {fd0}->{fd1}, RSS +{growth} KiB")

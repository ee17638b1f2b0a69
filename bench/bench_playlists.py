"""Benchmark of the fair-rotation planner (issues 4 and 16).

1. Planning one slot from a 5,000-spot library with a year of history (target <= 10 ms).
2. Previewing a year of two slots a day with the same library (target <= 2 s).

The library has the eleven topics of the provincial letter, weights 1-3, durations 30-240 s,
some spots expired, not yet valid, unapproved or refused. The year of history is what the
planner itself airs over the year before (about 4,700 plays), so it has the real shape.

Run: python bench/bench_playlists.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playlists import (
    Candidate,
    Play,
    SlotRequest,
    plan_sequence,
    plan_slot,
    plan_to_plays,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TOPICS = [
    "y-nghia-muc-tieu",
    "thanh-tuu-tinh",
    "trach-nhiem-nguoi-dung-dau",
    "van-hoa-cong-vu",
    "dich-vu-cong",
    "chuong-trinh-tong-the",
    "chi-so",
    "so-hoa",
    "mot-cua",
    "phan-anh-kien-nghi",
    "dau-tu-kinh-doanh",
]


def library(n: int, rng: random.Random) -> list[Candidate]:
    spots = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        roll = rng.random()
        valid_from = date(2020, 6, 1) if roll < 0.05 else None
        valid_until = date(2021, 12, 31) if 0.05 <= roll < 0.10 else None
        if 0.10 <= roll < 0.12:
            valid_until = date(2020, 3, 1)  # expired long ago
        spots.append(
            Candidate(
                spot=f"s{i:05d}",
                topic=topic,
                duration_s=round(rng.uniform(30, 240), 3),
                path=f"{topic}/s{i:05d}.mp3",
                title=f"Tin {i}",
                valid_from=valid_from,
                valid_until=valid_until,
                approved=rng.random() > 0.02,
                ok=rng.random() > 0.01,
            )
        )
    return spots


def slots(first: date, days: int) -> list[SlotRequest]:
    jingle = Candidate("jingle", "", 8.0, "jingles/intro.mp3", "Nhạc hiệu")
    out = []
    for d in range(days):
        day = first + timedelta(days=d)
        for name, hour, minutes in (("sang", 6, 15), ("chieu", 17, 10)):
            out.append(
                SlotRequest(
                    name=name,
                    start=datetime(day.year, day.month, day.day, hour, 0, tzinfo=TZ),
                    length_s=minutes * 60,
                    topics=("*",),
                    intro=jingle,
                    outro=jingle,
                    pause_s=2.0,
                )
            )
    return out


def timed(call, rounds: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t0)
    return times, result


def main() -> None:
    rng = random.Random(4)
    lib = library(5000, rng)
    weights = {topic: 1 + (i % 3) for i, topic in enumerate(TOPICS)}
    require = True

    # A year of history: what the planner airs in 2020, with start times in UTC as the
    # airtime log stores them.
    history: list[Play] = []
    for plan in plan_sequence(
        slots(date(2020, 1, 1), 366), lib, [], weights, require_approval=require
    ):
        history.extend(
            Play(p.spot, p.topic, p.started_at.astimezone(UTC), p.played_s)
            for p in plan_to_plays(plan)
        )
    local = [Play(p.spot, p.topic, p.started_at.astimezone(TZ), p.played_s) for p in history]
    print(f"library: {len(lib)} spots, history: {len(history)} plays over 366 days")

    # 1. one slot (everything built from scratch each call, as `plan_slot` does)
    slot = slots(date(2021, 1, 1), 1)[0]
    for label, log in (("UTC log", history), ("log in station zone", local)):
        plan_slot(slot, lib, log, weights, require_approval=require)  # warm-up
        times, plan = timed(
            lambda log=log: plan_slot(slot, lib, log, weights, require_approval=require), 50
        )
        print(
            f"plan_slot ({label}): median {statistics.median(times) * 1000:.2f} ms, "
            f"min {min(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms "
            f"({len(plan.items)} items, unfilled {plan.unfilled_s:.1f} s)  target <= 10 ms"
        )

    # 2. a year of two slots a day
    year = slots(date(2021, 1, 1), 365)
    times, plans = timed(
        lambda: plan_sequence(year, lib, history, weights, require_approval=require), 5
    )
    items = sum(len(p.items) for p in plans)
    print(
        f"plan_sequence: {len(plans)} slots, {items} items, median "
        f"{statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s  "
        "target <= 2 s"
    )


if __name__ == "__main__":
    main()

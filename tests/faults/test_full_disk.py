"""The database's disk fills while a slot airs, then frees: a real `loa run` (file output,
real ffmpeg) whose SQLite database lies on a small tmpfs this test mounts and fills with a
ballast file. Every aired spot gets its row with its measured times, in order; the chain
verifies; the outage is one event and one log line each way, and `loa status` shows it while
it lasts."""

from __future__ import annotations

import itertools
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.airlog_engine import engine_of
from tests.faults.conftest import fill
from tests.faults.station import Station, make_station, utc, verify_chain

pytestmark = pytest.mark.slow


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def test_full_disk_during_a_slot_holds_the_log_and_writes_it_back(
    tmp_path: Path, small_disk: Path
) -> None:
    later = datetime.now(UTC) + timedelta(hours=3)
    st: Station = make_station(
        tmp_path, [("thu", later, 15)], spots=5, spot_s=1.2, backend="file",
        db=small_disk / "loa.db",
    )  # fmt: skip
    proc = st.start()
    try:
        st.wait_running(proc)
        start = (datetime.now(UTC) + timedelta(seconds=5)).replace(microsecond=0)
        st.set_slots(proc, [("thu", start, 15)])
        sleep_until(start + timedelta(seconds=2))
        ballast = small_disk / "ballast"
        assert fill(ballast) > 0
        sleep_until(start + timedelta(seconds=5))
        during = st.status()
        full_for = datetime.now(UTC)
        sleep_until(start + timedelta(seconds=10))
        ballast.unlink()  # space is back
        sleep_until(start + timedelta(seconds=17))
        out = st.stop(proc)
    finally:
        st.cleanup()
    # while full: `loa status` named the outage and showed what really was on air
    problems = [p for p in during["problems"] if p["source"] == "database"]
    assert problems and "held in memory" in problems[0]["message"], during
    assert during["alive"] is True
    assert len(during["on_air"]) <= 1
    if during["on_air"]:
        on = during["on_air"][0]
        begun = datetime.fromisoformat(on["started_at"])
        assert full_for - timedelta(seconds=1.5) <= begun <= full_for, on
    # every spot the output played (its own log lines) has its row, with measured times
    played = re.findall(r"completed \[scheduled thu\]: (.+?), ([0-9.]+) s", out)
    assert len(played) >= 9, out
    logged = [r for r in st.rows() if r["slot"] == "thu"]
    assert [r["status"] for r in logged] == ["completed"] * len(played), out
    assert [r["title"] for r in logged] == [title for title, _ in played]
    for r in logged:
        started, ended = utc(r["started_at"]), utc(r["ended_at"])
        assert started is not None and ended is not None
        assert r["played_s"] == pytest.approx(1.2, abs=0.01)
        assert (ended - started).total_seconds() == pytest.approx(r["played_s"], abs=0.005)
    for a, b in itertools.pairwise(logged):
        assert utc(a["ended_at"]) <= utc(b["started_at"])  # written in the order they aired
    ok, why = verify_chain(st.db)
    assert ok, why
    # the outage: one event and one line when it began, one of each when it ended
    events = [e for e in st.events() if e["source"] == "database"]
    assert [e["level"] for e in events] == ["error", "warning"], [dict(e) for e in events]
    assert "accepts writes again" in events[1]["message"]
    assert out.count("cannot write the database") == 1, out
    assert out.count("accepts writes again") == 1, out
    assert "Traceback" not in out, out
    verify = st.loa("airtime", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    print(
        f"disk full mid-slot: {len(played)} spots aired, {len(logged)} rows; {events[1]['message']}"
    )


def test_the_hold_is_bounded_and_says_what_it_lost(small_disk: Path) -> None:
    """In memory at most `hold_limit` writes; past it, writes are counted lost, and the
    recovery event says how many. Reads meanwhile see what is held (no double air)."""
    from sqlmodel import Session, select

    from airtime.models import Airtime
    from airtime.store import verify_station
    from loa.db import open_database, station_db
    from scheduler.airlog import AirLog

    airlog = AirLog(
        station_db(open_database(f"sqlite:///{small_disk}/loa.db")), "xa-thu", hold_limit=8
    )
    t = datetime(2021, 3, 1, 6, tzinfo=UTC)
    play = {"kind": "scheduled", "slot": "sang", "scheduled_at": t}
    a = airlog.open_play(started_at=t, spot="a", title="A", **play)
    ballast = small_disk / "ballast"
    fill(ballast)
    b = airlog.open_play(started_at=t + timedelta(seconds=30), spot="b", title="B", **play)
    outage = airlog.outage()
    assert outage is not None and "full" in outage["error"]
    airlog.close_play(a, t + timedelta(seconds=30), 30.0, "completed", None)
    airlog.close_play(b, t + timedelta(seconds=50), 20.0, "completed", None)
    # the daemon's view includes what is held: the occurrence aired, nothing is open
    seen = airlog.rows_between("sang", t, t + timedelta(minutes=5))
    assert [(r.spot, r.status) for r in seen] == [("a", "completed"), ("b", "completed")]
    assert airlog.open_rows() == []
    assert {p.spot for p in airlog.history()} == {"a", "b"}
    for i in range(10):  # 1 event + 1 open + 2 closes held so far; 4 more fit, 6 are lost
        airlog.record(status="missed", slot="chieu", scheduled_at=t + timedelta(hours=i))
    assert airlog.outage()["lost"] == 6
    ballast.unlink()
    airlog.beat(t, pid=1, started_at=t)  # the heartbeat writes what was held
    assert airlog.outage() is None
    with Session(engine_of(airlog)) as session:
        stored = list(session.exec(select(Airtime).order_by(Airtime.seq)))
    assert [(r.spot, r.status, r.played_s) for r in stored[:2]] == [
        ("a", "completed", 30.0),
        ("b", "completed", 20.0),
    ]
    assert stored[1].started_at == t + timedelta(seconds=30)
    assert [r.status for r in stored[2:]] == ["missed"] * 4
    back = [e for e in airlog.events() if e.source == "database"]
    assert "6 writes were lost" in back[0].message
    with engine_of(airlog).connect() as conn:
        assert verify_station(conn, "xa-thu").ok

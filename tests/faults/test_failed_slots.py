"""A slot that fails to air for any reason leaves its rows (failed, with the reason) and a
problem for `loa status`: silence with no row is impossible. Real SQLite, the real planner
and real ffmpeg through the file output; the faults are real inputs (a non-finite weight or
pause, a deleted or corrupted file, an output that is closed)."""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta
from pathlib import Path

import pytest

from airtime.store import verify_station
from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.clock import SystemClock, VirtualClock
from scheduler.daemon import Daemon
from scheduler.lock import StationLock
from scheduler.output.file import FileOutput
from scheduler.output.null import NullOutput
from scheduler.runner import Runner, Spot
from scheduler.slots import Occurrence
from tests.airlog_engine import engine_of
from tests.audio_media import tone
from tests.test_daemon_virtual import MONDAY, SANG, SPOTS, STATION, rows


@pytest.fixture
def airlog(tmp_path: Path) -> AirLog:
    return AirLog(station_db(open_database(f"sqlite:///{tmp_path}/loa.db")), STATION.id)


def problems(airlog: AirLog) -> list[str]:
    return [f"{e.source}: {e.message}" for e in airlog.events() if e.level == "error"]


OCC = Occurrence(MONDAY.replace(hour=6), SANG)


def runner(airlog: AirLog, station=STATION, output=None) -> Runner:
    clock = VirtualClock(OCC.at - timedelta(seconds=5))
    return Runner(station, airlog, output or NullOutput(clock), clock, spots=lambda: SPOTS)


def test_a_weight_that_breaks_the_planner_is_a_failed_row(airlog: AirLog) -> None:
    station = dataclasses.replace(STATION, weights={**STATION.weights, "chi-so": math.inf})
    outcome = runner(airlog, station).air_slot(OCC)
    assert outcome.status == "failed"
    [row] = rows(airlog)
    assert (row.status, row.slot, row.scheduled_at) == ("failed", "sang", OCC.at)
    assert "planning failed" in (row.error or "") and "weight" in (row.error or "")
    assert any("planning failed" in p for p in problems(airlog))
    # and it is not aired twice once the config is good again: the occurrence has its row
    assert runner(airlog).air_slot(OCC).status == "already"


def test_a_nan_pause_is_a_failed_row(airlog: AirLog) -> None:
    slot = dataclasses.replace(SANG, pause_s=math.nan)
    station = dataclasses.replace(STATION, slots=(slot,))
    occ = Occurrence(OCC.at, slot)
    assert runner(airlog, station).air_slot(occ).status == "failed"
    [row] = rows(airlog)
    assert row.status == "failed" and "pause" in (row.error or "")


def test_an_output_that_refuses_the_plan_fails_every_planned_item(airlog: AirLog) -> None:
    output = NullOutput(VirtualClock(OCC.at))
    output.close()  # a closed output raises on play()
    outcome = runner(airlog, output=output).air_slot(OCC)
    logged = rows(airlog)
    assert outcome.plan is not None and len(logged) == len(outcome.plan.items) > 1
    assert {r.status for r in logged} == {"failed"}
    assert all("refused the plan" in (r.error or "") for r in logged)
    assert [r.spot for r in logged] == [i.spot for i in outcome.plan.items]


def test_anything_escaping_the_runner_still_writes_a_failed_row(
    airlog: AirLog, tmp_path: Path
) -> None:
    """The daemon's last guard: an exception out of the runner (here a station spec whose
    quiet hours are not times at all, as no validated config produces) is a failed row."""
    bad = dataclasses.replace(STATION, quiet_hours=("nonsense", 5))  # type: ignore[arg-type]
    clock = VirtualClock(OCC.at - timedelta(seconds=5))
    run = Runner(bad, airlog, NullOutput(clock), clock, spots=lambda: SPOTS)
    daemon = Daemon(
        load_station=lambda: bad,
        airlog=airlog,
        runner=run,
        lock=StationLock(tmp_path / "loa.lock"),
        control_path=tmp_path / "loa.sock",
        resolve_adhoc=lambda req: SPOTS[:1],
        clock=clock,
    )
    daemon.enqueue_slot(OCC)
    daemon.air_queued()
    [row] = rows(airlog)
    assert (row.status, row.slot, row.scheduled_at) == ("failed", "sang", OCC.at)
    assert "broadcast failed" in (row.error or "")
    assert any("broadcast failed" in p for p in problems(airlog))


def test_a_file_deleted_or_corrupted_just_before_its_turn(airlog: AirLog, tmp_path: Path) -> None:
    """Real files through ffmpeg: the planner picks them, then one is deleted and one is
    overwritten with garbage before the output reaches them; those two are failed rows with
    the reason, the others air, the chain verifies."""
    lib = tmp_path / "lib"
    lib.mkdir()
    spots = [
        Spot(
            id=f"s{i}",
            topic="chi-so",
            path=f"chi-so/s{i}.wav",
            file=tone(lib / f"s{i}.wav", 400 + 100 * i, 1.0),
            title=f"Tin {i}",
            duration_s=1.0,
        )
        for i in range(5)
    ]
    station = dataclasses.replace(STATION, weights={"chi-so": 1.0}, quiet_hours=None)
    slot = dataclasses.replace(SANG, length_s=5.0, pause_s=0.0, topics=("chi-so",))
    damaged: list[str] = []

    def planner_then_damage(request, candidates):  # the real planner, then the fault
        plan = run.plan_from_log(request, candidates)
        second, third = plan.items[1].spot, plan.items[2].spot
        by_id = {s.id: s for s in spots}
        by_id[second].file.unlink()
        by_id[third].file.write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage" * 100)
        damaged.extend([second, third])
        return plan

    output = FileOutput(tmp_path / "air.wav")
    clock = SystemClock()
    station = dataclasses.replace(station, slots=(slot,))
    run = Runner(station, airlog, output, clock, spots=lambda: spots, planner=planner_then_damage)
    start = clock.now() + timedelta(seconds=1.5)
    occ = Occurrence(start, slot)
    try:
        outcome = run.air_slot(occ)
    finally:
        output.close()
    logged = {r.spot: r for r in rows(airlog)}
    assert outcome.plan is not None and len(logged) == len(outcome.plan.items) == 5
    assert logged[damaged[0]].status == "failed"
    assert "not found" in (logged[damaged[0]].error or "")
    assert logged[damaged[1]].status == "failed"
    assert "decode" in (logged[damaged[1]].error or "")
    assert {r.status for k, r in logged.items() if k not in damaged} == {"completed"}
    assert sum("output" in p for p in problems(airlog)) == 2
    with engine_of(airlog).connect() as conn:
        assert verify_station(conn, STATION.id).ok

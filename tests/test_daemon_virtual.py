"""The engine on a virtual clock over days: rows, no double air, missed slots, quiet hours,
crash recovery, reload of a good and a bad edit. Real SQLite, the null output backend."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from airtime.models import Airtime
from airtime.store import verify_station
from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.clock import VirtualClock
from scheduler.daemon import Daemon, job_lead_s
from scheduler.lock import StationLock
from scheduler.output.null import NullOutput
from scheduler.runner import Runner, Spot
from scheduler.simulate import simulate
from scheduler.slots import Occurrence, occurrences
from scheduler.spec import SlotSpec, StationSpec
from tests.airlog_engine import engine_of

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = datetime(2021, 3, 1, tzinfo=HCM)
SANG = SlotSpec("sang", time(6, 0), 300, pause_s=1.0)
CHIEU = SlotSpec("chieu", time(17, 0), 300, days="mon-fri", pause_s=1.0)


def make_spots(topics: dict[str, int], seconds: float = 20.0) -> list[Spot]:
    return [
        Spot(
            id=f"{topic}-{i}",
            topic=topic,
            path=f"{topic}/tin {i}.ogg",
            file=Path(f"/nonexistent/{topic}/tin {i}.ogg"),
            title=f"Tin {i} về {topic}",
            duration_s=seconds + i,
        )
        for topic, count in topics.items()
        for i in range(count)
    ]


SPOTS = make_spots({"dich-vu-cong": 6, "chi-so": 4, "duong-day-nong": 3})
STATION = StationSpec(
    id="xa-thu",
    name="Đài xã Thử",
    tz=HCM,
    weights={"dich-vu-cong": 2, "chi-so": 1, "duong-day-nong": 1},
    slots=(SANG, CHIEU),
    quiet_hours=(time(21, 30), time(5, 0)),
)


@pytest.fixture
def airlog(tmp_path: Path) -> AirLog:
    return AirLog(station_db(open_database(f"sqlite:///{tmp_path}/loa.db")), STATION.id)


def rows(airlog: AirLog) -> list[Airtime]:
    with Session(engine_of(airlog)) as session:
        return list(session.exec(select(Airtime).order_by(Airtime.seq)))


def runner_at(airlog: AirLog, moment: datetime, station: StationSpec = STATION) -> Runner:
    clock = VirtualClock(moment)
    return Runner(station, airlog, NullOutput(clock), clock, spots=lambda: SPOTS)


def test_three_days_of_slots_write_honest_rows(airlog: AirLog) -> None:
    result = simulate(STATION, airlog, SPOTS, MONDAY, MONDAY + timedelta(days=3))
    logged = rows(airlog)
    assert result.slots == 6 and result.outcomes == Counter(aired=6)
    assert len(logged) == result.plays
    assert {r.status for r in logged} == {"completed"}
    for occ in occurrences(STATION, MONDAY, MONDAY + timedelta(days=3)):
        mine = [r for r in logged if r.slot == occ.slot.name and occ.at <= r.started_at < occ.end]
        assert mine, f"{occ} did not air"
        assert mine[0].started_at == occ.at  # on time
        assert all(r.ended_at <= occ.end for r in mine)  # never past the slot
        for a, b in itertools.pairwise(mine):
            assert (b.started_at - a.ended_at).total_seconds() == pytest.approx(1.0)  # the pause
        assert all(
            r.played_s == pytest.approx((r.ended_at - r.started_at).total_seconds()) for r in mine
        )
    with engine_of(airlog).connect() as conn:
        assert verify_station(conn, STATION.id).ok


def test_a_slot_never_airs_twice(airlog: AirLog) -> None:
    occ = Occurrence(MONDAY.replace(hour=6), SANG)
    first = runner_at(airlog, occ.at - timedelta(seconds=5)).air_slot(occ)
    count = len(rows(airlog))
    assert first.status == "aired" and count > 0
    again = runner_at(airlog, occ.at + timedelta(seconds=30)).air_slot(occ)
    assert again.status == "already"
    assert len(rows(airlog)) == count


def test_back_inside_a_slot_airs_what_still_fits(airlog: AirLog) -> None:
    occ = Occurrence(MONDAY.replace(hour=6), SANG)
    now = occ.at + timedelta(seconds=200)
    outcome = runner_at(airlog, now).air_slot(occ)
    assert outcome.status == "aired"
    logged = rows(airlog)
    assert logged and all(now < r.started_at and r.ended_at <= occ.end for r in logged)
    assert sum(r.played_s for r in logged) <= 100


def test_without_catch_up_a_late_start_is_missed(airlog: AirLog) -> None:
    station = dataclasses.replace(STATION, catch_up=False)
    occ = Occurrence(MONDAY.replace(hour=6), SANG)
    outcome = runner_at(airlog, occ.at + timedelta(seconds=60), station).air_slot(occ)
    assert outcome.status == "missed"
    [row] = rows(airlog)
    assert (row.status, row.slot, row.scheduled_at, row.played_s) == ("missed", "sang", occ.at, 0)
    assert row.started_at is None and "catch_up" in (row.error or "")


def test_nothing_but_an_emergency_airs_in_quiet_hours(airlog: AirLog) -> None:
    # a wrong time setting: the slot fires at 03:15 (config check refuses it; the runner too)
    night = SlotSpec("dem", time(3, 15), 120)
    station = dataclasses.replace(STATION, slots=(night,))
    occ = Occurrence(MONDAY.replace(hour=3, minute=15), night)
    runner = runner_at(airlog, occ.at - timedelta(seconds=5), station)
    assert runner.air_slot(occ).status == "skipped"
    assert [(r.status, r.played_s) for r in rows(airlog)] == [("skipped", 0.0)]
    assert runner.air_adhoc("adhoc", SPOTS[:1]).status == "skipped"
    assert len(rows(airlog)) == 1
    emergency = runner.air_adhoc("emergency", SPOTS[:1])
    assert emergency.status == "aired"
    last = rows(airlog)[-1]
    assert (last.kind, last.status, last.played_s) == ("emergency", "completed", 20.0)


def test_a_slot_running_into_quiet_hours_stops_at_their_start(airlog: AirLog) -> None:
    late = SlotSpec("toi", time(21, 28), 300)
    station = dataclasses.replace(STATION, slots=(late,))
    occ = Occurrence(MONDAY.replace(hour=21, minute=28), late)
    runner_at(airlog, occ.at - timedelta(seconds=5), station).air_slot(occ)
    quiet = MONDAY.replace(hour=21, minute=30)
    assert rows(airlog) and all(r.ended_at <= quiet for r in rows(airlog))


def daemon_for(airlog: AirLog, tmp_path: Path, clock: VirtualClock, load) -> Daemon:
    runner = Runner(load(), airlog, NullOutput(clock), clock, spots=lambda: SPOTS)
    return Daemon(
        load_station=load,
        airlog=airlog,
        runner=runner,
        lock=StationLock(tmp_path / "loa.lock"),
        control_path=tmp_path / "loa.sock",
        resolve_adhoc=lambda req: SPOTS[:1],
        config_path=tmp_path / "config.toml",
        clock=clock,
    )


def test_recovery_closes_open_rows_at_the_heartbeat_and_logs_missed_slots(
    airlog: AirLog, tmp_path: Path
) -> None:
    beat = MONDAY.replace(hour=6, minute=1)
    airlog.beat(beat, pid=1, started_at=beat)
    open_seq = airlog.open_play(
        kind="scheduled",
        slot="sang",
        topic="chi-so",
        spot="chi-so-0",
        title="Tin",
        path="p",
        scheduled_at=MONDAY.replace(hour=6),
        started_at=MONDAY.replace(hour=6, minute=0, second=40),
    )
    # the power comes back on Tuesday at 05:00: Monday's afternoon slot and the rest are gone
    clock = VirtualClock(MONDAY + timedelta(days=1, hours=5))
    daemon = daemon_for(airlog, tmp_path, clock, lambda: STATION)
    daemon.recover()
    logged = rows(airlog)
    closed = next(r for r in logged if r.seq == open_seq)
    assert (closed.status, closed.ended_at, closed.played_s) == ("interrupted", beat, 20.0)
    missed = [(r.slot, r.scheduled_at) for r in logged if r.status == "missed"]
    assert missed == [("chieu", MONDAY.replace(hour=17))]
    # the interrupted morning slot is over: it is not aired again
    assert daemon.queued() == []
    assert any("closed as interrupted" in e.message for e in airlog.events())


def test_restart_inside_a_cut_slot_resumes_it_not_from_its_start(
    airlog: AirLog, tmp_path: Path
) -> None:
    occ = Occurrence(MONDAY.replace(hour=6), SANG)
    started = occ.at + timedelta(seconds=10)
    airlog.beat(occ.at + timedelta(seconds=30), pid=1, started_at=occ.at)
    airlog.open_play(
        kind="scheduled",
        slot="sang",
        topic="chi-so",
        spot="chi-so-0",
        title="Tin",
        path="p",
        scheduled_at=occ.at,
        started_at=started,
    )
    clock = VirtualClock(occ.at + timedelta(seconds=40))
    daemon = daemon_for(airlog, tmp_path, clock, lambda: STATION)
    daemon.recover()
    [item] = daemon.queued()
    daemon.air_queued()
    assert item.outcome is not None and item.outcome.status == "aired"
    new = [r for r in rows(airlog) if r.status == "completed"]
    assert new and min(r.started_at for r in new) > clock.now()
    assert "chi-so-0" not in {r.spot for r in new}  # the cut spot is not repeated in the slot


def test_reload_takes_a_good_edit_and_refuses_a_bad_one(airlog: AirLog, tmp_path: Path) -> None:
    versions = [STATION]

    def load() -> StationSpec:
        if isinstance(versions[-1], Exception):
            raise versions[-1]
        return versions[-1]

    clock = VirtualClock(MONDAY)
    daemon = daemon_for(airlog, tmp_path, clock, load)
    versions.append(dataclasses.replace(STATION, slots=(SANG,)))
    assert daemon.reload() is True
    assert daemon.station.slots == (SANG,) and daemon.config_error is None
    versions.append(ValueError('config.toml: slots[0].start: "25:00" is not a time of day'))
    assert daemon.reload() is False
    assert daemon.station.slots == (SANG,)  # the last good config keeps running
    assert "25:00" in (daemon.config_error or "")
    assert "edit refused" in airlog.events()[0].message
    assert daemon.status()["config_error"] == daemon.config_error


def test_times_are_utc_in_the_database_and_local_in_the_plan(airlog: AirLog) -> None:
    occ = Occurrence(MONDAY.replace(hour=6), SANG)
    outcome = runner_at(airlog, occ.at - timedelta(seconds=5)).air_slot(occ)
    assert outcome.plan is not None and outcome.plan.start.tzinfo == HCM
    assert rows(airlog)[0].started_at == datetime(2021, 2, 28, 23, 0, tzinfo=UTC)


def test_a_failing_sound_device_is_a_problem_in_status(airlog: AirLog, tmp_path: Path) -> None:
    from scheduler.output.device import DeviceOutput

    output = DeviceOutput("loa-no-such-device", retry_initial_s=60)
    try:
        clock = VirtualClock(MONDAY)
        daemon = daemon_for(airlog, tmp_path, clock, lambda: STATION)
        daemon.runner.output = output
        assert output.error
        daemon.beat()
        daemon.beat()  # reported once, not at every heartbeat
    finally:
        output.close()
    problems = [e for e in airlog.events() if e.source == "output"]
    assert len(problems) == 1 and "loa-no-such-device" in problems[0].message
    assert daemon.status()["output_error"] == output.error


def test_amplifier_hooks_run_around_the_slot_and_a_failing_one_does_not_stop_it(
    airlog: AirLog, tmp_path: Path
) -> None:
    from scheduler.spec import AmplifierSpec

    relay = tmp_path / "relay.log"
    station = dataclasses.replace(
        STATION,
        amplifier=AmplifierSpec(
            on_air=f"echo on >> {relay}",
            off_air=f"echo off >> {relay}; exit 4",
            pre_roll_s=3.0,
            timeout_s=5.0,
        ),
    )
    occ = Occurrence(MONDAY.replace(hour=6), SANG)
    outcome = runner_at(airlog, occ.at - timedelta(seconds=10), station).air_slot(occ)
    assert outcome.status == "aired"
    assert relay.read_text() == "on\noff\n"
    assert any(e.source == "hook" and "exited with 4" in e.message for e in airlog.events())
    assert rows(airlog) and all(r.status == "completed" for r in rows(airlog))


def test_a_job_apscheduler_missed_is_logged_missed_once(airlog: AirLog, tmp_path: Path) -> None:
    daemon = daemon_for(airlog, tmp_path, VirtualClock(MONDAY), lambda: STATION)
    fired = MONDAY.replace(hour=6) - timedelta(seconds=job_lead_s(STATION))
    daemon.slot_missed("sang", fired)
    daemon.slot_missed("sang", fired)
    [row] = rows(airlog)
    assert (row.slot, row.status, row.scheduled_at) == ("sang", "missed", MONDAY.replace(hour=6))


def test_a_start_just_before_a_slot_does_not_lose_it(airlog: AirLog, tmp_path: Path) -> None:
    """Started after the slot's job fired (it fires early for the pre-roll) but before the slot:
    the job will not fire again today, so recovery queues the slot."""
    clock = VirtualClock(MONDAY.replace(hour=5, minute=59, second=59))
    airlog.beat(clock.now() - timedelta(seconds=3), pid=1, started_at=MONDAY)
    daemon = daemon_for(airlog, tmp_path, clock, lambda: STATION)
    daemon.recover()
    [item] = daemon.queued()
    assert item.occurrence is not None and item.occurrence.at == MONDAY.replace(hour=6)


def virtual_daemon(airlog: AirLog, tmp_path: Path, clock: VirtualClock, station: StationSpec):
    """The daemon as `loa simulate --events` runs it: virtual firing, an output that takes
    its (virtual) time, so what happens during a slot happens during it."""
    from scheduler.control import NoControl
    from scheduler.firing import VirtualFiring
    from scheduler.lock import NoLock
    from scheduler.virtual_output import SteppingOutput

    runner = Runner(station, airlog, SteppingOutput(clock), clock, spots=lambda: SPOTS)
    return Daemon(
        load_station=lambda: station,
        airlog=airlog,
        runner=runner,
        lock=NoLock(),
        resolve_adhoc=lambda req: SPOTS[:1],
        control=NoControl(),
        firing=VirtualFiring(clock, until=clock.now() + timedelta(hours=1)),
        clock=clock,
    )


def test_an_emergency_cuts_in_and_the_slot_resumes(airlog: AirLog, tmp_path: Path) -> None:
    clock = VirtualClock(MONDAY.replace(hour=5, minute=55))
    daemon = virtual_daemon(airlog, tmp_path, clock, STATION)
    emergency = dataclasses.replace(SPOTS[-1], id="khan-cap", topic="", duration_s=15.0)
    cut_at = MONDAY.replace(hour=6, second=30)  # inside the second spot (20 s, 21 s, ...)
    clock.call_at(cut_at, lambda: daemon.enqueue_adhoc([emergency], "emergency"))
    daemon.run_forever(handle_signals=False)
    logged = rows(airlog)
    sang = [r for r in logged if r.kind == "scheduled"]
    [cut] = [r for r in sang if r.status == "interrupted"]
    assert cut.ended_at == cut_at
    assert cut.played_s == pytest.approx((cut_at - cut.started_at).total_seconds())
    assert cut.played_s > 0
    assert any(r.status == "skipped" for r in sang)
    [air] = [r for r in logged if r.kind == "emergency"]
    assert air.status == "completed" and air.started_at >= cut_at
    resumed = [r for r in sang if r.status == "completed" and r.started_at > air.ended_at]
    assert resumed and all(r.ended_at <= SANG_END for r in resumed)
    played = [r.spot for r in sang if r.status in ("completed", "interrupted")]
    assert len(played) == len(set(played))  # resuming does not repeat a spot


def test_priority_airs_before_normal_and_both_after_the_slot(airlog: AirLog, tmp_path) -> None:
    clock = VirtualClock(MONDAY.replace(hour=5, minute=55))
    daemon = virtual_daemon(airlog, tmp_path, clock, STATION)
    normal = dataclasses.replace(SPOTS[0], id="thuong")
    priority = dataclasses.replace(SPOTS[1], id="uu-tien")

    def both() -> None:
        daemon.enqueue_adhoc([normal], "normal")
        daemon.enqueue_adhoc([priority], "priority")

    clock.call_at(MONDAY.replace(hour=6, second=10), both)
    daemon.run_forever(handle_signals=False)
    logged = rows(airlog)
    adhoc = [r for r in logged if r.kind == "adhoc"]
    assert [r.spot for r in adhoc] == ["uu-tien", "thuong"]
    slot_end = max(r.ended_at for r in logged if r.kind == "scheduled")
    assert adhoc[0].started_at >= slot_end  # normal and priority wait for the slot
    assert not any(r.status in ("interrupted", "skipped") for r in logged)


SANG_END = MONDAY.replace(hour=6, minute=5)

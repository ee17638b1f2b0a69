"""A daily slot of 23h59m or 24h airs (a hostile tryout found it logged only "missed": the job
firing a little before today's start was taken for yesterday's occurrence, already over).
Real SQLite, the real daemon on a virtual clock, the null output."""

from __future__ import annotations

from collections import Counter
from datetime import time, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from airtime.models import Airtime
from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.daemon import job_lead_s
from scheduler.simulate import simulate
from scheduler.slot_jobs import occurrence_of
from scheduler.slots import occurrences
from scheduler.spec import SlotSpec, StationSpec
from tests.airlog_engine import engine_of
from tests.test_daemon_virtual import HCM, MONDAY, make_spots

LENGTHS = [23 * 3600 + 58 * 60, 23 * 3600 + 59 * 60, 24 * 3600]


def long_station(length_s: float) -> StationSpec:
    return StationSpec(
        id="xa-thu",
        name="Đài xã Thử",
        tz=HCM,
        weights={"a": 1},
        slots=(SlotSpec("ca-ngay", time(6, 0), length_s, pause_s=1.0),),
    )


@pytest.mark.parametrize("length_s", LENGTHS)
def test_the_job_before_a_long_slot_is_for_todays_occurrence(length_s: float) -> None:
    station = long_station(length_s)
    today = MONDAY.replace(hour=6)
    lead = job_lead_s(station)
    for fired in (today - timedelta(seconds=lead), today + timedelta(minutes=5)):  # on time, late
        occ = occurrence_of(station, "ca-ngay", fired)
        assert occ is not None and occ.at == today, (length_s, fired, occ)


@pytest.mark.parametrize("length_s", LENGTHS)
def test_a_daily_slot_of_up_to_a_day_airs_every_day(length_s: float, tmp_path: Path) -> None:
    station = long_station(length_s)
    airlog = AirLog(station_db(open_database(f"sqlite:///{tmp_path}/loa.db")), station.id)
    spots = make_spots({"a": 3}, seconds=5.0)
    start = MONDAY + timedelta(hours=7)  # after 06:00: no slot of the day before is running
    end = start + timedelta(days=2)
    result = simulate(station, airlog, spots, start, end)
    assert result.outcomes == Counter(aired=2), result.outcomes
    with Session(engine_of(airlog)) as session:
        logged = list(session.exec(select(Airtime).order_by(Airtime.seq)))
    assert {r.status for r in logged} == {"completed"}
    for occ in occurrences(station, start, end):
        mine = [r for r in logged if occ.at <= r.started_at < occ.end]
        assert len(mine) == 3 and mine[0].started_at == occ.at, occ

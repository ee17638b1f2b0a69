"""Slot times come from APScheduler's CronTrigger in the station's zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from hypothesis import given
from hypothesis import strategies as st

from scheduler.slots import (
    EarlyTrigger,
    current_occurrence,
    in_quiet_hours,
    occurrences,
    quiet_overlap,
)
from scheduler.spec import SlotSpec, StationSpec

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def station(*slots: SlotSpec, quiet: tuple[time, time] | None = None) -> StationSpec:
    return StationSpec(id="xa", name="Xã", tz=HCM, weights={"a": 1}, slots=slots, quiet_hours=quiet)


SANG = SlotSpec("sang", time(6, 0), 600)
CHIEU = SlotSpec("chieu", time(17, 0), 600, days="mon-fri")


def test_occurrences_follow_days_and_zone() -> None:
    start = datetime(2021, 3, 1, tzinfo=HCM)  # a Monday
    found = occurrences(station(SANG, CHIEU), start, start + timedelta(days=7))
    assert len(found) == 7 + 5
    assert found[0].at == datetime(2021, 3, 1, 6, 0, tzinfo=HCM)
    assert found[0].at.utcoffset() == timedelta(hours=7)
    assert [o.slot.name for o in found[:4]] == ["sang", "chieu", "sang", "chieu"]
    weekend = [o for o in found if o.at.weekday() >= 5]
    assert {o.slot.name for o in weekend} == {"sang"}
    assert found == sorted(found, key=lambda o: o.at)


def test_occurrences_end_is_exclusive_and_start_inclusive() -> None:
    at = datetime(2021, 3, 1, 6, 0, tzinfo=HCM)
    assert [o.at for o in occurrences(station(SANG), at, at + timedelta(days=1))] == [at]
    before = occurrences(station(SANG), at - timedelta(days=1), at)
    assert [o.at for o in before] == [at - timedelta(days=1)]


def test_current_occurrence() -> None:
    at = datetime(2021, 3, 1, 6, 0, tzinfo=HCM)
    assert current_occurrence(station(SANG), at + timedelta(minutes=3)).at == at
    assert current_occurrence(station(SANG), at + timedelta(minutes=10)) is None
    assert current_occurrence(station(SANG), at - timedelta(seconds=1)) is None


@given(
    lead=st.floats(min_value=0.5, max_value=120),
    now=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    days=st.sampled_from(["mon-sun", "mon", "sun", "sat,sun", "mon-fri"]),
    start=st.times(),
)
def test_early_trigger_is_the_cron_minus_the_lead(
    lead: float, now: datetime, days: str, start: time
) -> None:
    cron = CronTrigger(
        day_of_week=days, hour=start.hour, minute=start.minute, second=start.second, timezone=HCM
    )
    early = EarlyTrigger(cron, lead)
    now = now.replace(tzinfo=UTC).astimezone(HCM)
    fire = early.get_next_fire_time(None, now)
    assert fire is not None and fire >= now
    slot_at = fire + timedelta(seconds=lead)
    # the slot instant is a real fire time of the cron trigger, on the right weekday
    assert cron.get_next_fire_time(None, slot_at) == slot_at
    # and it is the first one at or after now + lead
    assert cron.get_next_fire_time(None, now + timedelta(seconds=lead)) == slot_at


def test_quiet_hours_across_midnight() -> None:
    quiet = (time(21, 30), time(5, 0))
    assert in_quiet_hours(datetime(2021, 3, 1, 3, 15, tzinfo=HCM), quiet, HCM)
    assert in_quiet_hours(datetime(2021, 3, 1, 21, 30, tzinfo=HCM), quiet, HCM)
    assert not in_quiet_hours(datetime(2021, 3, 1, 5, 0, tzinfo=HCM), quiet, HCM)
    assert not in_quiet_hours(datetime(2021, 3, 1, 12, 0, tzinfo=HCM), quiet, HCM)
    # a UTC instant is judged in the station's zone: 20:15 UTC is 03:15 in Ho Chi Minh City
    assert in_quiet_hours(datetime(2021, 3, 1, 20, 15, tzinfo=UTC), quiet, HCM)


def test_quiet_overlap_finds_the_boundary() -> None:
    quiet = (time(21, 30), time(5, 0))
    start = datetime(2021, 3, 1, 21, 25, tzinfo=HCM)
    assert quiet_overlap(start, 600, quiet, HCM) == datetime(2021, 3, 1, 21, 30, tzinfo=HCM)
    assert quiet_overlap(start, 299, quiet, HCM) is None
    inside = datetime(2021, 3, 2, 4, 59, tzinfo=HCM)
    assert quiet_overlap(inside, 10, quiet, HCM) == inside
    assert quiet_overlap(start, 600, None, HCM) is None

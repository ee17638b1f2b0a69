"""The decision part of `Runner.air_slot`, case by case: plain values in, a named result out."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.slot_decision import LoggedRow, after_air, decide_slot

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime(2021, 3, 1, 6, 0, tzinfo=HCM)  # a 10-minute slot at 06:00
END = AT + timedelta(minutes=10)
QUIET = (time(21, 30), time(5, 0))
DONE = LoggedRow("completed", "s1", 30.0)
CUT = LoggedRow("interrupted", "s2", 12.0)
SKIP = LoggedRow("skipped", "s3", 0.0)
MISSED = LoggedRow("missed", None, 0.0)


def s(seconds: float) -> datetime:
    return AT + timedelta(seconds=seconds)


CASES = [
    # (case, now, rows, unfinished, catch_up, quiet, slot_at) -> (action, start, length_s)
    ("on time: from the slot's start", s(-5), [], False, True, QUIET, AT, ("air", AT, 600.0)),
    ("just at the lead: still on time", s(-0.5), [], False, True, QUIET, AT, ("air", AT, 600.0)),
    ("late: what still fits", s(200), [], False, True, QUIET, AT, ("air", s(201), 399.0)),
    ("late without catch-up: missed", s(60), [], False, False, QUIET, AT, ("missed", None, 0.0)),
    ("aired in full: never twice", s(30), [DONE], False, True, QUIET, AT, ("already", None, 0.0)),
    ("a missed row is final", s(30), [MISSED], False, True, QUIET, AT, ("already", None, 0.0)),
    ("cut by an emergency: the rest", s(90), [DONE, CUT], False, True, QUIET, AT,
     ("air", s(91), 509.0)),
    ("cut: resumes even without catch-up", s(90), [DONE, CUT, SKIP], False, False, QUIET, AT,
     ("air", s(91), 509.0)),
    ("killed between two spots", s(40), [DONE], True, True, QUIET, AT, ("air", s(41), 559.0)),
    ("inside quiet hours: skipped", s(-5), [], False, True, (time(5, 0), time(7, 0)), AT,
     ("skipped", None, 0.0)),
    ("quiet hours exempt (demo)", s(-5), [], False, True, None, AT, ("air", AT, 600.0)),
    ("runs into quiet hours: stops there", s(-5), [], False, True, (time(6, 4), time(7, 0)), AT,
     ("air", AT, 240.0)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("now", "rows", "unfinished", "catch_up", "quiet", "at", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decide_slot(now, rows, unfinished, catch_up, quiet, at, expected) -> None:
    decision = decide_slot(
        at=at,
        end=at + timedelta(minutes=10),
        now=now,
        rows=rows,
        unfinished=unfinished,
        catch_up=catch_up,
        quiet_hours=quiet,
        tz=HCM,
        lead_s=1.0,
    )
    action, start, length = expected
    assert (decision.action, decision.start) == (action, start)
    assert decision.length_s == pytest.approx(length)
    assert decision.resuming == (action == "air" and bool(rows))
    assert (decision.why == "") == (action == "air")


def test_resuming_does_not_repeat_what_aired() -> None:
    decision = decide_slot(
        at=AT, end=END, now=s(90), rows=[DONE, CUT, SKIP], unfinished=False, catch_up=True,
        quiet_hours=None, tz=HCM, lead_s=1.0,
    )  # fmt: skip
    assert decision.aired == {"s1", "s2"}  # the skipped one never played: it may air


@pytest.mark.parametrize(
    ("statuses", "device_error", "expected"),
    [
        (["completed", "completed"], None, "aired"),
        (["completed", "interrupted", "skipped"], None, "cut"),
        (["completed", "failed"], "device gone", "device"),
        (["completed", "failed"], None, "aired"),  # a bad file, the device is fine
        ([], None, "aired"),
    ],
)
def test_after_air(statuses, device_error, expected) -> None:
    assert after_air(statuses, device_error)[0] == expected


@pytest.mark.parametrize(
    "quiet", [(time(21, 30), time(5, 0)), (time(12, 0), time(13, 0)), (time(0, 0), time(0, 0))]
)
def test_one_quiet_hours_rule_for_instants_and_daily_windows(quiet) -> None:
    from scheduler.slots import daily_window_in_quiet_hours, in_quiet_hours

    for minute in range(0, 24 * 60, 7):
        moment = datetime(2021, 3, 1, tzinfo=HCM) + timedelta(minutes=minute)
        assert in_quiet_hours(moment, quiet, HCM) == daily_window_in_quiet_hours(
            minute * 60.0, 0.001, quiet
        ), (quiet, moment)

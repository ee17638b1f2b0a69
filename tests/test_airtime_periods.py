"""Period parsing (pure) and the report aggregation's invariants, with hypothesis."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airtime.periods import Period, parse_date, parse_period
from airtime.report import Group, build_report, mmss


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2021", date(2021, 1, 1), date(2021, 12, 31)),
        ("2021-H1", date(2021, 1, 1), date(2021, 6, 30)),
        ("2021-h2", date(2021, 7, 1), date(2021, 12, 31)),
        ("2021-Q1", date(2021, 1, 1), date(2021, 3, 31)),
        ("2021-Q2", date(2021, 4, 1), date(2021, 6, 30)),
        ("2021-Q3", date(2021, 7, 1), date(2021, 9, 30)),
        ("2021-Q4", date(2021, 10, 1), date(2021, 12, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2021-12", date(2021, 12, 1), date(2021, 12, 31)),
        ("2021-01-15..2021-02-14", date(2021, 1, 15), date(2021, 2, 14)),
        (" 2021-03-01..2021-03-01 ", date(2021, 3, 1), date(2021, 3, 1)),
    ],
)
def test_period_forms(text: str, start: date, end: date) -> None:
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2021-Q0", '"2021-Q0" is not a report period; use 2021, 2021-H1'),
        ("2021-H3", '"2021-H3" is not a report period; use'),
        ("2021-00", '"2021-00" is not a report period: month 00 does not exist; use'),
        ("21", '"21" is not a report period; use'),
        ("2021-02-30..2021-03-01", '"2021-02-30" is not a valid date'),
        ("2021-03-02..2021-03-01", "the end 2021-03-01 is before the start 2021-03-02"),
        ("0999", "year 999 is out of range"),
    ],
)
def test_bad_periods_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_period(text)
    assert message in str(info.value)


def test_bounds_follow_the_station_time_zone() -> None:
    lo, hi = parse_period("2021-Q2").bounds(ZoneInfo("Asia/Ho_Chi_Minh"))
    assert lo == datetime(2021, 3, 31, 17, 0, tzinfo=UTC)
    assert hi == datetime(2021, 6, 30, 17, 0, tzinfo=UTC)
    # a zone with daylight saving time: the spring day is 23 hours long
    lo, hi = parse_period("2021-03-28..2021-03-28").bounds(ZoneInfo("Europe/Berlin"))
    assert hi - lo == timedelta(hours=23)


@given(st.integers(1950, 2100))
def test_halves_quarters_and_months_tile_the_year(year: int) -> None:
    y = parse_period(str(year))
    h1, h2 = parse_period(f"{year}-H1"), parse_period(f"{year}-H2")
    quarters = [parse_period(f"{year}-Q{q}") for q in range(1, 5)]
    months = [parse_period(f"{year}-{m:02d}") for m in range(1, 13)]
    for parts in ([h1, h2], quarters, months, y.months()):
        assert parts[0].start == y.start and parts[-1].end == y.end
        for a, b in itertools.pairwise(parts):
            assert b.start == a.end + timedelta(days=1)
    assert (quarters[0].start, quarters[1].end) == (h1.start, h1.end)
    assert [m.label for m in y.months()] == [f"{year}-{m:02d}" for m in range(1, 13)]


@given(st.dates(date(2000, 1, 1), date(2030, 12, 31)), st.integers(0, 800))
def test_any_range_months_are_clipped_to_it(start: date, days: int) -> None:
    period = Period(start, start + timedelta(days=days))
    months = period.months()
    assert months[0].start == period.start and months[-1].end == period.end
    assert sum((m.end - m.start).days + 1 for m in months) == days + 1


def test_parse_date_messages() -> None:
    assert parse_date("2021-03-01") == date(2021, 3, 1)
    with pytest.raises(ValueError, match="write YYYY-MM-DD"):
        parse_date("01/03/2021")


groups = st.builds(
    Group,
    kind=st.sampled_from(["scheduled", "adhoc", "emergency"]),
    topic=st.sampled_from(["a", "b", "c", None]),
    status=st.sampled_from(["completed", "interrupted", "failed", "missed", "skipped", "playing"]),
    item=st.sampled_from(["s1", "s2", "s3", "path:x.mp3"]),
    count=st.integers(1, 50),
    seconds=st.floats(0, 5000, allow_nan=False),
)


@given(st.lists(groups, max_size=40))
def test_report_totals_are_the_sum_of_its_input(data: list[Group]) -> None:
    period = parse_period("2021-Q1")
    report = build_report(data, station_id="x", station_name="X", period=period,
                          topics=[("a", "A"), ("b", "B")], months={})  # fmt: skip
    done = [g for g in data if g.status == "completed"]
    sched = [g for g in done if g.kind == "scheduled"]
    assert [t.key for t in report.topics[:2]] == ["a", "b"]  # configured topics always first
    assert report.total.plays == sum(g.count for g in sched) == sum(t.plays for t in report.topics)
    assert report.total.seconds == pytest.approx(sum(g.seconds for g in sched), abs=0.01)
    assert report.total.items == len({g.item for g in sched})
    assert sum(t.items for t in report.topics) >= report.total.items
    for line, kind in zip(report.special, ("adhoc", "emergency"), strict=True):
        assert line.plays == sum(g.count for g in done if g.kind == kind)
    assert sum(report.reliability.values()) == sum(g.count for g in data)
    assert [m.plays for m in report.months] == [0, 0, 0]


def test_mmss() -> None:
    assert [mmss(0), mmss(59.4), mmss(59.6), mmss(5415.4), mmss(98000)] == [
        "0:00", "0:59", "1:00", "90:15", "1633:20"
    ]  # fmt: skip

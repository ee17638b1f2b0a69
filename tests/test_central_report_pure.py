"""The pure parts of the district's report: how a period splits over the roll-ups, and how
stations' figures become lines, totals and the stations named as silent or late."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airtime.document import Letterhead
from airtime.periods import Period, parse_period
from central.document import central_document, lower_first
from central.report import Figures, StationInfo, build, split

TOPICS = (("a", "Chủ đề A", 2.0), ("b", "Chủ đề B", 1.0), ("c", "Chủ đề C", 1.0))


@pytest.mark.parametrize(
    ("period", "parts"),
    [
        ("2021", [("year", date(2021, 1, 1), date(2021, 1, 1))]),
        ("2021-H1", [("month", date(2021, 1, 1), date(2021, 6, 1))]),
        ("2021-03", [("month", date(2021, 3, 1), date(2021, 3, 1))]),
        (
            "2021-01-15..2021-03-10",
            [("day", date(2021, 1, 15), date(2021, 1, 31)),
             ("month", date(2021, 2, 1), date(2021, 2, 1)),
             ("day", date(2021, 3, 1), date(2021, 3, 10))],
        ),
        (
            "2021-11-15..2023-02-28",
            [("day", date(2021, 11, 15), date(2021, 11, 30)),
             ("month", date(2021, 12, 1), date(2021, 12, 1)),
             ("year", date(2022, 1, 1), date(2022, 1, 1)),
             ("month", date(2023, 1, 1), date(2023, 2, 1))],
        ),
        ("2021-06-25..2021-07-03", [("day", date(2021, 6, 25), date(2021, 7, 3))]),
        ("2020-01-01..2022-12-31", [("year", date(2020, 1, 1), date(2022, 1, 1))]),
    ],
)  # fmt: skip
def test_a_period_splits_into_the_coarsest_roll_ups(period: str, parts: list) -> None:
    assert split(parse_period(period)) == parts


def _days(parts: list[tuple[str, date, date]]) -> list[date]:
    out = []
    for kind, lo, hi in parts:
        if kind == "day":
            end = hi
        elif kind == "month":
            end = date(hi.year + hi.month // 12, hi.month % 12 + 1, 1) - timedelta(days=1)
        else:
            end = date(hi.year, 12, 31)
        day = lo
        while day <= end:
            out.append(day)
            day += timedelta(days=1)
    return out


@given(st.dates(date(2019, 1, 1), date(2024, 12, 31)), st.integers(0, 900))
def test_the_parts_cover_every_day_of_the_period_once(start: date, length: int) -> None:
    period = Period(start, start + timedelta(days=length))
    days = _days(split(period))
    assert days == [start + timedelta(days=i) for i in range(length + 1)]


def _info(sid: str, district: str = "h-a", **kw: object) -> StationInfo:
    return StationInfo(sid, f"Đài {sid}", district, "Huyện A", topics=TOPICS, **kw)  # type: ignore[arg-type]


NOW = datetime(2022, 1, 5, tzinfo=UTC)


def test_lines_totals_gap_and_the_silent_and_late_stations() -> None:
    recent, old = NOW - timedelta(days=1), datetime(2021, 12, 1, tzinfo=UTC)
    infos = [_info("x1", last_push=recent), _info("x2", last_push=old), _info("x3")]
    figures = [
        Figures.of("x1", {"a": (10, 600.0), "b": (5, 300.0), "c": (5, 300.0)}, problems=2, due=22,
                adhoc=1, adhoc_seconds=60.0),
        Figures.of("x2", {"a": (4, 240.0)}, emergency=1, emergency_seconds=30.0),
    ]  # fmt: skip
    r = build(parse_period("2021"), "h-a", infos, figures, {"h-a": {"a": 3}}, now=NOW)
    x1, x2, x3 = r.stations
    assert (x1.plays, x1.seconds, x1.topics_covered, x1.gap) == (20, 1200.0, 3, 0.0)
    assert x1.problem_rate == pytest.approx(2 / 22) and x1.adhoc == 1
    assert x2.topics_covered == 1 and x2.gap == pytest.approx(0.5) and x2.gap_topic == "a"
    assert x3.reporting is False and x3.plays == 0
    assert [s.id for s in r.not_reporting] == ["x3"]
    assert [s.id for s in r.stale] == ["x2"]  # silent since 1 December: > 7 days before 31st
    assert r.totals.plays == 24 and r.totals.stations == 3 and r.totals.reporting == 2
    assert r.totals.combined_seconds == 1200.0 + 240.0 + 60.0 + 30.0
    (a, b, _c) = r.topics
    assert (a.plays, a.spots, a.seconds) == (14, 3, 840.0)
    assert a.weight_share == pytest.approx(0.5) and b.weight_share == pytest.approx(0.25)
    assert a.share == pytest.approx(840 / 1440)
    assert r.provisional is False
    d = central_document(r, Letterhead("Đài Truyền thanh huyện A"), issued=NOW.date(),
                         created=NOW)  # fmt: skip
    text = " ".join(str(getattr(b, "text", "")) for s in d.sections for b in s.blocks)
    assert "1/3 đài không gửi số liệu của kỳ báo cáo" in text
    assert "Đài x2" in text and "quá 7 ngày chưa gửi" in text
    assert [t.title.split(".")[0] for t in d.tables()] == ["Bảng 1", "Bảng 2", "Bảng 3",
                                                            "Bảng 4"]  # fmt: skip


def test_an_open_period_is_provisional_and_counted_until_today() -> None:
    r = build(parse_period("2022"), None, [_info("x1", last_push=NOW)], [], {}, now=NOW)
    assert r.provisional is True and r.counted_until == date(2022, 1, 5)
    assert r.stale == [] and [s.id for s in r.not_reporting] == ["x1"]


def test_lower_first() -> None:
    assert lower_first("Huyện Trần Đề") == "huyện Trần Đề"
    assert lower_first("Thị xã Vĩnh Châu") == "thị xã Vĩnh Châu"
    assert lower_first("Trần Đề") == "Trần Đề"


def test_bulletins_are_taken_out_of_the_stations_figures_and_counted_apart() -> None:
    from central.report import BulletinRow, apart, bulletin_lines

    f = Figures.of("x1", {"a": (10, 600.0), "": (3, 120.0)}, problems=2, due=16, emergency=2,
                emergency_seconds=90.0)  # fmt: skip
    rows = [
        BulletinRow("x1", "7", "uu-tien", "scheduled", "completed", "", 2, 100.0),  # heads
        BulletinRow("x1", "8", "thuong", "scheduled", "completed", "a", 1, 50.0),  # rotation
        BulletinRow("x1", "9", "khan-cap", "emergency", "completed", "", 1, 60.0),
        BulletinRow("x1", "7", "uu-tien", "scheduled", "failed", "", 1, 0.0),
    ]
    g = apart(f, rows)
    assert g.topics == {"a": (9, 550.0), "": (1, 20.0)}
    assert (g.due, g.problems) == (16 - 3 - 1, 1)
    assert (g.emergency, g.emergency_seconds) == (1, 30.0)
    assert g.bulletins == (("7", "uu-tien", 2, 100.0), ("8", "thuong", 1, 50.0),
                           ("9", "khan-cap", 1, 60.0))  # fmt: skip
    # nothing of the station's own left under a topic: the topic is gone, not 0 plays
    assert apart(Figures.of("x1", {"": (2, 100.0)}), rows[:1]).topics == {}
    info = StationInfo("x1", "Xã 1", "h", "Huyện H", topics=TOPICS)
    line = build(parse_period("2021"), "h", [info], [g], {}, now=datetime(2022, 1, 5, tzinfo=UTC))
    by = {b.priority: b for b in bulletin_lines(line.stations)}
    assert [b.priority for b in line.totals.bulletins] == ["khan-cap", "uu-tien", "thuong"]
    assert (by["uu-tien"].airings, by["uu-tien"].bulletins, by["uu-tien"].seconds) == (2, 1, 100.0)
    assert line.totals.combined_seconds == pytest.approx(570.0 + 30.0 + 210.0)


def test_two_years_of_a_station_add_up() -> None:
    from central.report import added

    a = Figures.of("x1", {"a": (10, 600.0), "b": (1, 60.0)}, 1, 12, 1, 30.0, 0, 0.0)
    b = Figures.of("x1", {"a": (5, 300.0), "c": (2, 120.0)}, 2, 9, 0, 0.0, 1, 45.0)
    s = added(a, b)
    assert s.topics == {"a": (15, 900.0), "b": (1, 60.0), "c": (2, 120.0)}
    assert (s.problems, s.due, s.adhoc, s.adhoc_seconds, s.emergency, s.emergency_seconds) == (
        3, 21, 1, 30.0, 1, 45.0)  # fmt: skip
    assert a.topics == {"a": (10, 600.0), "b": (1, 60.0)}  # the parts are left as they were

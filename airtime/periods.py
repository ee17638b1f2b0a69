"""Report periods: pure parsing of `2021`, `2021-H1`, `2021-Q3`, `2021-03`, `D1..D2`.

A period is a pair of station-local dates, both inclusive. Turning it into UTC instants
(`bounds`) needs the station's time zone: a play belongs to the period in which it *started*,
so a play crossing midnight or a period boundary counts once, where it began.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PERIOD_HINT = "use 2021, 2021-H1, 2021-H2, 2021-Q1..2021-Q4, 2021-03 or 2021-01-15..2021-02-14"
_YEAR = re.compile(r"^(\d{4})$")
_HALF = re.compile(r"^(\d{4})-[Hh]([12])$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, order=True)
class Period:
    """Station-local dates `start`..`end`, both inclusive; `label` is what the user wrote."""

    start: date
    end: date
    label: str = ""

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[from, to) as aware UTC datetimes: local midnight of start, local midnight after end."""
        return day_start(self.start, tz), day_start(self.end + timedelta(days=1), tz)

    def months(self) -> list[Period]:
        """The calendar months the period touches, each clipped to the period."""
        out: list[Period] = []
        first = self.start
        while first <= self.end:
            nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            last = min(nxt - timedelta(days=1), self.end)
            out.append(Period(first, last, f"{first.year:04d}-{first.month:02d}"))
            first = nxt
        return out


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins in `tz`."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def parse_date(text: str) -> date:
    """`YYYY-MM-DD` -> date; ValueError with a clear message otherwise."""
    value = text.strip()
    if not _DATE.match(value):
        raise ValueError(f'"{text}" is not a date: write YYYY-MM-DD, e.g. 2021-03-01')
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f'"{text}" is not a valid date: {exc}') from None


def _year(text: str) -> int:
    year = int(text)
    if year < 1900:
        raise ValueError(f"year {year} is out of range")
    return year


def parse_period(text: str) -> Period:
    """Parse a period P; ValueError names what was wrong and the accepted forms."""
    value = text.strip()
    try:
        if m := _YEAR.match(value):
            y = _year(m[1])
            return Period(date(y, 1, 1), date(y, 12, 31), value)
        if m := _HALF.match(value):
            y, h = _year(m[1]), int(m[2])
            return Period(date(y, 1 + 6 * (h - 1), 1), _month_end(y, 6 * h), value.upper())
        if m := _QUARTER.match(value):
            y, q = _year(m[1]), int(m[2])
            return Period(date(y, 3 * q - 2, 1), _month_end(y, 3 * q), value.upper())
        if m := _MONTH.match(value):
            y, month = _year(m[1]), int(m[2])
            if not 1 <= month <= 12:
                raise ValueError(f"month {month:02d} does not exist")
            return Period(date(y, month, 1), _month_end(y, month), value)
        if ".." in value:
            left, _, right = value.partition("..")
            start, end = parse_date(left), parse_date(right)
            if end < start:
                raise ValueError(f"the end {end} is before the start {start}")
            return Period(start, end, value)
    except ValueError as exc:
        raise ValueError(f'"{text}" is not a report period: {exc}; {PERIOD_HINT}') from None
    raise ValueError(f'"{text}" is not a report period; {PERIOD_HINT}')


def _month_end(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def date_range(start: date | None, end: date | None) -> Period | None:
    """The period of `--from`/`--to` (either may be open); None when both are open."""
    if start is None and end is None:
        return None
    lo = start or date(1900, 1, 1)
    hi = end or date(9999, 12, 30)
    if hi < lo:
        raise ValueError(f"--to {hi} is before --from {lo}")
    return Period(lo, hi, f"{start or ''}..{end or ''}")

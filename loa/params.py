"""Custom click parameter types: a wrong value gets a message that says what to write."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from airtime.periods import Period, parse_date, parse_period


class DateParam(click.ParamType):
    """A station-local date, YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return parse_date(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class PeriodParam(click.ParamType):
    """A report period: 2021, 2021-H1, 2021-Q3, 2021-03 or D1..D2."""

    name = "PERIOD"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Period:
        if isinstance(value, Period):
            return value
        try:
            return parse_period(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = DateParam()
PERIOD = PeriodParam()

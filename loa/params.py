"""Custom click parameter types: a wrong value gets a message that says what to write."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from airtime.periods import Period, parse_date, parse_period

# The years loa handles: every date it is given may be walked on by up to ten years (preview
# and simulate take --days up to 3660) without reaching the end of Python's calendar (9999).
MIN_YEAR = 1900
MAX_YEAR = 2999
YEAR_HINT = f"loa handles dates from {MIN_YEAR}-01-01 to {MAX_YEAR}-12-31"


def _year_problem(value: object, *days: date) -> str | None:
    for day in days:
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            return (
                f'"{value}": năm {day.year} nằm ngoài khoảng loa xử lý (year {day.year} is out of '
                f"range): {YEAR_HINT}"
            )
    return None


class DateParam(click.ParamType):
    """A station-local date, YYYY-MM-DD; with `clearable`, "-" (or "") means "clear it"."""

    name = "YYYY-MM-DD"

    def __init__(self, *, clearable: bool = False) -> None:
        self.clearable = clearable

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, date):
            return value
        if self.clearable and value in ("-", ""):
            return "-"
        try:
            day = parse_date(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        problem = _year_problem(value, day)
        if problem:
            self.fail(problem, param, ctx)
        return day


class PeriodParam(click.ParamType):
    """A report period: 2021, 2021-H1, 2021-Q3, 2021-03 or D1..D2."""

    name = "PERIOD"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Period:
        if isinstance(value, Period):
            return value
        try:
            period = parse_period(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        problem = _year_problem(value, period.start, period.end)
        if problem:
            self.fail(problem, param, ctx)
        return period


class InputFile(click.Path):
    """A file the command reads whole: where something exists it must be a regular file (a
    named pipe would make the read wait for a writer for ever, a device never ends). A missing
    or unreadable one is left to the command, which says so for that file."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        try:
            regular = stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            return path
        if not regular:
            self.fail(
                f"{value} is not a regular file (a named pipe, a device or a socket): give a file",
                param,
                ctx,
            )
        return path


DATE = DateParam()
DATE_OR_CLEAR = DateParam(clearable=True)  # `loa library set --from/--until`: "-" clears
PERIOD = PeriodParam()


F = TypeVar("F", bound=Callable[..., Any])


def format_option(*choices: str, help: str = "Dạng xuất (output format).") -> Callable[[F], F]:
    """`--format` of a command: one of `choices`, the first by default, passed as `fmt`."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )

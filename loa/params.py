"""Custom click parameter types: a wrong value gets a message that says what to write."""

from __future__ import annotations

from datetime import date
from typing import Any

import click


class DateParam(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(
                f"{value!r} không phải ngày dạng YYYY-MM-DD (is not a date YYYY-MM-DD), "
                "e.g. 2021-03-01",
                param,
                ctx,
            )


DATE = DateParam()

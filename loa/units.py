"""Pure parsing of the values operators write in config.toml: durations, times of day,
time ranges and day-of-week expressions. Each parser raises ValueError with the message
that `loa config check` prints after the key path."""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from apscheduler.triggers.cron import CronTrigger

# ASCII digits only: `\d` would also take "١٠m" (Arabic-Indic digits), which int() reads.
_DURATION = re.compile(r"(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+(?:\.[0-9]+)?)s)?")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DAY = r"(?:mon|tue|wed|thu|fri|sat|sun)"
# Vietnamese day names: thứ 2 (t2) is Monday ... thứ 7 (t7) Saturday, chủ nhật (cn) Sunday.
_VI_DAYS = {
    "t2": "mon",
    "t3": "tue",
    "t4": "wed",
    "t5": "thu",
    "t6": "fri",
    "t7": "sat",
    "cn": "sun",
}
_VI_DAY = re.compile(r"\b(t[2-7]|cn)\b")
_DAY_PART = re.compile(rf"(?:\*|{_DAY}(?:-{_DAY})?)(?:/[1-7])?")
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
DURATION_HINT = 'a duration ("90s", "10m", "1h30m" or a number of seconds)'
TIME_HINT = "a time of day (HH:MM or HH:MM:SS)"
# The longest duration any key accepts (a year); each key has its own, narrower range.
MAX_DURATION_S = 366 * 86400.0
# Longer text than this in a duration, a time or a day expression is a mistake, not a value.
_MAX_TEXT = 64


def parse_duration(value: object) -> float:
    """'90s', '10m', '1h30m', '1h', 90, 90.5 or '90' -> seconds (> 0, finite, at most a year)."""
    if isinstance(value, bool):
        raise ValueError(f"{shown(value)} is not {DURATION_HINT}")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if len(text) > _MAX_TEXT:
            raise ValueError(f"{shown(value)} is not {DURATION_HINT}")
        if _NUMBER.fullmatch(text):
            seconds = float(text)
        else:
            match = _DURATION.fullmatch(text)
            if not text or not match:
                raise ValueError(f"{shown(value)} is not {DURATION_HINT}") from None
            seconds = (
                int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + float(match["s"] or 0)
            )
    else:
        raise ValueError(f"{shown(value)} is not {DURATION_HINT}")
    if not math.isfinite(seconds) or seconds > MAX_DURATION_S:
        raise ValueError(
            f"{shown(value)} is too long: a duration here is at most "
            f"{format_duration(MAX_DURATION_S)}"
        )
    if seconds <= 0:
        raise ValueError(f"{shown(value)} must be longer than 0 seconds")
    return seconds


def shown(value: object) -> str:
    """A value as the operator wrote it in TOML for a message: text quoted with its invisible
    characters escaped ("id\\n"), `true` in lower case, anything long cut."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        cut = value if len(value) <= 40 else value[:40]
        return json.dumps(cut, ensure_ascii=False)[:-1] + ("…" if cut != value else "") + '"'
    if isinstance(value, int) and abs(value) > 10**30:
        return "a number of more than 30 digits"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, date | time):  # TOML's unquoted 06:00:00 or 2026-01-01
        return value.isoformat()
    text = repr(value)
    return text[:40] + "…" if len(text) > 40 else text


def format_duration(seconds: float) -> str:
    """3725 -> '1h2m5s'; the inverse of parse_duration for whole seconds."""
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    parts = [f"{h}h" if h else "", f"{m}m" if m else "", f"{s}s" if s else ""]
    return "".join(parts) or "0s"


def parse_time_of_day(value: object) -> time:
    """'06:00' or '06:00:30' -> time."""
    if not isinstance(value, str):
        raise ValueError(f'{shown(value)} is not {TIME_HINT}; write it in quotes, e.g. "06:00"')
    match = _TIME.fullmatch(value.strip()) if len(value) <= _MAX_TEXT else None
    if match:
        h, m, s = int(match[1]), int(match[2]), int(match[3] or 0)
        if h < 24 and m < 60 and s < 60:
            return time(h, m, s)
    raise ValueError(f"{shown(value)} is not {TIME_HINT}")


def parse_time_range(value: object) -> tuple[time, time]:
    """'21:30-05:00' -> (21:30, 05:00); the range may cross midnight."""
    hint = 'a range of times of day "HH:MM-HH:MM", e.g. "21:30-05:00"'
    if not isinstance(value, str) or value.count("-") != 1:
        raise ValueError(f"{shown(value)} is not {hint}")
    first, last = (part.strip() for part in value.split("-"))
    try:
        start, end = parse_time_of_day(first), parse_time_of_day(last)
    except ValueError:
        raise ValueError(f"{shown(value)} is not {hint}") from None
    if start == end:
        raise ValueError(f'"{value}" is empty: start and end are the same time')
    return start, end


def seconds_of_day(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


# Monday 2024-01-01 is a fixed reference week for expanding day-of-week expressions.
_REFERENCE_MONDAY = datetime(2024, 1, 1)


DAYS_HINT = 'a day-of-week expression such as "mon-sun", "mon-fri", "sat,sun" or "t2-t6"'


def normalize_days(value: object) -> str:
    """The APScheduler day_of_week expression for what an operator wrote.

    Accepts APScheduler's day names ("mon-fri", "sat,sun", "*") and the Vietnamese ones
    ("t2-t6", "t7,cn"). Refuses numbers: APScheduler counts 0 = Monday while "thứ 2" is
    Monday, so "2-6" would silently mean Wednesday to Sunday."""
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
        raise ValueError(f"{shown(value)} is not {DAYS_HINT}")
    text = _VI_DAY.sub(lambda m: _VI_DAYS[m[1]], value.strip().lower().replace(" ", ""))
    for part in text.split(","):
        if re.fullmatch(r"[0-9][0-9,\-/]*", part):
            raise ValueError(
                f'"{value}": numbered days are ambiguous (APScheduler counts 0 = Monday, '
                '"thứ 2" is Monday); write names, e.g. "mon-fri" or "t2-t6"'
            )
        # APScheduler reads "mon-thu7" as "mon-thu" and "mon-" as "mon": refuse such typos.
        if not _DAY_PART.fullmatch(part):
            raise ValueError(f'"{value}" is not {DAYS_HINT} ("{part}" is not a day or range)')
    return text


def parse_days(value: object) -> frozenset[int]:
    """A day-of-week expression (see `normalize_days`) -> weekdays 0=Mon..6=Sun.

    APScheduler itself parses the expression, so what config check accepts is exactly what the
    daemon's CronTrigger will fire on."""
    return _weekdays(normalize_days(value))


@lru_cache(maxsize=512)
def _weekdays(value: str) -> frozenset[int]:
    """The weekdays of a normalized expression (cached: a config names few, each is checked on
    every load and APScheduler's trigger is slow to step through a week)."""
    hint = DAYS_HINT
    try:
        trigger = CronTrigger(day_of_week=value, hour=0, minute=0, second=0, timezone="UTC")
    except (ValueError, TypeError) as exc:
        raise ValueError(f'"{value}" is not {hint} ({exc})') from None
    days: set[int] = set()
    start = _REFERENCE_MONDAY.replace(tzinfo=trigger.timezone)
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < start + timedelta(days=7):
        days.add(fire.weekday())
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    if not days:
        raise ValueError(f'"{value}" names no day of the week')
    return frozenset(days)

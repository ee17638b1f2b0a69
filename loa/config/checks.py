"""Rules across keys, run on every part that validated on its own: overlapping slots, slots
in quiet hours, unknown topics, relay slots and their sources."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import time

from loa.config.schema import WEEKDAYS, Slot, Source, Topic
from loa.units import (
    format_duration,
    seconds_of_day,
)


def _clock(s: float) -> str:
    s = int(s) % 86400
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}" + (f":{s % 60:02d}" if s % 60 else "")


def _week_intervals(slot: Slot) -> list[tuple[float, float, int]]:
    """(start, end, weekday) in seconds from Monday 00:00; an end may pass the week's end."""
    return [
        (d * 86400 + slot.start_s, d * 86400 + slot.start_s + slot.length, d)
        for d in sorted(slot.weekdays)
    ]


def _overlap_days(a: Slot, b: Slot) -> list[int]:
    week = 7 * 86400
    days = set()
    for a0, a1, day in _week_intervals(a):
        for b0, b1, _ in _week_intervals(b):
            for shift in (-week, 0, week):
                if a0 < b1 + shift and b0 + shift < a1:
                    days.add(day)
    return sorted(days)


def _quiet_overlap(slot: Slot, quiet: tuple[time, time]) -> bool:
    from scheduler.slots import daily_window_in_quiet_hours  # the one quiet-hours rule

    return daily_window_in_quiet_hours(slot.start_s, slot.length, quiet)


def cross_check(
    quiet: tuple[time, time] | None,
    topics: Iterable[tuple[int, Topic]],
    slots: Iterable[tuple[int, Slot]],
) -> list[str]:
    problems: list[str] = []
    topics, slots = list(topics), list(slots)
    ids: dict[str, int] = {}
    for i, topic in topics:
        if topic.id in ids:
            problems.append(
                f'topics[{i}].id: "{topic.id}" is already used by topics[{ids[topic.id]}]'
            )
        ids.setdefault(topic.id, i)
    names: dict[str, int] = {}
    for i, slot in slots:
        if slot.name in names:
            problems.append(
                f'slots[{i}].name: "{slot.name}" is already used by slots[{names[slot.name]}]'
            )
        names.setdefault(slot.name, i)
        for j, topic_id in enumerate(slot.topics):
            if topic_id != "*" and topic_id not in ids:
                close = difflib.get_close_matches(topic_id, list(ids), n=1, cutoff=0.6)
                hint = f'did you mean "{close[0]}"?' if close else "see [[topics]] for the ids"
                problems.append(f'slots[{i}].topics[{j}]: no topic "{topic_id}"; {hint}')
        if slot.max_length is not None and slot.length > slot.max_length:
            problems.append(
                f"slots[{i}].length: {format_duration(slot.length)} is longer than "
                f"max_length {format_duration(slot.max_length)}"
            )
        span = f"{_clock(slot.start_s)}-{_clock(slot.start_s + slot.length)}"
        if quiet is not None and _quiet_overlap(slot, quiet) and slot.relay is None:
            q = quiet
            problems.append(
                f'slots[{i}].start: "{slot.name}" {span} falls inside quiet_hours '
                f"{_clock(seconds_of_day(q[0]))}-{_clock(seconds_of_day(q[1]))}; "
                "only emergencies air then: move the slot or change station.quiet_hours"
            )
    for n, (i, a) in enumerate(slots):
        for j, b in slots[:n]:
            days = _overlap_days(a, b)
            if days:
                problems.append(
                    f'slots[{i}].start: "{a.name}" {_clock(a.start_s)}-'
                    f'{_clock(a.start_s + a.length)} overlaps slots[{j}] "{b.name}" '
                    f"{_clock(b.start_s)}-{_clock(b.start_s + b.length)} on "
                    f"{', '.join(WEEKDAYS[d] for d in days)}"
                )
    return problems


def relay_check(
    quiet: tuple[time, time] | None,
    sources: Iterable[tuple[int, Source]],
    slots: Iterable[tuple[int, Slot]],
) -> list[str]:
    """Relay slots: their source exists, and they stay out of quiet hours (the 03:15 relay)."""
    problems: list[str] = []
    ids: dict[str, int] = {}
    for i, source in sources:
        if source.id in ids:
            problems.append(
                f'sources[{i}].id: "{source.id}" is already used by sources[{ids[source.id]}]'
            )
        ids.setdefault(source.id, i)
    for i, slot in slots:
        if slot.relay is None:
            continue
        if slot.relay not in ids:
            close = difflib.get_close_matches(slot.relay, list(ids), n=1, cutoff=0.6)
            hint = (
                f'did you mean "{close[0]}"?'
                if close
                else "add it under [[sources]] (id, name, url)"
            )
            problems.append(
                f'slots[{i}].relay: "{slot.name}" relays no source "{slot.relay}"; {hint}'
            )
        if quiet is not None and _quiet_overlap(slot, quiet):
            span = f"{_clock(slot.start_s)}-{_clock(slot.start_s + slot.length)}"
            problems.append(
                f'slots[{i}].relay: relay slot "{slot.name}" (source "{slot.relay}") {span} '
                f"touches quiet_hours {_clock(seconds_of_day(quiet[0]))}-"
                f"{_clock(seconds_of_day(quiet[1]))}; only emergencies air then: "
                "move the slot or change station.quiet_hours"
            )
    return problems

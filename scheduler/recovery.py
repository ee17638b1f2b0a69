"""Crash recovery at the daemon's start: close what a crash left open at the last heartbeat,
log the slots missed while loa was down, and say which occurrences to air now."""

from __future__ import annotations

import json
from datetime import datetime

from scheduler.airlog import AirLog
from scheduler.runner import Runner
from scheduler.slot_jobs import near_occurrences
from scheduler.slots import Occurrence, occurrences

NOT_RUNNING = "loa was not running (máy tắt hoặc loa không chạy)"


def recover(airlog: AirLog, runner: Runner, now: datetime) -> list[tuple[Occurrence, bool]]:
    """Returns the occurrences to queue, each with `unfinished` (it was on air when the
    daemon died): we are inside them, or so close to their start that their job's (early)
    fire time has passed, so no job will fire them (never twice on air: the runner looks
    for an occurrence's rows first)."""
    station = runner.station
    state = airlog.daemon_state()
    last = state.heartbeat_at if state is not None else None
    if airlog.open_rows():
        closed = airlog.close_open(last or now)
        airlog.event(
            "warning",
            "daemon",
            f"{closed} play(s) left open by a crash or power cut closed as interrupted "
            f"at the last heartbeat {last.isoformat() if last else '?'}",
        )
    if last is None:
        return []
    for occ in occurrences(station, last, now):
        if occ.end <= now and not airlog.rows_between(occ.slot.name, occ.at, occ.end):
            runner.record_missed(occ, NOT_RUNNING)
    was_on_air = on_air_at_last_beat(state.state if state is not None else None)
    return [(occ, was_on_air == occ.slot.name) for occ in near_occurrences(station, now, True)]


def on_air_at_last_beat(state: str | None) -> str | None:
    """The slot the daemon was airing at its last heartbeat (from the state it wrote)."""
    try:
        on_air = json.loads(state or "{}").get("on_air") or {}
    except (ValueError, AttributeError):
        return None
    return on_air.get("slot") if on_air.get("kind") == "scheduled" else None

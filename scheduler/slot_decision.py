"""Whether and how an occurrence of a slot airs: a pure function of plain values.

`decide_slot` is the decision part of `Runner.air_slot`: already aired, resume what was cut,
start late or not (catch-up), stop at quiet hours. `after_air` names what became of a slot
that aired (all of it, cut, or lost to the sound device). Tested with a table of cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from scheduler.slots import quiet_overlap

# Statuses of a last row that say the occurrence was cut short (its rest may still air).
CUT_SHORT = ("interrupted", "skipped", "failed")


@dataclass(frozen=True)
class LoggedRow:
    """What the decision needs of one airtime row of the occurrence."""

    status: str
    spot: str | None
    played_s: float


@dataclass(frozen=True)
class SlotDecision:
    """`action`: "air" (from `start`, for `length_s`), "already" (nothing to do), "missed" or
    "skipped" (a row with `why`). `resuming`: rows of the occurrence exist; the spots in
    `aired` are not aired again."""

    action: str
    why: str = ""
    start: datetime | None = None
    length_s: float = 0.0
    resuming: bool = False
    aired: frozenset[str] = frozenset()


def decide_slot(
    *,
    at: datetime,
    end: datetime,
    now: datetime,
    rows: Sequence[LoggedRow],
    unfinished: bool,
    catch_up: bool,
    quiet_hours: tuple[time, time] | None,
    tz: tzinfo,
    lead_s: float,
) -> SlotDecision:
    """`rows`: the occurrence's airtime rows so far, oldest first; `unfinished`: the daemon
    died while it was on air; `quiet_hours`: None for a slot exempt from them; `lead_s`: how
    long before its first sample a plan is handed to the output."""
    # Rows of this occurrence exist: it aired, or it was cut (an emergency, a crash) and the
    # rest of its window may still air. Never again from its start.
    resuming = bool(rows)
    cut = resuming and (unfinished or (rows[-1].status in CUT_SHORT and bool(rows[-1].spot)))
    if resuming and not cut:
        return SlotDecision("already", f"{at:%Y-%m-%d %H:%M} đã phát (already aired)")
    start = at if now <= at - timedelta(seconds=lead_s / 2) else now + timedelta(seconds=lead_s)
    length = (end - start).total_seconds()
    if start > at and not resuming and not catch_up:
        return SlotDecision(
            "missed", "daemon was not running at the slot's start (catch_up = false)"
        )
    quiet = quiet_overlap(start, max(length, 0.0), quiet_hours, tz)
    if quiet is not None:
        if quiet <= start:
            return SlotDecision("skipped", "inside quiet hours: only emergencies air then")
        length = (quiet - start).total_seconds()
    aired = frozenset(r.spot for r in rows if r.spot and r.played_s > 0)
    return SlotDecision("air", "", start, length, resuming, aired)


def after_air(statuses: Sequence[str], output_error: str | None) -> tuple[str, str]:
    """(outcome, message) of a slot that aired with these item statuses: "device" when items
    failed because the sound device is failing, "cut" when cut short, else "aired"."""
    if "failed" in statuses and output_error:
        return "device", output_error
    if any(s in ("interrupted", "skipped") for s in statuses):
        return "cut", ""
    return "aired", ""

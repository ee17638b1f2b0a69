"""The daemon's slot jobs: one per slot, fired a little early; which occurrence a firing
means; which occurrences a (re)schedule must queue by hand; what a clock step jumped over."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from scheduler.firing import SlotJob
from scheduler.runner import LEAD_S
from scheduler.slots import EarlyTrigger, Occurrence, occurrences, slot_trigger
from scheduler.spec import StationSpec


def job_lead_s(station: StationSpec) -> float:
    """How early a slot's job fires before the slot (pre-roll + hand-over + margin)."""
    relay_s = 0.0
    if any(s.relay is not None for s in station.slots):  # relays connect first; only a station
        from scheduler.relay import relay_lead_s  # that relays loads the stream reader (numpy)

        relay_s = relay_lead_s(station)
    return station.amplifier.pre_roll_s + LEAD_S + 1.0 + relay_s


def slot_jobs(station: StationSpec) -> list[SlotJob]:
    """A job per slot: fires early by the lead, may run late by up to the slot's length."""
    lead = job_lead_s(station)
    return [
        SlotJob(
            slot.name,
            EarlyTrigger(slot_trigger(slot, station.tz), lead),
            grace_s=max(1, int(slot.length_s)),
        )
        for slot in station.slots
    ]


def occurrence_of(station: StationSpec, slot_name: str, now: datetime) -> Occurrence | None:
    """The occurrence a slot's job that fires at `now` is for (its start is just ahead, or
    a late job's is a little behind): the latest start at most the job's lead (and a minute)
    ahead. Not the first start after `now` minus the slot's length: for a slot of 23h59m or
    more that is yesterday's occurrence, already over (found by a hostile tryout)."""
    slot = station.slot(slot_name)
    if slot is None:
        return None
    since = now - timedelta(seconds=slot.length_s + 60)
    ahead = now + timedelta(seconds=job_lead_s(station) + 60)
    one = dataclasses.replace(station, slots=(slot,))
    found = occurrences(one, since, ahead)
    if found:
        return found[-1]
    fire = slot_trigger(slot, station.tz).get_next_fire_time(None, since)
    return None if fire is None else Occurrence(fire, slot)


def missed_occurrence(
    station: StationSpec, slot_name: str, fire_time: datetime
) -> Occurrence | None:
    """The occurrence of a job that fired (or should have) at `fire_time`."""
    slot = station.slot(slot_name)
    if slot is None:
        return None
    at = fire_time + timedelta(seconds=job_lead_s(station))
    return Occurrence(at.astimezone(station.tz), slot)


def near_occurrences(station: StationSpec, now: datetime, inside: bool) -> list[Occurrence]:
    """The occurrences whose job's early fire time has passed though their slot has not
    (jobs scheduled now would skip them to tomorrow), and with `inside` those `now` is in."""
    soon = now + timedelta(seconds=job_lead_s(station))
    return [
        occ
        for occ in occurrences(station, now - timedelta(days=1), soon)
        if occ.end > now and (inside or occ.at > now)
    ]


def jumped_over(station: StationSpec, expected: datetime, now: datetime) -> list[Occurrence]:
    """The occurrences a forward step of the clock from `expected` to `now` skipped whole."""
    return [occ for occ in occurrences(station, expected, now) if occ.end <= now]

"""Slot times from APScheduler's triggers, in the station's time zone.

The daemon, `loa simulate`, `loa playlist preview` and `loa status` all compute slot times
here, with the same CronTrigger, so a preview is what the daemon fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from playlists.types import SlotRequest
from scheduler.spec import SlotSpec, StationSpec


def slot_trigger(slot: SlotSpec, tz: tzinfo) -> CronTrigger:
    """The slot's CronTrigger: its days, at its local start time, in the station's zone."""
    return CronTrigger(
        day_of_week=slot.days,
        hour=slot.start.hour,
        minute=slot.start.minute,
        second=slot.start.second,
        timezone=tz,
    )


class EarlyTrigger(BaseTrigger):
    """Fires `lead_s` seconds before another trigger (the amplifier's pre-roll).

    A CronTrigger cannot simply be moved a few seconds earlier: 06:00:00 on Monday minus five
    seconds is 05:59:55, and 00:00:02 on Monday minus five seconds is Sunday. Shifting the
    wrapped trigger's fire times keeps the days right.
    """

    def __init__(self, trigger: BaseTrigger, lead_s: float) -> None:
        self.trigger = trigger
        self.lead = timedelta(seconds=lead_s)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        previous = None if previous_fire_time is None else previous_fire_time + self.lead
        fire = self.trigger.get_next_fire_time(previous, now + self.lead)
        return None if fire is None else fire - self.lead

    def __str__(self) -> str:
        return f"{self.trigger} - {self.lead.total_seconds():g}s"


@dataclass(frozen=True, order=True)
class Occurrence:
    """One slot at one scheduled instant."""

    at: datetime  # aware, station's zone
    slot: SlotSpec

    @property
    def end(self) -> datetime:
        return self.at + timedelta(seconds=self.slot.length_s)


def slot_request(station: StationSpec, occ: Occurrence) -> SlotRequest:
    """What the planner is asked for one occurrence (the runner and the preview alike)."""
    slot = occ.slot
    return SlotRequest(
        name=slot.name,
        start=occ.at.astimezone(station.tz),
        length_s=slot.length_s,
        topics=slot.topics,
        intro=slot.intro.candidate() if slot.intro else None,
        outro=slot.outro.candidate() if slot.outro else None,
        pause_s=slot.pause_s,
    )


def occurrences(station: StationSpec, start: datetime, end: datetime) -> list[Occurrence]:
    """Every slot occurrence with start <= at < end, in time order (ties by slot order)."""
    found: list[tuple[datetime, int, Occurrence]] = []
    for index, slot in enumerate(station.slots):
        trigger = slot_trigger(slot, station.tz)
        fire = trigger.get_next_fire_time(None, start)
        while fire is not None and fire < end:
            found.append((fire, index, Occurrence(fire, slot)))
            nxt = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
            look = fire
            while nxt is not None and nxt.replace(tzinfo=None) <= fire.replace(tzinfo=None):
                # A DST fold (03:00 twice in Pacific/Chatham on 2021-04-04): APScheduler 3
                # answers the second 03:00, then that same instant for ever, even when asked
                # from later. A slot airs once a day: the first 03:00; look past the fold.
                look += timedelta(hours=3)
                nxt = trigger.get_next_fire_time(None, look)
            fire = nxt
    return [occ for _, _, occ in sorted(found, key=lambda f: (f[0], f[1]))]


def current_occurrence(station: StationSpec, now: datetime) -> Occurrence | None:
    """The occurrence whose window [at, at + length) contains `now`, if any."""
    longest = max((s.length_s for s in station.slots), default=0)
    window = occurrences(station, now - timedelta(seconds=longest), now + timedelta(microseconds=1))
    inside = [o for o in window if o.at <= now < o.end]
    return inside[-1] if inside else None


DAY_S = 86400.0


def _second_of_day(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


def quiet_span(quiet: tuple[time, time]) -> tuple[float, float]:
    """The one quiet-hours rule: [first, last) in seconds of the day, `last` past midnight
    (beyond 86400) when the range crosses it; first == last is the whole day."""
    first, last = _second_of_day(quiet[0]), _second_of_day(quiet[1])
    return first, last + DAY_S if last <= first else last


def daily_window_in_quiet_hours(start_s: float, length_s: float, quiet: tuple[time, time]) -> bool:
    """Does a window of the day [start_s, start_s + length_s) touch the quiet hours (on that
    day, or on the day before or after when it crosses midnight)? `loa config check` asks it
    of each slot."""
    q0, q1 = quiet_span(quiet)
    end = start_s + length_s
    return any(start_s < q1 + shift and q0 + shift < end for shift in (-DAY_S, 0.0, DAY_S))


def in_quiet_hours(moment: datetime, quiet: tuple[time, time] | None, tz: tzinfo) -> bool:
    """True when the local time of `moment` lies in the quiet range (which may cross midnight)."""
    if quiet is None:
        return False
    t = _second_of_day(moment.astimezone(tz).time())
    q0, q1 = quiet_span(quiet)
    return any(q0 + shift <= t < q1 + shift for shift in (-DAY_S, 0.0))


def quiet_overlap(
    start: datetime, seconds: float, quiet: tuple[time, time] | None, tz: tzinfo
) -> datetime | None:
    """The first instant in [start, start + seconds) that is inside quiet hours, if any."""
    if quiet is None:
        return None
    if in_quiet_hours(start, quiet, tz):
        return start
    local = start.astimezone(tz)
    begin = datetime.combine(local.date(), quiet[0], tzinfo=tz)
    if begin <= local:
        begin = datetime.combine(local.date() + timedelta(days=1), quiet[0], tzinfo=tz)
    return begin if begin < start + timedelta(seconds=seconds) else None

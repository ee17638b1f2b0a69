"""The periodic report: pure aggregation over plain values.

Input is a list of `Group`s: (kind, topic, status, item, count, seconds), one per combination
found in the period, and the months' (month, plays, seconds) of completed scheduled plays, as
`airtime.store` reads them with the GROUP BY pushed into the database; a single raw row is a
group with count 1, so tests can feed rows.

What is counted (DESIGN.md): `plays` = completed plays, `items` = distinct spots (a play with
no spot id is identified by its path), `seconds` = measured airtime of completed plays.
The per-topic table, its totals and the month table count *scheduled* plays; ad hoc and
emergency broadcasts are counted apart (`special`). Every configured topic appears, with zeros
when nothing aired; a topic found in the log but no longer configured is listed after them,
so the totals always equal the log. Reliability counts every kind by status.

Broadcast sessions (buổi phát): the command layer computes the sessions the schedule made due
in the period (APScheduler's triggers, `scheduler.slots.occurrences`) and passes them in as
plain `Due` values with the log's scheduled rows (`SessionRow`); `count_sessions` matches
them, so a session that left no row at all (the station was off) counts as not aired, never
as "nothing was due".
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from airtime.bulletin_spot import PREFIX as BULLETIN_SPOT_PREFIX
from airtime.chain import Verification
from airtime.periods import Period

COMPLETED = "completed"
PROBLEM_STATUSES = ("interrupted", "failed", "missed")
RELIABILITY_STATUSES = ("completed", "interrupted", "failed", "missed", "skipped", "playing")
SPECIAL_KINDS = ("adhoc", "emergency")
UNKNOWN_TOPIC = "(không rõ chủ đề)"


@dataclass(frozen=True)
class Group:
    kind: str
    topic: str | None
    status: str
    item: str | None
    count: int
    seconds: float


@dataclass
class Line:
    """One row of a table: a topic, a month or a kind."""

    key: str
    name: str
    plays: int = 0
    items: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Due:
    """A session the schedule made due: slot `slot` from `start` to `end` (aware)."""

    slot: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SessionRow:
    """A scheduled row of the log as sessions see it: its slot, planned time and status."""

    slot: str
    at: datetime
    status: str


@dataclass
class Sessions:
    """Broadcast sessions of the period, by the schedule."""

    due: int = 0  # sessions the schedule made due (up to now when the period is open)
    aired: int = 0  # of those, sessions with at least one completed play
    recorded: int = 0  # not aired but logged (missed, failed, interrupted, skipped)
    no_record: int = 0  # not aired and not a single row: the station was off
    silent_days: list[date] = field(default_factory=list)  # days whose every session left no row
    since: date | None = None  # first day counted (the period's, or when the log began)
    until: date | None = None  # last day counted (today when the period is still open)
    open_period: bool = False  # the period is not over: figures are provisional

    @property
    def not_aired(self) -> int:
        return self.due - self.aired


@dataclass(frozen=True)
class Broadcast:
    """One ad hoc or emergency play, listed on its own line."""

    at: datetime  # station-local
    kind: str  # adhoc | emergency
    title: str
    seconds: float
    status: str


@dataclass
class Report:
    station_id: str
    station_name: str
    period: Period
    topics: list[Line]
    total: Line
    months: list[Line]
    special: list[Line]  # adhoc, emergency
    reliability: dict[str, int]
    verification: Verification | None = None
    issued: date | None = None
    place: str = ""
    recipient: str = ""
    signer: str = ""
    weights: dict[str, float] = field(default_factory=dict)  # configured topic -> weight
    sessions: Sessions | None = None
    broadcasts: list[Broadcast] = field(default_factory=list)
    relays: list[Any] = field(default_factory=list)  # airtime.relay_report.RelayLine per source
    # bulletins from the district, of every priority, counted apart from the station's spots
    bulletins: Line = field(default_factory=lambda: Line("bulletin", "Bản tin cấp trên"))

    @property
    def special_seconds(self) -> float:
        """Measured airtime of completed ad hoc and emergency plays."""
        return round(sum(s.seconds for s in self.special), 3)

    @property
    def combined_seconds(self) -> float:
        """Scheduled plus ad hoc plus emergency plus bulletins' airtime (completed plays)."""
        return round(self.total.seconds + self.special_seconds + self.bulletins.seconds, 3)

    def share(self, line: Line) -> float:
        """The topic's share of the scheduled minutes (0 when nothing aired)."""
        return line.seconds / self.total.seconds if self.total.seconds > 0 else 0.0

    def weight_share(self, topic: str) -> float:
        """The topic's weight as a share of all configured weights (its due share)."""
        whole = sum(self.weights.values())
        return self.weights.get(topic, 0.0) / whole if whole > 0 else 0.0

    def under_share(self, ratio: float = 0.8) -> list[Line]:
        """Configured topics whose share of minutes is below `ratio` times their weight share
        (every weighted topic when nothing aired at all)."""
        return [
            t
            for t in self.topics
            if t.key in self.weights and self.share(t) < ratio * self.weight_share(t.key)
        ]

    @property
    def success_rate(self) -> float | None:
        """Completed / (completed + interrupted + failed + missed); None with nothing due."""
        due = self.reliability["completed"] + sum(self.reliability[s] for s in PROBLEM_STATUSES)
        return None if due == 0 else self.reliability["completed"] / due


def _line(key: str, name: str, groups: Iterable[Group]) -> Line:
    line = Line(key, name)
    items: set[str] = set()
    for g in groups:
        line.plays += g.count
        line.seconds += g.seconds
        if g.item is not None:
            items.add(g.item)
    line.items = len(items)
    line.seconds = round(line.seconds, 3)
    return line


def build_report(
    groups: Iterable[Group],
    *,
    station_id: str,
    station_name: str,
    period: Period,
    topics: Sequence[tuple[str, str]],
    months: Mapping[str, tuple[int, float]],
) -> Report:
    """Aggregate `groups` into a Report; `topics` are the configured (id, name) in order,
    `months` maps "YYYY-MM" to (plays, seconds) of completed scheduled plays."""
    groups = list(groups)
    done = [g for g in groups if g.status == COMPLETED]
    bulletins = [g for g in done if is_bulletin(g)]
    done = [g for g in done if not is_bulletin(g)]
    scheduled = [g for g in done if g.kind not in (*SPECIAL_KINDS, "relay")]  # relay: apart

    by_topic: dict[str | None, list[Group]] = defaultdict(list)
    for g in scheduled:
        by_topic[g.topic].append(g)
    names = dict(topics)
    lines = [_line(tid, name, by_topic.get(tid, ())) for tid, name in topics]
    for tid in sorted((t for t in by_topic if t not in names), key=lambda t: (t is None, t)):
        label = tid or UNKNOWN_TOPIC
        lines.append(_line(label, f"{label} (không còn trong cấu hình)", by_topic[tid]))

    month_lines = []
    for m in period.months():
        plays, seconds = months.get(m.label, (0, 0.0))
        month_lines.append(Line(m.label, m.label, plays, 0, round(seconds, 3)))

    special = [_line(kind, kind, (g for g in done if g.kind == kind)) for kind in SPECIAL_KINDS]
    reliability = dict.fromkeys(RELIABILITY_STATUSES, 0)
    for g in groups:
        if g.kind == "relay":  # relayed stretches and drops: airtime.relay_report
            continue
        reliability[g.status] = reliability.get(g.status, 0) + g.count
    return Report(
        station_id=station_id,
        station_name=station_name,
        period=period,
        topics=lines,
        total=_line("total", "Tổng cộng", scheduled),
        months=month_lines,
        special=special,
        reliability=reliability,
        bulletins=_line("bulletin", "Bản tin cấp trên", bulletins),
    )


def is_bulletin(group: Group) -> bool:
    """A bulletin's airing (its spot id marks it), counted apart from the station's spots."""
    return bool(group.item and group.item.startswith(BULLETIN_SPOT_PREFIX))


def count_sessions(
    due: Sequence[Due],
    rows: Iterable[SessionRow],
    *,
    since: date | None = None,
    until: date | None = None,
    open_period: bool = False,
) -> Sessions:
    """Match each due session with the scheduled rows whose planned time lies inside it
    (same slot name, start <= at < end: how the daemon itself finds a slot's rows)."""
    by_slot: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for r in rows:
        by_slot[r.slot].append((r.at, r.status))
    for found in by_slot.values():
        found.sort()
    out = Sessions(since=since, until=until, open_period=open_period)
    day_state: dict[date, bool] = {}  # local day -> any row for any of its sessions
    for d in due:
        found = by_slot.get(d.slot, [])
        lo = bisect.bisect_left(found, (d.start, ""))
        inside = []
        for at, status in found[lo:]:
            if at >= d.end:
                break
            inside.append(status)
        out.due += 1
        if COMPLETED in inside:
            out.aired += 1
        elif inside:
            out.recorded += 1
        else:
            out.no_record += 1
        day = d.start.date()
        day_state[day] = day_state.get(day, False) or bool(inside)
    out.silent_days = sorted(day for day, logged in day_state.items() if not logged)
    return out


def day_ranges(days: Sequence[date]) -> list[tuple[date, date]]:
    """Consecutive days collapsed: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    out: list[tuple[date, date]] = []
    for day in sorted(days):
        if out and (day - out[-1][1]).days == 1:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def mmss(seconds: float) -> str:
    """Airtime as minutes:seconds (phút:giây), rounded to the second: 5415.4 -> "90:15"."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"

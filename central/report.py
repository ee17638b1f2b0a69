"""The district's and the province's report, pure: how a period splits over the roll-ups
(`split`), and `build`, which turns the stations and their sums (as `central.report_queries`
reads them) into a `CentralReport`: per station, per topic, per district, the stations that
sent nothing for the period (never counted as zero airtime) and those silent for more than
`stale_days`. What is counted is what the station's own report counts: plays and seconds of
completed scheduled plays, with ad hoc and emergency broadcasts and the bulletins sent down
(issue 13, per priority) apart.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import repeat
from typing import Any
from zoneinfo import ZoneInfo

from airtime.periods import Period, day_start

SPECIAL = ("adhoc", "emergency")
PRIORITIES = ("khan-cap", "uu-tien", "thuong")  # Thông tư 39/2020, as central.bulletins has them
PROBLEMS = ("missed", "failed")
DUE = ("completed", "interrupted", "failed", "missed")
UNKNOWN = "(không rõ chủ đề)"
DEFAULT_TZ = "Asia/Ho_Chi_Minh"


# ---------------------------------------------------------------- plain inputs


@dataclass(frozen=True)
class StationInfo:
    id: str
    name: str
    district: str
    district_name: str
    timezone: str = DEFAULT_TZ
    topics: tuple[tuple[str, str, float], ...] = ()  # (id, name, weight) it schedules
    last_push: datetime | None = None  # received time of its chain's head
    heartbeat: datetime | None = None
    checked: tuple[bool, datetime] | None = None  # the last `loa central verify`

    @property
    def last_contact(self) -> datetime | None:
        seen = [t for t in (self.last_push, self.heartbeat) if t is not None]
        return max(seen) if seen else None


@dataclass(slots=True)
class Figures:
    """A station's sums over the period, as the database adds them up from the roll-ups:
    completed scheduled plays and seconds per topic, scheduled plays missed or failed and
    due, completed ad hoc and emergency plays and seconds; with the bulletins' airings taken
    out of them (`apart`) and listed in `bulletins`."""

    station: str
    plays_of: dict[str, int]  # topic -> completed scheduled plays
    seconds_of: dict[str, float]  # topic -> their seconds (the same keys)
    problems: int = 0
    due: int = 0
    adhoc: int = 0
    adhoc_seconds: float = 0.0
    emergency: int = 0
    emergency_seconds: float = 0.0
    bulletins: tuple[tuple[str, str, int, float], ...] = ()  # (id, priority, airings, seconds)

    @classmethod
    def of(
        cls, station: str, topics: dict[str, tuple[int, float]], *rest: Any, **kw: Any
    ) -> Figures:
        """From {topic: (plays, seconds)}."""
        plays = {t: p for t, (p, _) in topics.items()}
        return cls(station, plays, {t: sec for t, (_, sec) in topics.items()}, *rest, **kw)

    @property
    def topics(self) -> dict[str, tuple[int, float]]:
        """{topic: (plays, seconds)}."""
        return {t: (p, self.seconds_of[t]) for t, p in self.plays_of.items()}


def added(a: Figures, b: Figures) -> Figures:
    """The figures of one station over two spans (two years of `central.station_year`)."""
    topics = dict(a.topics)
    for t, (p, sec) in b.topics.items():
        was = topics.get(t)
        topics[t] = (p, sec) if was is None else (was[0] + p, was[1] + sec)
    return Figures.of(
        a.station,
        topics,
        a.problems + b.problems,
        a.due + b.due,
        a.adhoc + b.adhoc,
        a.adhoc_seconds + b.adhoc_seconds,
        a.emergency + b.emergency,
        a.emergency_seconds + b.emergency_seconds,
        a.bulletins + b.bulletins,
    )


@dataclass(frozen=True)
class BulletinRow:
    """A bulletin's airings at a station over the period (`central.rollup_bulletin_day`)."""

    station: str
    bulletin: str
    priority: str
    kind: str
    status: str
    topic: str
    plays: int
    seconds: float


def apart(f: Figures, rows: Sequence[BulletinRow]) -> Figures:
    """`f` without the bulletins' airings `rows` (of its station): a bulletin that headed a slot
    or joined a topic's rotation is not a scheduled play of the station's own spots, a khan-cap
    one not an emergency broadcast of its own; the completed airings are counted apart, per
    bulletin, as the station's own report counts them (`airtime.report`)."""
    topics = dict(f.topics)
    problems, due = f.problems, f.due
    special = {"adhoc": [f.adhoc, f.adhoc_seconds], "emergency": [f.emergency, f.emergency_seconds]}
    aired: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        done = r.status == "completed"
        if r.kind in SPECIAL:
            if done:
                special[r.kind][0] -= r.plays
                special[r.kind][1] -= r.seconds
        elif done:
            plays, seconds = topics.get(r.topic, (0, 0.0))
            topics[r.topic] = (plays - r.plays, seconds - r.seconds)
            due -= r.plays
        else:
            due -= r.plays if r.status in DUE else 0
            problems -= r.plays if r.status in PROBLEMS else 0
        if done:
            sums = aired.setdefault((r.bulletin, r.priority), [0, 0.0])
            sums[0] += r.plays
            sums[1] += r.seconds
    return Figures.of(
        f.station,
        {t: (p, s) for t, (p, s) in topics.items() if p > 0},  # float residue of 0 plays
        problems,
        due,
        int(special["adhoc"][0]),
        max(0.0, special["adhoc"][1]),
        int(special["emergency"][0]),
        max(0.0, special["emergency"][1]),
        tuple((b, p, int(n), s) for (b, p), (n, s) in sorted(aired.items())),
    )


# ---------------------------------------------------------------- results


@dataclass
class TopicLine:
    id: str
    name: str
    plays: int = 0
    spots: int | None = None  # distinct spots (None where not counted)
    seconds: float = 0.0
    share: float = 0.0
    weight_share: float | None = None  # the mean of the stations' weight shares


@dataclass
class StationLine:
    id: str
    name: str
    district: str
    reporting: bool  # sent anything for the period
    stale: bool  # nothing sent for more than stale_days (before the period's end or now)
    plays: int = 0
    seconds: float = 0.0
    topics_covered: int = 0
    topics_total: int = 0
    gap: float | None = None  # the largest |share - weight share| of its topics
    gap_topic: str | None = None
    problems: int = 0  # scheduled plays missed or failed
    due: int = 0  # scheduled plays completed, interrupted, failed or missed
    adhoc: int = 0
    adhoc_seconds: float = 0.0
    emergency: int = 0
    emergency_seconds: float = 0.0
    last_push: datetime | None = None
    last_contact: datetime | None = None
    verified: bool | None = None  # None: never checked
    checked_at: datetime | None = None
    topic_seconds: dict[str, float] = field(default_factory=dict)
    topic_plays: dict[str, int] = field(default_factory=dict)
    bulletins: tuple[tuple[str, str, int, float], ...] = ()  # (id, priority, airings, seconds)

    @property
    def problem_rate(self) -> float | None:
        return self.problems / self.due if self.due else None


@dataclass
class BulletinLine:
    """The bulletins of one priority aired over a set of stations."""

    priority: str
    airings: int = 0
    seconds: float = 0.0
    bulletins: int = 0  # distinct bulletins (one aired at many stations counts once)


def bulletin_lines(stations: Sequence[StationLine]) -> list[BulletinLine]:
    """One line per priority (the three always, in their order), then any other found."""
    lines = {p: BulletinLine(p) for p in PRIORITIES}
    ids: dict[str, set[str]] = defaultdict(set)
    for s in stations:
        for bulletin, priority, airings, seconds in s.bulletins:
            line = lines.setdefault(priority, BulletinLine(priority))
            line.airings += airings
            line.seconds += seconds
            ids[priority].add(bulletin)
    for p, line in lines.items():
        line.seconds, line.bulletins = round(line.seconds, 3), len(ids[p])
    return list(lines.values())


@dataclass
class Totals:
    stations: int = 0
    reporting: int = 0
    plays: int = 0
    seconds: float = 0.0
    problems: int = 0
    due: int = 0
    adhoc: int = 0
    adhoc_seconds: float = 0.0
    emergency: int = 0
    emergency_seconds: float = 0.0
    bulletins: list[BulletinLine] = field(default_factory=list)

    @property
    def problem_rate(self) -> float | None:
        return self.problems / self.due if self.due else None

    @property
    def bulletin_airings(self) -> int:
        return sum(b.airings for b in self.bulletins)

    @property
    def bulletin_seconds(self) -> float:
        return round(sum(b.seconds for b in self.bulletins), 3)

    @property
    def combined_seconds(self) -> float:
        """Scheduled, ad hoc, emergency and the bulletins' airtime (completed plays)."""
        return round(
            self.seconds + self.adhoc_seconds + self.emergency_seconds + self.bulletin_seconds, 3
        )


@dataclass
class DistrictPart:
    code: str
    name: str
    stations: list[StationLine]
    topics: list[TopicLine]
    totals: Totals


@dataclass
class CentralReport:
    period: Period
    district: str | None  # None: the province's report
    parts: list[DistrictPart]
    topics: list[TopicLine]  # across every district shown
    totals: Totals
    now: datetime
    stale_days: int
    provisional: bool
    counted_until: date  # the last day counted (today while the period is open)

    @property
    def stations(self) -> list[StationLine]:
        return [s for p in self.parts for s in p.stations]

    @property
    def not_reporting(self) -> list[StationLine]:
        return [s for s in self.stations if not s.reporting]

    @property
    def stale(self) -> list[StationLine]:
        return [s for s in self.stations if s.reporting and s.stale]


# ---------------------------------------------------------------- pure parts


def split(period: Period) -> list[tuple[str, date, date]]:
    """The period as ranges of the coarsest roll-ups that cover it, in order: ("year", Jan 1
    of the first, Jan 1 of the last), ("month", first 1st, last 1st), ("day", first, last).
    2021-11-15..2023-02-28 -> day 2021-11-15..11-30, month 2021-12, year 2022, month 2023-01..02."""
    out: list[tuple[str, date, date]] = []
    for m in period.months():
        y = m.start.year
        if not (m.start.day == 1 and (m.end + timedelta(days=1)).day == 1):
            kind, lo, hi = "day", m.start, m.end
        elif period.start <= date(y, 1, 1) and date(y, 12, 31) <= period.end:
            kind, lo, hi = "year", date(y, 1, 1), date(y, 1, 1)
        else:
            kind, lo, hi = "month", m.start, m.start
        if out and out[-1][0] == kind:
            if kind == "year" and out[-1][2] == lo:
                continue  # the same year, already there
            out[-1] = (kind, out[-1][1], hi)  # contiguous: one range
        else:
            out.append((kind, lo, hi))
    return out


@functools.lru_cache(maxsize=1024)
def _weight_shares(topics: tuple[tuple[str, str, float], ...]) -> dict[str, float]:
    """Each topic's weight as a share of the schedule's (stations mostly share a schedule:
    worked out once each; the dict is shared, never changed)."""
    whole = sum(w for _, _, w in topics)
    return {t: (w / whole if whole > 0 else 0.0) for t, _, w in topics}


@functools.lru_cache(maxsize=1024)
def _plan(topics: tuple[tuple[str, str, float], ...]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """(topic ids, their weight shares) of a schedule, once per schedule."""
    shares = _weight_shares(topics)
    return tuple(shares), tuple(shares.values())


def station_line(info: StationInfo, f: Figures | None, stale_before: datetime) -> StationLine:
    contact = info.last_contact
    line = StationLine(
        info.id,
        info.name,
        info.district,
        reporting=f is not None,
        stale=contact is None or contact < stale_before,
        last_push=info.last_push,
        last_contact=contact,
        topics_total=len(info.topics),
        verified=None if info.checked is None else info.checked[0],
        checked_at=None if info.checked is None else info.checked[1],
    )
    if f is None:
        return line
    line.problems, line.due = f.problems, f.due
    line.adhoc, line.adhoc_seconds = f.adhoc, round(f.adhoc_seconds, 3)
    line.emergency, line.emergency_seconds = f.emergency, round(f.emergency_seconds, 3)
    line.bulletins = f.bulletins
    line.topic_plays, line.topic_seconds = dict(f.plays_of), dict(f.seconds_of)
    if "" in f.plays_of:  # rows without a topic: named as such
        plays, seconds = line.topic_plays.pop(""), line.topic_seconds.pop("")
        line.topic_plays[UNKNOWN] = line.topic_plays.get(UNKNOWN, 0) + plays
        line.topic_seconds[UNKNOWN] = line.topic_seconds.get(UNKNOWN, 0.0) + seconds
    line.plays = sum(line.topic_plays.values())
    line.seconds = round(sum(line.topic_seconds.values()), 3)
    if info.topics:
        ids, shares = _plan(info.topics)
        mine = list(map(line.topic_seconds.get, ids, repeat(0.0, len(ids))))
        line.topics_covered = sum(map(bool, mine))  # seconds are never negative
        if line.seconds > 0:
            whole = line.seconds
            gaps = [abs(sec / whole - share) for sec, share in zip(mine, shares, strict=True)]
            line.gap, line.gap_topic = max(zip(gaps, ids, strict=True))
    return line


def totals_of(stations: Sequence[StationLine]) -> Totals:
    t = Totals(stations=len(stations), reporting=sum(1 for s in stations if s.reporting))
    for s in stations:
        t.plays += s.plays
        t.seconds += s.seconds
        t.problems += s.problems
        t.due += s.due
        t.adhoc += s.adhoc
        t.adhoc_seconds += s.adhoc_seconds
        t.emergency += s.emergency
        t.emergency_seconds += s.emergency_seconds
    t.seconds = round(t.seconds, 3)
    t.bulletins = bulletin_lines(stations)
    t.adhoc_seconds = round(t.adhoc_seconds, 3)
    t.emergency_seconds = round(t.emergency_seconds, 3)
    return t


TopicSums = tuple[dict[str, int], dict[str, float]]  # topic -> plays, topic -> seconds


def topic_sums(lines: Sequence[StationLine]) -> TopicSums:
    plays: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    for line in lines:
        for key, n in line.topic_plays.items():
            plays[key] += n
        for key, sec in line.topic_seconds.items():
            seconds[key] += sec
    return plays, seconds


def topic_lines(
    infos: Sequence[StationInfo],
    lines: Sequence[StationLine],
    spots: dict[str, int] | None,
    sums: Sequence[TopicSums] | None = None,
) -> list[TopicLine]:
    """Per topic over `lines` (their sums, or the sums of their parts `sums`): every topic a
    station schedules (in the order they are first scheduled), then any other topic found in
    the figures. The weight share is the mean of the scheduling stations' weight shares."""
    names: dict[str, str] = {}
    weight_sum: dict[str, float] = defaultdict(float)
    scheduling = [i for i in infos if i.topics]
    schedules: dict[tuple[tuple[str, str, float], ...], int] = defaultdict(int)
    for info in scheduling:  # stations mostly share one schedule: each counted once
        schedules[info.topics] += 1
    for topics, n in schedules.items():
        shares = _weight_shares(topics)
        for tid, name, _ in topics:
            names.setdefault(tid, name)
            weight_sum[tid] += n * shares[tid]
    if sums is None:
        plays, seconds = topic_sums(lines)
    else:
        plays, seconds = defaultdict(int), defaultdict(float)
        for part_plays, part_seconds in sums:
            for key, n in part_plays.items():
                plays[key] += n
            for key, sec in part_seconds.items():
                seconds[key] += sec
    order = list(names) + sorted(t for t in plays if t not in names)
    whole = sum(s.seconds for s in lines)
    out = []
    for tid in order:
        secs = round(seconds.get(tid, 0.0), 3)
        out.append(
            TopicLine(
                tid,
                names.get(tid, f"{tid} (không có trong lịch của đài nào)"),
                plays.get(tid, 0),
                None if spots is None else spots.get(tid, 0),
                secs,
                secs / whole if whole > 0 else 0.0,
                weight_sum[tid] / len(scheduling) if tid in names else None,
            )
        )
    return out


def build(
    period: Period,
    district: str | None,
    infos: Sequence[StationInfo],
    figures: Sequence[Figures],
    spots: dict[str, dict[str, int]],
    *,
    now: datetime,
    stale_days: int = 7,
) -> CentralReport:
    """`spots` maps a district code to {topic: distinct spots} ("*": all of them)."""
    by_station = {f.station: f for f in figures}
    parts: list[DistrictPart] = []
    per_district: dict[str, list[StationInfo]] = defaultdict(list)
    for info in infos:
        per_district[info.district].append(info)
    all_lines: list[StationLine] = []
    tz = ZoneInfo(infos[0].timezone if infos else DEFAULT_TZ)
    end = min(now, day_start(period.end + timedelta(days=1), tz))
    stale_before = end - timedelta(days=stale_days)
    sums: list[TopicSums] = []
    for code in sorted(per_district):
        members = sorted(per_district[code], key=lambda i: i.id)
        lines = [station_line(i, by_station.get(i.id), stale_before) for i in members]
        sums.append(topic_sums(lines))
        topics = topic_lines(members, lines, spots.get(code, {}), sums[-1:])
        parts.append(DistrictPart(code, members[0].district_name, lines, topics, totals_of(lines)))
        all_lines += lines
    # distinct over every district shown ("*"), never a sum of the districts' counts
    province_spots = spots.get(parts[0].code, {}) if len(parts) == 1 else spots.get("*", {})
    topics = topic_lines(list(infos), all_lines, province_spots, sums)
    local_now = now.astimezone(tz)
    return CentralReport(
        period=period,
        district=district,
        parts=parts,
        topics=topics,
        totals=totals_of(all_lines),
        now=now,
        stale_days=stale_days,
        provisional=local_now.date() <= period.end,
        counted_until=min(period.end, local_now.date()),
    )

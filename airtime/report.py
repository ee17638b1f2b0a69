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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

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
    scheduled = [g for g in done if g.kind not in SPECIAL_KINDS]

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
    )


def mmss(seconds: float) -> str:
    """Airtime as minutes:seconds (phút:giây), rounded to the second: 5415.4 -> "90:15"."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"

"""Hypothesis strategies and independent reference checks for the playlists tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from playlists import Candidate, Plan, Play, SlotRequest

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
BASE = datetime(2021, 3, 1, 6, 0, tzinfo=TZ)
TOPIC_IDS = ("dich-vu-cong", "chi-so", "van-hoa-cong-vu", "so-hoa", "mot-cua")
EPS = 1e-6

# Durations in tenths of a second keep float sums exact enough to reason about in checks.
# Mostly short spots, so that slots fill tightly and the end-of-slot arithmetic is exercised.
durations = st.one_of(
    st.integers(min_value=1, max_value=400), st.integers(min_value=1, max_value=3000)
).map(lambda tenths: tenths / 10)
days_around = st.integers(min_value=-20, max_value=20).map(lambda n: BASE.date() + timedelta(n))


@st.composite
def libraries(draw: st.DrawFn, *, max_size: int = 40) -> list[Candidate]:
    size = draw(st.integers(min_value=0, max_value=max_size))
    library = []
    for i in range(size):
        valid_from = draw(st.none() | days_around)
        valid_until = draw(st.none() | days_around)
        library.append(
            Candidate(
                spot=f"s{i:03d}",
                topic=draw(st.sampled_from(TOPIC_IDS)),
                duration_s=draw(durations | st.sampled_from([0.0, -1.0])),
                path=f"p/s{i:03d}.mp3",
                title=f"Tin {i}",
                valid_from=valid_from,
                valid_until=valid_until,
                approved=draw(st.booleans()),
                ok=draw(st.integers(0, 9)) > 0,
            )
        )
    return library


@st.composite
def histories(draw: st.DrawFn, library: Sequence[Candidate], *, max_size: int = 60) -> list[Play]:
    spots = [c.spot for c in library] + ["gone-1", "gone-2"]
    plays = []
    for _ in range(draw(st.integers(min_value=0, max_value=max_size))):
        spot = draw(st.none() | st.sampled_from(spots))
        topic = draw(st.none() | st.sampled_from(TOPIC_IDS))
        seconds_before = draw(st.integers(min_value=-3600, max_value=80 * 86_400))
        zone = draw(st.sampled_from([TZ, ZoneInfo("UTC")]))
        plays.append(
            Play(
                spot=spot,
                topic=topic,
                started_at=(BASE - timedelta(seconds=seconds_before)).astimezone(zone),
                played_s=draw(st.sampled_from([0.0, 12.5, 30.0, 60.0, 95.5, 180.0])),
            )
        )
    return plays


weights_st = st.dictionaries(
    st.sampled_from(TOPIC_IDS), st.integers(min_value=0, max_value=5), min_size=0, max_size=5
)


@st.composite
def slots(draw: st.DrawFn, start: datetime = BASE) -> SlotRequest:
    jingle = st.none() | st.builds(
        Candidate,
        spot=st.just("jingle"),
        topic=st.just(""),
        duration_s=st.integers(1, 40).map(float),
        path=st.just("jingles/j.mp3"),
        title=st.just("Nhạc hiệu"),
    )
    topics = draw(
        st.sampled_from([(), ("*",)]) | st.lists(st.sampled_from(TOPIC_IDS), max_size=4).map(tuple)
    )
    return SlotRequest(
        name="sang",
        start=start,
        length_s=draw(st.integers(min_value=0, max_value=1500).map(float)),
        topics=topics,
        intro=draw(jingle),
        outro=draw(jingle),
        pause_s=draw(st.sampled_from([0.0, 0.0, 1.5, 3.0])),
    )


def eligible(cand: Candidate, day: date, require_approval: bool) -> bool:
    """Issue 4 rule 6, written out independently of the planner."""
    if not cand.ok or cand.duration_s <= 0:
        return False
    if require_approval and not cand.approved:
        return False
    if cand.valid_from is not None and day < cand.valid_from:
        return False
    return cand.valid_until is None or day <= cand.valid_until


def allowed_topics(slot: SlotRequest, weights: Mapping[str, float]) -> set[str]:
    if not slot.topics or "*" in slot.topics:
        return {t for t, w in weights.items() if w > 0}
    return {t for t in slot.topics if weights.get(t, 0) > 0}


def eligible_pool(
    slot: SlotRequest,
    library: Sequence[Candidate],
    weights: Mapping[str, float],
    require_approval: bool,
) -> list[Candidate]:
    topics = allowed_topics(slot, weights)
    day = slot.start.date()
    return [c for c in library if c.topic in topics and eligible(c, day, require_approval)]


def outro_tail(plan: Plan, slot: SlotRequest) -> float:
    """Room the plan keeps after its last spot: the pause and the outro, when it has one."""
    outros = [i for i in plan.items if i.role == "outro"]
    return slot.pause_s + outros[0].duration_s if outros else 0.0


def last_aired(history: Sequence[Play], before: datetime) -> dict[str, datetime]:
    last: dict[str, datetime] = {}
    for play in history:
        if play.spot is None or play.played_s <= 0 or play.started_at >= before:
            continue
        if play.spot not in last or play.started_at > last[play.spot]:
            last[play.spot] = play.started_at
    return last


def day_slots(first: date, days: int, lengths: Sequence[float] = (600.0, 900.0)) -> list:
    hours = (6, 17, 11, 20)
    out = []
    for d in range(days):
        day = first + timedelta(days=d)
        for n, length in enumerate(lengths):
            out.append(
                SlotRequest(
                    name=f"slot{n}",
                    start=datetime(day.year, day.month, day.day, hours[n], tzinfo=TZ),
                    length_s=length,
                    topics=("*",),
                    pause_s=1.0,
                )
            )
    return out


def us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def rotation_rounds(
    plays: Sequence[Play],
) -> tuple[dict[str, tuple[str, int]], dict[str, int]]:
    """Issue 16's rotation counts and topic rounds, replayed from a log independently.

    In start order (ties by topic, then spot): pre = the spot's count in this topic (0 if it
    last aired in another or never), or the topic's round if higher; count = pre + 1;
    round = pre. Plays that never aired do not count. Returns spot -> (topic, count) and
    topic -> round.
    """
    counts: dict[str, tuple[str, int]] = {}
    rounds: dict[str, int] = {}
    aired = [p for p in plays if p.played_s > 0]
    for play in sorted(aired, key=lambda p: (p.started_at, p.topic or "", p.spot or "")):
        if play.spot is None or play.topic is None:
            continue
        seen = counts.get(play.spot)
        pre = seen[1] if seen is not None and seen[0] == play.topic else 0
        pre = max(pre, rounds.get(play.topic, 0))
        counts[play.spot] = (play.topic, pre + 1)
        rounds[play.topic] = pre
    return counts, rounds


def due_spots(
    pool: Sequence[Candidate],
    counts: Mapping[str, tuple[str, int]],
    round_: int,
    widest_s: float,
) -> set[str]:
    """The spots of one topic's `pool` due in a slot whose spots get at most `widest_s`.

    Due: count at most the round while a spot of the round that fits has not aired; once
    every spot that fits has aired in the round, count at most the lowest count among them.
    """

    def count(cand: Candidate) -> int:  # 0 when it last aired in another topic
        seen = counts.get(cand.spot)
        return seen[1] if seen is not None and seen[0] == cand.topic else 0

    fitting = [c for c in pool if us(c.duration_s) <= us(widest_s)]
    if not fitting or any(count(c) <= round_ for c in fitting):
        limit = round_
    else:
        limit = min(count(c) for c in fitting)
    return {c.spot for c in pool if count(c) <= limit}


def widest(plan: Plan, slot: SlotRequest) -> float:
    """The most time any spot of `plan` could get: the slot less its jingles and their pauses."""
    room = slot.length_s
    for item in plan.items:
        if item.role != "spot":
            room -= item.duration_s + slot.pause_s
    return room


def history_before(history: Sequence[Play], slot: SlotRequest) -> list[Play]:
    return [p for p in history if p.started_at < slot.start]

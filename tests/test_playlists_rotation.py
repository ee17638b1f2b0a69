"""Issue 16: even rotation within a topic whatever the durations.

Within a topic, over any period of 30 days or more, the play counts of its spots differ by at
most 2 (where the topic aired at least as many times as it has spots), while the topic shares
stay within 2 points of the weights and the slots stay filled.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playlists import (
    Candidate,
    Plan,
    Play,
    Rotation,
    SlotRequest,
    plan_sequence,
    plan_to_plays,
)
from tests.playlists_support import TZ, due_spots, rotation_rounds, us, widest

TOPICS = (
    "y-nghia-muc-tieu",
    "thanh-tuu-tinh",
    "trach-nhiem-nguoi-dung-dau",
    "van-hoa-cong-vu",
    "dich-vu-cong",
    "chuong-trinh-tong-the",
    "chi-so",
    "mo-hinh-dien-hinh",
    "tinh-hinh-ngoai-tinh",
    "tac-pham-hoi-thi",
    "duong-day-nong",
)
WEIGHTS = {topic: 2 if topic == "dich-vu-cong" else 1 for topic in TOPICS}
JINGLE = Candidate("jingle", "", 8.0, "jingles/intro.mp3", "Nhạc hiệu")
FIRST = date(2021, 3, 1)


def spot(sid: str, topic: str, seconds: float, **extra) -> Candidate:
    return Candidate(sid, topic, seconds, f"{topic}/{sid}.mp3", f"Tin {sid}", **extra)


def station_slots(
    first: date, days: int, minutes=(10, 8), jingles: bool = True, pause: float = 1.0
) -> list[SlotRequest]:
    """Two slots a day (06:00 and 17:00), by default 10 and 8 minutes with jingles."""
    out = []
    for d in range(days):
        day = first + timedelta(days=d)
        for name, hour, length in zip(("sang", "chieu"), (6, 17), minutes, strict=False):
            out.append(
                SlotRequest(
                    name,
                    datetime(day.year, day.month, day.day, hour, tzinfo=TZ),
                    length * 60.0,
                    ("*",),
                    intro=JINGLE if jingles else None,
                    outro=JINGLE if jingles else None,
                    pause_s=pause,
                )
            )
    return out


def issue_library() -> list[Candidate]:
    """The issue's library: eleven topics of 4-6 spots, 20 s to 120 s, each with both ends."""
    rnd = random.Random(16)
    library = []
    for t, topic in enumerate(TOPICS):
        seconds = [20, 120] + [rnd.randint(20, 120) for _ in range(2 + t % 3)]
        library += [spot(f"{topic}-{n}", topic, float(s)) for n, s in enumerate(seconds)]
    return library


def aired(plans: Iterable[Plan]) -> list[Play]:
    return [play for plan in plans for play in plan_to_plays(plan)]


def spreads(
    plays: Sequence[Play],
    spots_by_topic: Mapping[str, Sequence[str]],
    since: datetime,
    until: datetime,
) -> dict[str, tuple[int, int, list[int]]]:
    """Per topic: (spread of play counts, topic plays, counts) in [since, until)."""
    counts = Counter(p.spot for p in plays if since <= p.started_at < until)
    out = {}
    for topic, spots in spots_by_topic.items():
        per_spot = [counts[s] for s in spots]
        out[topic] = (max(per_spot) - min(per_spot), sum(per_spot), per_spot)
    return out


def assert_even(
    plays: Sequence[Play],
    spots_by_topic: Mapping[str, Sequence[str]],
    first: date,
    days: int,
    period: int = 30,
) -> int:
    """Every period of `period` days (by whole days) and the whole run: spread <= 2 in every
    topic that aired at least as many times as it has spots. Returns the largest spread."""
    start = datetime(first.year, first.month, first.day, tzinfo=TZ)
    worst = 0
    spans = [
        (start + timedelta(days=d), start + timedelta(days=d + period))
        for d in range(days - period + 1)
    ]
    spans.append((start, start + timedelta(days=days)))
    for since, until in spans:
        for topic, (spread, total, per_spot) in spreads(
            plays, spots_by_topic, since, until
        ).items():
            if total >= len(per_spot):
                assert spread <= 2, (topic, since.date(), per_spot)
                worst = max(worst, spread)
    return worst


def shares(plays: Iterable[Play]) -> dict[str, float]:
    seconds: dict[str, float] = defaultdict(float)
    for play in plays:
        seconds[play.topic or ""] += play.played_s
    total = sum(seconds.values())
    return {topic: value / total for topic, value in seconds.items()}


def share_deviation(plays: Iterable[Play], weights: Mapping[str, float]) -> float:
    got = shares(plays)
    total = sum(weights.values())
    return max(abs(got.get(t, 0.0) - w / total) for t, w in weights.items())


def by_topic(library: Iterable[Candidate]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for cand in library:
        out[cand.topic].append(cand.spot)
    return dict(out)


def test_the_issue_example_sixty_days_even_counts_shares_and_full_slots() -> None:
    library = issue_library()
    plans = plan_sequence(station_slots(FIRST, 60), library, [], WEIGHTS)
    plays = aired(plans)
    worst = assert_even(plays, by_topic(library), FIRST, 60)
    assert worst <= 2  # measured: 2 in some 30-day period, 1 over the 60 days
    # (the old planner: 120 s spots 21 plays, 20 s ones 40, spreads up to 19)
    counts = Counter(p.spot for p in plays)
    for topic in TOPICS:
        assert abs(counts[f"{topic}-0"] - counts[f"{topic}-1"]) <= 1  # the 20 s and the 120 s
    assert share_deviation(plays, WEIGHTS) <= 0.005  # measured: 0.1 point
    assert max(plan.unfilled_s for plan in plans) < 60  # measured: 20 s
    assert all(len(plan.spots) >= 4 for plan in plans)


@st.composite
def stations(draw: st.DrawFn):
    count = draw(st.integers(min_value=3, max_value=6))
    topics = TOPICS[:count]
    raw = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    weights = dict(zip(topics, raw, strict=True))
    library = []
    for topic in topics:
        for n in range(draw(st.integers(min_value=2, max_value=9))):
            seconds = draw(
                st.one_of(st.integers(5, 150), st.integers(5, 600)).map(float)  # 5 s to 10 min
            )
            library.append(spot(f"{topic}-{n}", topic, seconds))
    minutes = (draw(st.sampled_from([8, 10, 15])), draw(st.sampled_from([8, 10])))
    jingles = draw(st.booleans())
    pause = draw(st.sampled_from([0.0, 1.0, 2.5]))
    rnd = random.Random(draw(st.integers(0, 2**31)))
    # Any earlier log: other planners, skewed counts, spots that are gone, jingles.
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=TZ)
    history = [
        Play(
            rnd.choice([c.spot for c in library] + ["gone"]),
            rnd.choice([*topics, None]),
            start - timedelta(seconds=rnd.randint(1, 90 * 86_400)),
            float(rnd.choice([0, 20, 60, 150])),
        )
        for _ in range(draw(st.integers(0, 300)))
    ]
    return weights, library, minutes, jingles, pause, history


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stations())
def test_counts_stay_even_whatever_the_durations_and_the_log(station) -> None:
    weights, library, minutes, jingles, pause, history = station
    requests = station_slots(FIRST, 60, minutes, jingles, pause)
    plans = plan_sequence(requests, library, history, weights)
    plays = aired(plans)
    # Spots that fit every slot (with its jingles and pauses) are held to the bound; a spot
    # longer than some slot airs only where it fits (`loa simulate` says so).
    room = min(r.length_s - (2 * (JINGLE.duration_s + pause) if jingles else 0) for r in requests)
    fitting = by_topic(c for c in library if c.duration_s <= room)
    assert_even(plays, fitting, FIRST, 60)
    # The rest of each slot is shorter than every due spot that is not in it (plus a pause).
    log = [p for p in history if p.started_at < requests[0].start]
    for request, plan in zip(requests, plans, strict=True):
        log += plan_to_plays(plan)
        counts, rounds = rotation_rounds(log)
        gap = request.pause_s if plan.items else 0.0
        in_plan = {i.spot for i in plan.spots}
        for topic in weights:
            mine = [c for c in library if c.topic == topic]
            due = due_spots(mine, counts, rounds.get(topic, 0), widest(plan, request))
            for cand in mine:
                if cand.spot in due and cand.spot not in in_plan:
                    assert us(cand.duration_s + gap) > us(plan.unfilled_s) - 1, (cand, plan)


def test_shares_and_fill_with_long_and_short_spots_mixed() -> None:
    """Spots of 20 s to 10 min in 15-minute slots: shares within 2 points, counts even."""
    rnd = random.Random(5)
    weights = {topic: (1, 2, 1, 3, 1)[i] for i, topic in enumerate(TOPICS[:5])}
    library = [
        spot(f"{topic}-{n}", topic, float(rnd.choice([20, 45, 90, 180, 300, 600])))
        for topic in weights
        for n in range(rnd.randint(6, 10))
    ]
    plans = plan_sequence(station_slots(FIRST, 60, (15, 15)), library, [], weights)
    plays = aired(plans)
    assert share_deviation(plays, weights) <= 0.02
    room = 15 * 60 - 2 * (JINGLE.duration_s + 1)
    assert_even(plays, by_topic(c for c in library if c.duration_s <= room), FIRST, 60)


def test_validity_windows_that_open_and_close_mid_period() -> None:
    library = issue_library()
    topic = "chi-so"
    library += [
        spot("opens", topic, 110.0, valid_from=FIRST + timedelta(days=20)),
        spot("closes", topic, 25.0, valid_until=FIRST + timedelta(days=40)),
        spot(
            "window",
            topic,
            60.0,
            valid_from=FIRST + timedelta(days=15),
            valid_until=FIRST + timedelta(days=45),
        ),
    ]
    plans = plan_sequence(station_slots(FIRST, 75), library, [], WEIGHTS)
    plays = aired(plans)
    # Spots there all the time stay even, in every 30-day period.
    steady = by_topic(c for c in library if c.valid_from is None and c.valid_until is None)
    assert_even(plays, steady, FIRST, 75)
    # Inside its window a spot keeps pace with the others.
    for sid, opens, closes in (("opens", 20, 75), ("closes", 0, 41), ("window", 15, 46)):
        start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=TZ)
        got = spreads(
            plays,
            {topic: [sid, *steady[topic]]},
            start + timedelta(days=opens),
            start + timedelta(days=closes),
        )[topic]
        assert got[0] <= 2, (sid, got)
        outside = [
            p
            for p in plays
            if p.spot == sid
            and not (start + timedelta(days=opens) <= p.started_at < start + timedelta(days=closes))
        ]
        assert not outside


def test_a_newcomer_and_a_late_approval_join_the_round_without_taking_the_topic_over() -> None:
    """Newcomer rule: a spot that has not aired (a new file, a late approval) has count 0,
    which is below its topic's round, so it is due at once; once aired it counts like the
    others (count = round + 1): it keeps pace from its arrival and never gets extra plays to
    make up for the time before it came."""
    topic = "dich-vu-cong"
    base = issue_library()
    late = spot("late", topic, 120.0, approved=False)
    newcomer = spot("new", topic, 20.0)
    log: list[Play] = []
    arrival = 30
    # The daemon's way: each day planned from the log as it stands (the runner's plan_slot).
    for part, library, require in (
        (range(arrival), [*base, late], True),
        (range(arrival, 75), [*base, replace(late, approved=True), newcomer], True),
    ):
        requests = [r for d in part for r in station_slots(FIRST + timedelta(days=d), 1)]
        start = requests[0].start
        rotation = Rotation(library, log, WEIGHTS, start=start, require_approval=require)
        for request in requests:
            plan = rotation.plan(request)
            log += plan_to_plays(plan)
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=TZ)
    came = start + timedelta(days=arrival)
    assert not [p for p in log if p.spot in ("late", "new") and p.started_at < came]
    firsts = [min(p.started_at for p in log if p.spot == sid) for sid in ("late", "new")]
    assert all(first < came + timedelta(days=2) for first in firsts)  # at the topic's next turns
    others = [c.spot for c in base if c.topic == topic]
    end = start + timedelta(days=75)
    spread, _, counts = spreads(log, {topic: [*others, "late", "new"]}, came, end)[topic]
    assert spread <= 2, counts
    # And the topic's other spots were not pushed aside while the two caught up.
    first_days = spreads(log, {topic: others}, came, came + timedelta(days=10))[topic]
    assert first_days[0] <= 2 and min(first_days[2]) >= 1, first_days
    assert_even(log, by_topic(c for c in base), FIRST, 75)


def test_a_spot_longer_than_every_slot_does_not_hold_its_topic_back() -> None:
    topic = "chi-so"
    library = [*issue_library(), spot("too-long", topic, 11 * 60.0)]
    plans = plan_sequence(station_slots(FIRST, 40), library, [], WEIGHTS)
    plays = aired(plans)
    assert not [p for p in plays if p.spot == "too-long"]
    assert_even(plays, by_topic(c for c in library if c.spot != "too-long"), FIRST, 40)


def test_a_spot_that_fits_only_the_long_slot_airs_there_and_the_rest_stay_even() -> None:
    topic = "chi-so"
    library = [*issue_library(), spot("nine-minutes", topic, 9 * 60.0)]
    plans = plan_sequence(station_slots(FIRST, 40, (15, 8)), library, [], WEIGHTS)
    plays = aired(plans)
    long_plays = [p for p in plays if p.spot == "nine-minutes"]
    assert long_plays and all(p.started_at.hour == 6 for p in long_plays)
    assert_even(plays, by_topic(c for c in library if c.spot != "nine-minutes"), FIRST, 40)


def test_a_skewed_log_from_the_old_planner_is_evened_at_once() -> None:
    """Sixty days where the 20 s spots aired twice as often as the 120 s ones: the very next
    30 days are even again (the backlog is forgiven at each spot's next play, not repaid)."""
    library = issue_library()
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=TZ)
    history = []
    for cand in library:
        times = 40 if cand.duration_s < 60 else 21
        history += [
            Play(
                cand.spot,
                cand.topic,
                start - timedelta(days=60) + timedelta(hours=h * 1440 / times),
                cand.duration_s,
            )
            for h in range(times)
        ]
    plans = plan_sequence(station_slots(FIRST, 30), library, history, WEIGHTS)
    assert_even(aired(plans), by_topic(library), FIRST, 30)

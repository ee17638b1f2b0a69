"""Example-based tests of the planner: the cases an operator would try first."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from playlists import (
    Candidate,
    Play,
    Rotation,
    SlotRequest,
    plan_sequence,
    plan_slot,
)
from tests.playlists_support import BASE, TZ


def spot(sid: str, topic: str, seconds: float, **extra) -> Candidate:
    return Candidate(sid, topic, seconds, f"{topic}/{sid}.mp3", f"Tin {sid}", **extra)


def slot(length: float = 600.0, topics: tuple[str, ...] = ("*",), **extra) -> SlotRequest:
    return SlotRequest("sang", BASE, length, topics, **extra)


JINGLE = Candidate("jingle", "", 10.0, "jingles/intro.mp3", "Nhạc hiệu")


def test_topic_without_spots_is_a_note_not_a_crash() -> None:
    library = [spot("a1", "dich-vu-cong", 60), spot("a2", "dich-vu-cong", 70)]
    weights = {"dich-vu-cong": 2, "chi-so": 1}
    plan = plan_slot(slot(), library, [], weights)
    assert [i.spot for i in plan.items] == ["a2", "a1"]  # both due: the longer first
    assert plan.notes == ("Chủ đề «chi-so» không có tin/bài hợp lệ (no eligible spot)",)


def test_empty_library_gives_an_empty_plan_with_notes() -> None:
    plan = plan_slot(slot(), [], [], {"dich-vu-cong": 1})
    assert plan.items == ()
    assert plan.unfilled_s == 600.0
    assert any("«dich-vu-cong»" in note for note in plan.notes)
    assert any("no allowed topic" in note for note in plan.notes)


def test_expired_future_unapproved_and_refused_spots_never_appear() -> None:
    day = BASE.date()
    library = [
        spot("expired", "t", 30, valid_until=day - timedelta(days=1)),
        spot("future", "t", 30, valid_from=day + timedelta(days=1)),
        spot("unapproved", "t", 30, approved=False),
        spot("refused", "t", 30, ok=False),
        spot("zero", "t", 0.0),
        spot("last-day", "t", 30, valid_until=day),
        spot("first-day", "t", 30, valid_from=day),
    ]
    plan = plan_slot(slot(), library, [], {"t": 1}, require_approval=True)
    assert sorted(i.spot for i in plan.items) == ["first-day", "last-day"]
    relaxed = plan_slot(slot(), library, [], {"t": 1}, require_approval=False)
    assert sorted(i.spot for i in relaxed.items) == ["first-day", "last-day", "unapproved"]


def test_validity_windows_open_and_close_during_a_sequence() -> None:
    library = [
        spot("a-old", "a", 60, valid_until=date(2021, 3, 1)),
        spot("a-new", "a", 60, valid_from=date(2021, 3, 3)),
        spot("a-x", "a", 60),
    ]
    requests = [
        SlotRequest("s", datetime(2021, 3, 1 + d, 6, tzinfo=TZ), 60, ("a",)) for d in range(4)
    ]
    plans = plan_sequence(requests, library, [], {"a": 1})
    # a-old is least recently aired on 2 March, but it expired the day before.
    assert [[i.spot for i in p.items] for p in plans] == [["a-old"], ["a-x"], ["a-new"], ["a-x"]]


def test_layout_with_jingles_and_pauses() -> None:
    library = [spot("a", "x", 100), spot("b", "y", 100), spot("c", "x", 100)]
    request = slot(length=339, intro=JINGLE, outro=JINGLE, pause_s=5)
    plan = plan_slot(request, library, [], {"x": 1, "y": 1})
    assert [(i.role, i.spot, i.offset_s) for i in plan.items] == [
        ("intro", "jingle", 0.0),
        ("spot", "a", 15.0),
        ("spot", "b", 120.0),
        ("outro", "jingle", 225.0),
    ]
    # A third spot would end the outro at 340 s, one second past the slot.
    assert plan.unfilled_s == 339 - 235


def test_outro_keeps_room_for_its_pause() -> None:
    # 10 (intro) + 5 + 100 + 5 + 10 (outro) = 130: a 100 s spot fits exactly, 101 s does not.
    exact = plan_slot(
        slot(length=130, intro=JINGLE, outro=JINGLE, pause_s=5), [spot("a", "x", 100)], [], {"x": 1}
    )
    assert [i.role for i in exact.items] == ["intro", "spot", "outro"]
    assert exact.unfilled_s == 0.0
    # Jingles yield to spots: first the outro goes, then the intro.
    too_long = plan_slot(
        slot(length=130, intro=JINGLE, outro=JINGLE, pause_s=5), [spot("a", "x", 101)], [], {"x": 1}
    )
    assert [i.role for i in too_long.items] == ["intro", "spot"]
    assert too_long.notes == (
        "Nhạc hiệu kết thúc «jingles/intro.mp3» không vừa khung giờ cùng tin/bài, bỏ qua "
        "(outro does not fit the slot, skipped)",
    )
    tight = plan_slot(
        slot(length=105, intro=JINGLE, outro=JINGLE, pause_s=5), [spot("a", "x", 100)], [], {"x": 1}
    )
    assert [i.role for i in tight.items] == ["spot"]
    assert tight.notes == (
        "Nhạc hiệu mở đầu «jingles/intro.mp3» không vừa khung giờ cùng tin/bài, bỏ qua "
        "(intro does not fit the slot, skipped)",
        "Nhạc hiệu kết thúc «jingles/intro.mp3» không vừa khung giờ cùng tin/bài, bỏ qua "
        "(outro does not fit the slot, skipped)",
    )


def test_ineligible_jingle_is_skipped_with_a_note() -> None:
    expired = Candidate("j", "", 5.0, "jingles/tet.mp3", "Tết", valid_until=date(2021, 2, 20))
    plan = plan_slot(slot(intro=expired), [spot("a", "x", 60)], [], {"x": 1})
    assert [i.role for i in plan.items] == ["spot"]
    assert plan.notes == (
        "Nhạc hiệu mở đầu «jingles/tet.mp3» không hợp lệ hôm nay, bỏ qua "
        "(intro jingle not eligible, skipped)",
    )


def test_plan_item_start_times() -> None:
    plan = plan_slot(
        slot(pause_s=2.5), [spot("a", "x", 60.25), spot("b", "y", 10)], [], {"x": 1, "y": 1}
    )
    # Both topics are level (nothing aired): the tie goes to the topic id, "x" first.
    assert [(i.spot, plan.start_of(i)) for i in plan.items] == [
        ("a", BASE),
        ("b", BASE + timedelta(seconds=62.75)),
    ]


def test_least_recently_aired_first_and_never_aired_before_all() -> None:
    library = [spot(f"s{i}", "t", 60) for i in range(4)]
    history = [
        Play("s0", "t", BASE - timedelta(days=1), 60),
        Play("s1", "t", BASE - timedelta(days=3), 60),
        Play("s2", "t", BASE - timedelta(days=2), 60),
    ]
    plan = plan_slot(slot(length=200), library, history, {"t": 1})
    assert [i.spot for i in plan.items] == ["s3", "s1", "s2"]


def test_failed_plays_and_plays_after_the_slot_do_not_count() -> None:
    library = [spot("s0", "t", 60), spot("s1", "t", 60)]
    history = [
        Play("s1", "t", BASE - timedelta(days=1), 0.0),  # failed: never aired
        Play("s0", "t", BASE - timedelta(days=2), 60),
        Play("s1", "t", BASE + timedelta(hours=1), 60),  # after the slot start
    ]
    plan = plan_slot(slot(length=60), library, history, {"t": 1})
    assert [i.spot for i in plan.items] == ["s1"]


def test_weighted_deficit_picks_the_topic_behind_its_share() -> None:
    library = [spot("a1", "a", 60), spot("b1", "b", 60)]
    weights = {"a": 1, "b": 1}
    # "a" aired 10 minutes in the last days, "b" nothing: "b" first.
    history = [Play("a-old", "a", BASE - timedelta(days=2), 600)]
    plan = plan_slot(slot(length=60), library, history, weights)
    assert [i.topic for i in plan.items] == ["b"]
    # Outside the fairness horizon the same play no longer counts: tie, broken by topic id.
    old = [Play("a-old", "a", BASE - timedelta(days=31), 600)]
    plan = plan_slot(slot(length=60), library, old, weights, horizon_days=30)
    assert [i.topic for i in plan.items] == ["a"]


def test_no_topic_twice_in_a_row_even_against_the_weights() -> None:
    library = [spot(f"a{i}", "a", 30) for i in range(5)] + [
        spot(f"b{i}", "b", 30) for i in range(5)
    ]
    plan = plan_slot(slot(length=150), library, [], {"a": 10, "b": 1})
    assert [i.topic for i in plan.items] == ["a", "b", "a", "b", "a"]


def test_explicit_slot_topics_and_unweighted_topics() -> None:
    library = [spot("a1", "a", 60), spot("b1", "b", 60), spot("z1", "z", 60)]
    plan = plan_slot(slot(topics=("b", "z")), library, [], {"a": 1, "b": 1})
    assert [i.spot for i in plan.items] == ["b1"]
    assert any("«z»" in note and "not a weighted topic" in note for note in plan.notes)
    everything = plan_slot(slot(topics=()), library, [], {"a": 1, "b": 1, "z": 0})
    assert sorted(i.spot for i in everything.items) == ["a1", "b1"]


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        SlotRequest("sang", datetime(2021, 3, 1, 6), 600)
    with pytest.raises(ValueError, match="length_s must be a finite number"):
        SlotRequest("sang", BASE, float("nan"))
    with pytest.raises(ValueError, match="pause_s must be a finite number"):
        SlotRequest("sang", BASE, 600, pause_s=-1)
    assert SlotRequest("sang", BASE, 600, ["a", "b"]).topics == ("a", "b")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"topics\.chi-so\.weight"):
        plan_slot(slot(), [], [], {"chi-so": -1})
    with pytest.raises(ValueError, match="'a1' appears twice"):
        plan_slot(slot(), [spot("a1", "t", 10), spot("a1", "t", 20)], [], {"t": 1})
    naive = [Play("a1", "t", datetime(2021, 2, 1, 6), 60)]
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_slot(slot(), [spot("a1", "t", 10)], naive, {"t": 1})


def test_rotation_refuses_to_go_back_in_time() -> None:
    rotation = Rotation([spot("a1", "t", 10)], [], {"t": 1}, start=BASE)
    rotation.plan(slot())
    with pytest.raises(ValueError, match="in order"):
        rotation.plan(SlotRequest("sang", BASE - timedelta(days=1), 600))


def test_sequence_returns_plans_in_time_order() -> None:
    later = SlotRequest("chieu", BASE + timedelta(hours=11), 60)
    earlier = SlotRequest("sang", BASE, 60)
    plans = plan_sequence([later, earlier], [spot("a", "t", 60), spot("b", "t", 60)], [], {"t": 1})
    assert [(p.slot, [i.spot for i in p.items]) for p in plans] == [
        ("sang", ["a"]),
        ("chieu", ["b"]),
    ]

"""The bulletin rules as pure functions (which airs, where in a slot), the spot ids that carry a
bulletin's id and priority into the airtime row, and the chain: rows without a bulletin hash
exactly as before the new fields, rows with one bind them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from airtime.bulletin_spot import parse_spot, spot_id
from airtime.chain import BASE, FIELDS, ChainRow, link, verify
from playlists.types import Candidate, Plan, PlanItem, SlotRequest
from scheduler.bulletin_rules import emergencies, head_first, live, slot_spots
from scheduler.bulletin_store import Bulletin, store_file, with_bulletin
from scheduler.spec import Spot

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def row(id: int, priority: str, **kw: object) -> Bulletin:
    values: dict[str, object] = dict(
        id=id, title=f"Tin {id}", priority=priority, filename="t.wav", sha256="0" * 64,
        path=f".ban-tin/{id}.wav", playable_s=10.0, received_at=NOW,
    )  # fmt: skip
    values.update(kw)
    return Bulletin(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bulletin", "aired", "expected"),
    [
        (row(1, "khan-cap"), 0, True),
        (row(1, "khan-cap"), 1, False),  # once by default
        (row(1, "khan-cap", times=3), 2, True),
        (row(1, "khan-cap", times=3), 3, False),
        (row(1, "uu-tien", valid_until=DAY - timedelta(days=1)), 0, False),  # expired
        (row(1, "uu-tien", valid_from=DAY + timedelta(days=1)), 0, False),  # not yet
        (row(1, "uu-tien", valid_from=DAY, valid_until=DAY), 0, True),  # inclusive
        (row(1, "uu-tien", withdrawn_at=NOW), 0, False),
        (row(1, "thuong", refused_at=NOW), 0, False),
        (row(1, "thuong", topic="a", accepted_at=NOW), 50, True),  # rotation: no default bound
        (row(1, "thuong", topic="a", accepted_at=NOW, times=2), 2, False),
        (row(1, "thuong", accepted_at=NOW), 1, False),  # without a topic: once
    ],
)
def test_live(bulletin: Bulletin, aired: int, expected: bool) -> None:
    assert live(bulletin, DAY, {"1": aired}) is expected


def test_which_bulletins_a_slot_may_air_and_which_air_at_once() -> None:
    rows = [
        row(1, "khan-cap"),
        row(2, "uu-tien"),
        row(3, "thuong"),  # not accepted: waits
        row(4, "thuong", accepted_at=NOW),
        row(5, "thuong", topic="a", accepted_at=NOW, trim_start_s=0.5),
    ]
    spots = slot_spots(rows, DAY, {}, Path("/lib"))
    assert [s.id for s in spots] == ["bulletin-2-uu-tien", "bulletin-4-thuong", "bulletin-5-thuong"]
    assert spots[2].topic == "a" and spots[2].start_s == 0.5 and spots[2].file == Path(
        "/lib/.ban-tin/5.wav"
    )  # fmt: skip
    assert [r.id for r in emergencies(rows, DAY, {}, set())] == [1]
    # a topic this station does not have: it heads the next slot once instead
    here = slot_spots(rows, DAY, {}, Path("/lib"), topics=["b"])
    assert [s.id for s in here] == [s.id for s in spots]
    assert slot_spots(rows, DAY, {"5": 1}, Path("/lib"), topics=["b"])[-1].id != "bulletin-5-thuong"
    assert slot_spots(rows, DAY, {"5": 1}, Path("/lib"), topics=["a"])[-1].id == "bulletin-5-thuong"
    assert emergencies(rows, DAY, {}, {1}) == []  # handed over already


def spot(id: str, seconds: float, topic: str = "a") -> Spot:
    return Spot(id, topic, f"{topic}/{id}.wav", Path(f"/lib/{id}.wav"), id, seconds)


def base(request: SlotRequest, spots: list[Spot]) -> Plan:
    """A stand-in planner: the library spots one after the other while they fit."""
    items, at = [], 0.0
    for s in spots:
        if at + s.duration_s > request.length_s:
            break
        items.append(PlanItem(s.id, s.topic, s.path, s.title, at, s.duration_s, "spot"))
        at += s.duration_s + request.pause_s
    return Plan(request.name, request.start, request.length_s, tuple(items), 0.0)


def test_head_bulletins_come_after_the_intro_and_count_in_the_slot_length() -> None:
    intro = Candidate("jingle", "", 2.0, "j.wav", "Nhạc hiệu")
    request = SlotRequest("sang", datetime(2026, 12, 1, 6, tzinfo=HCM), 30.0, intro=intro,
                          pause_s=1.0)  # fmt: skip
    spots = [spot("x", 8.0), spot("y", 8.0), spot("bulletin-2-uu-tien", 10.0, "")]
    plan = head_first(request, spots, ["bulletin-2-uu-tien"], base)
    assert [(i.spot, i.offset_s, i.role) for i in plan.items] == [
        ("jingle", 0.0, "intro"),
        ("bulletin-2-uu-tien", 3.0, "bulletin"),
        ("x", 14.0, "spot"),
    ]  # y no longer fits: the bulletin's 10 s count in the slot's 30
    too_long = head_first(request, [*spots[:2], spot("bulletin-9-uu-tien", 40.0, "")],
                          ["bulletin-9-uu-tien"], base)  # fmt: skip
    assert "bulletin-9-uu-tien" not in [i.spot for i in too_long.items]
    assert any("does not fit" in n for n in too_long.notes)
    # no head bulletin: the base plan itself, without the bulletins in rotation
    plain = head_first(request, spots, [], base)
    assert plain.items[0].spot == "x"


def test_a_bulletin_spot_id_tags_its_airtime_row() -> None:
    assert parse_spot(spot_id(12, "khan-cap")) == ("12", "khan-cap")
    assert parse_spot("bulletin-x-thuong") is None and parse_spot("dich-vu-cong-1") is None
    assert with_bulletin({"spot": "bulletin-7-uu-tien"})["priority"] == "uu-tien"
    assert "bulletin" not in with_bulletin({"spot": "abc"})


def test_rows_without_a_bulletin_hash_as_before_and_a_bulletin_row_binds_its_fields() -> None:
    plain = ["id1", "xa", "sang", "scheduled", "a", "s1", "T", "a/s1.wav", None, NOW, NOW, 1.0,
             "completed", None]  # fmt: skip
    assert link("", plain) == link("", [*plain, None, None])  # old rows verify unchanged
    tagged = [*plain, "12", "khan-cap"]
    assert link("", tagged) != link("", plain)
    h = link("", tagged)
    good = ChainRow(1, 1, h, tuple(tagged))
    assert verify("xa", [good], []).ok
    edited = ChainRow(1, 1, h, tuple([*plain, "12", "uu-tien"]))
    assert not verify("xa", [edited], []).ok
    assert len(FIELDS) == len(BASE) + 2


def test_a_corrupted_download_is_not_stored(tmp_path: Path) -> None:
    import hashlib

    data = b"RIFF....WAVE" * 100
    with pytest.raises(ValueError, match="SHA-256"):
        store_file(tmp_path, 3, hashlib.sha256(data + b"x").hexdigest(), data, ".wav")
    assert not list(tmp_path.rglob("*.wav*"))
    kept = store_file(tmp_path, 3, hashlib.sha256(data).hexdigest(), data, ".WAV")
    assert kept.file.read_bytes() == data and kept.path.startswith(".ban-tin/3-")


def test_reports_count_bulletins_apart_from_the_stations_own_spots() -> None:
    from airtime.export_json import report_dict
    from airtime.periods import parse_period
    from airtime.report import Group, build_report

    groups = [
        Group("scheduled", "a", "completed", "a-1", 3, 270.0),
        Group("scheduled", None, "completed", "bulletin-2-uu-tien", 1, 40.0),
        Group("scheduled", "a", "completed", "bulletin-5-thuong", 2, 60.0),  # in a's rotation
        Group("emergency", None, "completed", "bulletin-1-khan-cap", 1, 20.0),
        Group("emergency", None, "completed", "path:x.wav", 1, 10.0),
        Group("scheduled", None, "interrupted", "bulletin-2-uu-tien", 1, 3.0),
    ]
    report = build_report(groups, station_id="xa", station_name="Xã", period=parse_period("2026"),
                          topics=[("a", "A")], months={})  # fmt: skip
    assert (report.topics[0].plays, report.topics[0].seconds) == (3, 270.0)
    assert (report.total.plays, report.total.seconds) == (3, 270.0)
    assert report.special[1].plays == 1  # the station's own emergency only
    assert (report.bulletins.plays, report.bulletins.items, report.bulletins.seconds) == (
        4,
        3,
        120.0,
    )
    assert report.combined_seconds == 400.0
    data = report_dict(report)
    assert data["bulletins"] == {"plays": 4, "items": 3, "seconds": 120.0}
    assert data["combined"]["plays"] == 8
    assert report.reliability["interrupted"] == 1


def test_an_accepted_thuong_bulletin_with_a_topic_joins_its_rotation() -> None:
    from playlists.planner import plan_slot

    rows = [row(5, "thuong", topic="a", accepted_at=NOW, playable_s=5.0)]
    library = [spot("a1", 5.0), spot("a2", 5.0), spot("b1", 5.0, "b")]
    spots = [*library, *slot_spots(rows, DAY, {}, Path("/lib"))]
    request = SlotRequest("sang", datetime(2026, 12, 1, 6, tzinfo=HCM), 20.0)

    def real(req: SlotRequest, given: list[Spot]) -> Plan:
        return plan_slot(req, [s.candidate() for s in given], [], {"a": 1.0, "b": 1.0})

    plan = head_first(request, spots, [], real)
    planned = [i.spot for i in plan.items]
    assert sorted(planned) == ["a1", "a2", "b1", "bulletin-5-thuong"]
    assert [i.topic for i in plan.items if i.spot == "bulletin-5-thuong"] == ["a"]
    # not accepted: not a candidate at all
    waiting = [row(5, "thuong", topic="a", playable_s=5.0)]
    assert slot_spots(waiting, DAY, {}, Path("/lib")) == []

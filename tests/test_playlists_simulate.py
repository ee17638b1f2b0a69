"""`loa simulate` prints each topic's spread of play counts beside its share and flags a
topic whose spread exceeds 2, with the reason (issue 16). A real scan of real audio files
made with ffmpeg, the real engine on a virtual clock, a real SQLite file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from loa.cli import cli
from scheduler.spec import SlotSpec, Spot, StationSpec
from scheduler.spread import spot_room, topic_spreads
from tests.audio_media import tone

# Topic "a": two short spots and one that fits only the Monday morning slot. Topic "b": two short
# spots. (The scan refuses a spot longer than every slot, so that one never reaches simulate.)
SPOTS = {
    "a/Tin một.wav": (440, 2.0),
    "a/Tin hai.wav": (550, 3.0),
    "a/Tin dài.wav": (330, 12.0),
    "b/Bản tin B.wav": (660, 2.5),
    "b/Bản tin C.wav": (770, 4.0),
}


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("spread")
    for rel, (freq, seconds) in SPOTS.items():
        (root / "lib" / rel).parent.mkdir(parents=True, exist_ok=True)
        tone(root / "lib" / rel, freq, seconds, amp=0.3)
    config = root / "config.toml"
    config.write_text(
        """
[station]
id = "xa-thu"
name = "Đài xã Thử"
timezone = "Asia/Ho_Chi_Minh"
[library]
root = "lib"
[output]
backend = "null"
[[topics]]
id = "a"
name = "Chủ đề A"
[[topics]]
id = "b"
name = "Chủ đề B"
[[slots]]
name = "sang"
start = "06:00"
length = "20s"
days = "mon"
pause = "1s"
[[slots]]
name = "chieu"
start = "17:00"
length = "9s"
pause = "1s"
""",
        "utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "library", "scan"])
    assert result.exit_code == 0, result.output
    return config


def test_simulate_prints_the_spread_and_flags_a_spot_that_fits_only_one_slot(
    station: Path,
) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(station), "simulate", "--from", "2021-03-01", "--days", "10"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "chênh (spread)" in lines[1]
    rows = {line.split()[0]: line.split() for line in lines[2:] if line[:1] in ("a", "b")}
    # topic, plays, minutes, share, target, spread[, "!"[, "!" for the share]]
    assert int(rows["a"][5]) > 2 and rows["a"][6] == "!", result.stdout
    assert int(rows["b"][5]) <= 2, result.stdout  # (its "!" flags the share of tiny slots)
    flagged = [line for line in lines if line.startswith("! a:")]
    assert len(flagged) == 1, result.stdout
    assert f"differ by {rows['a'][5]} > 2" in flagged[0]
    assert "«a/Tin dài.wav» (12 s)" in flagged[0] and "fits only the longer slots" in flagged[0]
    assert not any(line.startswith("! b:") for line in lines)


def _spot(sid: str, topic: str, seconds: float, **extra) -> Spot:
    return Spot(sid, topic, f"{topic}/{sid}.wav", Path(f"/x/{sid}.wav"), sid, seconds, **extra)


def test_reasons_for_an_uneven_topic() -> None:
    jingle = _spot("j", "", 5.0)
    slots = (
        SlotSpec("sang", time_of(6), 600.0, pause_s=1.0, intro=jingle, outro=jingle),
        SlotSpec("chieu", time_of(17), 300.0),
    )
    assert spot_room(slots[0]) == 600.0 - 2 * 6.0
    station = StationSpec("x", "X", ZoneInfo("UTC"), {"t": 1.0, "u": 1.0}, slots)
    first, last = date(2021, 3, 1), date(2021, 3, 30)
    spots = [
        _spot("short", "t", 30.0),
        _spot("mid", "t", 400.0),  # fits the morning only
        _spot("huge", "t", 700.0),  # fits no slot
        _spot("late", "t", 30.0, valid_from=date(2021, 3, 20)),
        _spot("gone", "t", 30.0, valid_until=date(2021, 2, 1)),  # not in the period at all
        _spot("u1", "u", 30.0),
        _spot("u2", "u", 30.0),
    ]
    plays = {"short": 30, "mid": 20, "huge": 0, "late": 5, "u1": 30, "u2": 29}
    got = topic_spreads(station, spots, plays, first, last)
    assert (got["t"].spots, got["t"].plays, got["t"].spread) == (4, 55, 30)
    reasons = " | ".join(got["t"].reasons)
    assert "«t/huge.wav» (700 s)" in reasons and "longer than any slot" in reasons
    assert "«t/mid.wav» (400 s)" in reasons and "fits only the longer slots" in reasons
    assert "«t/late.wav»" in reasons and "valid for part of the period" in reasons
    assert "gone" not in reasons
    assert not got["u"].flagged and got["u"].reasons == () and got["u"].spread == 1


def time_of(hour: int):
    from datetime import time

    return time(hour)

"""`loa playlist preview`, `loa status`, `loa simulate` and `loa play-now` on a small real
station: real audio files made with ffmpeg, a real scan, a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from loa.cli import cli
from loa.compose import library_spots, station_spec
from loa.config import load_config
from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.clock import VirtualClock
from scheduler.output.null import NullOutput
from scheduler.runner import Runner
from scheduler.slots import occurrences
from tests.audio_media import tone

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2021, 3, 1)
SPOTS = {"a/Tin một.wav": (440, 2.0), "a/Tin hai.wav": (550, 3.0), "b/Bản tin B.wav": (660, 2.5)}


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("station")
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
quiet_hours = "22:00-05:00"
[library]
root = "lib"
[output]
backend = "file"
path = "data/air.wav"
[[topics]]
id = "a"
name = "Chủ đề A"
weight = 2
[[topics]]
id = "b"
name = "Chủ đề B"
[[slots]]
name = "sang"
start = "06:00"
length = "20s"
pause = "1s"
[[slots]]
name = "chieu"
start = "17:00"
length = "12s"
topics = ["a"]
""",
        "utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "library", "scan"])
    assert result.exit_code == 0, result.output
    return config


def invoke(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_preview_json_has_the_contract_shape(station: Path) -> None:
    code, out, err = invoke(
        station, "playlist", "preview", "--date", "2021-03-01", "--format", "json"
    )
    assert code == 0, err
    plans = json.loads(out)
    assert [(p["slot"], p["start"]) for p in plans] == [
        ("sang", "2021-03-01T06:00:00+07:00"),
        ("chieu", "2021-03-01T17:00:00+07:00"),
    ]
    for plan in plans:
        assert set(plan) == {"slot", "start", "items"}
        for item in plan["items"]:
            assert set(item) == {"spot", "topic", "path", "title", "start", "duration_s"}
    sang = plans[0]["items"]
    assert {i["path"] for i in sang} == set(SPOTS)  # 2 + 3 + 2.5 s + pauses fit in 20 s
    assert sang[0]["start"] == "2021-03-01T06:00:00.000+07:00"
    assert {i["topic"] for i in plans[1]["items"]} == {"a"}  # the afternoon slot is topic a only
    titles = {i["title"] for i in sang}
    assert "Tin một" in titles and "Bản tin B" in titles


def test_preview_m3u_and_table(station: Path) -> None:
    code, out, _ = invoke(station, "playlist", "preview", "--date", "2021-03-01", "--format", "m3u")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "#EXTM3U"
    files = [line for line in lines if line and not line.startswith("#")]
    assert len(files) == 5 and all(Path(f).is_file() for f in files)
    code, out, _ = invoke(station, "playlist", "preview", "--date", "2021-03-01", "--days", "2")
    assert code == 0
    assert out.count(" sang: ") == 2 and out.count(" chieu: ") == 2
    assert max(len(line) for line in out.splitlines()) <= 80


def test_preview_is_what_airs(station: Path, tmp_path: Path) -> None:
    """Rule 5: the day's preview equals what the runner airs that day from the same log."""
    code, out, _ = invoke(
        station, "playlist", "preview", "--date", "2021-03-02", "--format", "json"
    )
    assert code == 0
    previewed = [(i["spot"], i["start"]) for p in json.loads(out) for i in p["items"]]
    config = load_config(station)
    engine = open_database(f"sqlite:///{tmp_path}/air.db")
    airlog = AirLog(station_db(engine), config.station.id)
    spots = library_spots(config, station_db(open_database(config.database.url)))
    spec = station_spec(config)
    start = datetime.combine(DAY + timedelta(days=1), time(0), tzinfo=HCM)
    for occ in occurrences(spec, start, start + timedelta(days=1)):
        clock = VirtualClock(occ.at - timedelta(seconds=5))
        Runner(spec, airlog, NullOutput(clock), clock, lambda: spots).air_slot(occ)
    with engine.connect() as conn:
        aired = conn.exec_driver_sql(
            "select spot, started_at from airtime where status = 'completed' order by seq"
        ).all()
    assert [
        (spot, datetime.fromisoformat(at).replace(tzinfo=ZoneInfo("UTC")).astimezone(HCM))
        for spot, at in aired
    ] == [(spot, datetime.fromisoformat(at)) for spot, at in previewed]


def test_status_without_a_daemon(station: Path) -> None:
    code, out, err = invoke(station, "status", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["alive"] is False and data["on_air"] == []
    assert data["station"] == {"id": "xa-thu", "name": "Đài xã Thử"}
    assert [n["slot"] for n in data["next"][:2]] in (["sang", "chieu"], ["chieu", "sang"])
    code, out, _ = invoke(station, "status")
    assert code == 0 and "Daemon: KHÔNG chạy (not running)" in out


def test_simulate_writes_its_own_database(station: Path) -> None:
    code, out, err = invoke(station, "simulate", "--from", "2021-03-01", "--days", "7")
    assert code == 0, err
    target = station.parent / "data" / "simulate-2021-03-01-7d.db"
    assert str(target) in out
    con = sqlite3.connect(target)
    slots = con.execute("select count(distinct slot || scheduled_at) from airtime").fetchone()[0]
    plays = con.execute("select count(*) from airtime where status = 'completed'").fetchone()[0]
    con.close()
    assert plays > 0 and slots >= 14
    con = sqlite3.connect(station.parent / "data" / "loa.db")
    assert con.execute("select count(*) from airtime").fetchone()[0] == 0  # untouched
    con.close()
    assert "a " in out and "b " in out


def test_simulate_refuses_a_bad_date(station: Path) -> None:
    code, _, err = invoke(station, "simulate", "--from", "1/3/2021", "--days", "7")
    assert code == 2
    assert (
        "Invalid value for '--from': \"1/3/2021\" is not a date: write YYYY-MM-DD, e.g. 2021-03-01"
        in err
    )


def test_play_now_without_a_daemon_plays_here_and_logs(station: Path) -> None:
    code, out, err = invoke(station, "play-now", "--topic", "b", "--priority", "emergency")
    assert code == 0, err + out
    assert "no daemon: playing here" in err
    con = sqlite3.connect(station.parent / "data" / "loa.db")
    rows = con.execute("select kind, topic, path, status, played_s from airtime").fetchall()
    con.close()
    assert rows == [
        ("emergency", "b", "b/Bản tin B.wav", "completed", pytest.approx(2.5, abs=0.01))
    ]
    assert (station.parent / "data" / "air.wav").stat().st_size > 2.5 * 48000 * 2


def test_play_now_errors(station: Path) -> None:
    code, _, err = invoke(station, "play-now", "--topic", "khong-co")
    assert code == 1
    assert err == "--topic: no topic 'khong-co'; the topics are: a, b\n"
    code, _, err = invoke(station, "play-now")
    assert code == 2 and "give --topic ID or --file PATH" in err


def test_intro_and_outro_jingles_frame_the_slot(station: Path, tmp_path: Path) -> None:
    jingles = tmp_path / "jingles"
    jingles.mkdir()
    tone(jingles / "nhac hieu.wav", 1200, 1.0, amp=0.3)
    tone(jingles / "ket thuc.wav", 300, 0.8, amp=0.3)
    text = station.read_text("utf-8").replace(
        'length = "20s"\npause = "1s"',
        f'length = "20s"\npause = "1s"\nintro = "{jingles / "nhac hieu.wav"}"\n'
        f'outro = "{jingles / "ket thuc.wav"}"',
    )
    config = station.parent / "config-jingles.toml"
    config.write_text(text, "utf-8")
    code, out, err = invoke(
        config, "playlist", "preview", "--date", "2021-03-01", "--format", "json"
    )
    assert code == 0, err
    sang = json.loads(out)[0]["items"]
    assert sang[0]["path"].endswith("nhac hieu.wav") and sang[0]["topic"] == ""
    assert sang[-1]["path"].endswith("ket thuc.wav")
    assert sang[0]["duration_s"] == pytest.approx(1.0, abs=0.05)
    last_end = datetime.fromisoformat(sang[-1]["start"]) + timedelta(seconds=sang[-1]["duration_s"])
    assert last_end <= datetime(2021, 3, 1, 6, 0, 20, tzinfo=HCM)
    # and they air: the file output decodes each item, so a jingle it cannot find would fail
    from scheduler.output.file import FileOutput

    cfg = load_config(config)
    spec = station_spec(cfg)
    engine = open_database(f"sqlite:///{tmp_path}/air.db")
    occ = occurrences(spec, datetime(2021, 3, 1, tzinfo=HCM), datetime(2021, 3, 2, tzinfo=HCM))[0]
    output = FileOutput(tmp_path / "air.wav")
    try:
        spots = library_spots(cfg, station_db(open_database(cfg.database.url)))
        clock = VirtualClock(occ.at - timedelta(seconds=5))
        outcome = Runner(
            spec, AirLog(station_db(engine), "xa-thu"), output, clock, lambda: spots
        ).air_slot(occ)
    finally:
        output.close()
    assert [r.status for r in outcome.results] == ["completed"] * len(sang)
    with engine.connect() as conn:
        first, last = conn.exec_driver_sql(
            "select path, topic from airtime where seq in (1, (select max(seq) from airtime))"
        ).all()
    assert first[0].endswith("nhac hieu.wav") and first[1] is None
    assert last[0].endswith("ket thuc.wav") and last[1] is None


def test_a_broken_jingle_is_named(station: Path, tmp_path: Path) -> None:
    bad = tmp_path / "hong.mp3"
    bad.write_bytes(b"not audio at all" * 100)
    text = station.read_text("utf-8").replace('pause = "1s"', f'pause = "1s"\nintro = "{bad}"')
    config = station.parent / "config-bad-jingle.toml"
    config.write_text(text, "utf-8")
    code, _, err = invoke(config, "playlist", "preview", "--date", "2021-03-01")
    assert code == 3  # a jingle that cannot air is a problem of config.toml
    assert err.startswith(f"{config}: cấu hình không hợp lệ, 1 lỗi (1 problem)\n")
    assert err.splitlines()[1].startswith(f"slots[0].intro: {bad}: ")


def test_refused_files_are_problems_in_status(station: Path) -> None:
    from loa.compose import LibrarySource

    config = load_config(station)
    broken = config.library.root / "b" / "hỏng.mp3"
    broken.write_bytes(b"ID3" + b"\x00" * 5000)
    try:
        engine = open_database(config.database.url)
        db = station_db(engine)
        airlog = AirLog(db, config.station.id)
        source = LibrarySource(config, db, airlog.event)
        assert source() == []  # nothing until the first scan: a slot never waits for one
        assert {s.path for s in source.refresh()} == set(SPOTS)  # the good spots still air
        source.refresh()  # a second scan does not report the same file again
        code, out, _ = invoke(station, "status", "--json")
        assert code == 0
        problems = [p for p in json.loads(out)["problems"] if p["source"] == "library"]
        assert len(problems) == 1
        assert problems[0]["message"].startswith("tệp bị từ chối (file refused): b/hỏng.mp3: ")
    finally:
        broken.unlink()
        CliRunner().invoke(cli, ["--config", str(station), "library", "scan"])


def test_library_scans_wait_for_each_other(station: Path) -> None:
    import threading

    from loa.compose import library_lock, rescan

    config = load_config(station)
    engine = open_database(config.database.url)
    done: list[object] = []
    with library_lock(config):
        second = threading.Thread(target=lambda: done.append(rescan(config, engine)))
        second.start()
        second.join(0.5)
        assert second.is_alive() and not done  # waits while another scan holds the library
    second.join(30)
    assert len(done) == 1


def test_play_now_a_file(station: Path, tmp_path: Path) -> None:
    inside = station.parent / "lib" / "a" / "Tin một.wav"
    # the same station without quiet hours, so the test does not depend on the time of day
    awake = station.parent / "config-awake.toml"
    awake.write_text(station.read_text("utf-8").replace('quiet_hours = "22:00-05:00"\n', ""))
    code, _, err = invoke(awake, "play-now", "--file", str(inside))
    assert code == 0, err
    con = sqlite3.connect(station.parent / "data" / "loa.db")
    last = con.execute("select kind, topic, path, status from airtime order by seq desc").fetchone()
    con.close()
    assert last == ("adhoc", "a", "a/Tin một.wav", "completed")
    broken = tmp_path / "hỏng.mp3"
    broken.write_bytes(b"\x00" * 4000)
    code, _, err = invoke(awake, "play-now", "--file", str(broken))
    assert code == 1
    assert err.startswith(f"--file: {broken}: ")

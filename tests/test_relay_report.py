"""Relay slots in the log, the reports, `loa simulate` and `loa playlist preview`: a real
SQLite log written by the real engine on a virtual clock (the null output stands for a stream
that plays the whole frame), read back through the CLI."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from airtime.relay_report import RelayLine, relay_lines
from airtime.report import Group
from loa.cli import cli
from loa.compose import station_spec
from loa.config import load_config
from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.simulate import simulate
from scheduler.spec import Spot, shown_url
from tests.stream_fixture import Feeder, Server

HCM = ZoneInfo("Asia/Ho_Chi_Minh")

CONFIG = """
[station]
id = "xa-thu"
name = "Đài xã Thử"
timezone = "Asia/Ho_Chi_Minh"
quiet_hours = "21:30-05:00"

[database]
url = "sqlite:///{db}"

[output]
backend = "null"

[[topics]]
id = "chi-so"
name = "Chỉ số"

[[slots]]
name = "sang"
start = "06:00"
length = "5m"

[[slots]]
name = "thoi-su"
start = "18:00"
length = "30m"
relay = "vov1"

[[sources]]
id = "vov1"
name = "VOV1 Thời sự"
url = "http://tiep:s3cret@127.0.0.1:8000/vov1"

[[sources]]
id = "tinh"
name = "Đài tỉnh"
url = "https://127.0.0.1/tinh/playlist.m3u8"
"""


@pytest.fixture
def station(tmp_path: Path) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(textwrap.dedent(CONFIG.format(db=tmp_path / "loa.db")), encoding="utf-8")
    config = load_config(cfg)
    spec = station_spec(config)
    airlog = AirLog(station_db(open_database(config.database.url)), spec.id)
    spots = [
        Spot(f"s{i}", "chi-so", f"chi-so/tin-{i}.mp3", tmp_path / f"tin-{i}.mp3", f"Tin {i}", 60.0)
        for i in range(1, 4)
    ]
    start = datetime(2021, 3, 1, tzinfo=HCM)
    simulate(spec, airlog, spots, start, start + timedelta(days=2))
    # a drop on the second day, as the live relay writes it (the frame's measured times)
    drop = datetime(2021, 3, 2, 18, 10, tzinfo=HCM)
    airlog.record(
        kind="relay",
        slot="thoi-su",
        spot="vov1",
        title="VOV1 Thời sự",
        path="http://127.0.0.1:8000/vov1",
        status="failed",
        scheduled_at=datetime(2021, 3, 2, 18, 0, tzinfo=HCM),
        started_at=drop,
        ended_at=drop + timedelta(seconds=42),
        error="mất tín hiệu 42.0 s (stream dropped: no data)",
    )
    return cfg


def run(cfg: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), *args])
    return result.exit_code, result.stdout, result.stderr


def test_simulated_relay_rows_cover_the_frame(station: Path) -> None:
    code, out, err = run(station, "airtime", "log", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    relay = [r for r in rows if r["kind"] == "relay" and r["status"] == "completed"]
    assert [(r["slot"], r["spot"], r["title"], r["played_s"]) for r in relay] == [
        ("thoi-su", "vov1", "VOV1 Thời sự", 1800.0)
    ] * 2
    assert relay[0]["started_at"] == "2021-03-01T18:00:00.000+07:00"
    # the stream's password never reaches the log
    assert all("s3cret" not in r["path"] for r in rows)
    assert relay[0]["path"] == "http://tiep:***@127.0.0.1:8000/vov1"
    spots = [r for r in rows if r["kind"] == "scheduled"]
    assert spots and all(r["slot"] == "sang" for r in spots)
    code, out, _ = run(station, "airtime", "log")
    assert code == 0 and "tiếp sóng vov1" in out and "VOV1 Thời sự" in out
    code, out, err = run(station, "airtime", "verify")
    assert code == 0, out + err


def test_report_lists_relayed_minutes_per_source_apart_from_topics(station: Path) -> None:
    code, out, err = run(station, "airtime", "report", "--period", "2021-03", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["relays"] == [
        {"source": "vov1", "name": "VOV1 Thời sự", "stretches": 2, "seconds": 3600.0, "drops": 1},
        {"source": "tinh", "name": "Đài tỉnh", "stretches": 0, "seconds": 0.0, "drops": 0},
    ]
    # the topics count the spots only: the three 1-minute spots each morning
    assert data["total"]["seconds"] == 360.0
    assert [t["seconds"] for t in data["topics"]] == [360.0]
    # the relay slot's sessions aired (its rows are relay rows), the drop is no spot failure
    assert data["sessions"]["aired"] == 4  # 2 days x (spots + relay)
    assert data["reliability"]["failed"] == 0
    code, out, err = run(station, "airtime", "report", "--period", "2021-03")
    assert code == 0, err
    assert "Tiếp sóng" in out and "VOV1 Thời sự" in out and "Mất tín hiệu" in out


def test_relay_lines_are_pure_sums() -> None:
    groups = [
        Group("relay", None, "completed", "vov1", 3, 5400.0),
        Group("relay", None, "interrupted", "vov1", 2, 100.5),
        Group("relay", None, "failed", "vov1", 2, 0.0),
        Group("relay", None, "completed", "old", 1, 60.0),
        Group("scheduled", "chi-so", "completed", "s1", 9, 900.0),
    ]
    assert relay_lines(groups, [("vov1", "VOV1"), ("tinh", "Tỉnh")]) == [
        RelayLine("vov1", "VOV1", 5, 5500.5, 2),
        RelayLine("tinh", "Tỉnh", 0, 0.0, 0),
        RelayLine("old", "old (không còn trong cấu hình)", 1, 60.0, 0),
    ]


def test_preview_shows_relay_slots_as_such(station: Path) -> None:
    code, out, err = run(station, "playlist", "preview", "--date", "2021-03-03", "--format", "json")
    assert code == 0, err
    plans = json.loads(out)
    relay = [p for p in plans if p["slot"] == "thoi-su"]
    assert len(relay) == 1
    (item,) = relay[0]["items"]
    assert item["spot"] == "vov1" and "tiếp sóng" in item["title"]
    assert item["duration_s"] == 1800.0
    code, out, err = run(station, "playlist", "preview", "--date", "2021-03-03")
    assert code == 0, err
    assert "VOV1 Thời sự (tiếp sóng, relay)" in out


def test_shown_url_hides_the_password() -> None:
    assert shown_url("http://u:pw@h:8000/m") == "http://u:***@h:8000/m"
    assert shown_url("https://h/p.m3u8") == "https://h/p.m3u8"


def test_source_test_connects_and_measures(tmp_path: Path, stream_server: Server) -> None:
    feeder = Feeder(stream_server, codec="ogg")
    try:
        text = CONFIG.format(db=tmp_path / "loa.db").replace(
            "http://tiep:s3cret@127.0.0.1:8000/vov1", feeder.url
        )
        cfg = tmp_path / "config.toml"
        cfg.write_text(textwrap.dedent(text), encoding="utf-8")
        code, out, err = run(cfg, "source", "test", "vov1", "--seconds", "3")
    finally:
        feeder.stop()
    assert code == 0, err
    assert "mã hóa (codec): vorbis" in out
    assert "đã phát (played): 3.00 s; mất tín hiệu (drops): 0" in out
    loud = float(out.split("running measure): ")[1].split(" LUFS")[0])
    assert -20 < loud < -10  # the tones are at -12 dBFS peak


def test_source_test_names_an_unknown_source(station: Path) -> None:
    code, _, err = run(station, "source", "test", "vov2")
    assert code != 0
    assert 'sources: no source "vov2"; did you mean "vov1"?' in err


def test_simulate_counts_relayed_minutes_apart_from_topics(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(textwrap.dedent(CONFIG.format(db=tmp_path / "sim.db")), encoding="utf-8")
    config = load_config(cfg)
    spec = station_spec(config)
    spots = [Spot("s1", "chi-so", "chi-so/a.mp3", tmp_path / "a.mp3", "Tin", 60.0)]
    start = datetime(2021, 3, 1, tzinfo=HCM)
    airlog = AirLog(station_db(open_database(config.database.url)), spec.id)
    result = simulate(spec, airlog, spots, start, start + timedelta(days=3))
    assert result.relayed_s == {"vov1": 3 * 1800.0}
    assert set(result.seconds_by_topic) == {"chi-so"}  # the relay is no topic's airtime

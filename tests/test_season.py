"""`loa simulate --events`: the README's example season on the demo station, bad scripts named
by file and key, and the simulated daemon against the wall-clock one on the same short script.
Real audio files scanned into a real SQLite catalogue; the wall-clock run is the real daemon
with APScheduler and the null output following the wall clock."""

from __future__ import annotations

import sqlite3
import threading
import time as walltime
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from loa.cli import cli
from loa.compose import LibrarySource, library_spots, station_daemon, station_spec
from loa.config import load_config
from loa.db import open_database, station_db
from loa.season import SeasonEvent, replay
from scheduler.lock import StationLock
from scheduler.output.null import NullOutput
from tests.audio_media import tone
from tests.test_demo import demo_config

ROOT = Path(__file__).resolve().parent.parent
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def local_rows(db: Path) -> list[sqlite3.Row]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return con.execute("select * from airtime order by seq").fetchall()
    finally:
        con.close()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("UTC"))


def test_the_readme_example_season_replays_on_the_demo_station(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "library", "scan"]).exit_code == 0
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "examples/season.toml" in readme and "--events" in readme
    args = ["simulate", "--from", "2021-03-01", "--days", "4"]
    done = runner.invoke(
        cli, ["--config", str(config), *args, "--events", str(ROOT / "examples/season.toml")]
    )
    assert done.exit_code == 0, done.output
    out = done.stdout
    assert "1 lần khởi động lại (restarts)" in out
    assert '"25:00" is not a time of day' in out  # the bad edit refused, and why
    rows = local_rows(tmp_path / "data" / "simulate-2021-03-01-4d.db")
    at = {r["seq"]: utc(r["started_at"]) for r in rows if r["started_at"]}

    def local(r: sqlite3.Row) -> datetime:
        return at[r["seq"]].astimezone(HCM)

    # the emergency cut into the morning slot and the slot went on after it
    emergency = next(r for r in rows if r["kind"] == "emergency")
    assert local(emergency).strftime("%Y-%m-%d %H:%M") == "2021-03-01 06:00"
    sang = [r for r in rows if r["slot"] == "sang" and r["scheduled_at"] < "2021-03-01 23:05"]
    assert [r["status"] for r in sang].count("interrupted") == 1
    assert any(r["status"] == "completed" and r["seq"] > emergency["seq"] for r in sang)
    # the crash in the afternoon slot: the rest of it aired after the restart, nothing twice
    chieu = [r for r in rows if r["slot"] == "chieu" and r["scheduled_at"] < "2021-03-02"]
    assert any(
        local(r) > datetime(2021, 3, 1, 17, 1, 10, tzinfo=HCM) for r in chieu if r["seq"] in at
    )
    spots = [r["spot"] for r in chieu if r["status"] == "completed"]
    assert len(spots) == len(set(spots))
    # the good edit moved the afternoon slot from 17:00 to 17:30 from 2021-03-02 on
    later = {local(r).strftime("%d %H:%M") for r in rows if r["slot"] == "chieu" and r["seq"] in at}
    assert "02 17:30" in later and not any(t.startswith(("02 17:0", "03 17:0")) for t in later)
    # the spot added airs, the one removed does not any more
    added = [r for r in rows if (r["spot"] or "").startswith("season-")]
    assert added and all(local(r) > datetime(2021, 3, 3, 12, tzinfo=HCM) for r in added)
    removed = "duong-day-nong/Phản ánh kiến nghị - số 2.ogg"
    assert not any(r["path"] == removed and local(r).day > 3 for r in rows if r["seq"] in at)
    # the device failure: failed rows with the reason, then the slot's rest once it is back
    failed = [r for r in rows if r["status"] == "failed"]
    assert failed and all("sound device failed" in r["error"] for r in failed)
    back = datetime(2021, 3, 4, 6, 0, 50, tzinfo=HCM)
    assert any(
        r["slot"] == "sang" and r["status"] == "completed" and back <= local(r)
        for r in rows
        if r["seq"] in at and local(r).day == 4
    )


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ('[[events]]\nat = "2021-03-01 06:00"\nkind = "flood"\n', "events[0].kind: 'flood'"),
        ('[[events]]\nat = "tomorrow"\nkind = "crash"\n', "events[0].at: 'tomorrow'"),
        ('[[events]]\nat = "2021-03-01 06:00"\nkind = "device"\n', "events[0].for: required"),
        (
            '[[events]]\nat = "2021-03-01"\nkind = "broadcast"\ntopic = "x"\n',
            "events[0].topic: no topic 'x'",
        ),
        ("events = 3\n", "events: give a list of [[events]] tables"),
    ],
)
def test_a_bad_script_is_named_by_file_event_and_key(
    tmp_path: Path, script: str, message: str
) -> None:
    config = demo_config(tmp_path)
    CliRunner().invoke(cli, ["--config", str(config), "library", "scan"])
    season = tmp_path / "season.toml"
    season.write_text(script, "utf-8")
    done = CliRunner().invoke(
        cli,
        ["--config", str(config), "simulate", "--from", "2021-03-01", "--days", "1",
         "--events", str(season)],
    )  # fmt: skip
    assert done.exit_code != 0
    assert message in done.output and str(season) in done.output
    assert "Traceback" not in done.output


# ---------------------------------------------------------------- the same script, two clocks


@pytest.fixture
def small_station(tmp_path: Path) -> tuple[Path, datetime]:
    """A slot of 2-second spots starting 5 s from now (wall clock), and an emergency spot."""
    for folder in ("a", "b"):
        (tmp_path / "lib" / folder).mkdir(parents=True)
    for i in range(6):
        tone(tmp_path / "lib" / "a" / f"tin {i}.wav", 400 + 50 * i, 2.0, amp=0.3)
    tone(tmp_path / "lib" / "b" / "khan cap.wav", 900, 1.5, amp=0.3)
    start = (datetime.now(HCM) + timedelta(seconds=5)).replace(microsecond=0)
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[station]
id = "xa-thu"
name = "Đài xã Thử"
timezone = "Asia/Ho_Chi_Minh"
[library]
root = "lib"
[output]
backend = "null"
[daemon]
heartbeat = "1s"
[[topics]]
id = "a"
name = "Chủ đề A"
[[topics]]
id = "b"
name = "Chủ đề B"
[[slots]]
name = "thu"
start = "{start:%H:%M:%S}"
length = "11s"
pause = "0s"
topics = ["a"]
""",
        "utf-8",
    )
    done = CliRunner().invoke(cli, ["--config", str(config), "library", "scan"])
    assert done.exit_code == 0, done.output
    return config, start


def sequence(db_url: str) -> list[tuple[str, str, str | None]]:
    rows = local_rows(Path(db_url.removeprefix("sqlite:///")))
    return [(r["kind"], r["status"], r["spot"]) for r in rows]


@pytest.mark.parametrize(
    ("priority", "kind", "cut"),
    [("emergency", "emergency", 1), ("priority", "adhoc", 0)],
)
def test_a_broadcast_in_a_slot_airs_the_same_on_both_clocks(
    small_station, tmp_path, priority: str, kind: str, cut: int
) -> None:
    """An emergency cuts in (the cut spot interrupted, the slot resumed); a priority broadcast
    waits for the slot to end: the same rows, in the same order, on both clocks."""
    config_path, start = small_station
    config = load_config(config_path)
    wall_url = f"sqlite:///{tmp_path}/wall.db"
    engine = open_database(config.database.url)
    db = station_db(engine)
    spots = library_spots(config, db)
    emergency = next(s for s in spots if s.topic == "b")
    wall_db = station_db(open_database(wall_url))
    source = LibrarySource(config, db)
    source.load()
    output = NullOutput()
    daemon = station_daemon(
        config, config_path, wall_db, station_spec(config), source, output,
        StationLock(tmp_path / "wall.lock"),
    )  # fmt: skip
    thread = threading.Thread(target=daemon.run_forever, kwargs={"handle_signals": False})
    thread.start()
    try:
        end = walltime.monotonic() + 30
        while not any(s == "completed" for _, s, _ in sequence(wall_url)):
            assert walltime.monotonic() < end, "the slot did not air"
            walltime.sleep(0.02)
        walltime.sleep(0.8)  # inside the second spot
        cut_at = datetime.now(HCM)
        daemon.enqueue_adhoc([emergency], priority)
        end_of_slot = start + timedelta(seconds=13)
        while datetime.now(HCM) < end_of_slot or daemon.runner.current is not None:
            walltime.sleep(0.05)
    finally:
        daemon.stopping.set()
        thread.join(15)
        output.close()
    wall = sequence(wall_url)
    sim_url = f"sqlite:///{tmp_path}/sim.db"
    event = SeasonEvent(0, cut_at, "broadcast", priority=priority, spot=emergency.id)
    replay(
        config, open_database(sim_url), spots, [event],
        start - timedelta(minutes=1), start + timedelta(minutes=1),
    )  # fmt: skip
    simulated = sequence(sim_url)
    assert (kind, "completed", emergency.id) in wall
    assert [s for _, s, _ in wall].count("interrupted") == cut
    if not cut:  # after every row of the slot
        assert wall[-1] == (kind, "completed", emergency.id)
    assert simulated == wall

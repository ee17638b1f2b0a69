"""The daemon's rescan runs in a child process (issue 17): `loa run` never imports SQLAlchemy,
`stop()` and a stuck scan kill the child (no zombie left), a child that cannot start is a
failed scan. Real files, real SQLite, real ffmpeg, real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import loa.rescan_child
from loa.compose import LibrarySource, library_lock
from loa.config import Config, load_config
from loa.db import open_database, station_db
from tests.library_audio import make_audio
from tests.test_config import BASE

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """A station with one good spot and one refused file, its database created and migrated
    (as `loa run` has it before the library starts)."""
    make_audio(tmp_path / "lib" / "chi-so" / "tin.mp3")
    (tmp_path / "lib" / "chi-so" / "hỏng.mp3").write_bytes(b"ID3" + b"\x00" * 5000)
    text = BASE + '\n[library]\nroot = "lib"\n[daemon]\nsocket = "data/loa.sock"\n'
    (tmp_path / "config.toml").write_text(text, "utf-8")
    config = load_config(tmp_path / "config.toml")
    open_database(config.database.url).dispose()
    return config


def source_of(config: Config, events: list[tuple[str, ...]], **kw: float) -> LibrarySource:
    """The daemon's library source on the station's database, its events into `events`."""
    db = station_db(open_database(config.database.url))
    return LibrarySource(config, db, lambda *e: events.append(e), **kw)


def gone(pid: int) -> bool:
    """The process is neither running nor a zombie (it was reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in "RSDZT"


def running_child(source: LibrarySource, limit_s: float = 30.0) -> int:
    """The pid of the rescan child `source` has started."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        child = source._child
        if child is not None and child.pid is not None:
            return child.pid
        time.sleep(0.02)
    raise AssertionError("no rescan child started")


SCRIPT = """
import json, sys
from pathlib import Path
from loa.compose import LibrarySource
from loa.config import load_config
from scheduler.station_db import StationDB

config = load_config(Path(sys.argv[1]))
events = []
source = LibrarySource(config, StationDB(Path(sys.argv[2])), lambda *e: events.append(e))
print(json.dumps({
    "spots": [s.path for s in source.refresh()],
    "events": events,
    "heavy": sorted(m for m in sys.modules if m.startswith(("sqlalchemy", "sqlmodel"))),
}))
"""


def test_the_rescan_runs_in_a_child_and_the_daemon_never_imports_sqlalchemy(
    config: Config, tmp_path: Path
) -> None:
    database = config.database.url.removeprefix("sqlite:///")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "config.toml"), database],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["spots"] == ["chi-so/tin.mp3"]  # scanned by the child, read with sqlite3
    assert result["heavy"] == []
    [event] = result["events"]
    assert event[:2] == ["warning", "library"]
    assert event[2].startswith("tệp bị từ chối (file refused): chi-so/hỏng.mp3: ")


def test_stop_kills_a_running_rescan(config: Config) -> None:
    events: list[tuple[str, ...]] = []
    source = source_of(config, events)
    with library_lock(config):  # the child waits for the lock: a scan that does not end
        scan = threading.Thread(target=source.refresh, kwargs={"wait": True}, daemon=True)
        scan.start()
        pid = running_child(source)
        time.sleep(0.5)  # it is in its scan, not starting
        assert not gone(pid) and scan.is_alive()
        started = time.monotonic()
        source.stop(timeout_s=5.0)
        assert time.monotonic() - started < 4.0
        scan.join(5.0)
        assert not scan.is_alive()
        assert gone(pid)  # killed and reaped
    assert source() == [] and events == []  # a stop is no failure
    assert source.refresh() == []  # a stopped source scans no more


def test_a_stuck_rescan_child_is_killed_and_the_next_goes_ahead(config: Config) -> None:
    events: list[tuple[str, ...]] = []
    source = source_of(config, events, rescan_timeout_s=0.5)
    with library_lock(config):
        stuck = threading.Thread(target=source.refresh, kwargs={"wait": True}, daemon=True)
        stuck.start()
        source._scan, source._scan_started = stuck, time.monotonic()  # as `tick` starts it
        pid = running_child(source)
        time.sleep(0.6)  # past its time limit
        source.tick()  # kills it; the next one starts (and finds the library busy: skipped)
        assert gone(pid)
        stuck.join(5.0)
        assert not stuck.is_alive()
        assert [e[0] for e in events] == ["error"] and "abandoned" in events[0][2]
        source._scan.join(30)  # type: ignore[union-attr]
    source.tick()  # the lock is free now: a real scan in a child
    source._scan.join(60)  # type: ignore[union-attr]
    assert [s.path for s in source()] == ["chi-so/tin.mp3"]
    source.stop()


def test_a_child_that_cannot_start_is_a_failed_scan(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, ...]] = []
    source = source_of(config, events)
    assert [s.path for s in source.refresh()] == ["chi-so/tin.mp3"]
    monkeypatch.setattr(loa.rescan_child, "COMMAND", ("/nonexistent/python", "-m", "x"))
    assert [s.path for s in source.refresh()] == ["chi-so/tin.mp3"]  # the last good list
    source.refresh()  # said once
    errors = [e for e in events if e[0] == "error"]
    assert len(errors) == 1
    assert errors[0][2].startswith("rescan failed: cannot start the rescan process: ")


def test_a_child_that_dies_says_its_last_stderr_line(
    config: Config, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    dies = "import sys; sys.stderr.write('first\\nthe last word\\n'); sys.exit(3)"
    monkeypatch.setattr(loa.rescan_child, "COMMAND", (sys.executable, "-c", dies))
    events: list[tuple[str, ...]] = []
    source = source_of(config, events)
    assert source.refresh() == []
    assert events == [("error", "library", "rescan failed: the rescan process exited with code 3")]
    assert "(the last word)" in caplog.text

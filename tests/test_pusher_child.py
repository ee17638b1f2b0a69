"""The daemon's background push runs each push in a child process (issue 17): the daemon's
process never imports SQLAlchemy or psycopg, and a failing, hung or stopped push is handled
by the pusher thread as before (the same events, backoff and `push_state`)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from scheduler.pusher import Pusher, read_state
from scheduler.station_db import StationDB
from tests.central_support import central, scalar, write_rows

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "s3cret-pw"
REPORTED = "SELECT loa_version FROM central.station_report WHERE station = %s"

# the daemon's side in a fresh interpreter: the pusher thread pushes once, then says what the
# process imported
DAEMON_SIDE = """
import json, sys, time
from pathlib import Path
from central.push_process import StationReport
from scheduler.pusher import Pusher, read_state
from scheduler.station_db import StationDB

db = StationDB(Path(sys.argv[1]))
events = []
pusher = Pusher(db, "xa-a", sys.stdin.read(), 900.0,
                report=lambda: StationReport({"slots": []}, "test"),
                event=lambda *e: events.append(e))
pusher.start(first_delay_s=0)
deadline = time.monotonic() + 60
while time.monotonic() < deadline and not (read_state(db, "xa-a") or {}).get("pushed_at"):
    time.sleep(0.05)
pusher.stop()
state = read_state(db, "xa-a") or {}
heavy = sorted(m for m in sys.modules if m.startswith(("sqlalchemy", "sqlmodel", "psycopg")))
print(json.dumps({"heavy": heavy, "head": state.get("central_head"),
                  "failures": state.get("failures"), "events": events}))
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def central_url(port: int) -> str:
    return f"postgresql+psycopg://xa_a:{PASSWORD}@127.0.0.1:{port}/loa"


@pytest.fixture
def station(tmp_path: Path) -> Iterator[StationDB]:
    path = tmp_path / "a.db"
    write_rows(path, "xa-a", 50)
    db = StationDB(path)
    yield db
    db.close()


@pytest.mark.postgres
def test_the_daemon_pushes_in_a_child_and_never_imports_sqlalchemy_or_psycopg(
    tmp_path: Path, pg_admin_url: str
) -> None:
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    path = tmp_path / "a.db"
    write_rows(path, "xa-a", 300)
    done = subprocess.run(
        [sys.executable, "-c", DAEMON_SIDE, str(path)],
        input=urls["xa-a"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said == {"heavy": [], "head": 300, "failures": 0, "events": []}
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 300
    assert scalar(pg_admin_url, REPORTED, ("xa-a",)) == "test"  # the report went too


def test_a_closed_port_fails_once_per_message_with_the_backoff(station: StationDB) -> None:
    events: list[tuple[str, str, str]] = []
    url = central_url(closed_port())
    pusher = Pusher(station, "xa-a", url, 900.0, event=lambda *e: events.append(e))
    assert not pusher.push_once() and not pusher.push_once()
    assert pusher.failures == 2 and pusher.next_delay() == 20.0
    assert [e[:2] for e in events] == [("warning", "central")]  # once per change of message
    text = events[0][2]
    assert text.startswith("gửi lên trung tâm lỗi (push failed): ")
    assert "cannot connect to the central database" in text and PASSWORD not in text
    state = read_state(station, "xa-a")
    assert state is not None
    assert state["failures"] == 2 and state["central_head"] == 0 and state["pushed_at"] is None
    assert state["error"] == text.split(": ", 1)[1]
    assert isinstance(state["attempt_at"], datetime) and state["attempt_at"].tzinfo is not None
    # a daemon started again goes on with the backoff it left, and a new message is told
    again = Pusher(station, "xa-a", central_url(closed_port()), 900.0,
                   event=lambda *e: events.append(e))  # fmt: skip
    assert again.failures == 2 and not again.push_once() and again.next_delay() == 40.0
    assert len(events) == 2 and events[1][0] == "warning"


def _hung_server() -> socket.socket:
    """A server that takes the connection and never answers (a half-dead link)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    return server


def test_a_hung_push_is_killed_after_its_timeout(station: StationDB) -> None:
    events: list[tuple[str, str, str]] = []
    with _hung_server() as server:
        url = central_url(server.getsockname()[1])
        pusher = Pusher(station, "xa-a", url, 900.0, event=lambda *e: events.append(e),
                        timeout_s=1.5)  # fmt: skip
        began = time.monotonic()
        assert not pusher.push_once()
        assert time.monotonic() - began < 8
    assert pusher.failures == 1 and pusher.next_delay() == 10.0
    assert len(events) == 1 and "took longer than 1.5 s and was stopped" in events[0][2]
    assert (read_state(station, "xa-a") or {})["failures"] == 1


def test_stop_kills_the_push_under_way_and_records_nothing(station: StationDB) -> None:
    events: list[tuple[str, str, str]] = []
    with _hung_server() as server:
        url = central_url(server.getsockname()[1])
        pusher = Pusher(station, "xa-a", url, 900.0, event=lambda *e: events.append(e),
                        timeout_s=120)  # fmt: skip
        pusher.start(first_delay_s=0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            pusher._child is None or pusher._child._proc is None
        ):
            time.sleep(0.01)
        child = pusher._child
        assert child is not None and child._proc is not None
        began = time.monotonic()
        pusher.stop()
        assert time.monotonic() - began < 3
        assert child._proc.poll() is not None  # the child is gone
        assert pusher._thread is not None and not pusher._thread.is_alive()
    assert events == [] and read_state(station, "xa-a") is None

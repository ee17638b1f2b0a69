"""A station's push in a process of its own, so `loa run` never imports SQLAlchemy or psycopg.

The push (central.push) reads the station's log through SQLAlchemy and writes the central
database through psycopg: ~20 MB that would stay in the daemon for good once imported (issue 17:
the whole daemon may use 70 MB while on air). So the daemon's pusher thread (scheduler.pusher)
starts `python -m central.push_process` for each push, writes a `PushRequest` as JSON on its
stdin (the central URL with its password goes there, never on the command line, which `ps`
shows) and reads one `PushAnswer` as JSON from its stdout; the child exits when done.

Everything the daemon imports of this module is the standard library: the heavy imports are in
`main`, which only the child runs. The child never writes the station database (the daemon's
pusher keeps `push_state`, one writer); it only reads the log and its events, from the file the
daemon already migrated. The central package never imports `loa`: both sides scrub every
message of the URL's password with `central.url_text.scrub` (the URL reaches the child on
stdin only, so nothing before that can quote it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

from central.errors import CentralError
from central.url_text import scrub

BATCH = 2000  # = airtime.push.BATCH (that module imports SQLAlchemy)
COMMAND = (sys.executable, "-m", "central.push_process")
# where this package is, so the child finds it whatever the daemon's working directory
_HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _child_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": _HOME + (os.pathsep + path if path else "")}


@dataclass(frozen=True)
class StationReport:
    """What the station tells the district besides its log (central.push re-exports it)."""

    schedule: dict[str, Any]
    version: str


@dataclass(frozen=True)
class PushRequest:
    """What the child needs for one push."""

    database: str  # the station's SQLite file (the daemon's StationDB.path)
    station: str
    central: str  # the central URL the station's role pushes with (a password in it)
    report: StationReport | None = None
    batch: int = BATCH

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> PushRequest:
        values = json.loads(text)
        report = values.pop("report", None)
        return cls(**values, report=StationReport(**report) if report is not None else None)


@dataclass(frozen=True)
class PushAnswer:
    """The outcome of one push: its counts (central.push's PushResult) or why it failed."""

    ok: bool
    copied: int = 0
    already: int = 0
    open_rows: int = 0
    head: int = 0  # the central chain position after the push
    error: str | None = None  # the message the station's events show (password masked)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def failed(cls, message: str) -> PushAnswer:
        return cls(ok=False, error=message)


def failure_message(exc: BaseException) -> str:
    """A failed push as the station's events say it: a CentralError speaks for itself (its
    URL already redacted), anything else is named by its type."""
    if isinstance(exc, CentralError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _answer(url: str, stdout: str, stderr: str, returncode: int) -> PushAnswer:
    """The child's answer (its last stdout line); a child that died without one, by its
    exit code and the last line it wrote to stderr (a traceback's last line names the error)."""
    lines = stdout.strip().splitlines()
    if returncode == 0 and lines:
        try:
            return PushAnswer(**json.loads(lines[-1]))
        except (ValueError, TypeError):
            pass
    said = stderr.strip().splitlines()
    reason = f": {said[-1]}" if said else ""
    return PushAnswer.failed(scrub(url, f"the push process exited with code {returncode}{reason}"))


class ChildPush:
    """One push in a child process; `kill()` (from any thread) ends it at once."""

    def __init__(self, request: PushRequest) -> None:
        self.request = request
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._killed = False

    def run(self, timeout_s: float) -> PushAnswer:
        """The push's answer; a child still running after `timeout_s` is killed (a hung
        server or network): a failure like any other. Never raises."""
        with self._lock:
            if self._killed:
                return PushAnswer.failed("the push was stopped")
            try:
                self._proc = proc = subprocess.Popen(
                    COMMAND,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    encoding="utf-8",
                    errors="replace",
                    env=_child_env(),
                )
            except OSError as exc:
                return PushAnswer.failed(f"cannot start the push process: {exc}")
        try:
            out, err = proc.communicate(self.request.to_json(), timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return PushAnswer.failed(
                f"the push took longer than {timeout_s:g} s and was stopped (the next push "
                "goes on from what it wrote)"
            )
        if self._killed:
            return PushAnswer.failed("the push was stopped")
        return _answer(self.request.central, out, err, proc.returncode)

    def kill(self) -> None:
        with self._lock:
            self._killed = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()


def _station_engine(path: str) -> Any:
    """A SQLAlchemy engine on the station's existing file (`mode=rw`: never created, as the
    daemon's own connection), waiting for the daemon's writes like the daemon's connection."""
    import sqlite3

    import sqlalchemy as sa

    uri = f"file:{quote(path)}?mode=rw"
    return sa.create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(uri, uri=True, timeout=10.0, check_same_thread=False),
        poolclass=sa.pool.NullPool,
    )


def push_in_child(request: PushRequest) -> PushAnswer:
    """The push itself, in the child: SQLAlchemy and psycopg are imported here only."""
    try:
        from central.push import push

        engine = _station_engine(request.database)
        try:
            with engine.connect() as source:
                result = push(
                    source, request.central, request.station, request.report, request.batch
                )
        finally:
            engine.dispose()
    except Exception as exc:  # the network, the server, a refusal: the daemon retries
        return PushAnswer.failed(scrub(request.central, failure_message(exc)))
    return PushAnswer(
        ok=True,
        copied=result.copied,
        already=result.already,
        open_rows=result.open_rows,
        head=result.head,
    )


def main() -> int:
    request = PushRequest.from_json(sys.stdin.read())
    sys.stdout.write(push_in_child(request).to_json() + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

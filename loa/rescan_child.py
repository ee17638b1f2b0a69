"""The daemon's library rescan in a process of its own, so `loa run` never imports SQLAlchemy.

The scan (audio_library.scan) writes the catalogue through SQLAlchemy: ~17 MB that would stay in
the daemon for good once imported (issue 17: the whole daemon may use 70 MB while on air). So
`loa.compose.LibrarySource` starts `python -m loa.rescan_child` for each rescan, writes a
`ScanJob` as JSON on its stdin and reads one JSON answer from its stdout: the refused files
(`{"rejected": [{"path", "reason"}, ...]}`), `{"busy": true}` when another scan holds the
library, `{"abandoned": true}` when it was told to stop, or `{"error": message}`.

The child runs in a session of its own. To stop it (`loa run` stopping, or a scan stuck past
its time) the daemon sends SIGTERM: the child sets the scan's `cancel`, which kills its ffmpeg
(each in a session of its own too) within a quarter of a second; a child still there after
`GRACE_S` gets SIGKILL, its whole process group. A killed scan leaves a consistent catalogue
(SQLite rolls back the open transaction) and the library lock is freed with the process.

Everything the daemon imports of this module is the standard library and `scheduler.lock`:
the heavy imports are in `scan` and `main`, which only the child (and `loa library scan`) run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scheduler.lock import LibraryBusy, exclusive

COMMAND = (sys.executable, "-m", "loa.rescan_child")
# how long a child told to stop (SIGTERM) has before it is killed: its ffmpeg notices the
# cancel within 0.25 s, so a child still there after this is stuck (a hung mount)
GRACE_S = 1.0


@dataclass(frozen=True)
class ScanJob:
    """What one scan needs of the config, as plain values (`loa.compose.scan_job`)."""

    root: str
    topic_ids: list[str]
    target_lufs: float
    max_boost_db: float
    max_spot_s: float | None
    lock: str  # the library lock file (one scan at a time per station)
    wait: bool = False  # False: LibraryBusy at once when another scan holds the lock
    database: str | None = None  # the URL the child opens (the daemon's own file)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ScanJob:
        return cls(**json.loads(text))


class ScanFailed(Exception):
    """The scan failed in the child (its message), or the child died without an answer."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        lines = stderr.strip().splitlines()
        self.last_line = lines[-1] if lines else ""  # what the child said last on stderr


class Killed(Exception):
    """The daemon stopped the child (it is stopping, or the scan was stuck past its time)."""


def scan(engine: Any, job: ScanJob, **options: Any) -> Any:
    """The scan itself (a ScanReport), under the library lock: what the child does, and what
    `loa library scan` does in its own process (`loa.compose.rescan`)."""
    from audio_library.scan import scan_library

    with exclusive(Path(job.lock), job.wait, LibraryBusy):
        return scan_library(
            engine,
            Path(job.root),
            job.topic_ids,
            target_lufs=job.target_lufs,
            max_boost_db=job.max_boost_db,
            max_spot_s=job.max_spot_s,
            **options,
        )


def _answer(stdout: str, stderr: str, returncode: int) -> dict[str, Any]:
    """The child's answer (its last stdout line); ScanFailed when it died without one."""
    lines = stdout.strip().splitlines()
    if lines:
        try:
            answer = json.loads(lines[-1])
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            return answer
    raise ScanFailed(f"the rescan process exited with code {returncode}", stderr)


class ChildScan:
    """One rescan in a child process; `kill()` (from any thread) ends it."""

    def __init__(self, job: ScanJob) -> None:
        self.job = job
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._killed = False

    def run(self) -> list[dict[str, str]]:
        """The refused files. LibraryBusy when another scan holds the library, Killed when
        `kill()` ended it, ScanFailed for anything else (a child that cannot even start
        included: the daemon goes on with its last list)."""
        with self._lock:
            if self._killed:
                raise Killed()
            try:
                self._proc = proc = subprocess.Popen(
                    COMMAND,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    encoding="utf-8",
                    errors="replace",
                    start_new_session=True,  # its own process group, killed as one
                )
            except OSError as exc:
                raise ScanFailed(f"cannot start the rescan process: {exc}") from None
        out, err = proc.communicate(self.job.to_json())  # reaps it, however it ends
        if self._killed:
            raise Killed()
        answer = _answer(out, err, proc.returncode)
        if answer.get("busy"):
            raise LibraryBusy(self.job.lock)
        if answer.get("abandoned"):
            raise Killed()
        if "error" in answer or not isinstance(answer.get("rejected"), list):
            raise ScanFailed(str(answer.get("error") or answer), err)
        return answer["rejected"]

    def kill(self, timeout_s: float = GRACE_S * 2) -> None:
        """Stop the child: SIGTERM (it cancels its ffmpeg and exits), SIGKILL to its group
        after `GRACE_S`. Waits at most `timeout_s`; a child stuck in the kernel is reaped by
        `run`, whose `communicate` returns when it finally dies."""
        with self._lock:
            self._killed = True
            proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        deadline = time.monotonic() + timeout_s
        _signal(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=min(GRACE_S, timeout_s))
            return
        except subprocess.TimeoutExpired:
            pass
        _signal(proc, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return None if proc is None else proc.pid


def _signal(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    """`sig` to the child's process group (its session: pgid = its pid); SIGTERM to the child
    alone, which passes the cancel on to its ffmpeg."""
    if proc.returncode is not None:
        return  # reaped: its pid may be another process's now
    try:
        if sig == signal.SIGKILL:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def main() -> int:
    """The child: one scan of the job on stdin, one JSON answer on stdout."""
    from audio_library.safeio import Abandoned

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    cancel = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: cancel.set())
    job = ScanJob.from_json(sys.stdin.read())
    answer: dict[str, Any]
    try:
        from loa.db import create_db_engine, never_create

        engine = create_db_engine(job.database or "")
        never_create(engine)  # deleted under the daemon: no empty file at its path
        answer = {"rejected": scan(engine, job, cancel=cancel).rejected}
    except LibraryBusy:
        answer = {"busy": True}
    except Abandoned:
        answer = {"abandoned": True}
    except Exception as exc:
        traceback.print_exc()  # the daemon logs its last line
        answer = {"error": str(exc) or type(exc).__name__}
    print(json.dumps(answer, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

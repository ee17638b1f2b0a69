"""A real station on disk for the fault suite: tone spots, config.toml, `loa run` processes,
and the invariants every fault must leave true (the chain verifies, no spot twice in an
occurrence, every committed row still there)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.audio_media import tone

ROOT = Path(__file__).resolve().parents[2]
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class Station:
    dir: Path
    db: Path
    config: Path
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    # ------------------------------------------------------------------ processes
    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """`loa run` in a session of its own (its process group is its own, as a terminal's
        job is), output to a log file so a killed process never blocks on a full pipe."""
        log = open(self.dir / f"run-{len(self.procs)}.log", "w")  # noqa: SIM115 - with the proc
        proc = subprocess.Popen(
            [sys.executable, "-m", "loa", "--config", str(self.config), "run", *args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def set_slots(
        self, proc: subprocess.Popen[str], slots: Iterable[tuple[str, datetime, float]]
    ) -> None:
        """Replace the slots of config.toml and have the running daemon reload it (SIGHUP),
        waiting for its reload line: slots placed after start-up, whatever it took."""
        text = self.config.read_text("utf-8")
        head = text.split("[[slots]]", 1)[0]
        before = self.output(proc).count("config.toml reloaded")
        self.config.write_text(head + slots_toml(slots), "utf-8")
        proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + 20
        while self.output(proc).count("config.toml reloaded") <= before:
            if time.monotonic() > end or proc.poll() is not None:
                raise AssertionError(f"no reload:\n{self.output(proc)}")
            time.sleep(0.05)

    def output(self, proc: subprocess.Popen[str]) -> str:
        return (self.dir / f"run-{self.procs.index(proc)}.log").read_text("utf-8", "replace")

    def wait_running(self, proc: subprocess.Popen[str], timeout: float = 30) -> None:
        """Until the daemon says it is on duty (its log line after start-up)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if proc.poll() is not None:
                raise AssertionError(f"loa run exited {proc.returncode}:\n{self.output(proc)}")
            if "running:" in self.output(proc):
                return
            time.sleep(0.05)
        raise AssertionError(f"loa run did not start in {timeout} s:\n{self.output(proc)}")

    def stop(self, proc: subprocess.Popen[str], timeout: float = 30) -> str:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=timeout)
        return self.output(proc)

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def loa(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "loa", "--config", str(self.config), *args],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip

    def status(self) -> dict:
        done = self.loa("status", "--json")
        return json.loads(done.stdout)

    # ------------------------------------------------------------------ the log
    def rows(self) -> list[sqlite3.Row]:
        if not self.db.exists():
            return []
        con = sqlite3.connect(self.db, timeout=30)
        con.row_factory = sqlite3.Row
        try:
            return con.execute("select * from airtime order by seq").fetchall()
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):  # the daemon is still creating its tables
                return []
            raise
        finally:
            con.close()

    def events(self) -> list[sqlite3.Row]:
        con = sqlite3.connect(self.db, timeout=30)
        con.row_factory = sqlite3.Row
        try:
            return con.execute("select * from event order by seq").fetchall()
        finally:
            con.close()


def make_station(
    root: Path,
    slots: Iterable[tuple[str, datetime, float]],
    *,
    spots: int = 3,
    spot_s: float = 1.0,
    backend: str = "null",
    db: Path | None = None,
    extra: str = "",
    heartbeat: str = "1s",
) -> Station:
    """Two topics of `spots` tone spots each and one `[[slots]]` per (name, start, length)."""
    lib = root / "lib"
    for topic in ("a", "b"):
        (lib / topic).mkdir(parents=True, exist_ok=True)
        for i in range(spots):
            tone(lib / topic / f"{topic}{i}.wav", 300 + 100 * i + (50 if topic == "b" else 0),
                 spot_s, amp=0.3)  # fmt: skip
    db = db or root / "data" / "loa.db"
    slot_text = slots_toml(slots)
    output = 'backend = "file"\npath = "data/air.wav"' if backend == "file" else 'backend = "null"'
    config = root / "config.toml"
    config.write_text(
        f"""
[station]
id = "xa-thu"
name = "Đài xã Thử"
timezone = "Asia/Ho_Chi_Minh"
[library]
root = "lib"
[database]
url = "sqlite:///{db}"
[output]
{output}
[daemon]
socket = "data/loa.sock"
heartbeat = "{heartbeat}"
{extra}
[[topics]]
id = "a"
name = "Chủ đề A"
[[topics]]
id = "b"
name = "Chủ đề B"
{slot_text}""",
        "utf-8",
    )
    (root / "data").mkdir(exist_ok=True)
    return Station(root, db, config)


def slots_toml(slots: Iterable[tuple[str, datetime, float]]) -> str:
    return "".join(
        f'[[slots]]\nname = "{name}"\nstart = "{start.astimezone(HCM):%H:%M:%S}"\n'
        f'length = "{length:g}s"\n'
        for name, start, length in slots
    )


def utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def aired_twice(rows: list[sqlite3.Row]) -> list[tuple[str, str, str]]:
    """(slot, scheduled day-time of the occurrence, spot) aired more than once in one
    occurrence. An occurrence is a slot's start; a row's scheduled_at lies inside it."""
    seen: dict[tuple[str, str], list[str]] = defaultdict(list)
    starts = sorted({(r["slot"], utc(r["scheduled_at"])) for r in rows if r["scheduled_at"]})
    for r in rows:
        if r["kind"] != "scheduled" or not r["spot"] or r["played_s"] <= 0:
            continue
        at = utc(r["scheduled_at"])
        assert at is not None
        # the occurrence: the earliest scheduled instant of this slot within 10 minutes before
        first = min(t for s, t in starts if s == r["slot"] and at - timedelta(minutes=10) <= t)
        seen[(r["slot"], first.isoformat())].append(r["spot"])
    return [
        (slot, at, spot)
        for (slot, at), ids in seen.items()
        for spot in {i for i in ids if ids.count(i) > 1}
    ]


def verify_chain(db: Path, station: str = "xa-thu") -> tuple[bool, str]:
    """The chain check `loa airtime verify` runs, read-only, in this process."""
    from airtime.store import verify_station
    from loa.db import create_db_engine

    engine = create_db_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            result = verify_station(conn, station)
            return bool(result.ok), str(result)
    finally:
        engine.dispose()


DECODERS = (b"ffmpeg", b"mpg123")  # the playout's decoder processes (`scheduler.output.decoder`)


def decoder_children(pid: int) -> list[int]:
    """Decoder processes (ffmpeg, mpg123) whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and any(name in cmd for name in DECODERS):
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"

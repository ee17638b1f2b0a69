"""Bulletins on the air, in process: the daemon's own air worker on the wall clock, a real
SQLite file, the file output (real ffmpeg decoding of real audio, written as the device would
play it) wrapped by the withdrawal guard, the board that hands khan-cap bulletins over.

- a bulletin withdrawn while it airs is cut (interrupted, its row says withdrawn), never retried;
- one withdrawn while it waits behind another emergency never starts (skipped, withdrawn);
- a head bulletin withdrawn while it heads a slot is cut, and the slot resumes without it;
- a khan-cap airing that failed (its file undecodable) is retried while the daemon runs, and
  airs once its file is good; one that keeps failing is given up after its attempts, told once
  per change.
"""

from __future__ import annotations

import threading
import time as walltime
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from airtime.models import Airtime
from loa import bulletin_wiring
from loa.db import open_database, station_db
from scheduler import bulletin_store as store
from scheduler.airlog import AirLog
from scheduler.bulletin_guard import CUT_FOR_WITHDRAWAL, WITHDRAWN, GuardedOutput, Watch, cut_now
from scheduler.bulletins import Board
from scheduler.clock import SystemClock
from scheduler.daemon import Daemon
from scheduler.lock import StationLock
from scheduler.output.file import FileOutput
from scheduler.runner import Runner, Spot
from scheduler.spec import SlotSpec, StationSpec
from tests.audio_media import tone

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


class Station:
    def __init__(self, tmp_path: Path, slot_at: datetime | None = None) -> None:
        self.root = tmp_path / "lib"
        (self.root / "a").mkdir(parents=True)
        self.engine = open_database(f"sqlite:///{tmp_path}/loa.db")
        slots = ()
        if slot_at is not None:
            slots = (SlotSpec("thu", slot_at.astimezone(HCM).time(), 14.0, pause_s=0.0),)
        station = StationSpec(id="xa", name="Xã", tz=HCM, weights={"a": 1}, slots=slots)
        self.spots = []
        for i in range(3):
            path = self.root / "a" / f"a{i}.wav"
            tone(path, 440.0 + 110 * i, 3.0, amp=0.3)
            self.spots.append(Spot(f"a-{i}", "a", f"a/a{i}.wav", path, f"A {i}", 3.0))
        self.airlog = AirLog(station_db(self.engine), station.id)
        self.output = FileOutput(tmp_path / "air.wav", realtime=True)
        runner = Runner(station, self.airlog, self.output, SystemClock(), spots=lambda: [])
        self.events: list[tuple[str, str]] = []
        self.daemon = Daemon(
            load_station=lambda: station,
            airlog=self.airlog,
            runner=runner,
            lock=StationLock(tmp_path / "loa.lock"),
            control_path=tmp_path / "loa.sock",
            resolve_adhoc=lambda req: [],
            heartbeat_s=0.5,
        )
        self.board = Board(
            station_db(self.engine), "xa", lambda: self.root, HCM, topics=lambda: ["a"]
        )

        def event(level: str, source: str, message: str) -> None:
            self.events.append((level, message))
            self.airlog.event(level, source, message)

        self.guard: GuardedOutput = bulletin_wiring.attach(
            self.daemon, self.board, lambda: self.spots, event
        )
        self.thread = threading.Thread(
            target=self.daemon.run_forever, kwargs={"handle_signals": False}
        )
        self.thread.start()

    def air_now(self, spots: list[Spot]) -> object:
        return self.daemon.enqueue_adhoc(spots, "emergency")

    def bulletin(
        self, bid: int, priority: str, seconds: float, good: bool = True, **fields: object
    ) -> Path:
        """A bulletin as the fetcher stores it (its file in .ban-tin, its row measured)."""
        folder = store.folder(self.root)
        folder.mkdir(exist_ok=True)
        path = folder / f"{bid}-000000000000.wav"
        if good:
            tone(path, 1000.0, seconds, amp=0.3)
        else:
            path.write_bytes(b"not audio at all " * 4000)
        store.save(
            self.board.db,
            store.Bulletin(
                id=bid, title=f"Tin {bid}", priority=priority, filename=path.name,
                sha256="0" * 64, path=f"{store.FOLDER}/{path.name}", playable_s=seconds,
                received_at=store.now(), **fields,
            ),
        )  # fmt: skip
        return path

    def withdraw(self, bid: int) -> int:
        """What the fetcher does when it learns of a withdrawal."""
        store.update(self.board.db, bid, withdrawn_at=store.now())
        self.board.withdrawn(bid)
        return self.guard.withdraw(bid)

    def rows(self) -> list[Airtime]:
        with Session(self.engine) as session:
            return list(session.exec(select(Airtime).order_by(Airtime.seq)))

    def stop(self) -> None:
        self.board.stop()
        self.daemon.stopping.set()
        self.thread.join(15)
        self.output.close()
        self.board.db.close()
        self.engine.dispose()


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    s = Station(tmp_path)
    yield s
    s.stop()


def wait_for(condition, timeout: float = 20.0) -> object:
    end = walltime.monotonic() + timeout
    while walltime.monotonic() < end:
        got = condition()
        if got:
            return got
        walltime.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


def of(rows: list[Airtime], bid: int) -> list[Airtime]:
    return [r for r in rows if r.bulletin == str(bid)]


def test_cut_now_rule() -> None:
    items = ()
    w = Watch(items)
    assert cut_now(w, 0)  # nothing of the plan started: cut before its first sample
    w.started, w.ended = {0}, set()
    assert cut_now(w, 0)  # it plays: cut it
    assert not cut_now(w, 1)  # an earlier spot plays: wait for the bulletin's start
    w.started, w.ended = {0}, {0}
    assert cut_now(w, 1)  # between two items: nothing plays
    w.started, w.ended = {0, 1}, {0, 1}
    assert not cut_now(w, 1)  # over already


def test_a_bulletin_withdrawn_on_air_is_cut_and_not_retried(station: Station) -> None:
    station.bulletin(7, "khan-cap", 8.0)
    station.board.retry_s = (0.2,)
    assert [s.id for s in station.board.air_emergencies(station.air_now)] == ["bulletin-7-khan-cap"]
    wait_for(lambda: [r for r in of(station.rows(), 7) if r.status == "playing"])
    walltime.sleep(1.0)
    assert station.withdraw(7) == 1
    (row,) = wait_for(lambda: [r for r in of(station.rows(), 7) if r.status != "playing"])
    assert row.status == "interrupted" and row.error == WITHDRAWN
    assert 0.8 < row.played_s < 3.0  # 1 s aired, then the 0.5 s fade; not the 8 s
    walltime.sleep(1.5)
    station.board.air_emergencies(station.air_now)
    assert len(of(station.rows(), 7)) == 1  # withdrawn: never handed over again


def test_one_withdrawn_while_it_waits_never_starts(station: Station) -> None:
    station.bulletin(1, "khan-cap", 3.0)
    station.bulletin(2, "khan-cap", 3.0)
    handed = station.board.air_emergencies(station.air_now)
    assert len(handed) == 2  # each its own emergency: the withdrawal cuts one alone
    wait_for(lambda: [r for r in of(station.rows(), 1) if r.status == "playing"])
    assert station.withdraw(2) == 0  # queued behind the first: not on the output yet
    wait_for(lambda: len([r for r in station.rows() if r.status != "playing"]) == 2)
    first, second = of(station.rows(), 1), of(station.rows(), 2)
    assert [r.status for r in first] == ["completed"]
    assert [(r.status, r.error, r.started_at) for r in second] == [("skipped", WITHDRAWN, None)]


def test_a_withdrawn_head_bulletin_is_cut_and_its_slot_resumes_without_it(
    tmp_path: Path,
) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    s = Station(tmp_path, slot_at=at)
    try:
        s.bulletin(5, "uu-tien", 6.0)
        head = wait_for(lambda: [r for r in of(s.rows(), 5) if r.status == "playing"], 15)
        assert head[0].slot == "thu"
        walltime.sleep(0.8)
        assert s.withdraw(5) == 1
        done = wait_for(
            lambda: [r for r in s.rows() if r.slot == "thu" and r.status == "completed"], 20
        )
        rows = s.rows()
        (cut,) = of(rows, 5)
        assert cut.status == "interrupted" and cut.error == WITHDRAWN and cut.played_s < 3.0
        skipped = [r for r in rows if r.status == "skipped"]
        assert skipped and all(r.error == CUT_FOR_WITHDRAWAL for r in skipped)
        assert done[0].spot.startswith("a-") and done[0].started_at >= cut.ended_at
    finally:
        s.stop()


def test_a_failed_emergency_is_retried_while_the_daemon_runs(station: Station) -> None:
    path = station.bulletin(3, "khan-cap", 2.0, good=False)
    station.board.retry_s = (1.5, 1.5)
    station.board.air_emergencies(station.air_now)
    (failed,) = wait_for(lambda: [r for r in of(station.rows(), 3) if r.status == "failed"])
    assert failed.kind == "emergency" and failed.error
    tone(path, 1000.0, 2.0, amp=0.3)  # the file is good again (a disk that recovered)
    rows = wait_for(lambda: [r for r in of(station.rows(), 3) if r.status == "completed"], 20)
    assert len(rows) == 1 and [r.status for r in of(station.rows(), 3)] == ["failed", "completed"]
    told = [m for _, m in station.events if "bulletin) 3" in m]
    assert len(told) == 1 and "attempt 2 of 3" in told[0]
    # and `loa status`'s problems (the station events) show it
    assert any("attempt 2 of 3" in e.message for e in station.airlog.events(limit=10))


def test_an_emergency_that_keeps_failing_is_given_up(station: Station) -> None:
    station.bulletin(4, "khan-cap", 2.0, good=False)
    station.board.retry_s = (0.3, 0.3)
    station.board.air_emergencies(station.air_now)
    wait_for(lambda: 4 in station.board.given_up, 20)
    walltime.sleep(1.0)
    station.board.air_emergencies(station.air_now)
    assert [r.status for r in of(station.rows(), 4)] == ["failed"] * 3
    told = [(level, m) for level, m in station.events if "bulletin) 4" in m]
    assert [level for level, _ in told] == ["warning", "warning", "error"]
    assert "given up until the daemon restarts" in told[-1][1]


def test_a_completed_emergency_is_not_aired_again_in_the_same_run(station: Station) -> None:
    station.bulletin(6, "khan-cap", 1.0, times=2)
    station.board.retry_s = (0.2,)
    station.board.air_emergencies(station.air_now)
    wait_for(lambda: [r for r in of(station.rows(), 6) if r.status == "completed"])
    walltime.sleep(1.0)
    assert station.board.air_emergencies(station.air_now) == []
    assert [r.status for r in of(station.rows(), 6)] == ["completed"]
    assert not [m for _, m in station.events if "bulletin) 6" in m]  # nothing went wrong

"""Relay slots (tiếp sóng) through the real stack: icecast2 fed by ffmpeg -> LiveSource ->
the device output -> the private PulseAudio sink, recorded from its monitor; the airtime rows
are read back from a real SQLite log. Every assertion is about what came out."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from airtime.models import Airtime
from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.clock import SystemClock
from scheduler.output import open_output
from scheduler.output.device import DeviceOutput
from scheduler.relay import CONNECT_S
from scheduler.runner import Outcome, Runner
from scheduler.slots import Occurrence
from scheduler.spec import RelaySpec, SlotSpec, Spot, StationSpec
from tests.airlog_engine import engine_of
from tests.audio_capture import Capture, MonitorCapture, sounding
from tests.audio_media import tone
from tests.stream_fixture import TONES, Feeder, IcecastServer, Server

pytestmark = pytest.mark.audio

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
FALLBACK_HZ = 300.0
TIMING_RERUNS = pytest.mark.flaky(reruns=2, reruns_delay=1)


@pytest.fixture(scope="module")
def device(virtual_audio: dict[str, str]) -> Iterator[DeviceOutput]:
    out = open_output("device", device="default")
    assert isinstance(out, DeviceOutput)
    assert out.is_open, out.error
    yield out
    out.close()


@pytest.fixture(scope="module")
def fallback_spots(tmp_path_factory: pytest.TempPathFactory) -> list[Spot]:
    """The slot's topic: four 2.5 s spots at 300 Hz (the fallback, when the stream is down)."""
    path = tone(tmp_path_factory.mktemp("lib") / "nhac.wav", FALLBACK_HZ, 2.5, amp=0.3)
    return [
        Spot(f"fb-{i}", "chi-so", f"chi-so/nhac-{i}.wav", path, f"Tin dự phòng {i}", 2.5)
        for i in range(1, 5)
    ]


def relay_runner(
    tmp_path: Path,
    output: DeviceOutput,
    url: str,
    length_s: float,
    spots: list[Spot],
    fallback: str = "spots",
    timeout_s: float = 10.0,
) -> tuple[Runner, Occurrence, AirLog]:
    engine = open_database(f"sqlite:///{tmp_path}/loa.db")
    at = datetime.now(HCM).replace(microsecond=0) + timedelta(seconds=CONNECT_S + 3)
    relay = RelaySpec("vov1", "VOV1", url, fallback, timeout_s)
    slot = SlotSpec("thoi-su", at.time(), length_s, topics=("chi-so",), relay=relay)
    station = StationSpec(id="xa", name="Xã", tz=HCM, weights={"chi-so": 1}, slots=(slot,))
    airlog = AirLog(station_db(engine), station.id)
    runner = Runner(station, airlog, output, SystemClock(), spots=lambda: spots)
    return runner, Occurrence(at, slot), airlog


def rows(airlog: AirLog) -> list[Airtime]:
    from sqlmodel import Session, select

    with Session(engine_of(airlog)) as session:
        return list(session.exec(select(Airtime).order_by(Airtime.started_at)))  # type: ignore[arg-type]


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def tones_in(cap: Capture, t0: float, t1: float, step: float = 0.25) -> list[float]:
    """The dominant frequency of every `step` window from t0 to t1 (0 for a silent one)."""
    out = []
    t = t0
    while t + step <= t1:
        seg = cap.x[cap.frame_of(t) : cap.frame_of(t + step)]
        loud = len(seg) and float(np.sqrt(np.mean(seg**2))) > 0.01
        out.append(round(dominant_hz(seg, cap.rate)) if loud else 0.0)
        t += step
    return out


def nearest_tone(hz: float) -> float:
    return min((*TONES, FALLBACK_HZ, 0.0), key=lambda f: abs(f - hz))


def air_in_thread(runner: Runner, occ: Occurrence) -> tuple[threading.Thread, list[Outcome]]:
    out: list[Outcome] = []
    thread = threading.Thread(target=lambda: out.append(runner.air_slot(occ)), daemon=True)
    thread.start()
    return thread, out


@TIMING_RERUNS
def test_tone_sequence_is_relayed_on_time_and_logged(
    tmp_path: Path, device: DeviceOutput, stream_server: Server, fallback_spots: list[Spot]
) -> None:
    feeder = Feeder(stream_server)
    try:
        runner, occ, airlog = relay_runner(tmp_path, device, feeder.url, 8.0, fallback_spots)
        cap_run = MonitorCapture().wait_ready()
        outcome = runner.air_slot(occ)
        time.sleep(0.3)
        cap = cap_run.stop()
    finally:
        feeder.stop()
    assert outcome.status == "aired", outcome
    at = occ.at.timestamp()
    first, last = sounding(cap.x)
    # the first relayed sample at the slot's instant (the spots' target: within 20 ms)
    assert abs(cap.t_of(first) - at) < 0.03, cap.t_of(first) - at
    # cut at the frame's end (its last 50 ms fade out)
    assert abs(cap.t_of(last) - (at + 8.0)) < 0.08, cap.t_of(last) - at
    # what aired is the stream: the known sequence 440 -> 660 -> 880 -> 440 ..., 1 s each
    heard = [nearest_tone(f) for f in tones_in(cap, at + 0.1, at + 7.9)]
    assert set(heard) <= set(TONES), heard
    changes = [(a, b) for a, b in itertools.pairwise(heard) if a != b]
    assert len(changes) >= 6, heard
    for a, b in changes:
        assert TONES.index(b) == (TONES.index(a) + 1) % 3, heard
    # one relay row: the source id, its name, measured on the DAC clock
    (row,) = rows(airlog)
    assert (row.kind, row.slot, row.spot, row.title, row.status) == (
        "relay",
        "thoi-su",
        "vov1",
        "VOV1",
        "completed",
    )
    assert row.started_at is not None and row.ended_at is not None
    assert abs(row.started_at.timestamp() - at) < 0.005
    assert abs(row.played_s - 8.0) < 0.001
    assert row.path == feeder.url


def test_server_killed_mid_frame_drops_fallback_and_resumes(
    tmp_path: Path, device: DeviceOutput, fallback_spots: list[Spot]
) -> None:
    server = IcecastServer()
    feeder = Feeder(server, mount="/vov1.mp3")
    try:
        runner, occ, airlog = relay_runner(
            tmp_path, device, feeder.url, 26.0, fallback_spots, timeout_s=3.0
        )
        cap_run = MonitorCapture().wait_ready()
        thread, outcome = air_in_thread(runner, occ)
        at = occ.at.timestamp()
        time.sleep(max(0.0, at + 5.0 - time.time()))
        server.kill()  # mid-frame: the stream dies
        killed = time.time()
        time.sleep(max(0.0, at + 13.0 - time.time()))
        server.start()
        feeder.start()
        back = time.time()
        thread.join(40)
        time.sleep(0.3)
        cap = cap_run.stop()
    finally:
        feeder.stop()
        server.close()
    assert outcome and outcome[0].status == "aired", outcome
    got = rows(airlog)
    relay = [r for r in got if r.kind == "relay" and r.status != "failed"]
    drops = [r for r in got if r.kind == "relay" and r.status == "failed"]
    spots = [r for r in got if r.kind == "scheduled"]
    # two stretches of relay around one drop, the fallback spot inside the drop
    assert len(relay) == 2, [(r.kind, r.status, r.played_s) for r in got]
    assert relay[0].status == "interrupted" and relay[1].status == "completed"
    assert len(drops) == 1
    drop = drops[0]
    assert drop.started_at is not None and drop.ended_at is not None
    # the drop starts when the stream stopped (icecast dies: the jitter buffer plays out first)
    assert killed - 0.5 < drop.started_at.timestamp() < killed + 2.5
    # and ends once it was back (reconnect with backoff + refill of the jitter buffer)
    assert back < drop.ended_at.timestamp() < back + 8.0
    assert "mất tín hiệu" in (drop.error or "")
    assert relay[0].ended_at == drop.started_at and relay[1].started_at == drop.ended_at
    # the fallback: the slot's spots back to back from source_timeout after the drop on, the
    # one playing when the relay resumes cut (faded) there
    assert spots and all(r.status == "completed" for r in spots[:-1]), spots
    assert spots[-1].status == "interrupted"
    assert all(r.started_at and r.ended_at for r in spots)
    fb, fb_last = spots[0], spots[-1]
    assert fb.started_at is not None and fb_last.ended_at is not None
    fallback_gap = fb.started_at.timestamp() - drop.started_at.timestamp()
    assert 3.0 <= fallback_gap < 4.5, fallback_gap
    assert abs(fb_last.ended_at.timestamp() - drop.ended_at.timestamp()) < 0.1
    for a, b in itertools.pairwise(spots):
        assert a.ended_at is not None and b.started_at is not None
        assert abs((b.started_at - a.ended_at).total_seconds()) < 0.3
    # heard: tones, then the fallback's 300 Hz, then tones again up to the frame's end
    assert relay[1].ended_at is not None
    assert abs(relay[1].ended_at.timestamp() - (at + 26.0)) < 0.005
    assert fb.ended_at is not None
    mid = (fb.started_at.timestamp() + fb.ended_at.timestamp()) / 2
    assert nearest_tone(tones_in(cap, mid - 0.25, mid + 0.25)[0]) == FALLBACK_HZ
    after = [nearest_tone(f) for f in tones_in(cap, drop.ended_at.timestamp() + 0.3, at + 25.5)]
    assert set(after) <= set(TONES) and len(set(after)) == 3, after
    before = [nearest_tone(f) for f in tones_in(cap, at + 0.2, killed - 0.2)]
    assert set(before) <= set(TONES), before
    # total accounted: relayed + dropped = the frame
    total = sum(r.played_s for r in relay) + (
        drop.ended_at.timestamp() - drop.started_at.timestamp()
    )
    assert abs(total - 26.0) < 0.01


def test_silent_stream_counts_as_down(
    tmp_path: Path, device: DeviceOutput, stream_server: Server, fallback_spots: list[Spot]
) -> None:
    feeder = Feeder(stream_server, signal="silence")
    try:
        runner, occ, airlog = relay_runner(
            tmp_path, device, feeder.url, 8.0, fallback_spots, timeout_s=2.0
        )
        cap_run = MonitorCapture().wait_ready()
        outcome = runner.air_slot(occ)
        time.sleep(0.3)
        cap = cap_run.stop()
    finally:
        feeder.stop()
    assert outcome.status == "aired"
    got = rows(airlog)
    drops = [r for r in got if r.kind == "relay" and r.status == "failed"]
    spots = [r for r in got if r.kind == "scheduled"]
    assert len(drops) == 1 and "silence" in (drops[0].error or ""), got
    assert drops[0].started_at is not None and drops[0].ended_at is not None
    at = occ.at.timestamp()
    assert abs(drops[0].started_at.timestamp() - at) < 0.005  # silent from the first sample
    assert abs(drops[0].ended_at.timestamp() - (at + 8.0)) < 0.005
    relayed = sum(r.played_s for r in got if r.kind == "relay")
    assert relayed == 0.0
    # the fallback fills from source_timeout on: the spots that fit the rest of the frame
    assert len(spots) == 2 and all(r.status == "completed" for r in spots), spots
    assert spots[0].started_at is not None and spots[1].ended_at is not None
    assert 2.0 <= spots[0].started_at.timestamp() - at < 3.0
    first, _ = sounding(cap.x)
    assert cap.t_of(first) - at > 1.9  # nothing but silence before the fallback
    heard = tones_in(cap, spots[0].started_at.timestamp() + 0.2, spots[1].ended_at.timestamp())
    assert {nearest_tone(f) for f in heard} == {FALLBACK_HZ}

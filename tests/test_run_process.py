"""The real `loa run` process on the wall clock, through the virtual PulseAudio sink.

A short slot is configured a few seconds ahead; the daemon scans its library of tone spots,
APScheduler fires the slot, the device output plays it, and the sink's monitor is recorded.
Asserted from the recording: the slot's first sample within 20 ms of its instant, the log's
start times against the capture, the content of each logged spot. Then kill -9 in the middle of
a spot and a restart: the open row is closed as interrupted, the slot is not aired again from
its start, and the log verifies.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.audio_capture import MonitorCapture, sounding
from tests.run_station import HCM, ROOT, write_station

pytestmark = [pytest.mark.audio, pytest.mark.slow]

FREQS = {"a/a1.wav": 440.0, "a/a2.wav": 660.0, "b/b1.wav": 880.0, "b/b2.wav": 1100.0}


def station(tmp_path: Path, start: datetime, length_s: int, spot_s: float) -> Path:
    return write_station(
        tmp_path,
        [("thu", start, length_s)],
        spot_s=spot_s,
        spots=FREQS,
        station='timezone = "Asia/Ho_Chi_Minh"',
        sections='[output]\nbackend = "device"\ndevice = "default"\n',
    )


def start_loa(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    return out


def loa_status(config: Path) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), "status", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


def rows(config: Path) -> list[sqlite3.Row]:
    con = sqlite3.connect(config.parent / "data" / "loa.db")
    con.row_factory = sqlite3.Row
    try:
        return con.execute("select * from airtime order by seq").fetchall()
    finally:
        con.close()


def utc(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def switch_frame(x: np.ndarray, rate: int, around: int, before: float, after: float) -> int:
    """Where the tone changes from `before` Hz to `after` Hz near frame `around` (5 ms windows)."""
    win, hop = rate // 200, rate // 1000
    t = np.arange(win) / rate
    ref_a, ref_b = np.exp(-2j * np.pi * before * t), np.exp(-2j * np.pi * after * t)
    for start in range(around - rate // 10, around + rate // 10, hop):
        seg = x[start : start + win]
        if abs(seg @ ref_b) > abs(seg @ ref_a):
            return start + win // 2
    raise AssertionError(f"no switch from {before} to {after} Hz near frame {around}")


def freq_at(x: np.ndarray, rate: int, frame: int, seconds: float = 0.2) -> float:
    seg = x[frame : frame + int(rate * seconds)]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
    return float(np.argmax(spec[1:]) + 1) * rate / len(seg)


@pytest.fixture
def slot_start() -> datetime:
    # the daemon needs a few seconds to start, scan and open the device
    return (datetime.now(UTC) + timedelta(seconds=9)).replace(microsecond=0)


def wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


@pytest.fixture
def loa_cleanup() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_loa_run_airs_the_slot_on_time(
    virtual_audio: dict[str, str], tmp_path: Path, slot_start: datetime, loa_cleanup: list
) -> None:
    config = station(tmp_path, slot_start, length_s=8, spot_s=1.5)
    proc = start_loa(config, "run")
    loa_cleanup.append(proc)
    wait_until(slot_start - timedelta(seconds=2))
    assert proc.poll() is None, proc.communicate()[0]
    cap = MonitorCapture().wait_ready()
    wait_until(slot_start + timedelta(seconds=1))
    code, live = loa_status(config)
    assert code == 0 and live["alive"] is True
    assert [p["slot"] for p in live["on_air"]] == ["thu"]
    # an invalid edit while on air: refused, shown in `loa status`, the slot goes on
    text = config.read_text("utf-8")
    config.write_text(text.replace('length = "8s"', 'length = "8 giây"'), "utf-8")
    time.sleep(2.0)  # the daemon looks at config.toml every heartbeat (1 s)
    code, refused = loa_status(config)
    assert code == 3
    assert refused["alive"] is True
    assert refused["config_problems"] == [
        'slots[0].length: "8 giây" is not a duration ("90s", "10m", "1h30m" or a number of seconds)'
    ]
    assert "8 giây" in (refused["config_error"] or "")
    wait_until(slot_start + timedelta(seconds=8.5))
    capture = cap.stop()
    config.write_text(text, "utf-8")  # the good config again: taken at the next heartbeat
    time.sleep(1.5)
    proc.send_signal(signal.SIGHUP)  # `systemctl reload loa`: re-read without any change
    time.sleep(1.5)
    out = stop(proc)
    assert "edit refused" in out
    assert out.count("config.toml reloaded") == 2, out
    logged = [r for r in rows(config) if r["status"] == "completed"]
    assert len(logged) == 4, out  # 4 spots of 1.5 s fill an 8 s slot
    onset, _ = sounding(capture.x)
    start_error_ms = (capture.t_of(onset) - slot_start.timestamp()) * 1000
    assert abs(start_error_ms) < 20, f"first sample {start_error_ms:.1f} ms from the slot instant"
    assert utc(logged[0]["started_at"]).timestamp() == pytest.approx(capture.t_of(onset), abs=0.02)
    for prev, row in itertools.pairwise(logged):
        # the log's start is the capture's: the tone switches at the logged instant
        frame = capture.frame_of(utc(row["started_at"]).timestamp())
        switch = switch_frame(
            capture.x, capture.rate, frame, FREQS[prev["path"]], FREQS[row["path"]]
        )
        assert abs(switch - frame) * 1000 / capture.rate < 20, row["path"]
    for row in logged:
        frame = capture.frame_of(utc(row["started_at"]).timestamp())
        assert abs(freq_at(capture.x, capture.rate, frame + 2400) - FREQS[row["path"]]) < 15
        assert row["played_s"] == pytest.approx(1.5, abs=0.01)
        assert utc(row["ended_at"]) - utc(row["started_at"]) == pytest.approx(
            timedelta(seconds=row["played_s"]), abs=timedelta(milliseconds=5)
        )
    assert "station xa-thu stopped" in out


def test_kill_9_mid_spot_then_restart(
    virtual_audio: dict[str, str], tmp_path: Path, slot_start: datetime, loa_cleanup: list
) -> None:
    config = station(tmp_path, slot_start, length_s=24, spot_s=4.0)
    proc = start_loa(config, "run")
    loa_cleanup.append(proc)
    wait_until(slot_start + timedelta(seconds=5))  # inside the second spot
    open_rows = [r for r in rows(config) if r["status"] == "playing"]
    assert len(open_rows) == 1, rows(config)
    killed = open_rows[0]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = datetime.now(UTC)
    time.sleep(1.0)
    again = start_loa(config, "run")
    loa_cleanup.append(again)
    wait_until(slot_start + timedelta(seconds=25))
    out = stop(again)
    logged = rows(config)
    closed = next(r for r in logged if r["id"] == killed["id"])
    assert closed["status"] == "interrupted"
    # closed at the last heartbeat: within the heartbeat interval before the kill
    ended = utc(closed["ended_at"])
    assert killed_at - timedelta(seconds=2.5) <= ended <= killed_at
    assert closed["played_s"] == pytest.approx(
        (ended - utc(closed["started_at"])).total_seconds(), abs=0.01
    )
    first = logged[0]
    assert first["status"] == "completed"
    after = [r for r in logged if r["started_at"] and utc(r["started_at"]) > killed_at]
    assert after, out  # the slot resumed in its remaining time
    assert all(utc(r["ended_at"]) <= slot_start + timedelta(seconds=24.1) for r in after)
    aired = [r["spot"] for r in logged if r["status"] in ("completed", "interrupted")]
    assert len(aired) == len(set(aired))  # not aired again from its start: no spot twice
    verify = subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), "airtime", "verify"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert os.path.exists(config.parent / "data" / "loa.db")


def test_the_readme_run_command_airs_the_demo_slot(tmp_path: Path, loa_cleanup: list) -> None:
    """`loa run --demo` on the shipped config: a first spot airs within about 20 s and the
    airtime log shows it (into a WAV file here; the sound card where there is one)."""
    shipped = (ROOT / "config.toml").read_text("utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        shipped.replace(
            'root = "audio_library/demo"', f'root = "{ROOT / "audio_library" / "demo"}"'
        )
        .replace('backend = "device"', 'backend = "file"')
        .replace('# path = "data/air.wav"', 'path = "data/air.wav"'),
        "utf-8",
    )
    launched = datetime.now(UTC)
    proc = start_loa(config, "run", "--demo")
    loa_cleanup.append(proc)
    deadline = time.monotonic() + 40
    aired: list[sqlite3.Row] = []
    while time.monotonic() < deadline and not aired:
        time.sleep(0.5)
        if not (tmp_path / "data" / "loa.db").exists():
            continue
        try:
            aired = [r for r in rows(config) if r["status"] == "completed"]
        except sqlite3.OperationalError:  # the daemon is still creating its tables
            continue
    out = stop(proc)
    assert aired, out
    first = min(utc(r["started_at"]) for r in rows(config) if r["started_at"])
    assert 15 < (first - launched).total_seconds() < 25, out
    assert {r["slot"] for r in rows(config)} == {"demo"}
    assert "Buổi phát thử (demo slot)" in out
    assert (tmp_path / "data" / "air.wav").stat().st_size > 48000


def test_the_station_survives_its_sound_server_dying(tmp_path: Path, loa_cleanup: list) -> None:
    """The sound server dies in the middle of a slot and comes back: the plays it broke are
    logged failed with the reason, `loa status` shows the device problem, the daemon reopens
    the device and the next slot airs. Uses a PulseAudio of its own, so it can be killed."""
    import shutil

    from tests.audio_fixture import start_virtual_audio, stop_virtual_audio, unavailable

    if shutil.which("pulseaudio") is None:
        unavailable("PulseAudio is not installed")
    va = tmp_path / "va"
    env = start_virtual_audio(va)
    first = (datetime.now(UTC) + timedelta(seconds=9)).replace(microsecond=0)
    config = station(tmp_path, first, length_s=16, spot_s=2.0)
    second = first + timedelta(seconds=26)
    config.write_text(
        config.read_text("utf-8")
        + f'\n[[slots]]\nname = "sau"\nstart = "{second.astimezone(HCM):%H:%M:%S}"\n'
        'length = "6s"\n',
        "utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    loa_cleanup.append(proc)
    try:
        wait_until(first + timedelta(seconds=4))
        stop_virtual_audio(va)  # the sound server dies mid-slot
        time.sleep(3)
        code, status = loa_status(config)
        assert code == 0
        assert any(p["source"] == "output" for p in status["problems"])
        start_virtual_audio(va)  # and comes back
        restarted = datetime.now(UTC)
        wait_until(second + timedelta(seconds=7))
        out = stop(proc)
    finally:
        stop_virtual_audio(va)
    logged = rows(config)
    broken = [r for r in logged if r["slot"] == "thu" and r["status"] == "failed"]
    assert broken and all("sound device" in (r["error"] or "") for r in broken), out
    assert any(r["slot"] == "thu" and r["status"] == "completed" for r in logged)
    # once the device is back, the rest of the broken slot airs inside its window
    resumed = [
        r for r in logged
        if r["slot"] == "thu" and r["status"] == "completed" and utc(r["started_at"]) > restarted
    ]  # fmt: skip
    assert resumed, out
    assert all(utc(r["ended_at"]) <= first + timedelta(seconds=16.1) for r in resumed)
    later = [r for r in logged if r["slot"] == "sau"]
    assert later and all(r["status"] == "completed" for r in later), out
    assert "is back" in out

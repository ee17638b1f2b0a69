"""Record what the virtual sink really played (its monitor, through `parec`) and analyse it.

Timing model (from ../shared/audio-recipe): the null sink is clocked, so capture frame n was
played at r0 + n / rate. Every read of parec's output at wall time t_k with N_k frames so far
bounds r0 <= t_k - N_k / rate; the minimum over all reads estimates r0 (late by the smallest
delivery delay, a few ms). The sink feeds its monitor one block (our --latency-msec) ahead of
its play clock, so r0 is shifted by that latency. Times are POSIX seconds (time.time()), the
clock the outputs report in.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass

import numpy as np

RATE = 48000


class MonitorCapture:
    def __init__(self, source: str | None = None, rate: int = RATE, latency_ms: int = 5) -> None:
        self.rate = rate
        self.latency_ms = latency_ms
        self.source = source or os.environ.get("PULSE_SOURCE", "station.monitor")
        self._buf = bytearray()
        self._marks: list[tuple[float, int]] = []
        self._proc = subprocess.Popen(
            [
                "parec",
                f"--device={self.source}",
                "--format=float32le",
                f"--rate={rate}",
                "--channels=1",
                f"--latency-msec={latency_ms}",
                "--raw",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()

    def _reader(self) -> None:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while True:
            b = os.read(fd, 1 << 16)
            t = time.time()
            if not b:
                break
            self._buf += b
            self._marks.append((t, len(self._buf) // 4))

    def wait_ready(self, timeout: float = 5.0) -> MonitorCapture:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._marks and self._marks[-1][1] >= self.rate // 10:
                return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.005)
        raise RuntimeError(f"capture from {self.source} is not flowing")

    def stop(self) -> Capture:
        self._proc.terminate()
        self._proc.wait(5)
        self._thread.join(5)
        n = len(self._buf) // 4
        x = np.frombuffer(bytes(self._buf[: n * 4]), dtype="<f4").copy()
        marks = np.array(self._marks, dtype=float)
        r0 = float((marks[:, 0] - marks[:, 1] / self.rate).min()) + self.latency_ms / 1000
        return Capture(x=x, rate=self.rate, r0=r0)


@dataclass
class Capture:
    x: np.ndarray  # mono float32 (the sink's stereo downmixed by parec)
    rate: int
    r0: float  # POSIX time at which frame 0 was played

    def t_of(self, frame: float) -> float:
        return self.r0 + frame / self.rate

    def frame_of(self, t: float) -> int:
        return round((t - self.r0) * self.rate)


def sounding(x: np.ndarray, thr: float = 0.02) -> tuple[int, int]:
    """(first, last+1) frame above `thr`; AssertionError if nothing sounded."""
    loud = np.flatnonzero(np.abs(x) > thr)
    if loud.size == 0:
        raise AssertionError("nothing above the threshold was captured")
    return int(loud[0]), int(loud[-1]) + 1


def longest_silence_ms(x: np.ndarray, rate: int, thr: float = 0.02) -> float:
    """Longest run of samples at or below `thr` inside the sounding part of `x`."""
    a, b = sounding(x, thr)
    quiet = np.abs(x[a:b]) <= thr
    if not quiet.any():
        return 0.0
    d = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
    runs = np.flatnonzero(d == -1) - np.flatnonzero(d == 1)
    return float(runs.max()) * 1000 / rate


def best_lag(x: np.ndarray, ref: np.ndarray, around: int, window: int) -> tuple[int, float]:
    """The lag (frame of x where ref starts) within around±window with the highest normalised
    correlation, and that correlation."""
    best = (around, -1.0)
    nref = float(np.linalg.norm(ref)) + 1e-12
    for lag in range(max(0, around - window), around + window + 1):
        seg = x[lag : lag + len(ref)]
        if len(seg) < len(ref):
            break
        c = float(np.dot(seg, ref) / (np.linalg.norm(seg) * nref + 1e-12))
        if c > best[1]:
            best = (lag, c)
    return best

"""LiveSource without a sound card: an HLS stream made by ffmpeg and served over HTTP, read at
the pace of the clock as the engine would; and the running loudness measure, pure."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from scheduler.output.decoder import ffmpeg_exe
from scheduler.output.stream import LiveSource, Loudness, parse_stream_info
from tests.stream_fixture import TONES, tone_expression

RATE = 48000


@pytest.fixture
def hls_url(tmp_path: Path) -> Iterator[str]:
    """A live HLS stream: ffmpeg writes 1 s AAC segments of the tone sequence, a local HTTP
    server serves them."""
    feed = subprocess.Popen(
        [
            ffmpeg_exe(), "-nostdin", "-v", "error", "-re", "-f", "lavfi",
            "-i", f"aevalsrc='{tone_expression()}':s=44100:c=stereo",
            "-c:a", "aac", "-b:a", "96k", "-f", "hls", "-hls_time", "1",
            "-hls_list_size", "6", "-hls_flags", "delete_segments",
            str(tmp_path / "live.m3u8"),
        ],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        end = time.monotonic() + 15
        while not (tmp_path / "live.m3u8").exists() and time.monotonic() < end:
            time.sleep(0.1)
        time.sleep(2.5)  # a few segments listed
        yield f"http://127.0.0.1:{server.server_address[1]}/live.m3u8"
    finally:
        server.shutdown()
        feed.kill()
        feed.wait(5)


def pump(live: LiveSource, seconds: float, block_s: float = 0.1) -> np.ndarray:
    """Read like the engine: one block per block of wall time."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and not live.finished:
        out.append(live.read(round(block_s * RATE)))
        time.sleep(block_s)
    return np.concatenate(out)


def test_hls_stream_is_relayed(hls_url: str) -> None:
    live = LiveSource(hls_url, RATE, length_s=4.0, timeout_s=5.0)
    try:
        end = time.monotonic() + 15
        while live.buffered_s < live.jitter / RATE and time.monotonic() < end:
            time.sleep(0.05)
        assert live.buffered_s >= live.jitter / RATE >= 3.0, live.last_error
        x = pump(live, 6.0)
    finally:
        live.close()
    assert len(x) == 4 * RATE  # exactly the frame, then finished
    assert live.finished
    assert live.info.get("codec") == "aac"
    marks = [(m.pos, m.what) for m in live.marks]
    assert marks[0] == (0, "relay_start")
    assert "drop_start" not in [w for _, w in marks]
    # the known tones came through, and the frame's end faded out
    spectrum = np.abs(np.fft.rfft(x[RATE : 2 * RATE] * np.hanning(RATE)))
    peak = float(np.fft.rfftfreq(RATE, 1 / RATE)[int(np.argmax(spectrum))])
    assert min(abs(peak - f) for f in TONES) < 5, peak
    assert abs(float(x[-1])) < 1e-3


def test_unreachable_stream_fills_silence_and_logs_one_drop() -> None:
    live = LiveSource("http://127.0.0.1:9/none.mp3", RATE, length_s=2.0, timeout_s=1.0)
    try:
        x = pump(live, 3.0)
    finally:
        live.close()
    assert len(x) == 2 * RATE and not np.any(x)
    whats = [m.what for m in live.marks]
    assert whats == ["drop_start", "down"], whats  # never live: no relay stretch
    assert live.marks[0].pos == 0
    assert live.connects >= 2  # retried with backoff meanwhile
    assert "refused" in (live.last_error or "").lower()


def test_loudness_gain_toward_the_target() -> None:
    t = np.arange(RATE // 10) / RATE
    quiet = (0.01 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # -43 dBFS RMS
    level = Loudness(-16.0, max_boost_db=12.0, rate=RATE)
    for _ in range(50):
        gain = level.update(quiet)
    assert gain == 12.0  # capped at max_boost
    loud = (0.9 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # -3.9 dBFS RMS
    level = Loudness(-16.0, rate=RATE)
    for _ in range(50):
        gain = level.update(loud)
    assert level.loudness_lufs is not None
    assert gain == pytest.approx(-16.0 - level.loudness_lufs)
    assert -12 < gain < -11
    before = level.mean_square
    level.update(np.zeros(RATE // 10, dtype=np.float32))  # silence is gated out
    assert level.mean_square == before


def test_stream_info_line() -> None:
    line = "  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 128 kb/s"
    assert parse_stream_info(line) == {"codec": "mp3", "bitrate_kbps": 128}
    assert parse_stream_info("Stream #0:0: Audio: vorbis, 44100 Hz, stereo, fltp") == {
        "codec": "vorbis",
        "bitrate_kbps": None,
    }
    assert parse_stream_info("Input #0, mp3, from 'x'") is None

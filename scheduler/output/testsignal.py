"""The operator's test signal: a 1 kHz tone, then a Vietnamese sentence (espeak-ng).

Made at run time into a temporary directory with the ffmpeg binary of imageio-ffmpeg and, if
installed, espeak-ng; without espeak-ng the signal is the tone alone (`TestSignal.speech` is
False so the caller can say so).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.output import ItemEnded, PlayItem, open_output

VI_SENTENCE = (
    "Đây là tín hiệu phát thử của đài truyền thanh xã. Một, hai, ba, bốn, năm. Xin cảm ơn."
)
TONE_HZ = 1000
TONE_S = 2.0
TONE_DBFS = -12.0


@dataclass(frozen=True)
class TestSignal:
    items: list[PlayItem]
    speech: bool  # False: espeak-ng is missing or failed, tone only
    note: str | None = None  # why there is no speech


@dataclass(frozen=True)
class TestResult:
    signal: TestSignal
    results: list[ItemEnded]

    @property
    def ok(self) -> bool:
        return all(r.status == "completed" for r in self.results)


def make_test_signal(workdir: Path, text: str = VI_SENTENCE) -> TestSignal:
    from scheduler.output.decoder import ffmpeg_exe  # imports numpy: only when a signal is made

    amp = 10 ** (TONE_DBFS / 20)
    tone = workdir / "tone-1khz.wav"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi",
         "-i", f"aevalsrc={amp:.4f}*sin(2*PI*{TONE_HZ}*t):s=48000:d={TONE_S}", str(tone)],
        check=True, timeout=60,
    )  # fmt: skip
    items = [PlayItem(tone, duration_s=TONE_S, key="tone")]
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return TestSignal(items, speech=False, note="espeak-ng is not installed")
    voice = workdir / "speech-vi.wav"
    r = subprocess.run(
        [espeak, "-v", "vi", "-s", "140", "-w", str(voice), text],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if r.returncode != 0 or not voice.is_file():
        return TestSignal(items, speech=False, note=f"espeak-ng failed: {r.stderr.strip()}")
    items.append(PlayItem(voice, offset_s=TONE_S + 0.5, key="speech"))
    return TestSignal(items, speech=True)


def play_test_signal(
    backend: str = "device",
    *,
    device: str | None = None,
    path: Path | None = None,
    timeout_s: float = 60.0,
) -> TestResult:
    """Play the test signal on the configured output and wait for it to end."""
    with tempfile.TemporaryDirectory(prefix="loa-test-signal-") as tmp:
        signal = make_test_signal(Path(tmp))
        out = open_output(backend, device=device, path=path)
        try:
            at = datetime.now(UTC) + timedelta(seconds=1.0)  # > the device buffer
            handle = out.play(signal.items, at)
            if not handle.wait(timeout_s):
                handle.cut()
                handle.wait(2)
            if backend == "device":
                time.sleep(0.2)  # the last buffer is still on its way to the speakers
        finally:
            out.close()
        return TestResult(signal, handle.results())

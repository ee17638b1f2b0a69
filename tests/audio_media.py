"""Test audio made with the real tools: ffmpeg (imageio-ffmpeg's binary) and espeak-ng."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from scheduler.output.decoder import ffmpeg_exe

VI_TEXT = "Xin chào bà con. Đây là bản tin cải cách hành chính của xã."

CODECS = {
    ".wav": ["-c:a", "pcm_s16le"],
    ".flac": ["-c:a", "flac"],
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    ".ogg": ["-c:a", "libvorbis", "-q:a", "5"],
    ".opus": ["-c:a", "libopus", "-b:a", "96k"],
    ".m4a": ["-c:a", "aac", "-b:a", "128k"],
}


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True, timeout=120)


def tone(
    path: Path, freq: float, seconds: float, rate: int = 48000, amp: float = 0.5, ch: int = 1
) -> Path:
    expr = f"{amp}*sin(2*PI*{freq}*t)" + (f"|{amp}*sin(2*PI*{freq}*t)" if ch == 2 else "")
    ffmpeg(
        "-f", "lavfi", "-i", f"aevalsrc={expr}:s={rate}:d={seconds}",
        *CODECS[path.suffix], str(path),
    )  # fmt: skip
    return path


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def speech(path: Path, text: str = VI_TEXT, volume_db: float = 0.0, rate: int = 44100) -> Path:
    raw = path.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-v", "vi", "-w", str(raw), text], check=True, timeout=60)
    ffmpeg(
        "-i", str(raw), "-af", f"volume={volume_db}dB", "-ar", str(rate),
        *CODECS[path.suffix], str(path),
    )  # fmt: skip
    raw.unlink()
    return path


def decode(path: Path, rate: int = 48000) -> np.ndarray:
    """Independent reference decode (whole file, mono float32)."""
    out = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1",
         "-ar", str(rate), "-"],
        check=True, capture_output=True, timeout=120,
    ).stdout  # fmt: skip
    return np.frombuffer(out, dtype="<f4").copy()


def write_wav(path: Path, x: np.ndarray, rate: int = 48000) -> Path:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def integrated_lufs(path: Path) -> float:
    """EBU R128 integrated loudness of a file, measured by ffmpeg's ebur128 filter."""
    r = subprocess.run(
        [ffmpeg_exe(), "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    summary = r.stderr[r.stderr.rfind("Summary:") :]
    m = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    assert m, r.stderr[-500:]
    return float(m.group(1))

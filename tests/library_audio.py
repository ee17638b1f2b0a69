"""Real audio files for the library tests, made with the ffmpeg of imageio-ffmpeg."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from audio_library.analysis import ffmpeg_exe

CODECS = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "96k"],
    "wav": ["-c:a", "pcm_s16le"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "3"],
    "opus": ["-c:a", "libopus", "-b:a", "48k"],
    "m4a": ["-c:a", "aac", "-b:a", "96k"],
    "aac": ["-c:a", "aac", "-b:a", "96k", "-f", "adts"],
    "flac": ["-c:a", "flac"],
}


def make_audio(
    path: Path,
    *,
    seconds: float = 3.0,
    lead: float = 0.0,
    trail: float = 0.0,
    freq: int = 440,
    volume_db: float = -12.0,
    title: str | None = None,
    silent: bool = False,
) -> Path:
    """A stereo 44.1 kHz tone of `seconds` with `lead`/`trail` seconds of digital silence,
    encoded by the codec its extension names (case-insensitive)."""
    ext = path.suffix.lower().lstrip(".")
    source = (
        f"anullsrc=r=44100:cl=stereo:d={seconds}"
        if silent
        else f"sine=f={freq}:r=44100:d={seconds},volume={volume_db}dB,aformat=channel_layouts=stereo"
    )
    graph = source
    if lead:
        graph += f",adelay={int(lead * 1000)}:all=1"
    if trail:
        graph += f",apad=pad_dur={trail}"
    meta = ["-metadata", f"title={title}"] if title else []
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            graph,
            *CODECS[ext],
            *meta,
            str(path),
        ],
        check=True,
    )
    return path


def reference_loudness(path: Path) -> float:
    """Integrated loudness of `path` by a plain ffmpeg ebur128 run (the yardstick)."""
    proc = subprocess.run(
        [
            ffmpeg_exe(),
            "-nostdin",
            "-hide_banner",
            "-i",
            str(path),
            "-af",
            "ebur128",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = proc.stderr[proc.stderr.rindex("Summary:") :]
    match = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    assert match, proc.stderr[-500:]
    return float(match[1])


def copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    return dst

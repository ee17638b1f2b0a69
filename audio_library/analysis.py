"""Decode and measure: the only module that runs ffmpeg.

One ffmpeg pass per file decodes the whole first audio stream and measures it on the way:
`ebur128` gives the integrated loudness (EBU R128 / ITU-R BS.1770, LUFS) and, with `peak=true`,
the true peak (dBTP, 4x oversampled, the peak a D/A converter actually reaches); `silencedetect`
the silent stretches, from which the leading and trailing silence follow. The decoded length is
ffmpeg's final `time=`. The ffmpeg binary is the one shipped in the imageio-ffmpeg wheel, so no
system ffmpeg (and no ffprobe) is needed. stderr is read line by line and only the few figures
are kept, so memory does not grow with a file's length.

ffmpeg runs under a time limit (`safeio.ANALYSE_TIMEOUT_S`): a file on a hung mount or a
stream that never ends is killed there and reported as timed out, never waited on. It runs in
its own session, so a SIGHUP to the daemon's terminal does not kill a scan's decode.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from audio_library.safeio import ANALYSE_TIMEOUT_S, Abandoned

# Below this level a stretch counts as silence (speech floors on phone recordings sit near -60).
SILENCE_DB = -50.0
# Shortest stretch that counts as silence at the start or the end.
SILENCE_MIN_S = 0.3


@cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass
class Analysis:
    """What one decode found. `ok` is False when ffmpeg could not decode the file at all."""

    returncode: int = 0
    decoded_s: float | None = None  # length of the decoded audio
    loudness_lufs: float | None = None  # integrated loudness; -70.0 = nothing above the gate
    peak_dbtp: float | None = None  # true peak over all channels, dBTP (dBFS, oversampled)
    silences: list[tuple[float, float | None]] = field(default_factory=list)
    codec: str | None = None  # of the decoded stream, as ffmpeg names it
    input_format: str | None = None  # the demuxer that opened the file ("mp3", "png_pipe")
    no_audio: bool = False  # the input opened but holds no audio stream
    no_decoder: bool = False  # the codec is known to ffmpeg but it has no decoder for it
    open_error: str | None = None  # why the input could not be opened
    errors: list[str] = field(default_factory=list)  # decoder errors (first few)
    error_count: int = 0
    timed_out: bool = False  # killed at its time limit: says nothing about the file itself

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.decoded_s is not None and self.open_error is None

    def trim(self, duration_s: float) -> tuple[float, float]:
        """(leading, trailing) silence in seconds, for a file of `duration_s`."""
        return leading_trailing_silence(self.silences, duration_s)


def command(path: Path) -> list[str]:
    return [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "level+info",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-af",
        f"ebur128=framelog=quiet:peak=true,silencedetect=n={SILENCE_DB}dB:d={SILENCE_MIN_S}",
        "-f",
        "null",
        "-",
    ]


def analyse(
    path: Path, *, timeout_s: float = ANALYSE_TIMEOUT_S, cancel: threading.Event | None = None
) -> Analysis:
    """Decode `path` once through ffmpeg and measure it. Never raises for a bad file; ffmpeg is
    killed after `timeout_s` (then `timed_out`), or as soon as `cancel` is set (Abandoned)."""
    if cancel is not None and cancel.is_set():
        raise Abandoned()
    proc = subprocess.Popen(
        command(path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    assert proc.stderr is not None
    result = Analysis()
    reader = threading.Thread(
        target=parse, args=(proc.stderr, result), name="loa-ffmpeg-stderr", daemon=True
    )
    reader.start()
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            result.returncode = proc.wait(timeout=max(0.0, min(0.25, deadline - time.monotonic())))
            break
        except subprocess.TimeoutExpired:
            stop = cancel is not None and cancel.is_set()
            if stop or time.monotonic() >= deadline:
                _kill(proc)
                if stop:
                    raise Abandoned() from None
                result.timed_out = True
                result.returncode = -9
                result.open_error = f"ffmpeg quá {timeout_s:g} s không xong (timed out)"
                return result
    reader.join(timeout=5.0)
    proc.stderr.close()
    if result.returncode != 0 and result.open_error is None and not result.no_decoder:
        result.open_error = result.errors[-1] if result.errors else f"exit {result.returncode}"
    return result


def _kill(proc: subprocess.Popen[str]) -> None:
    """Kill ffmpeg; a process stuck in the kernel (a hung mount) may not die at once, and is
    then left to the init process rather than waited on."""
    proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5.0)


_TIME = re.compile(r"\btime=(\d+):(\d\d):(\d\d(?:\.\d+)?)")
_INTEGRATED = re.compile(r"^\s*I:\s+(-?[\d.]+|-inf|nan) LUFS")
_TRUE_PEAK = re.compile(r"^\s*Peak:\s+(-?[\d.]+|-inf|nan) dBFS")
_SIL_START = re.compile(r"silence_start: (-?[\d.e+-]+)")
_SIL_END = re.compile(r"silence_end: (-?[\d.e+-]+)")
_LEVEL = re.compile(r"\[(panic|fatal|error|warning|info)\] ")
_STREAM_AUDIO = re.compile(r"Stream #0:\d+.*?: Audio: (\w+)")
_INPUT = re.compile(r"^Input #0, (.+), from '")
MAX_KEPT_ERRORS = 5


def parse(lines: Iterable[str], out: Analysis | None = None) -> Analysis:
    """Read ffmpeg's stderr (with `-loglevel level+info`) into an Analysis (`out`, or a new
    one); pure."""
    out = Analysis() if out is None else out
    in_summary = False
    for raw in lines:
        line = raw.rstrip("\n")
        level = _LEVEL.search(line)
        if level and level[1] in ("error", "fatal", "panic"):
            _error_line(out, line[level.end() :].strip(), line)
            continue
        if "Summary:" in line and "ebur128" in line:
            in_summary = True
            continue
        if in_summary:
            match = _INTEGRATED.match(line)
            if match:
                value = match[1]
                out.loudness_lufs = -70.0 if value in ("-inf", "nan") else float(value)
                continue
            match = _TRUE_PEAK.match(line)
            if match:
                value = match[1]
                out.peak_dbtp = None if value in ("-inf", "nan") else float(value)
                in_summary = False
                continue
        if "silencedetect" in line:
            start, end = _SIL_START.search(line), _SIL_END.search(line)
            if start:
                out.silences.append((max(0.0, float(start[1])), None))
            elif end and out.silences and out.silences[-1][1] is None:
                out.silences[-1] = (out.silences[-1][0], float(end[1]))
            continue
        match = _TIME.search(line)
        if match and "size=" in line:
            out.decoded_s = int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3])
            continue
        if out.input_format is None:
            opened = _INPUT.match(line.removeprefix("[info] "))
            if opened:
                out.input_format = opened[1]
                continue
        if out.codec is None:
            stream = _STREAM_AUDIO.search(line)
            if stream:
                out.codec = stream[1]
    return out


def _error_line(out: Analysis, text: str, line: str) -> None:
    if "matches no streams" in text:
        out.no_audio = True
        out.open_error = "no audio stream"
        return
    if "no decoder found" in text or ("Decoder" in text and "not found" in text):
        out.no_decoder = True
        out.open_error = text
        return
    if text.startswith("Error opening input"):
        out.open_error = out.open_error or text
    out.error_count += 1
    if len(out.errors) < MAX_KEPT_ERRORS:
        out.errors.append(text)


def leading_trailing_silence(
    silences: list[tuple[float, float | None]], duration_s: float, tolerance_s: float = 0.05
) -> tuple[float, float]:
    """Silence at the very start and the very end, from silencedetect's intervals; pure."""
    lead = trail = 0.0
    if not silences or duration_s <= 0:
        return lead, trail
    first_start, first_end = silences[0]
    if first_start <= tolerance_s:
        lead = min(duration_s, first_end if first_end is not None else duration_s)
    last_start, last_end = silences[-1]
    if last_end is None or last_end >= duration_s - tolerance_s:
        trail = max(0.0, duration_s - last_start)
    if lead >= duration_s:  # all silence: one interval covering the file
        return duration_s, 0.0
    return lead, trail

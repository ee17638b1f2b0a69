"""Streaming decoder: a decoder process's pipe producing mono float32 PCM at the output's rate.

MPEG audio (mp3, mp2: what stations mostly hold) is decoded by Debian's ``mpg123``, a 3 MB
process; everything else, and MPEG audio when mpg123 is not installed, by the ffmpeg binary
of the imageio-ffmpeg wheel, a 33 MB one (BENCHMARKS.md, "Playout"). A reader thread moves
fixed-size chunks from the pipe into a bounded queue; when the queue is full the thread
blocks, the pipe fills and the decoder stops decoding. Memory per decoder is therefore bounded
by the queue (``max_buffer_s``) plus the OS pipe buffer, whatever the length of the file: a
60-minute spot plays in the same memory as a 1-minute one.

The decoder does all the sample arithmetic: it resamples to the output's rate, downmixes to
mono (a loudspeaker network is mono) and applies the loudness gain, in float, so nothing clips
here; Python only moves its bytes. The engine copies that one channel to every channel of the
device. Both decoders give the same samples to within their resamplers' rounding: mpg123's
mono mix is (L+R)/2 where ffmpeg's is (L+R)/sqrt(2), so a stereo file's mpg123 gain carries
that factor (`mpg123_command`); mpg123 cannot seek to a sample, so it decodes the leading
silence the library trims and the reader drops it, and the reader also caps the length.
`decode_command` is the one place an item's gain enters the output.

`read` never blocks: the audio callback calls it. It returns memoryviews of native float32
(format "f") over the decoder's bytes, not numpy arrays: the playout path does not import
numpy.

The decoder runs in a session of its own, so a signal to the daemon's terminal or process
group (closing the terminal of `make run` sends SIGHUP to the group) does not reach it; and it
is told by the kernel to die with the thread that started it (PR_SET_PDEATHSIG, Linux), so a
daemon killed with -9 leaves no decoder behind. The outputs start decoders from their service
thread, which lives as long as the output.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from audio_library.analysis import ffmpeg_exe  # the one ffmpeg binary (imageio-ffmpeg)

log = logging.getLogger("loa.output.decoder")

# 64 KiB, the size of a Linux pipe buffer: one read and one queue hand-over per 0.34 s of
# audio at 48 kHz (the reader thread wakes ~3 times a second while a spot plays)
CHUNK_FRAMES = 16384
FIRST_CHUNK_FRAMES = 2048
NATIVE_F32 = "f32le" if sys.byteorder == "little" else "f32be"  # what memoryview "f" reads
_EMPTY = memoryview(b"").cast("f")
# A file that decodes this much shorter than the length it is to play (`length_s`, what the
# library measured) was changed or cut short since it was scanned: the item failed, not completed.
SHORT_TOLERANCE_S = 0.5
# mpg123 decodes a trimmed start (the leading silence) and the reader drops it; past this much
# the file goes to ffmpeg, which seeks (a start this late is no leading silence anyway)
MPG123_MAX_SKIP_S = 60.0
# mpg123's unit gain (`-f`, its "scalefactor")
MPG123_UNIT = 32768
# How long the output's service thread waits for a file's header before ffmpeg gets the file
# (a hung mount or a blocking file: ffmpeg then blocks in its own process, not this thread)
PROBE_TIMEOUT_S = 1.0


def _pdeathsig() -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to SIGKILL the child when its parent dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:  # the parent died before the request took effect
            os._exit(1)

    return preexec


_PREEXEC = _pdeathsig()


def ffmpeg_command(
    path: Path,
    rate: int,
    start_s: float = 0.0,
    length_s: float | None = None,
    gain_db: float = 0.0,
) -> list[str]:
    # -ss before -i seeks the input; for audio ffmpeg decodes up to the point and drops what
    # precedes it, so the cut is sample-accurate. -t after -i caps the output's length.
    seek = ["-ss", f"{start_s:.6f}"] if start_s > 0 else []
    cap = ["-t", f"{length_s:.6f}"] if length_s is not None else []
    # the volume filter computes in float (precision=float) on a float stream: no clipping
    gain = ["-af", f"volume={gain_db:.4f}dB:precision=float"] if gain_db != 0.0 else []
    return [
        ffmpeg_exe(),
        "-nostdin",
        "-v",
        "error",
        *seek,
        "-i",
        str(path),
        *cap,
        "-map",
        "0:a:0",
        *gain,
        "-f",
        NATIVE_F32,
        "-ac",
        "1",
        "-ar",
        str(rate),
        "pipe:1",
    ]


@dataclass(frozen=True)
class DecodeCommand:
    """A decoder's command line and what the reader does to its output: drop `skip_frames`
    at the head (a start the decoder cannot seek to), keep at most `max_frames` (None: all)."""

    argv: list[str]
    skip_frames: int = 0
    max_frames: int | None = None

    @property
    def name(self) -> str:
        return Path(self.argv[0]).name


def mpg123_command(
    exe: str,
    path: Path,
    rate: int,
    channels: int,
    start_s: float = 0.0,
    length_s: float | None = None,
    gain_db: float = 0.0,
) -> DecodeCommand:
    """mpg123 decoding `path` (MPEG audio of `channels` channels) like `ffmpeg_command`:
    native float32 (unclipped), mono, at `rate`, `gain_db` applied."""
    # ffmpeg's mono is (L+R)/sqrt(2), mpg123's (L+R)/2: the same level asks sqrt(2) more
    fold = math.sqrt(2.0) if channels == 2 else 1.0
    scale = max(1, round(MPG123_UNIT * 10 ** (gain_db / 20.0) * fold))
    argv = [exe, "-q", "-s", "-m", "-e", "f32", "-r", str(rate), "-f", str(scale), "--", str(path)]
    skip = round(start_s * rate) if start_s > 0 else 0
    cap = round(length_s * rate) if length_s is not None else None
    return DecodeCommand(argv, skip, cap)


@cache
def mpg123_exe() -> str | None:
    """Debian's mpg123, or None when it is not installed (then ffmpeg decodes everything)."""
    found = shutil.which("mpg123")
    if found is None:
        log.info("mpg123 is not installed: ffmpeg decodes mp3 too (about 30 MB more while on air)")
    return found


def mpeg_channels(path: Path) -> int | None:
    """The channel count of `path` when its content is MPEG audio (whatever its name says), as
    the library's tag reader finds it (mutagen's format scoring, a regular file only, under
    `PROBE_TIMEOUT_S`); None for anything else, or any doubt: ffmpeg decodes it then."""
    from audio_library.tags import read_tags

    tags = read_tags(path, timeout_s=PROBE_TIMEOUT_S)
    if tags.format != "mp3":
        return None
    return tags.channels if tags.channels in (1, 2) else None


def decode_command(
    path: Path,
    rate: int,
    start_s: float = 0.0,
    length_s: float | None = None,
    gain_db: float = 0.0,
) -> DecodeCommand:
    """The decoder for `path`: mpg123 for MPEG audio when it is installed and the start is a
    leading silence, ffmpeg otherwise."""
    exe = mpg123_exe() if start_s <= MPG123_MAX_SKIP_S else None
    channels = mpeg_channels(path) if exe is not None else None
    if exe is not None and channels is not None:
        return mpg123_command(exe, path, rate, channels, start_s, length_s, gain_db)
    return DecodeCommand(ffmpeg_command(path, rate, start_s, length_s, gain_db))


class _End:
    """Queue marker: the stream is over (error is None) or broke (error says why)."""

    def __init__(self, error: str | None) -> None:
        self.error = error


class StreamDecoder:
    """Decode `path` to mono float32 at `rate`, `gain_db` applied, ahead of the reader."""

    def __init__(
        self,
        path: Path,
        rate: int,
        gain_db: float = 0.0,
        max_buffer_s: float = 2.0,
        start_s: float = 0.0,
        length_s: float | None = None,
        on_decoded: Callable[[], None] | None = None,
    ) -> None:
        self.path = Path(path)
        # True while the decoder runs; `on_decoded` is called (reader thread) once it is over
        self.decoding = True
        self._on_decoded = on_decoded
        self.rate = int(rate)
        self.gain_db = float(gain_db)
        self.length_s = length_s
        self.max_chunks = max(2, math.ceil(max_buffer_s * rate / CHUNK_FRAMES))
        self._q: queue.Queue[memoryview | _End] = queue.Queue(maxsize=self.max_chunks)
        self._cur: memoryview = _EMPTY
        self._pos = 0
        self._closed = False
        self.finished = False  # every decoded frame has been read (or it failed)
        self.error: str | None = None
        self.frames_decoded = 0
        self.frames_read = 0
        self._proc: subprocess.Popen[bytes] | None = None
        if not self.path.is_file():
            self._fail(f"file not found: {self.path}")
            return
        self.command = decode_command(self.path, self.rate, start_s, length_s, self.gain_db)
        self._start_s = start_s
        error = self._start(self.command)
        if error is not None:
            self._fail(error)
            return
        self._thread = threading.Thread(
            target=self._reader, name=f"decode:{self.path.name}", daemon=True
        )
        self._thread.start()

    def _start(self, command: DecodeCommand) -> str | None:
        """Start `command`'s decoder; why it could not start, or None."""
        self.command = command
        self._skip = command.skip_frames  # still to drop at the head
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the decoder
        try:
            self._proc = subprocess.Popen(
                command.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                start_new_session=True,  # not killed by a SIGHUP/SIGINT to the daemon's group
                preexec_fn=_PREEXEC,  # killed when the daemon dies
            )
        except OSError as e:
            self._stderr.close()
            return f"cannot start {command.name} for {self.path}: {e}"
        return None

    def _fail(self, error: str) -> None:
        self._q.put(_End(error))
        self._decoded()

    def _decoded(self) -> None:
        self.decoding = False
        if self._on_decoded is not None:
            self._on_decoded()

    def _reader(self) -> None:
        error = self._drain()
        if self._closed:
            self.decoding = False
            return
        if error is not None and self.frames_decoded == 0 and self.command.name == "mpg123":
            # nothing played yet: ffmpeg, which the library's scan decoded the file with, tries
            log.warning("%s; ffmpeg decodes it instead", error)
            error = self._start(
                DecodeCommand(
                    ffmpeg_command(self.path, self.rate, self._start_s, self.length_s, self.gain_db)
                )
            )
            if error is None:
                error = self._drain()
            if self._closed:
                self.decoding = False
                return
        if error is None:
            error = self._short_by()
        if error:
            log.warning("%s", error)
        self._decoded()  # before the end marker can be read: the next decoder starts now
        self._q.put(_End(error))

    def _drain(self) -> str | None:
        """Move the running decoder's output into the queue until its end (or `close`);
        why it failed, or None."""
        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout
        cap = self.command.max_frames
        # the first chunk small, so the start is ready as soon as the decoder has begun
        nbytes = FIRST_CHUNK_FRAMES * 4
        error: str | None = None
        capped = False
        try:
            while not self._closed:
                data = out.read(nbytes)
                nbytes = CHUNK_FRAMES * 4
                if not data:
                    break
                usable = len(data) - len(data) % 4
                # a view of the bytes the decoder wrote, not a copy (short only at the very
                # end); both write the machine's own float (`NATIVE_F32`)
                chunk = memoryview(data)[:usable].cast("f")
                if self._skip:  # the leading silence mpg123 cannot seek past
                    dropped = min(self._skip, len(chunk))
                    chunk, self._skip = chunk[dropped:], self._skip - dropped
                if cap is not None and self.frames_decoded + len(chunk) >= cap:
                    chunk, capped = chunk[: cap - self.frames_decoded], True
                if len(chunk):
                    self.frames_decoded += len(chunk)
                    self._q.put(chunk)  # blocks when the buffer is full: back-pressure
                if capped:
                    self._proc.kill()  # the rest of the file is not to be played
                    break
        except (OSError, ValueError) as e:
            error = f"reading the decoder of {self.path} failed: {e}"
        rc = self._proc.wait()
        if error is None and rc != 0 and not capped and not self._closed:
            self._stderr.seek(0)
            msg = self._stderr.read()[-600:].decode("utf-8", "replace").strip()
            error = f"cannot decode {self.path}: {msg or f'{self.command.name} exited with {rc}'}"
        self._stderr.close()
        if error is None and self.frames_decoded == 0:
            error = f"no audio in {self.path}"
        return error

    def _short_by(self) -> str | None:
        """Why the whole decode is too short for `length_s`, or None when it is not."""
        if self.length_s is None:
            return None
        got = self.frames_decoded / self.rate
        if got >= self.length_s - SHORT_TOLERANCE_S:
            return None
        return (
            f"{self.path} ended after {got:.1f} s of the {self.length_s:.1f} s the library "
            "measured: the file was changed or cut short since its scan (run loa library scan)"
        )

    @property
    def buffered_frames(self) -> int:
        """Frames decoded but not yet read (for tests and diagnostics)."""
        return self.frames_decoded - self.frames_read

    def read(self, max_frames: int) -> memoryview:
        """Up to `max_frames` frames; empty if none is ready yet or the stream is finished
        (then `finished` is True and `error` tells a failure from a normal end). Never blocks."""
        if self._pos >= len(self._cur):
            if self.finished:
                return _EMPTY
            try:
                nxt = self._q.get_nowait()
            except queue.Empty:
                return _EMPTY
            if isinstance(nxt, _End):
                self.finished = True
                self.error = nxt.error
                return _EMPTY
            self._cur, self._pos = nxt, 0
        n = min(max_frames, len(self._cur) - self._pos)
        chunk = self._cur[self._pos : self._pos + n]
        self._pos += n
        self.frames_read += n
        return chunk

    def wait_ready(self, timeout: float = 5.0) -> bool:
        """Block (not from the audio callback!) until data or the end is available."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._pos < len(self._cur) or not self._q.empty() or self.finished:
                return True
            time.sleep(0.002)
        return False

    def close(self) -> None:
        """Stop the decoder and free the buffer. Safe to call twice."""
        self._closed = True
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        # unblock a reader stuck on a full queue
        while True:
            try:
                self._q.get_nowait()
            except queue.Empty:
                break
        if self._proc is not None:
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                log.warning("%s for %s did not exit", self.command.name, self.path)
            if self._proc.stdout is not None:
                self._proc.stdout.close()

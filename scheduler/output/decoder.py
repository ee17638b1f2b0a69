"""Streaming decoder: an ffmpeg pipe producing mono float32 PCM at the output's rate.

The ffmpeg binary comes from the imageio-ffmpeg wheel. A reader thread moves fixed-size chunks
from the pipe into a bounded queue; when the queue is full the thread blocks, the pipe fills and
ffmpeg stops decoding. Memory per decoder is therefore bounded by the queue (``max_buffer_s``)
plus the OS pipe buffer, whatever the length of the file: a 60-minute spot plays in the same
memory as a 1-minute one.

ffmpeg does all the sample arithmetic: it resamples to the output's rate, downmixes to mono (a
loudspeaker network is mono) and applies the loudness gain (``-af volume``, in float, so
nothing clips here); Python only moves its bytes. The engine copies that one channel to every
channel of the device. `ffmpeg_command` is the one place an item's gain enters the output.

`read` never blocks: the audio callback calls it. It returns memoryviews of native float32
(format "f") over ffmpeg's bytes, not numpy arrays: the playout path does not import numpy.

ffmpeg runs in a session of its own, so a signal to the daemon's terminal or process group
(closing the terminal of `make run` sends SIGHUP to the group) does not reach it; and it is
told by the kernel to die with the thread that started it (PR_SET_PDEATHSIG, Linux), so a
daemon killed with -9 leaves no ffmpeg behind. The outputs start decoders from their service
thread, which lives as long as the output.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
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
        # True while ffmpeg runs; `on_decoded` is called (from the reader thread) once it is over
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
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as ffmpeg
        try:
            self._proc = subprocess.Popen(
                ffmpeg_command(self.path, self.rate, start_s, length_s, self.gain_db),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                start_new_session=True,  # not killed by a SIGHUP/SIGINT to the daemon's group
                preexec_fn=_PREEXEC,  # killed when the daemon dies
            )
        except OSError as e:
            self._fail(f"cannot start ffmpeg for {self.path}: {e}")
            return
        self._thread = threading.Thread(
            target=self._reader, name=f"decode:{self.path.name}", daemon=True
        )
        self._thread.start()

    def _fail(self, error: str) -> None:
        self._q.put(_End(error))
        self._decoded()

    def _decoded(self) -> None:
        self.decoding = False
        if self._on_decoded is not None:
            self._on_decoded()

    def _reader(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout
        # the first chunk small, so the start is ready as soon as ffmpeg has begun
        nbytes = FIRST_CHUNK_FRAMES * 4
        error: str | None = None
        try:
            while not self._closed:
                data = out.read(nbytes)
                nbytes = CHUNK_FRAMES * 4
                if not data:
                    break
                usable = len(data) - len(data) % 4
                # a view of the bytes ffmpeg wrote, not a copy (short only at the very end);
                # ffmpeg writes the machine's own float (`NATIVE_F32`)
                chunk = memoryview(data)[:usable].cast("f")
                self.frames_decoded += len(chunk)
                self._q.put(chunk)  # blocks when the buffer is full: back-pressure
        except (OSError, ValueError) as e:
            error = f"reading the decoder of {self.path} failed: {e}"
        rc = self._proc.wait()
        if self._closed:
            self.decoding = False
            return
        if error is None and rc != 0:
            self._stderr.seek(0)
            msg = self._stderr.read()[-600:].decode("utf-8", "replace").strip()
            error = f"cannot decode {self.path}: {msg or f'ffmpeg exited with {rc}'}"
        if error is None and self.frames_decoded == 0:
            error = f"no audio in {self.path}"
        if error is None:
            error = self._short_by()
        if error:
            log.warning("%s", error)
        self._stderr.close()
        self._decoded()  # before the end marker can be read: the next decoder starts now
        self._q.put(_End(error))

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
        """Stop ffmpeg and free the buffer. Safe to call twice."""
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
                log.warning("ffmpeg for %s did not exit", self.path)
            if self._proc.stdout is not None:
                self._proc.stdout.close()

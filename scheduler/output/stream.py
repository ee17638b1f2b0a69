"""A relayed live stream (tiếp sóng) as a source of the playout mixer.

`LiveSource` decodes an http(s) stream (Icecast/HTTP mp3, aac, ogg, opus; HLS .m3u8) with
ffmpeg, mono float32 at the output's rate, the same way `decoder.StreamDecoder` decodes a file,
and hands the engine exactly the frames it asks for, for exactly the frame's length: the
stream when it flows, else the fallback (spots handed in by `scheduler.relay`, or silence).
The engine therefore never starves on it, and frame ``n`` of the source sounds at the item's
measured start + n / rate: every mark below is a sample position on the DAC clock.

- Connecting happens before the slot (`scheduler.relay` creates the source early); until the
  engine reads, only the newest `jitter_s` of audio is kept, so the first relayed sample is on
  time and the relay runs `jitter_s` behind the live programme, absorbing network jitter.
- Loudness: a running measure (mean square of the non-silent audio, 3 s time constant) sets
  the gain toward the station's target, bounded to -20..+`max_boost_db` dB.
- A drop (ffmpeg exits, the connection stalls past `-rw_timeout`): ffmpeg is started again
  with backoff (0.5 s, 1 s, then every 2 s). Back-filling the buffer to `jitter_s`
  first avoids a stutter of micro-gaps. A gap with no data longer than `MIN_DROP_S` is a drop.
- A stream that sends silence (below the library's silence level, -50 dBFS) for `timeout_s`
  is down too. After `timeout_s` of silence or no data the fallback fills until the stream
  returns; a fallback spot playing then is faded out (`fade_ms`) and the relay resumes.
- The last `fade_ms` of the frame fade out: the relay is cut at the frame's end.

`read` never blocks (the audio callback calls it); the network, ffmpeg and the gain run on a
fetch thread. The marks (`marks`, a deque of `Mark`) say what aired from which frame on.
"""

from __future__ import annotations

import logging
import math
import os
import re
import subprocess
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from scheduler.output.decoder import _PREEXEC, ffmpeg_exe
from scheduler.spec import shown_url

log = logging.getLogger("loa.output.stream")

SILENCE_DB = -50.0  # as audio_library.analysis: below this a stretch is silence
HLS_JITTER_S = 3.0  # the least jitter buffer of an HLS stream (three 1-second segments)
MIN_DROP_S = 0.25  # a gap without data shorter than this is jitter, not a drop
LOUDNESS_TAU_S = 3.0
MIN_GAIN_DB = -20.0
BACKOFF_S = (0.5, 1.0, 2.0)  # then every 2 s: a dead server costs one connect each
RW_TIMEOUT_S = 5.0  # a connection that delivers nothing this long is dropped and retried
READ_BYTES = 8192
_EMPTY = np.zeros(0, dtype=np.float32)
# relay states
LIVE, GAP, DOWN, RETURNING = "live", "gap", "down", "returning"


def stream_command(url: str, rate: int) -> list[str]:
    """ffmpeg decoding a live stream to mono float32 at `rate` on stdout; no reconnect of its
    own (the fetch thread restarts it with backoff), a stalled connection fails after
    RW_TIMEOUT_S; small probe so the first sample comes fast."""
    return [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-v",
        "info",
        "-rw_timeout",
        str(int(RW_TIMEOUT_S * 1_000_000)),
        "-probesize",
        "32768",
        "-analyzeduration",
        "500000",
        "-i",
        url,
        "-vn",
        "-map",
        "0:a:0",
        "-f",
        "f32le",
        "-ac",
        "1",
        "-ar",
        str(rate),
        "pipe:1",
    ]


_AUDIO = re.compile(r"Stream #\S+.*?: Audio: (?P<codec>[\w-]+).*?(?:, (?P<kbps>\d+) kb/s)?\s*$")


def parse_stream_info(line: str) -> dict[str, Any] | None:
    """Codec and bitrate from ffmpeg's "Stream #0:0: Audio: mp3 ..., 128 kb/s" line."""
    match = _AUDIO.search(line)
    if match is None:
        return None
    kbps = match["kbps"]
    return {"codec": match["codec"], "bitrate_kbps": int(kbps) if kbps else None}


def db(mean_square: float) -> float:
    return 10 * math.log10(mean_square) if mean_square > 1e-12 else -120.0


@dataclass
class Loudness:
    """The running loudness measure and the gain toward `target_lufs` (pure, per chunk)."""

    target_lufs: float
    max_boost_db: float = 12.0
    rate: int = 48000
    mean_square: float | None = None

    def update(self, chunk: np.ndarray) -> float:
        """Feed a chunk (pre-gain), return the gain in dB to apply to it."""
        ms = float(np.mean(np.square(chunk, dtype=np.float64))) if len(chunk) else 0.0
        if db(ms) > SILENCE_DB:  # silence does not pull the measure down (gated)
            if self.mean_square is None:
                self.mean_square = ms
            else:
                alpha = min(1.0, len(chunk) / (self.rate * LOUDNESS_TAU_S))
                self.mean_square += alpha * (ms - self.mean_square)
        return self.gain_db

    @property
    def loudness_lufs(self) -> float | None:
        """Unweighted approximation of the short-term loudness (LUFS ~ dBFS RMS - 0.691)."""
        return None if self.mean_square is None else db(self.mean_square) - 0.691

    @property
    def gain_db(self) -> float:
        loud = self.loudness_lufs
        if loud is None:
            return 0.0
        return max(MIN_GAIN_DB, min(self.max_boost_db, self.target_lufs - loud))


@dataclass(frozen=True)
class Mark:
    """From frame `pos` of the source on: `what` ("relay", "drop", "spot", "end")."""

    pos: int
    what: str
    info: dict[str, Any] = field(default_factory=dict)


class Feed(Protocol):
    """A fallback spot as the source plays it (a `decoder.StreamDecoder`)."""

    finished: bool
    error: str | None

    def read(self, max_frames: int) -> np.ndarray: ...

    def close(self) -> None: ...


@dataclass(eq=False)
class Fallback:
    key: str
    feed: Feed
    started: bool = False


class LiveSource:
    """The stream `url` for `length_s` at `rate`, with drops, fallback and the final fade."""

    def __init__(
        self,
        url: str,
        rate: int,
        *,
        length_s: float,
        target_lufs: float = -16.0,
        max_boost_db: float = 12.0,
        timeout_s: float = 10.0,
        jitter_s: float = 1.0,
        fade_ms: float = 50.0,
        max_buffer_s: float = 4.0,
    ) -> None:
        self.url = url
        self.rate = int(rate)
        self.total = max(0, round(length_s * self.rate))
        self.timeout = max(1, round(timeout_s * self.rate))
        if urllib.parse.urlsplit(url).path.lower().endswith(".m3u8"):
            # HLS comes in bursts of a segment each: one second of buffer underruns between
            # them and counted every segment's wait as a drop
            jitter_s = max(jitter_s, HLS_JITTER_S)
        self.jitter = max(1, round(jitter_s * self.rate))
        self.fade = max(0, round(fade_ms * self.rate / 1000))
        self.max_buffer = max(self.jitter * 2, round(max_buffer_s * self.rate))
        self.min_drop = round(MIN_DROP_S * self.rate)
        self.loudness = Loudness(target_lufs, max_boost_db, self.rate)
        self.finished = False
        self.error: str | None = None
        self.marks: deque[Mark] = deque()
        self.info: dict[str, Any] = {}
        self.connects = 0
        self.skipped_frames = 0  # dropped from the buffer because the stream ran ahead
        self.fallbacks: deque[Fallback] = deque()  # handed in by the relay, played in order
        self.state = GAP
        self.pos = 0
        self._lock = threading.Lock()
        self._buf: deque[tuple[np.ndarray, bool]] = deque()  # (chunk, silent)
        self._head = 0  # frames of _buf[0] already used
        self._buffered = 0
        self._reading = False  # the engine has started reading
        self._relay_open = False
        self._drop_open = False
        self._bad_since: int | None = None  # GAP: position since which there is no data
        self._silent_since: int | None = None
        self._spot: Fallback | None = None
        self._retired: deque[Fallback] = deque()
        self._fade_left = 0
        self._closed = False
        self._proc: subprocess.Popen[bytes] | None = None
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._fetch, name="relay-fetch", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the fetch thread
    def _fetch(self) -> None:
        attempt = 0
        while not self._closed:
            delivered = self._run_ffmpeg()
            if self._closed:
                return
            attempt = 0 if delivered > 5 * self.rate else attempt + 1
            wait = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            log.info(
                "stream %s ended (%s); reconnecting in %.1f s",
                shown_url(self.url),
                self.last_error,
                wait,
            )
            end = time.monotonic() + wait
            while not self._closed and time.monotonic() < end:
                time.sleep(0.05)

    def _run_ffmpeg(self) -> int:
        """One connection: decode until ffmpeg ends. Returns the frames it delivered."""
        try:
            proc = subprocess.Popen(
                stream_command(self.url, self.rate),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_PREEXEC,
            )
        except OSError as e:
            self.last_error = f"cannot start ffmpeg: {e}"
            return 0
        self._proc = proc
        self.connects += 1
        errors: deque[str] = deque(maxlen=5)
        threading.Thread(target=self._stderr, args=(proc, errors), daemon=True).start()
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        rest = b""
        delivered = 0
        try:
            while not self._closed:
                data = os.read(fd, READ_BYTES)
                if not data:
                    break
                data = rest + data
                usable = len(data) - len(data) % 4
                rest = data[usable:]
                if usable:
                    chunk = np.frombuffer(data[:usable], dtype="<f4")
                    delivered += len(chunk)
                    self._push(chunk)
        except OSError as e:
            errors.append(str(e))
        if proc.poll() is None:
            proc.kill()
        rc = proc.wait()
        proc.stdout.close()
        self.last_error = "; ".join(errors) or f"ffmpeg exited with {rc}"
        return delivered

    def _stderr(self, proc: subprocess.Popen[bytes], errors: deque[str]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            found = parse_stream_info(line)
            if found and not self.info:
                self.info = found
            elif "rror" in line or "failed" in line or "refused" in line:
                errors.append(line[-300:])
        proc.stderr.close()

    def _push(self, chunk: np.ndarray) -> None:
        ms = float(np.mean(np.square(chunk, dtype=np.float64)))
        silent = db(ms) <= SILENCE_DB
        gain = self.loudness.update(chunk)
        if gain != 0.0:
            chunk = np.clip(chunk * np.float32(10 ** (gain / 20)), -1.0, 1.0)
        with self._lock:
            self._buf.append((chunk, silent))
            self._buffered += len(chunk)
            keep = self.max_buffer if self._reading else self.jitter
            while self._buffered - len(self._buf[0][0]) + self._head >= keep and len(self._buf) > 1:
                old, _ = self._buf.popleft()
                self._buffered -= len(old) - self._head
                if self._reading:
                    self.skipped_frames += len(old) - self._head
                self._head = 0

    # ------------------------------------------------------------------ the audio callback
    @property
    def bad_frames(self) -> int:
        """In a gap: how long it has lasted so far (frames); else 0."""
        since = self._bad_since
        return self.pos - since if self.state == GAP and since is not None else 0

    @property
    def buffered_s(self) -> float:
        return self._buffered / self.rate

    def _take(self, n: int) -> tuple[np.ndarray, bool]:
        """Up to `n` stream frames from one buffered chunk, and whether that chunk is silent."""
        with self._lock:
            if not self._buf:
                return _EMPTY, False
            chunk, silent = self._buf[0]
            part = chunk[self._head : self._head + n]
            self._head += len(part)
            self._buffered -= len(part)
            if self._head >= len(chunk):
                self._buf.popleft()
                self._head = 0
            return part, silent

    def _head_silent(self) -> bool | None:
        with self._lock:
            return self._buf[0][1] if self._buf else None

    def _drop_silence(self) -> None:
        """While down for silence: throw away the silent audio, keep a jitter's worth."""
        with self._lock:
            while self._buf and self._buf[0][1] and self._buffered > self.jitter:
                old, _ = self._buf.popleft()
                self._buffered -= len(old) - self._head
                self._head = 0

    def _mark(self, pos: int, what: str, **info: Any) -> None:
        self.marks.append(Mark(pos, what, info))

    def _go_down(self, at: int, reason: str) -> None:
        if self._relay_open:
            self._mark(at, "relay_end", status="interrupted", reason=reason)
            self._relay_open = False
        if not self._drop_open:
            self._mark(at, "drop_start", reason=reason)
            self._drop_open = True
        self._mark(self.pos, "down", reason=reason)
        self.state = DOWN

    def _go_live(self, at: int) -> None:
        if self._drop_open:
            self._mark(at, "drop_end")
            self._drop_open = False
        if not self._relay_open:
            self._mark(at, "relay_start")
            self._relay_open = True
        self._bad_since = None
        self._silent_since = None
        self.state = LIVE

    def read(self, max_frames: int) -> np.ndarray:
        """Exactly min(max_frames, frames left) frames; empty once the frame is over."""
        self._reading = True
        n = min(max_frames, self.total - self.pos)
        if n <= 0:
            self.finished = True
            return _EMPTY
        start = self.pos
        out = np.zeros(n, dtype=np.float32)
        i = 0
        while i < n:
            i += self._fill(out[i:])
            self.pos = start + i
        if self.fade and self.pos > self.total - self.fade:  # the frame's end fades out
            first = start - (self.total - self.fade)
            k = np.arange(first, first + n, dtype=np.float32)
            ramp = np.clip(1.0 - (k + 1) / self.fade, 0.0, 1.0)
            out *= np.where(k >= 0, ramp, 1.0).astype(np.float32)
        return out

    def _fill(self, view: np.ndarray) -> int:
        """Fill the start of `view` in the current state; returns how many frames (>= 1)."""
        n = len(view)
        pos = self.pos
        if self.state == LIVE:
            part, silent = self._take(n)
            if not len(part):  # no data: a gap begins
                self.state = GAP
                self._bad_since = pos
                return self._fill(view)
            view[: len(part)] = part
            if silent:
                if self._silent_since is None:
                    self._silent_since = pos
                if pos + len(part) - self._silent_since >= self.timeout:
                    self._go_down(self._silent_since, "silence")
            else:
                self._silent_since = None
            return len(part)
        if self.state == GAP:
            if self._bad_since is None:
                self._bad_since = pos
            if self._buffered >= self.jitter:  # (back) from the start of the jitter buffer
                self._go_live(pos)
                return self._fill(view)
            length = pos - self._bad_since
            if length >= self.min_drop and not self._drop_open:
                if self._relay_open:
                    self._mark(self._bad_since, "relay_end", status="interrupted", reason="no data")
                    self._relay_open = False
                self._mark(self._bad_since, "drop_start", reason="no data")
                self._drop_open = True
            if length >= self.timeout:
                self._go_down(self._bad_since, "no data")
                return self._fill(view)
            k = min(n, max(1, self._bad_since + self.timeout - pos))
            view[:k] = 0.0
            return k
        # DOWN or RETURNING: the fallback fills
        if self.state == DOWN:
            self._drop_silence()
            if self._buffered >= self.jitter and self._head_silent() is False:
                if self._spot is not None and self._spot.started and self.fade:
                    self.state = RETURNING
                    self._fade_left = self.fade
                else:
                    self._end_spot(pos, "interrupted")
                    self._go_live(pos)
                    return self._fill(view)
        return self._fill_fallback(view)

    def _end_spot(self, pos: int, status: str, error: str | None = None) -> None:
        spot = self._spot
        if spot is None:
            return
        if spot.started:
            self._mark(pos, "spot_end", key=spot.key, status=status, error=error)
        self._spot = None
        self._retired.append(spot)

    def retired(self) -> list[Fallback]:
        """Fallback spots the source is done with (the relay closes their decoders)."""
        out = []
        while self._retired:
            out.append(self._retired.popleft())
        return out

    def _fill_fallback(self, view: np.ndarray) -> int:
        n = len(view)
        pos = self.pos
        if self._spot is None and self.fallbacks:
            self._spot = self.fallbacks.popleft()
        spot = self._spot
        if spot is None:  # silence (or no spot ready yet)
            k = n if self.state != RETURNING else 1
            view[:k] = 0.0
            if self.state == RETURNING:
                self._go_live(pos + k)
            return k
        want = min(n, self._fade_left) if self.state == RETURNING else n
        chunk = spot.feed.read(want)
        if not len(chunk):
            if spot.feed.finished:
                self._end_spot(pos, "failed" if spot.feed.error else "completed", spot.feed.error)
                if self.state == RETURNING:
                    self._go_live(pos)
                return 0 if self.state == LIVE else self._fill(view)
            view[:want] = 0.0  # the spot's decoder is not ready yet
            return want
        if not spot.started:
            spot.started = True
            self._mark(pos, "spot_start", key=spot.key)
        k = len(chunk)
        if self.state == RETURNING:
            done = self.fade - self._fade_left
            ramp = 1.0 - (done + np.arange(1, k + 1, dtype=np.float32)) / self.fade
            view[:k] = chunk * ramp
            self._fade_left -= k
            if self._fade_left <= 0:
                self._end_spot(pos + k, "interrupted")
                self._go_live(pos + k)
        else:
            view[:k] = chunk
        return k

    # ------------------------------------------------------------------ the end
    def close(self) -> None:
        """Stop ffmpeg and the fetch thread, close the fallback decoders. Safe twice."""
        self._closed = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
        for spot in [*self.fallbacks, *([self._spot] if self._spot else [])]:
            spot.feed.close()
        self.fallbacks.clear()
        self.finished = True

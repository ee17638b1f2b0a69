"""The file backend: writes exactly what would have aired into a WAV file.

Same engine and timing model as the device: frame ``n`` of the file airs at
``origin + n / rate``, items start at their planned instants to the sample, gaps between plans
are silence. Two modes:

- ``realtime=False`` (default; tests, dry runs of a plan): the origin is the first plan's start
  instant and plans are rendered as fast as they decode. Events carry the file's times and are
  delivered at once, whatever the wall clock says.
- ``realtime=True`` (a dry run of the daemon): the origin is the moment the output was opened
  and the file grows with the wall clock (silence while idle), like a recorder on the
  station's line output; events are delivered when their instant comes, cuts act at once.

The WAV is 16-bit PCM at `samplerate` with `channels` identical channels (the spot is mono on
every channel, as on the device); its header is kept valid after every block.
"""

from __future__ import annotations

import logging
import threading
import time
import wave
from pathlib import Path

import numpy as np

from scheduler.output.base import OutputError
from scheduler.output.mixer import MixPlan
from scheduler.output.player import MixerOutput

log = logging.getLogger("loa.output.file")

WAV_MAGIC = (b"RIFF", b"WAVE")  # bytes 0-3 and 8-11 of a WAV file


def path_problem(path: Path) -> str | None:
    """Why the file backend must not write `path` (something else is there), else None.

    It only ever replaces a WAV file (its own earlier recording) or an empty file, never a
    folder, a device or FIFO, or a file of another kind (config.toml, loa.db, a spot in mp3).
    """
    advice = 'choose another path for [output] path, e.g. "data/air.wav"'
    try:
        if not (path.exists() or path.is_symlink()):
            return None
        if path.is_dir():
            return f"{path} is a folder, not a WAV file: {advice}"
        if not path.is_file():
            return f"{path} is not a regular file: {advice}"
        with path.open("rb") as f:
            head = f.read(12)
    except OSError as exc:
        return f"{path} cannot be looked at ({exc.strerror or exc}): {advice}"
    if head and (head[:4], head[8:12]) != WAV_MAGIC:
        return f"{path} is a file that is not a WAV recording; loa would overwrite it: {advice}"
    return None


class FileOutput(MixerOutput):
    name = "file"

    def __init__(
        self,
        path: Path,
        *,
        samplerate: int = 48000,
        channels: int = 2,
        realtime: bool = False,
        block_s: float = 0.02,
        max_buffer_s: float = 2.0,
    ) -> None:
        super().__init__(samplerate, max_buffer_s=max_buffer_s)
        self.path = Path(path)
        self.channels = channels
        self.realtime = realtime
        self.block = max(1, round(block_s * self.rate))
        problem = path_problem(self.path)
        if problem is not None:
            raise OutputError(problem)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._wav = wave.open(str(self.path), "wb")  # noqa: SIM115 - closed in close()
        except OSError as e:
            raise OutputError(f"cannot write the output file {self.path}: {e}") from e
        self._wav.setnchannels(channels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(self.rate)
        self.origin: float | None = time.time() if realtime else None
        self.frames_written = 0
        self._thread = threading.Thread(target=self._writer, name="loa-output-file", daemon=True)
        self._thread.start()

    def _before_submit(self, plan: MixPlan) -> None:
        if self.origin is None:
            self.origin = plan.start_s
        self._wake.set()

    def time_of_frame(self, frame: int) -> float:
        """POSIX time at which `frame` of the file airs."""
        assert self.origin is not None
        return self.origin + frame / self.rate

    def _writer(self) -> None:
        buf = np.zeros((self.block, self.channels), dtype=np.float32)
        while not self._stop.is_set():
            self.prefetch()
            self.dispatch(hold=self.realtime)
            if self.origin is None or (not self.realtime and not self.mixer.busy):
                self._wake.wait(0.01)
                self._wake.clear()
                continue
            t0 = self.origin + self.frames_written / self.rate
            if self.realtime and time.time() < t0 - 0.05:
                time.sleep(0.005)
                continue
            n = self.mixer.render(buf, t0)
            if n:
                pcm = np.clip(buf[:n], -1.0, 1.0 - 1 / 32768) * 32768.0
                self._wav.writeframes(np.round(pcm).astype("<i2").tobytes())
                self.frames_written += n
            else:
                time.sleep(0.002)  # the next decoder is not ready yet: wait, stay exact
        self.dispatch(hold=False)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        self._thread.join(10)
        self._shutdown_mixer("output closed")
        self._wav.close()
        log.info("wrote %s (%.1f s)", self.path, self.frames_written / self.rate)

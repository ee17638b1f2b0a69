"""The sound-card backend: one PortAudio output stream (sounddevice) for the daemon's life.

The stream is opened once and kept open; its callback asks the `Mixer` for each block with the
block's DAC time (``outputBufferDacTime``), so a plan starts at its instant to the sample,
whenever threads wake. Everything else (decoding ahead, events, reopening a failed device)
happens on the service thread.

A missing or failing device never raises into the caller: it is logged (``loa.output.device``)
and reopened with exponential backoff; while it is down, plans whose start has come end as
``failed`` with the reason, and a plan cut short by a failure reports what had aired.

sounddevice is imported lazily: PortAudio enumerates the devices once, when it is initialised,
so the sound server (PulseAudio/PipeWire) must be reachable by then. Reopening after a failure
re-initialises PortAudio so that a device plugged in later is found.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import sys
import threading
import time
from typing import Any

from scheduler.output.base import DeviceInfo
from scheduler.output.player import MixerOutput

log = logging.getLogger("loa.output.device")

# The device buffer. Starts do not depend on it (they are placed by the DAC clock), but a plan
# must be handed over at least this long before its instant, and a cut is heard this much
# later. Measured on 2 cores with a load average of ~7: 0.1 s underran 7-10 times in 10 s,
# 0.3 s once, 0.5 s never (callbacks were up to 0.6 s late).
DEFAULT_LATENCY_S = 0.5
# The callback's block: 0.25 s, i.e. the callback runs 4 times a second (PortAudio's own choice
# with a 0.5 s buffer is 0.125 s). Starts stay sample-exact (placed by the DAC time of each
# block); what a larger block costs is margin: the device asks for the next block when this
# much is still queued ahead of the DAC (latency - block). Measured on 2 cores with 6 busy
# loops: no underrun in 30 s with either block (BENCHMARKS.md, "Playout").
DEFAULT_BLOCK_S = 0.25
DEFAULT_NAMES = ("", "default")
# a stream whose callback has not run for this long is dead (measured: on a 2-core machine
# under a load of ~10, live PortAudio/ALSA-pulse streams paused for up to 1.2 s and resumed)
STALL_S = 5.0
CHECK_S = 1.0  # the service thread checks the stream's health (and clock offset) this often
_open_outputs: set[int] = set()  # ids of outputs with a stream open (PortAudio re-init at none)


def _sd() -> Any:
    fresh = "sounddevice" not in sys.modules
    import sounddevice

    if fresh:  # importing it initialised PortAudio, which scanned every ALSA device
        release_alsa_plugins()
    return sounddevice


def release_alsa_plugins() -> None:
    """Unload the ALSA plugins PortAudio's device scan loaded and no open stream uses.

    Initialising PortAudio opens every PCM of the ALSA configuration; Debian's defines a52,
    jack, speex, upmix, vdownmix... and the a52 plugin links libavcodec and its codec
    libraries: ~11 MB of RSS for the daemon's life (BENCHMARKS.md, "Playout"). alsa-lib keeps
    them in a cache that `snd_config_update_free_global` empties of what no open PCM holds
    (PortAudio itself calls it when it terminates); the next open re-reads the configuration
    and loads only the plugins of the device it opens. Harmless if it cannot be done.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libasound.so.2").snd_config_update_free_global()


def _device_arg(name: str | int | None) -> str | int | None:
    """Config name -> sounddevice argument ("default" means the system's default output)."""
    if name is None or (isinstance(name, str) and name.strip().lower() in DEFAULT_NAMES):
        return None
    if isinstance(name, str) and name.strip().isdigit():
        return int(name)
    return name


def list_devices() -> list[DeviceInfo]:
    """Output-capable devices as PortAudio sees them (names usable as ``[output] device``)."""
    sd = _sd()
    hostapis = sd.query_hostapis()
    try:
        default_out = sd.default.device[1]
    except Exception:
        default_out = -1
    if default_out is None or default_out < 0:
        try:
            default_out = sd.query_devices(kind="output")["index"]
        except Exception:
            default_out = -1
    result = []
    for d in sd.query_devices():
        if d["max_output_channels"] <= 0:
            continue
        result.append(
            DeviceInfo(
                index=d["index"],
                name=d["name"],
                hostapi=hostapis[d["hostapi"]]["name"],
                channels=d["max_output_channels"],
                samplerate=float(d["default_samplerate"]),
                is_default=d["index"] == default_out,
            )
        )
    return result


class DeviceOutput(MixerOutput):
    """Plays plans on a sound device chosen by name (see `list_devices`)."""

    name = "device"

    def __init__(
        self,
        device: str | int | None = None,
        *,
        samplerate: int | None = None,
        latency: float = DEFAULT_LATENCY_S,
        block_s: float = DEFAULT_BLOCK_S,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
        max_buffer_s: float = 2.0,
    ) -> None:
        self.device = "default" if _device_arg(device) is None else str(device)
        self._dev = _device_arg(device)
        self.latency = latency
        self.block_s = block_s
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.channels = 2
        rate = samplerate or self._query_rate() or 48000
        super().__init__(rate, max_buffer_s=max_buffer_s)
        self._requested_rate = samplerate
        self._stream: Any = None
        self._offset = 0.0
        self._offset_at = 0.0
        self._last_cb = 0.0
        self._cb_error: BaseException | None = None
        self.error: str | None = "not opened yet"
        self._backoff = retry_initial_s
        self._next_try = 0.0
        self._failures = 0
        self.underruns = 0
        self._next_check = 0.0
        self._open()
        self._thread = threading.Thread(target=self._service, name="loa-output-device", daemon=True)
        self._thread.start()

    # -- device --------------------------------------------------------------------------------
    def _query_rate(self) -> int | None:
        try:
            info = _sd().query_devices(self._dev, "output")
            return int(info["default_samplerate"])
        except Exception:
            return None

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def clock_offset(self) -> float:
        return self._offset

    def _measure_offset(self) -> None:
        """PortAudio stream time - time.time(), from the tightest of 5 brackets."""
        best: tuple[float, float] | None = None
        for _ in range(5):
            a = time.time()
            p = self._stream.time
            b = time.time()
            if best is None or b - a < best[0]:
                best = (b - a, p - (a + b) / 2)
        assert best is not None
        self._offset = best[1]
        self._offset_at = time.monotonic()

    def _open(self) -> None:
        sd = _sd()
        try:
            if self._failures and not _open_outputs:
                # re-scan: the device may have been plugged in or the server restarted
                sd._terminate()
                sd._initialize()
                release_alsa_plugins()
            info = sd.query_devices(self._dev, "output")
            channels = min(2, int(info["max_output_channels"]))
            # raw: the callback gets a plain buffer, so the playout path needs no numpy
            stream = sd.RawOutputStream(
                device=self._dev,
                samplerate=self.rate,
                channels=channels,
                dtype="float32",
                latency=self.latency,
                blocksize=round(self.block_s * self.rate),
                callback=self._callback,
                finished_callback=self._wake.set,
            )
            self._last_cb = time.monotonic()
            self._cb_error = None
            stream.start()
        except Exception as e:
            self._failures += 1
            self.error = f"sound device '{self.device}' unavailable: {e}"
            self._next_try = time.monotonic() + self._backoff
            level = logging.ERROR if self._failures == 1 else logging.WARNING
            log.log(level, "%s; retrying in %.0f s", self.error, self._backoff)
            self._backoff = min(self._backoff * 2, self.retry_max_s)
            return
        _open_outputs.add(id(self))
        self.channels = channels
        self._stream = stream
        self._measure_offset()
        self.device_name = info["name"]
        if self._failures:
            log.info("sound device '%s' is back (%s)", self.device, info["name"])
        self.error = None
        self._failures = 0
        self._backoff = self.retry_initial_s
        log.info(
            "sound device '%s' open: %s, %d Hz, %d ch, latency %.0f ms",
            self.device,
            info["name"],
            self.rate,
            channels,
            stream.latency * 1000,
        )

    def _callback(self, out: Any, frames: int, time_info: Any, status: Any) -> None:
        self._last_cb = time.monotonic()
        if status.output_underflow:
            self.underruns += 1
        t0 = time_info.outputBufferDacTime or (time_info.currentTime + self.latency)
        mixer = self.mixer
        try:
            mixer.render(memoryview(out).cast("f", (frames, self.channels)), t0)
        except BaseException as e:  # never let an exception kill the stream silently
            memoryview(out)[:] = bytes(len(out))
            self._cb_error = e
            self._wake.set()
            return
        if mixer.events:
            self._wake.set()  # an item started or ended: deliver, start the next decoders

    def _check_stream(self) -> None:
        stream = self._stream
        problem = None
        if self._cb_error is not None:
            problem = f"playout error: {self._cb_error!r}"
        elif not stream.active:
            problem = "the stream stopped"
        elif time.monotonic() - self._last_cb > STALL_S:
            problem = "the device stopped asking for audio"
        if problem is None:
            if time.monotonic() - self._offset_at > 1.0:
                self._measure_offset()
            return
        self.error = f"sound device '{self.device}' failed: {problem}"
        log.error("%s; reopening", self.error)
        self._drop_stream()
        self._failures += 1
        self._next_try = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self.retry_max_s)
        # the plan on air and any due plan fail; later plans wait for the device to come back
        self.mixer.fail_due(time.time() + self._offset, self.error)

    def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        _open_outputs.discard(id(self))
        try:
            stream.abort()
            stream.close()
        except Exception as e:
            log.warning("closing the stream of '%s': %s", self.device, e)

    # -- service thread ------------------------------------------------------------------------
    def _service(self) -> None:
        """Sleep until there is work: a plan handed over or cut, an event from the callback, an
        event whose instant comes, a retry of the device; and once a second, a health check."""
        while not self._stop.is_set():
            due: float | None = None
            try:
                self.prefetch()
                if self._stream is None:
                    if time.monotonic() >= self._next_try:
                        self._open()
                    if self._stream is None:
                        self.mixer.fail_due(
                            time.time() + self._offset, self.error or "device unavailable"
                        )
                elif time.monotonic() >= self._next_check:
                    self._next_check = time.monotonic() + CHECK_S
                    self._check_stream()
                due = self.dispatch(hold=True)
            except Exception:
                log.exception("playout service error")
            self._wake.wait(self._sleep_s(due))
            self._wake.clear()

    def _sleep_s(self, due: float | None) -> float:
        """How long the service thread may sleep (see `_service`)."""
        mono = time.monotonic()
        sleep = self._next_check - mono
        if due is not None:
            sleep = min(sleep, due - time.time())
        if self._stream is None:
            sleep = min(sleep, self._next_try - mono)
            starts = [p.start_s - self._offset for p in self.mixer.plans()]
            if starts:
                sleep = min(sleep, min(starts) - time.time())
        return min(CHECK_S, max(0.001, sleep))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        self._thread.join(5)
        self._drop_stream()
        self._shutdown_mixer("output closed")

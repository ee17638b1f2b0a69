"""Playout outputs: where a plan airs.

    from scheduler.output import PlayItem, open_output

    out = open_output("device", device="default")        # or "file", path=...; or "null"
    handle = out.play([PlayItem(Path("a.mp3"), gain_db=-3.2, key="spot-1")], at, on_event)
    handle.wait(); handle.cut(fade_ms=50); out.close()

See `scheduler.output.base` for the timing model, the events and their statuses.
"""

from __future__ import annotations

from pathlib import Path

from scheduler.output.base import (
    Clock,
    DeviceInfo,
    Event,
    EventCallback,
    ItemEnded,
    ItemStarted,
    Output,
    OutputError,
    PlayHandle,
    PlayItem,
    Status,
)
from scheduler.output.null import NullOutput

BACKENDS = ("device", "file", "null")

__all__ = [
    "BACKENDS",
    "Clock",
    "DeviceInfo",
    "Event",
    "EventCallback",
    "ItemEnded",
    "ItemStarted",
    "NullOutput",
    "Output",
    "OutputError",
    "PlayHandle",
    "PlayItem",
    "Status",
    "list_devices",
    "open_output",
]


def open_output(
    backend: str,
    *,
    device: str | None = None,
    path: Path | str | None = None,
    clock: Clock | None = None,
    samplerate: int | None = None,
    latency: float | None = None,
    realtime: bool = False,
) -> Output:
    """Open the output named by ``[output] backend``.

    device: a device name as `list_devices` shows it ("default" or None: the system default);
    path: the WAV file of the file backend; clock: the (virtual) clock of the null backend;
    realtime: the file backend follows the wall clock (see `scheduler.output.file`).
    Raises OutputError for a bad backend name or a missing path. A missing *device* does not
    raise: it is logged and retried, and what could not play is reported as failed.
    """
    if backend == "device":
        from scheduler.output.device import DEFAULT_LATENCY_S, DeviceOutput

        return DeviceOutput(
            device,
            samplerate=samplerate,
            latency=DEFAULT_LATENCY_S if latency is None else latency,
        )
    if backend == "file":
        if path is None or str(path) == "":
            raise OutputError("output.path: the file backend needs a path (e.g. data/air.wav)")
        from scheduler.output.file import FileOutput

        return FileOutput(Path(path), samplerate=samplerate or 48000, realtime=realtime)
    if backend == "null":
        return NullOutput(clock)
    raise OutputError(
        f"output.backend: unknown backend {backend!r}; use one of {', '.join(BACKENDS)}"
    )


def list_devices() -> list[DeviceInfo]:
    """The output-capable sound devices (imports sounddevice, i.e. PortAudio, on first use)."""
    from scheduler.output.device import list_devices as _list

    return _list()

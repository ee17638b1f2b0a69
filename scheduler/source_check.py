"""`loa source test`: connect to a relay source, play a few seconds to the output, measure it.

The same `LiveSource` as a relay slot (scheduler.output.stream), placed on the output like a
plan; on the null output (no sound card) the source is read at the pace of the clock instead,
so codec, bitrate and loudness are still measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.output.base import ItemEnded, PlayItem
from scheduler.output.stream import LiveSource
from scheduler.spec import RelaySpec

CONNECT_TIMEOUT_S = 10.0
LEAD_S = 1.0


@dataclass
class SourceTest:
    source: str
    connected: bool
    codec: str | None = None
    bitrate_kbps: int | None = None
    loudness_lufs: float | None = None  # the running measure, before the gain
    gain_db: float = 0.0  # what the relay applied toward the station's target
    played_s: float = 0.0
    drops: int = 0
    error: str | None = None
    marks: list[str] = field(default_factory=list)


def check_source(
    output: Any, relay: RelaySpec, *, seconds: float = 10.0, target_lufs: float = -16.0
) -> SourceTest:
    rate = int(getattr(output, "rate", 48000))
    live = LiveSource(
        relay.url, rate, length_s=seconds, target_lufs=target_lufs, timeout_s=relay.timeout_s
    )
    try:
        end = time.monotonic() + CONNECT_TIMEOUT_S
        while live.buffered_s < live.jitter / rate and time.monotonic() < end:
            time.sleep(0.05)
        if live.buffered_s < live.jitter / rate:
            return SourceTest(relay.source, False, error=live.last_error or "no audio arrived")
        played = 0.0
        if getattr(output, "name", "") == "null":
            step = 0.1
            while not live.finished:
                live.read(round(step * rate))
                time.sleep(step)
            played = live.pos / rate
        else:
            ended: list[ItemEnded] = []
            item = PlayItem(Path(relay.source), duration_s=seconds, key=relay.source, live=live)
            at = datetime.now(UTC) + timedelta(seconds=LEAD_S)
            handle = output.play(
                [item], at, lambda e: ended.append(e) if isinstance(e, ItemEnded) else None
            )
            handle.wait(seconds + LEAD_S + 10)
            played = ended[-1].played_s if ended else 0.0
        info = live.info
        return SourceTest(
            relay.source,
            True,
            codec=info.get("codec"),
            bitrate_kbps=info.get("bitrate_kbps"),
            loudness_lufs=live.loudness.loudness_lufs,
            gain_db=live.loudness.gain_db,
            played_s=played,
            drops=sum(1 for m in live.marks if m.what == "drop_start"),
        )
    finally:
        live.close()

"""What the engine needs to know about the station, as plain values.

The shell (`loa`) builds a `StationSpec` from config.toml; the scheduler never reads the file
itself (imports flow loa -> scheduler). Tests build specs directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class SlotSpec:
    name: str
    start: time  # station-local
    length_s: float
    days: str = "mon-sun"  # APScheduler day_of_week expression
    topics: tuple[str, ...] = ()  # topic ids; empty = all
    pause_s: float = 0.0
    intro: Path | None = None
    outro: Path | None = None
    # Only `loa run --demo`'s slot: someone at the keyboard asked for it to air now.
    quiet_exempt: bool = False


@dataclass(frozen=True)
class AmplifierSpec:
    """Optional commands that switch the amplifier relay around a broadcast."""

    on_air: str | None = None
    off_air: str | None = None
    pre_roll_s: float = 0.0  # on_air runs this long before the slot's first sample
    timeout_s: float = 10.0


@dataclass(frozen=True)
class StationSpec:
    id: str
    name: str
    tz: ZoneInfo
    weights: Mapping[str, float]
    slots: tuple[SlotSpec, ...] = ()
    quiet_hours: tuple[time, time] | None = None
    library_root: Path = Path(".")
    require_approval: bool = False
    target_loudness: float = -16.0
    catch_up: bool = True  # back inside a missed slot: air what still fits
    amplifier: AmplifierSpec = field(default_factory=AmplifierSpec)

    def slot(self, name: str) -> SlotSpec | None:
        return next((s for s in self.slots if s.name == name), None)

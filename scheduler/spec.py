"""What the engine needs to know about the station, as plain values.

The shell (`loa`) builds a `StationSpec` from config.toml; the scheduler never reads the file
itself (imports flow loa -> scheduler). Tests build specs directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from playlists.types import Candidate


@dataclass(frozen=True)
class Spot:
    """What the runner needs of a catalogued spot."""

    id: str
    topic: str
    path: str  # relative to the library root: what the log records
    file: Path  # what the output opens
    title: str
    duration_s: float
    gain_db: float = 0.0
    valid_from: date | None = None
    valid_until: date | None = None
    approved: bool = True
    start_s: float = 0.0  # leading silence the playout skips (duration_s is what follows)

    def candidate(self) -> Candidate:
        return Candidate(
            spot=self.id,
            topic=self.topic,
            duration_s=self.duration_s,
            path=self.path,
            title=self.title,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            approved=self.approved,
        )


def shown_url(url: str) -> str:
    """A stream URL as logs, the airtime log and reports show it: never its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class RelaySpec:
    """A live stream a slot relays (tiếp sóng) for its frame; see `scheduler.relay`."""

    source: str  # the source id: what the relay rows log
    name: str
    url: str
    fallback: str = "spots"  # spots | silence: what fills while the stream is down
    timeout_s: float = 10.0  # silent or without data this long: down


@dataclass(frozen=True)
class SlotSpec:
    name: str
    start: time  # station-local
    length_s: float
    days: str = "mon-sun"  # APScheduler day_of_week expression
    topics: tuple[str, ...] = ()  # topic ids; empty = all
    pause_s: float = 0.0
    intro: Spot | None = None  # a jingle: played first, not part of the rotation
    outro: Spot | None = None
    # Only `loa run --demo`'s slot: someone at the keyboard asked for it to air now.
    quiet_exempt: bool = False
    relay: RelaySpec | None = None  # a relay slot airs this stream instead of drawing spots


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

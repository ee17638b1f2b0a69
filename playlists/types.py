"""Plain input and output values of the planner (no behaviour beyond validation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

ROLES = ("intro", "spot", "outro")
ALL_TOPICS = "*"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A spot the library offers for rotation.

    `duration_s` is the playable duration after silence trim. `ok=False` means the library
    refused or removed it. The validity window is inclusive on both ends, in station-local dates.
    """

    spot: str
    topic: str
    duration_s: float
    path: str
    title: str
    valid_from: date | None = None
    valid_until: date | None = None
    approved: bool = True
    ok: bool = True

    def eligible_on(self, day: date, *, require_approval: bool = False) -> bool:
        """True when this spot may air on the station-local `day`."""
        return (
            self.ok
            and (self.approved or not require_approval)
            and self.duration_s > 0
            and self.duration_s != float("inf")
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_until is None or day <= self.valid_until)
        )


# An intro or outro jingle is simply a candidate that is not part of the rotation.
Jingle = Candidate


@dataclass(frozen=True, slots=True)
class Play:
    """One row of the airtime log as the planner needs it (completed or partial play).

    `started_at` must be timezone-aware. Plays with `played_s <= 0` never aired and are ignored.
    Jingle plays should carry `topic=None` so they do not count toward a topic's airtime.
    """

    spot: str | None
    topic: str | None
    started_at: datetime
    played_s: float


@dataclass(frozen=True, slots=True)
class SlotRequest:
    """One slot to fill.

    `start` is aware, in the station's time zone (its local date decides validity windows).
    `topics` empty or ("*",) means all weighted topics. `pause_s` separates consecutive items.
    """

    name: str
    start: datetime
    length_s: float
    topics: tuple[str, ...] = ()
    intro: Candidate | None = None
    outro: Candidate | None = None
    pause_s: float = 0.0

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError(
                f"slot {self.name!r}: start {self.start.isoformat()} has no time zone; "
                "give an aware datetime in the station's time zone"
            )
        if not self.length_s >= 0 or self.length_s == float("inf"):
            raise ValueError(f"slot {self.name!r}: length_s must be a finite number >= 0")
        if not self.pause_s >= 0 or self.pause_s == float("inf"):
            raise ValueError(f"slot {self.name!r}: pause_s must be a finite number >= 0")
        if not isinstance(self.topics, tuple):
            object.__setattr__(self, "topics", tuple(self.topics))

    @property
    def all_topics(self) -> bool:
        return not self.topics or ALL_TOPICS in self.topics


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One item of a plan; `offset_s` is seconds from the slot start."""

    spot: str
    topic: str
    path: str
    title: str
    offset_s: float
    duration_s: float
    role: str

    @property
    def end_s(self) -> float:
        return self.offset_s + self.duration_s


@dataclass(frozen=True, slots=True)
class Plan:
    """The ordered plan of one slot. `notes` are operator-facing (Vietnamese, English in ())."""

    slot: str
    start: datetime
    length_s: float
    items: tuple[PlanItem, ...]
    unfilled_s: float
    notes: tuple[str, ...] = ()

    def start_of(self, item: PlanItem) -> datetime:
        """When `item` is planned to start (aware, in the slot's time zone)."""
        return self.start + timedelta(microseconds=round(item.offset_s * 1_000_000))

    @property
    def spots(self) -> tuple[PlanItem, ...]:
        """The rotation items, without jingles."""
        return tuple(item for item in self.items if item.role == "spot")

"""Fair rotation: turn (slot, eligible spots, play history, topic weights) into a plan.

Pure functions: no I/O, no clock, no database. The scheduler fills the input types from the
library and the airtime log; `loa playlist preview` and `loa simulate` call `plan_sequence`.

Algorithm
---------
1. Eligibility. A spot can air on the slot's local date when the library has not refused it
   (`ok`), it is approved (when approval is required), its duration is positive and the date
   is inside its validity window (inclusive). An allowed topic with no eligible spot gets a
   note in the plan; it is never an error.
2. Rotation state from the log. A topic's airtime is the sum of `played_s` (partial plays
   count for what aired) of its plays that started in the trailing *fairness horizon*
   (default 30 days) before the slot start. A spot's last-aired time looks at the whole log.
   Plays at or after the slot start are ignored, so a past slot re-plans the same.
3. Greedy fill. Layout: optional intro at offset 0, then spots, then the optional outro,
   with `pause_s` between consecutive items; jingles and pauses count toward the length. At
   each step the candidates are, per allowed topic, the least recently aired spot not yet in
   the plan that still fits (room for the pause and the outro is kept). Among those topics the
   one with the smallest weighted virtual finish time `(aired_s + planned_s + duration_s) /
   weight` wins (ties: topic id), except that the previous item's topic is skipped while
   another topic has a spot that fits. The fill stops when no unused spot fits, so the
   unfilled rest is shorter than (pause + shortest unused eligible spot). A spot never repeats
   within a slot. Jingles yield to spots: when no spot fits with them, the outro is dropped,
   then the intro (each with a note); a plan is never jingles alone.
4. Determinism. Every choice is ordered by stable keys (aired time, then spot or topic id);
   durations and times are integer microseconds, so the same library, log and config give
   the same plan however the input lists are ordered.
5. Sequences. `plan_sequence` (and `Rotation.plan`) keeps the state incrementally: per-topic
   window seconds in a deque, per-topic heaps of spots keyed by last-aired time, and
   validity windows applied as the date moves forward. Each planned slot is counted as aired
   before the next one is planned, exactly as if its plays were appended to the log.

Why a trailing window: over the whole log, a topic added (or re-weighted) after a year would
monopolise airtime for weeks to catch up; a 30-day window bounds that catch-up while any span
of 60 days or more is made of fair windows (tested: within ±2 points from an empty log, and
within ±2 points over the 60 days that follow one horizon after any skewed log).

Limits, by design: rule 4 (no topic twice in a row) wins over the weights, so a topic cannot
take much more than half of a slot, and with only two topics strict alternation decides the
shares whatever the weights. A topic needs enough distinct spots: none repeats in a slot.
Rule 3's even play counts hold where durations allow: near the end of a slot only short
spots fit, so short spots serve as fillers and air a little more often. "No topic twice in a
row" applies within a slot, not across the hours between two slots.
"""

from playlists.planner import (
    Rotation,
    check_weights,
    plan_sequence,
    plan_slot,
    plan_to_plays,
)
from playlists.state import DEFAULT_HORIZON_DAYS, RotationState
from playlists.types import Candidate, Jingle, Plan, PlanItem, Play, SlotRequest

__all__ = [
    "DEFAULT_HORIZON_DAYS",
    "Candidate",
    "Jingle",
    "Plan",
    "PlanItem",
    "Play",
    "Rotation",
    "RotationState",
    "SlotRequest",
    "check_weights",
    "plan_sequence",
    "plan_slot",
    "plan_to_plays",
]

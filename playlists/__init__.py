"""Fair rotation: turn (slot, eligible spots, play history, topic weights) into a plan.

Pure functions: no I/O, no clock, no database. The scheduler fills the input types from the
library and the airtime log; `loa playlist preview` and `loa simulate` call `plan_sequence`.

Algorithm
---------
1. Eligibility. A spot can air on the slot's local date when the library has not refused it
   (`ok`), it is approved (when approval is required), its duration is positive and the date
   is inside its validity window (inclusive). An allowed topic with no eligible spot gets a
   note in the plan; it is never an error.
2. Rotation state from the log. Between topics: a topic's airtime is the sum of `played_s`
   (partial plays count for what aired) of its plays that started in the trailing *fairness
   horizon* (default 30 days) before the slot start. Within a topic: rounds (issue 16).
   Replaying the whole log oldest first, a play of spot s in topic T counts as
   `pre = max(count[s], round[T]); count[s] = pre + 1; round[T] = pre`, so a spot whose
   count is at most its topic's round has not aired in the current round and is *due*; one
   that has waits (count = round + 1). A spot's last-aired time looks at the whole log too.
   Plays at or after the slot start are ignored, so a past slot re-plans the same.
3. Greedy fill. Layout: optional intro at offset 0, then spots, then the optional outro,
   with `pause_s` between consecutive items; jingles and pauses count toward the length. At
   each step every allowed topic offers its longest due spot not yet in the plan that still
   fits (room for the pause and the outro is kept; among spots as long, the least recently
   aired, then the spot id). Among those topics the one furthest behind its weight,
   `aired_s / weight` (ties: topic id), wins, except that the previous item's topic is
   skipped while another topic has a due spot that fits. A topic's round closes when every
   spot of it that could fit the slot (the slot less its jingles) has aired in it; then all
   its spots are due again, which can happen mid-slot. Spots that cannot fit a slot do not
   hold its round back there. The fill stops when no due spot fits, so the unfilled rest is
   shorter than (pause + the shortest due spot not in the plan). Longest first is the
   knapsack rule: a round spends its long spots while slots have room and keeps its short
   ones for the ends of slots. A spot never repeats within a slot. Jingles yield to spots:
   when no spot fits with them, the outro is dropped, then the intro (each with a note); a
   plan is never jingles alone.
4. Determinism. Every choice is ordered by stable keys (duration, aired time, then spot or
   topic id; the log replays in start order, ties by topic then spot); durations and times
   are integer microseconds, so the same library, log and config give the same plan however
   the input lists are ordered.
5. Sequences. `plan_sequence` (and `Rotation.plan`) keeps the state incrementally: per-topic
   window seconds in a deque, counts and rounds in dicts, per-topic duration-sorted lists of
   the live spots and of those due in the round, and validity windows applied as the date
   moves forward. Each planned spot is counted as aired as soon as it is placed, exactly as
   if its play were appended to the log.

Even counts (issue 16). Within a topic, over any period of 30 days or more, the play counts
of its spots that fit every slot differ by at most 2 whatever their durations: each airs
exactly once per round, and a period holds whole rounds plus a part of one at each end
(measured in the issue's library, 20-120 s spots in 8 and 10 minute slots, 60 days: spread
1 over the 60 days and at most 2 in any 30 of them, shares within 0.2 points, at most 20 s
left unfilled). Newcomers: a spot that has not aired in its topic (a new file, a validity
window or an approval that has just begun, a spot moved from another topic) has count 0,
below the round, so it is due at once and then keeps pace; it gets no extra plays for the
time before it came and cannot take its topic over. A backlog in an older log (the old
planner aired short spots twice as often) is forgiven at each spot's next play, not repaid.

Why a trailing window for topics: over the whole log, a topic added (or re-weighted) after
a year would monopolise airtime for weeks to catch up; a 30-day window bounds that catch-up
while any span of 60 days or more is made of fair windows (tested: within ±2 points from an
empty log, and within ±2 points over the 60 days that follow one horizon after any skewed
log). Rounds need no window: counts are relative to the round.

Limits, by design: rule 4 (no topic twice in a row) wins over the weights, so a topic cannot
take much more than half of a slot, and with only two topics strict alternation decides the
shares whatever the weights. A topic needs enough distinct spots: none repeats in a slot. A
spot longer than some slots airs only in the slots it fits and falls behind the others; a
spot longer than every slot never airs (the library scan refuses it); `loa simulate` flags
a topic whose spread exceeds 2 and says why. Within a round the order is by duration, so a
topic's long spots open its rounds. "No topic twice in a row" applies within a slot, not
across the hours between two slots.
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

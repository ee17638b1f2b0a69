"""The slot runner: one occurrence of a slot (or one ad hoc broadcast), from plan to log.

The runner decides whether an occurrence airs (not twice, not in quiet hours, what still fits
when late), asks the planner for a plan, switches the amplifier, hands the plan to the output and
turns the output's events into airtime rows: a row is opened when an item's first sample reaches
the device and closed when its last one did, or when it was cut.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from playlists.planner import plan_slot
from playlists.types import Plan, SlotRequest
from scheduler.airlog import AirLog
from scheduler.clock import Clock
from scheduler.hooks import run_hook
from scheduler.output.base import Event, ItemEnded, ItemStarted, Output, PlayHandle, PlayItem
from scheduler.slot_decision import LoggedRow, SlotDecision, after_air, decide_slot
from scheduler.slots import Occurrence, quiet_overlap, slot_request
from scheduler.spec import Spot, StationSpec

log = logging.getLogger("loa.runner")

# How long before the first sample the runner hands a plan to the output: the device needs a
# few hundred milliseconds to place the first sample exactly (FINDINGS.md: 100 ms buffer).
LEAD_S = 1.0
# An emergency is not placed on a planned instant but aired as soon as the device can: handed
# over this little ahead, it starts with the first block the decoder fills (the device already
# renders ~0.75 s ahead of its DAC), ~0.7 s sooner than with LEAD_S (BENCHMARKS.md, bulletins).
EMERGENCY_LEAD_S = 0.25


SpotSource = Callable[[], Sequence[Spot]]
Planner = Callable[[SlotRequest, Sequence[Spot]], Plan]


@dataclass
class Outcome:
    """What became of one occurrence or broadcast."""

    status: str  # aired | cut | device | missed | skipped | already | empty | failed
    message: str = ""
    plan: Plan | None = None
    results: list[ItemEnded] = field(default_factory=list)


@dataclass
class Airing:
    """The broadcast on air now (what `loa status` shows and an emergency cuts)."""

    kind: str
    slot: str | None
    handle: PlayHandle
    titles: list[str]
    started: datetime
    cut: bool = False


class Runner:
    def __init__(
        self,
        station: StationSpec,
        airlog: AirLog,
        output: Output,
        clock: Clock,
        spots: SpotSource,
        planner: Planner | None = None,
    ) -> None:
        self.station = station
        self.airlog = airlog
        self.output = output
        self.clock = clock
        self.spots = spots
        self.planner = planner or self.plan_from_log
        self.current: Airing | None = None
        self._lock = threading.Lock()
        self._log_problem: str | None = None  # why the last airtime row was not logged

    # ------------------------------------------------------------------ planning
    def plan_from_log(self, request: SlotRequest, spots: Sequence[Spot]) -> Plan:
        """The plan the log implies: what `loa playlist preview` shows for the same slot."""
        return plan_slot(
            request,
            [s.candidate() for s in spots],
            self.airlog.history(),
            self.station.weights,
            require_approval=self.station.require_approval,
        )

    def request_for(self, occ: Occurrence, start: datetime, length_s: float) -> SlotRequest:
        """The planner's request: on time, exactly what `loa playlist preview` asked."""
        request = slot_request(self.station, occ)
        if start == occ.at and length_s == occ.slot.length_s:
            return request
        return dataclasses.replace(
            request, start=start.astimezone(self.station.tz), length_s=max(0.0, length_s)
        )

    # ------------------------------------------------------------------ one slot
    def decide(
        self, occ: Occurrence, unfinished: bool = False
    ) -> tuple[SlotDecision, Outcome | None]:
        """`decide_slot` on this occurrence's logged rows, and the outcome when it is not to
        air (already aired: nothing; missed or skipped: its row written). One rule for spot
        slots and relay slots (scheduler.relay)."""
        slot = occ.slot
        done = self.airlog.rows_between(slot.name, occ.at, occ.end)
        decision = decide_slot(
            at=occ.at,
            end=occ.end,
            now=self.clock.now(),
            rows=[LoggedRow(r.status, r.spot, r.played_s) for r in done],
            unfinished=unfinished,
            catch_up=self.station.catch_up,
            quiet_hours=None if slot.quiet_exempt else self.station.quiet_hours,
            tz=self.station.tz,
            lead_s=LEAD_S,
        )
        if decision.action == "already":
            return decision, Outcome("already", f"{slot.name} {decision.why}")
        if decision.action in ("missed", "skipped"):
            return decision, self.record_missed(occ, decision.why, status=decision.action)
        return decision, None

    def air_slot(self, occ: Occurrence, unfinished: bool = False) -> Outcome:
        """Air one occurrence of a slot; safe to call again for the same one (never twice).

        `unfinished`: the daemon died while this occurrence was on air (its last heartbeat
        says so), so the rest airs even if the last row is a completed one (killed between
        two spots)."""
        slot = occ.slot
        if slot.relay is not None:  # tiếp sóng: the live stream airs (scheduler.relay, issue 14)
            from scheduler.relay import RelayAirer

            return RelayAirer(self).air(occ, unfinished)
        decision, outcome = self.decide(occ, unfinished)
        if outcome is not None:
            return outcome
        assert decision.start is not None
        start, length, resuming = decision.start, decision.length_s, decision.resuming
        try:
            spots = list(self.spots())
            if resuming:
                rest = [s for s in spots if s.id not in decision.aired]
                spots = rest or spots
            request = self.request_for(occ, start, length)
            plan = self.planner(request, spots)
        except Exception as exc:  # a slot that cannot be planned is a failed row, not silence
            log.exception("planning %s failed", slot.name)
            why = f"không lập được kế hoạch (planning failed): {type(exc).__name__}: {exc}"
            return self.record_missed(occ, why, status="failed")
        for note in plan.notes:
            self.airlog.event("warning", "playlist", f"{slot.name}: {note}")
        if not plan.items:
            if resuming:
                return Outcome("already", "nothing left that fits the slot", plan)
            why = "không có tin/bài nào vừa buổi phát (no eligible spot fits the slot)"
            return self.record_missed(occ, why, plan=plan)
        playable = [*spots, *(j for j in (slot.intro, slot.outro) if j is not None)]
        items = [
            self._play_item(item.spot, item.offset_s, item.duration_s, playable)
            for item in plan.items
        ]
        meta = [
            {
                "kind": "scheduled",
                "slot": slot.name,
                "topic": item.topic if item.role == "spot" else None,
                "spot": item.spot,
                "title": item.title,
                "path": item.path,
                "scheduled_at": start + timedelta(seconds=item.offset_s),
            }
            for item in plan.items
        ]
        results = self._air("scheduled", slot.name, start, items, meta)
        status, message = after_air([r.status for r in results], self.output_error())
        return Outcome(status, message, plan, results)

    def output_error(self) -> str | None:
        """Why the sound device is failing now (None when it works or cannot tell)."""
        return getattr(self.output, "error", None)

    def record_missed(
        self, occ: Occurrence, why: str, status: str = "missed", plan: Plan | None = None
    ) -> Outcome:
        self.airlog.record(
            status=status, kind="scheduled", slot=occ.slot.name, scheduled_at=occ.at, error=why
        )
        level = "error" if status == "failed" else "warning"
        self.airlog.event(level, "slot", f"{occ.slot.name} {occ.at.isoformat()}: {why}")
        return Outcome(status, why, plan)

    def record_failed_adhoc(self, kind: str, spots: Sequence[Spot], why: str) -> Outcome:
        """An ad hoc broadcast that could not air at all: one failed row per spot."""
        now = self.clock.now()
        for spot in spots:
            self.airlog.record(
                status="failed",
                kind=kind,
                topic=spot.topic or None,
                spot=spot.id or None,
                title=spot.title,
                path=spot.path,
                scheduled_at=now,
                error=why,
            )
        self.airlog.event("error", kind, why)
        return Outcome("failed", why)

    def _play_item(
        self, spot_id: str, offset_s: float, duration_s: float, spots: Sequence[Spot]
    ) -> PlayItem:
        spot = next((s for s in spots if s.id == spot_id), None)
        if spot is None:  # planned from a spot that vanished since: the output reports it failed
            return PlayItem(
                path=Path(spot_id), offset_s=offset_s, duration_s=duration_s, key=spot_id
            )
        return PlayItem(
            path=spot.file,
            gain_db=spot.gain_db,
            offset_s=offset_s,
            duration_s=duration_s,
            key=spot.id,
            start_s=spot.start_s,
            length_s=spot.duration_s,
        )

    # ------------------------------------------------------------------ ad hoc
    def air_adhoc(self, kind: str, spots: Sequence[Spot]) -> Outcome:
        """Air spots now (kind adhoc or emergency), logged as such."""
        if kind != "emergency":
            quiet = quiet_overlap(
                self.clock.now(),
                sum(s.duration_s for s in spots),
                self.station.quiet_hours,
                self.station.tz,
            )
            if quiet is not None:
                why = "giờ yên tĩnh: chỉ tin khẩn cấp được phát (quiet hours: only emergencies)"
                self.airlog.event("warning", "adhoc", why)
                return Outcome("skipped", why)
        lead = EMERGENCY_LEAD_S if kind == "emergency" else LEAD_S
        start = self.clock.now() + timedelta(seconds=lead)
        items, meta, offset = [], [], 0.0
        for spot in spots:
            items.append(PlayItem(spot.file, spot.gain_db, offset, spot.duration_s, key=spot.id))
            meta.append(
                {
                    "kind": kind,
                    "slot": None,
                    "topic": spot.topic or None,
                    "spot": spot.id or None,
                    "title": spot.title,
                    "path": spot.path,
                    "scheduled_at": start + timedelta(seconds=offset),
                }
            )
            offset += spot.duration_s
        results = self._air(kind, None, start, items, meta)
        return Outcome("aired", "", None, results)

    # ------------------------------------------------------------------ the air itself
    def _air(
        self,
        kind: str,
        slot: str | None,
        start: datetime,
        items: list[PlayItem],
        meta: list[dict[str, object]],
    ) -> list[ItemEnded]:
        amp = self.station.amplifier
        self.clock.sleep_until(start - timedelta(seconds=amp.pre_roll_s + LEAD_S))
        problem = run_hook("on_air", amp.on_air, amp.timeout_s)
        if problem:
            self.airlog.event("error", "hook", problem)
        rows: dict[int, int] = {}

        def on_event(event: Event) -> None:
            fields = meta[event.index]
            where = f"{fields['kind']} {fields['slot'] or ''}".strip()
            if isinstance(event, ItemStarted):
                log.info("on air [%s]: %s (%s)", where, fields["title"], fields["path"])
            else:
                log.info(
                    "%s [%s]: %s, %.1f s%s",
                    event.status,
                    where,
                    fields["title"],
                    event.played_s,
                    f": {event.error}" if event.error else "",
                )
            try:
                if isinstance(event, ItemStarted):
                    rows[event.index] = self.airlog.open_play(started_at=event.started_at, **fields)
                elif event.index in rows:
                    self.airlog.close_play(
                        rows[event.index], event.ended_at, event.played_s, event.status, event.error
                    )
                else:
                    self.airlog.record(
                        status=event.status,
                        ended_at=None,
                        played_s=0.0,
                        error=event.error,
                        **fields,
                    )
                if isinstance(event, ItemEnded) and event.status == "failed":
                    self.airlog.event("error", "output", f"{fields['path']}: {event.error}")
                self._log_problem = None
            except Exception as exc:  # a row the database layer refused outright (not held)
                self._row_not_logged(event, exc)

        try:
            handle = self.output.play(items, start, on_event)
        except Exception as exc:  # the output refused the plan: every item failed, logged
            log.exception("the output refused the plan")
            why = f"đầu ra từ chối (the output refused the plan): {type(exc).__name__}: {exc}"
            failed = [
                ItemEnded(i, item.key, self.clock.now(), 0.0, "failed", why)
                for i, item in enumerate(items)
            ]
            for event in failed:
                on_event(event)
            problem = run_hook("off_air", amp.off_air, amp.timeout_s)
            if problem:
                self.airlog.event("error", "hook", problem)
            return failed
        with self._lock:
            self.current = Airing(kind, slot, handle, [str(m["title"]) for m in meta], start)
        try:
            total = (items[-1].offset_s if items else 0) + sum(i.duration_s or 0 for i in items)
            if not handle.wait(timeout=total + LEAD_S + 60):
                log.error("the output did not finish the plan in time: cutting it")
                handle.cut()
                handle.wait(timeout=10)
        finally:
            with self._lock:
                self.current = None
            problem = run_hook("off_air", amp.off_air, amp.timeout_s)
            if problem:
                self.airlog.event("error", "hook", problem)
        return handle.results()

    def _row_not_logged(self, event: Event, exc: Exception) -> None:
        """A station event (once per change of cause), never only a traceback in the log."""
        why = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if why == self._log_problem:
            return
        self._log_problem = why
        message = f"không ghi được nhật ký phát sóng (an airtime row was not logged): {why}"
        log.error("%s (%r)", message, event)
        try:
            self.airlog.event("error", "airtime", message)
        except Exception:
            log.exception("could not write the event either")

    def cut_current(self, fade_ms: float = 50.0) -> Airing | None:
        """Fade out what is on air (an emergency cuts in); returns what was cut."""
        with self._lock:
            airing = self.current
        if airing is not None:
            airing.cut = True
            airing.handle.cut(fade_ms)
        return airing

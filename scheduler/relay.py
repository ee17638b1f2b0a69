"""Relay slots (tiếp sóng): air a live stream for the slot's frame and log what really went out.

`Runner.air_slot` hands a slot with `relay` set to `RelayAirer.air`. The decisions are the
runner's (never twice, catch-up, quiet hours); the airing differs:

- On the null output (`loa simulate`, previews) the stream stands for itself: one relay row
  covering the frame, through the runner's own `_air`.
- On a real output a `LiveSource` (scheduler.output.stream) connects `CONNECT_S` before the
  slot, and plays as the one item of the plan, placed on the DAC clock like any spot. A
  monitor turns the source's marks (sample positions) into airtime rows as they reach the
  device: a `relay` row per continuous stretch (spot = the source id, title = its name, path =
  the stream URL without password), a `relay` row with status `failed` per drop (its measured
  start, end and length), and `scheduled` rows for the fallback spots, planned from the slot's
  topics by the planner, as the slot would have been, while the stream is down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scheduler.hooks import run_hook
from scheduler.output.base import Event, ItemEnded, ItemStarted, PlayItem
from scheduler.output.decoder import StreamDecoder
from scheduler.output.stream import DOWN, GAP, LIVE, Fallback, LiveSource, Mark
from scheduler.slots import Occurrence
from scheduler.spec import RelaySpec, StationSpec, shown_url

if TYPE_CHECKING:
    from scheduler.runner import Outcome, Runner

log = logging.getLogger("loa.relay")

CONNECT_S = 4.0  # the stream is connected this long before the slot's first sample
POLL_S = 0.1  # the monitor's step


def relay_lead_s(station: StationSpec) -> float:
    """How much earlier the daemon fires a slot job when some slot relays (connecting)."""
    return CONNECT_S if any(s.relay is not None for s in station.slots) else 0.0


def relay_fields(relay: RelaySpec, slot: str, scheduled_at: datetime) -> dict[str, Any]:
    """The columns of a relay row: the source id in `spot`, its name in `title`."""
    return {
        "kind": "relay",
        "slot": slot,
        "topic": None,
        "spot": relay.source,
        "title": relay.name,
        "path": shown_url(relay.url),
        "scheduled_at": scheduled_at,
    }


@dataclass
class RelayLog:
    """Marks of a `LiveSource` -> airtime rows, each when its sample reached the device."""

    runner: Runner
    relay: RelaySpec
    slot: str
    start: datetime  # the slot's start as aired (scheduled_at of the relay rows)
    rate: int
    t0: datetime | None = None  # measured: frame 0 of the source at the DAC
    relay_row: tuple[int, int] | None = None  # (row, first frame)
    drop: tuple[int, str] | None = None  # (first frame, reason)
    spot_rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    spot_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    drops: list[float] = field(default_factory=list)  # measured lengths, seconds
    fallback_end: datetime | None = None  # when the fallback spots handed in will have played
    relayed_s: float = 0.0

    def at(self, pos: int) -> datetime:
        assert self.t0 is not None
        return self.t0 + timedelta(seconds=pos / self.rate)

    def due(self, mark: Mark, now: datetime) -> bool:
        return self.t0 is not None and self.at(mark.pos) <= now

    def apply(self, mark: Mark) -> None:
        airlog = self.runner.airlog
        fields = relay_fields(self.relay, self.slot, self.start)
        what, pos, t = mark.what, mark.pos, self.at(mark.pos)
        if what == "relay_start":
            self.relay_row = (airlog.open_play(started_at=t, **fields), pos)
            log.info("relay [%s]: %s on air", self.slot, self.relay.source)
        elif what == "relay_end":
            self._close_relay(pos, "interrupted", f"mất tín hiệu ({mark.info.get('reason')})")
        elif what == "drop_start":
            self.drop = (pos, str(mark.info.get("reason")))
            airlog.event(
                "warning",
                "relay",
                f"{self.slot}: {self.relay.source}: mất tín hiệu (stream down: "
                f"{mark.info.get('reason')}) at {t.isoformat(timespec='seconds')}",
            )
        elif what == "drop_end":
            length = self._record_drop(pos)
            airlog.event(
                "info",
                "relay",
                f"{self.slot}: {self.relay.source}: tín hiệu trở lại sau {length:.1f} s "
                "(stream back)",
            )
        elif what == "down":
            fill = self.relay.fallback
            airlog.event(
                "warning",
                "relay",
                f"{self.slot}: {self.relay.source}: phát dự phòng (fallback: {fill}) "
                f"after {self.relay.timeout_s:g} s without the stream",
            )
        elif what == "spot_start":
            key = str(mark.info["key"])
            meta = {**self.spot_meta.get(key, {}), "scheduled_at": t}
            self.spot_rows[key] = (airlog.open_play(started_at=t, **meta), pos)
        elif what == "spot_end":
            key = str(mark.info["key"])
            found = self.spot_rows.pop(key, None)
            if found is not None:
                row, first = found
                status = str(mark.info.get("status") or "completed")
                airlog.close_play(row, t, (pos - first) / self.rate, status, mark.info.get("error"))

    def _close_relay(self, pos: int, status: str, error: str | None) -> None:
        if self.relay_row is None:
            return
        row, first = self.relay_row
        played = (pos - first) / self.rate
        self.relayed_s += played
        self.runner.airlog.close_play(row, self.at(pos), played, status, error)
        self.relay_row = None

    def _record_drop(self, pos: int) -> float:
        """Write the drop open since its start as ending at `pos`; its length (s)."""
        if self.drop is None:
            return 0.0
        first, reason = self.drop
        length = (pos - first) / self.rate
        self.drops.append(length)
        fields = relay_fields(self.relay, self.slot, self.start)
        self.runner.airlog.record(
            status="failed",
            started_at=self.at(first),
            ended_at=self.at(pos),
            played_s=0.0,
            error=f"mất tín hiệu {length:.1f} s (stream dropped: {reason})",
            **fields,
        )
        self.drop = None
        return length

    def finish(self, ended: ItemEnded) -> None:
        """The item ended (frame end, cut, device failure): close what is still open."""
        if self.t0 is None:
            return
        end = round(ended.played_s * self.rate)
        status = "completed" if ended.status == "completed" else "interrupted"
        self._close_relay(end, status, ended.error)
        self._record_drop(end)
        for row, first in list(self.spot_rows.values()):
            self.runner.airlog.close_play(
                row, self.at(end), (end - first) / self.rate, "interrupted", ended.error
            )
        self.spot_rows.clear()


class RelayAirer:
    """One occurrence of a relay slot on the runner's output, log and clock."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def air(self, occ: Occurrence, unfinished: bool = False) -> Outcome:
        from scheduler.runner import Outcome

        r = self.runner
        slot = occ.slot
        relay = slot.relay
        assert relay is not None
        # the runner's own decision: never twice, catch-up, quiet hours
        decision, outcome = r.decide(occ, unfinished)
        if outcome is not None:
            return outcome
        assert decision.start is not None
        start, length = decision.start, decision.length_s
        if length <= 0:
            return Outcome("already", f"{slot.name}: the relay's frame is over")
        if getattr(r.output, "name", "") == "null":  # the stream plays the whole frame
            item = PlayItem(Path(relay.source), duration_s=length, key=relay.source)
            results = r._air(
                "scheduled", slot.name, start, [item], [relay_fields(relay, slot.name, start)]
            )
            cut = any(e.status in ("interrupted", "skipped") for e in results)
            return Outcome("cut" if cut else "aired", "", None, results)
        return self._air_live(occ, relay, start, length)

    def _air_live(
        self, occ: Occurrence, relay: RelaySpec, start: datetime, length: float
    ) -> Outcome:
        from scheduler.runner import LEAD_S, Airing, Outcome

        r = self.runner
        slot = occ.slot
        amp = r.station.amplifier
        rate = int(getattr(r.output, "rate", 48000))
        r.clock.sleep_until(start - timedelta(seconds=amp.pre_roll_s + CONNECT_S))
        live = LiveSource(
            relay.url,
            rate,
            length_s=length,
            target_lufs=r.station.target_loudness,
            timeout_s=relay.timeout_s,
        )
        book = RelayLog(r, relay, slot.name, start, rate)
        ended: list[ItemEnded] = []

        def on_event(event: Event) -> None:
            if isinstance(event, ItemStarted):
                book.t0 = event.started_at
            else:
                ended.append(event)

        r.clock.sleep_until(start - timedelta(seconds=amp.pre_roll_s + LEAD_S))
        problem = run_hook("on_air", amp.on_air, amp.timeout_s)
        if problem:
            r.airlog.event("error", "hook", problem)
        item = PlayItem(
            Path(relay.source), duration_s=length, key=relay.source, length_s=length, live=live
        )
        title = f"tiếp sóng (relay) {relay.name} [{relay.source}]"
        try:
            handle = r.output.play([item], start, on_event)
        except Exception as exc:
            live.close()
            why = f"đầu ra từ chối (the output refused the relay): {type(exc).__name__}: {exc}"
            r.airlog.record(status="failed", error=why, **relay_fields(relay, slot.name, start))
            return Outcome("failed", why)
        airing = Airing("scheduled", slot.name, handle, [title], start)
        with r._lock:
            r.current = airing
        planned: set[str] = set()
        try:
            while not handle.wait(POLL_S):
                self._step(book, live, occ, planned, rate)
                drops = len(book.drops) + (book.drop is not None)
                airing.titles = [title] + ([f"mất tín hiệu (drops): {drops}"] if drops else [])
        finally:
            with r._lock:
                r.current = None
            problem = run_hook("off_air", amp.off_air, amp.timeout_s)
            if problem:
                r.airlog.event("error", "hook", problem)
            try:
                while live.marks:
                    book.apply(live.marks.popleft())
                if ended:
                    book.finish(ended[-1])
                    if book.t0 is None:  # never started (the device is down)
                        fields = relay_fields(relay, slot.name, start)
                        r.airlog.record(status="failed", error=ended[-1].error, **fields)
            except Exception:
                log.exception("could not log the end of the relay")
            live.close()
            for spot in live.retired():
                spot.feed.close()
        results = handle.results()
        if results and results[-1].status == "failed" and r.output_error():
            return Outcome("device", str(r.output_error()), None, results)
        cut = airing.cut or any(e.status == "interrupted" for e in results)
        return Outcome("cut" if cut else "aired", "", None, results)

    def _step(
        self, book: RelayLog, live: LiveSource, occ: Occurrence, planned: set[str], rate: int
    ) -> None:
        """Log what reached the device; keep the fallback's next spot decoded ahead."""
        now = self.runner.clock.now()
        try:
            while live.marks and book.due(live.marks[0], now):
                book.apply(live.marks.popleft())
        except Exception:
            log.exception("could not log a relay mark")
        for spot in live.retired():
            spot.feed.close()
        if book.relay.fallback != "spots":
            return
        if live.state == LIVE:
            while True:  # the stream is back: the spots prepared for it are not needed
                try:
                    unused = live.fallbacks.pop()
                except IndexError:
                    break
                unused.feed.close()
                planned.discard(unused.key)
            book.fallback_end = None
            return
        long_gap = live.state == GAP and live.bad_frames * 2 >= live.timeout
        if (long_gap or live.state == DOWN) and not live.fallbacks:
            self._prepare_fallback(book, live, occ, planned, rate, now)

    def _prepare_fallback(
        self,
        book: RelayLog,
        live: LiveSource,
        occ: Occurrence,
        planned: set[str],
        rate: int,
        now: datetime,
    ) -> None:
        """Plan the rest of the frame from the slot's topics; decode its first spot ahead."""
        r = self.runner
        begin = max(now, book.fallback_end or now)  # after the spot now playing
        remaining = (occ.end - begin).total_seconds()
        if remaining <= 1:
            return
        try:
            spots = [s for s in r.spots() if s.id not in planned]
            plan = r.planner(r.request_for(occ, begin, remaining), spots)
        except Exception:
            log.exception("planning the relay's fallback failed")
            return
        first = next((i for i in plan.items if i.role == "spot"), None)
        spot = next((s for s in spots if first is not None and s.id == first.spot), None)
        if spot is None:  # nothing fits: silence; plan again a little later
            book.fallback_end = begin + timedelta(seconds=5)
            return
        planned.add(spot.id)
        book.fallback_end = begin + timedelta(seconds=spot.duration_s)
        book.spot_meta[spot.id] = {
            "kind": "scheduled",
            "slot": occ.slot.name,
            "topic": spot.topic,
            "spot": spot.id,
            "title": spot.title,
            "path": spot.path,
        }
        feed = StreamDecoder(
            spot.file, rate, spot.gain_db, start_s=spot.start_s, length_s=spot.duration_s
        )
        live.fallbacks.append(Fallback(spot.id, feed))

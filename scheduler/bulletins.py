"""The daemon's bulletins: the board the runner plans and airs them from (the background
fetcher that fills it is scheduler.bulletin_fetch, imported only with `[central] url`).

The board reads the station's bulletin rows and the airtime log at each use: khan-cap ones are
handed to the air worker as emergencies, the others enter the slots (scheduler.bulletin_rules).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from playlists.types import Plan, SlotRequest
from scheduler import bulletin_store as store
from scheduler.bulletin_rules import (
    Planner,
    emergencies,
    head_first,
    heads_slot,
    live,
    slot_spots,
    to_spot,
)
from scheduler.spec import Spot

log = logging.getLogger("loa.bulletins")


class Board:
    """What the slots and the air worker take from the station's bulletins."""

    def __init__(
        self,
        engine: Engine,
        station: str,
        root: Callable[[], Path],
        tz: ZoneInfo,
        topics: Callable[[], Collection[str]] | None = None,
    ) -> None:
        # the station's topic ids (a thuong bulletin of another topic heads a slot instead)
        self.topics: Callable[[], Collection[str] | None] = topics or (lambda: None)
        self.engine = engine
        self.station = station
        self.root = root
        self.tz = tz
        self.sent: set[int] = set()  # khan-cap ones handed to the air worker since the start

    def today(self) -> Any:
        return datetime.now(self.tz).date()

    def rows(self) -> list[store.Bulletin]:
        return store.all_rows(self.engine)

    def source(self, library: Callable[[], Sequence[Spot]]) -> Callable[[], list[Spot]]:
        """The runner's spot source: the library's spots and the bulletins a slot may air."""

        def spots() -> list[Spot]:
            mine: list[Spot] = []
            try:
                aired = store.airings(self.engine, self.station)
                mine = slot_spots(self.rows(), self.today(), aired, self.root(), self.topics())
            except Exception:  # the bulletins never hold up the station's own spots
                log.exception("cannot read the bulletins; the slot airs without them")
            return [*library(), *mine]

        return spots

    def planner(self, base: Planner) -> Planner:
        """The runner's planner: the head bulletins first, then what `base` plans."""

        def plan(request: SlotRequest, spots: Sequence[Spot]) -> Plan:
            try:
                aired = store.airings(self.engine, self.station)
                day = request.start.astimezone(self.tz).date()
                heads = [
                    store.spot_id(r.id, r.priority)
                    for r in sorted(self.rows(), key=lambda r: (r.priority != "uu-tien", r.id))
                    if heads_slot(r, self.topics()) and live(r, day, aired, self.topics())
                ]
            except Exception:
                log.exception("cannot read the bulletins; the slot airs without them")
                heads = []
            return head_first(request, spots, heads, base)

        return plan

    def due_emergencies(self) -> list[Spot]:
        """khan-cap bulletins to air now (each handed over once per daemon start)."""
        aired = store.airings(self.engine, self.station)
        due = emergencies(self.rows(), self.today(), aired, self.sent)
        self.sent.update(r.id for r in due)
        return [to_spot(r, self.root(), whole=True) for r in due]

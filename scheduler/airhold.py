"""Writes held in memory while the database cannot take them (disk full, I/O error, locked).

The daemon keeps airing when its database's disk is full; what it could not write waits here,
in the order it happened, with the times the output measured, and is written in that order
once the database accepts writes again. The queue is bounded: past `limit` writes, new
airtime writes are counted as lost (and said so, once) rather than growing without end.

Pure bookkeeping: no SQL here. `scheduler.airlog.AirLog` decides when to hold and replays.
A held `open` gets a *token* (a negative number far below any batch position) that stands
for its row until the row is written and has a real `seq`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airtime.chain import OPEN
from airtime.row import AirRow

LIMIT = 10_000
_TOKEN_BASE = -(1 << 40)


def is_token(ref: int) -> bool:
    return ref <= _TOKEN_BASE


@dataclass
class Held:
    """One write that waits: `op` is open | close | record | event | close_open."""

    op: str
    args: dict[str, Any]


@dataclass
class HoldQueue:
    limit: int = LIMIT
    writes: deque[Held] = field(default_factory=deque)
    seq_of: dict[int, int] = field(default_factory=dict)  # token -> seq once written
    lost: int = 0
    _tokens: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __len__(self) -> int:
        return len(self.writes)

    def token(self) -> int:
        return _TOKEN_BASE - next(self._tokens)

    def hold(self, op: str, args: dict[str, Any]) -> bool:
        """Queue a write; False when the queue is full and it was dropped (counted lost)."""
        if len(self.writes) >= self.limit:
            self.lost += 1
            return False
        self.writes.append(Held(op, args))
        return True

    # ------------------------------------------------------------------ the daemon's view
    def rows(self, station: str) -> list[AirRow]:
        """Airtime rows as they will be once written: held opens (with their held close, if
        any) and held closed rows. Not stored; for reads while the database lags behind."""
        opened: dict[int, AirRow] = {}
        out: list[AirRow] = []
        for w in self.writes:
            if w.op == "open":
                row = AirRow(station=station, status=OPEN, **w.args["fields"])
                opened[w.args["token"]] = row
                out.append(row)
            elif w.op == "close" and w.args["ref"] in opened:
                _apply_close(opened[w.args["ref"]], w.args)
            elif w.op == "record":
                out.append(AirRow(station=station, **w.args["fields"]))
        return out

    def closes_of_stored(self) -> dict[int, dict[str, Any]]:
        """Held closes of rows already stored (by seq)."""
        return {
            w.args["ref"]: w.args
            for w in self.writes
            if w.op == "close" and not is_token(w.args["ref"])
        }

    def describe(self) -> list[str]:
        """One line per held write, for the journal when they cannot be written at all."""
        return [f"{w.op} {_plain(w.args)}" for w in self.writes]


def _apply_close(row: AirRow, args: dict[str, Any]) -> None:
    row.ended_at = args["ended_at"]
    row.played_s = float(args["played_s"])
    row.status = args["status"]
    row.error = args["error"]


def apply_close(row: AirRow, args: dict[str, Any]) -> AirRow:
    """A stored row's copy with a held close applied."""
    copy = dataclasses.replace(row)
    _apply_close(copy, args)
    return copy


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value

"""The airtime log's integrity chain: canonical row content, the link hash, verification.

Chain order. Each station's closed rows form one chain, ordered by `chain_seq`: 1, 2, 3, ...
in the order the rows were *closed* (not opened), assigned by `airtime.log` when a row is
closed or recorded closed. Open rows (status `playing`) are not in the chain yet; they join
it when they close, so a play that closes after a later `missed` row was recorded is simply
linked after it. The writer needs no ordering discipline beyond "one writer per station"
(the daemon); a unique index on (station, chain_seq) refuses two rows at one position.

Link. `hash = sha256(prev_hash + "\\n" + canonical(row))` with `prev_hash = ""` for the first
row. `canonical(row)` is compact JSON of the row's content fields in a fixed order (`FIELDS`):
times as UTC `YYYY-MM-DD HH:MM:SS.ffffff`, `played_s` as Python's float repr. `seq` and
`chain_seq` are not content: the position is bound by the previous hash.

What it finds: an edited row (its own hash fails), a deleted row (the next row's hash fails and
the positions jump), an inserted row (its hash fails, or it is a closed row outside the chain).
What it cannot find: someone who recomputes every hash after editing, or who deletes the last
rows. Reports therefore print the chain's length and head hash: a printed report pins the log
up to that point, and a later log whose chain does not extend it has been rewritten.

This module is pure: verification takes plain tuples in chain order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Content fields, in canonical order.
FIELDS = (
    "id",
    "station",
    "slot",
    "kind",
    "topic",
    "spot",
    "title",
    "path",
    "scheduled_at",
    "started_at",
    "ended_at",
    "played_s",
    "status",
    "error",
)
# Migration 7 (bulletins, issue 13): a bulletin's airing carries its id and priority. These
# enter a row's canonical content only when one of them is set, so every row written before
# them (and every ordinary row after) hashes exactly as it always did.
BASE = FIELDS
EXTRA = ("bulletin", "priority")
FIELDS = BASE + EXTRA
_TIMES = frozenset({"scheduled_at", "started_at", "ended_at"})
OPEN = "playing"


def canonical_time(value: datetime | str | None) -> str | None:
    """UTC `YYYY-MM-DD HH:MM:SS.ffffff` from an aware or naive-UTC datetime or a stored string."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 26:
            return value
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def canonical(values: Sequence[Any]) -> bytes:
    """Canonical bytes of one row given its `FIELDS` values in order (or only the `BASE`
    ones: a row from before the `EXTRA` fields)."""
    values = list(values)
    if len(values) == len(FIELDS) and all(v is None for v in values[len(BASE) :]):
        values = values[: len(BASE)]
    out: list[Any] = []
    names = BASE if len(values) == len(BASE) else FIELDS
    for name, value in zip(names, values, strict=True):
        if name in _TIMES:
            value = canonical_time(value)
        elif name == "played_s":
            value = repr(float(value or 0.0))
        out.append(value)
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def link(prev_hash: str, values: Sequence[Any]) -> str:
    """The hash of a row whose predecessor in the chain has `prev_hash` ("" for the first)."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(values)).hexdigest()


@dataclass(frozen=True)
class ChainRow:
    """What verification needs of one row: identity, position, stored hash, content."""

    seq: int
    chain_seq: int | None
    hash: str | None
    values: tuple[Any, ...]  # FIELDS in order

    @property
    def id(self) -> str:
        return str(self.values[0])

    @property
    def status(self) -> str:
        return str(self.values[FIELDS.index("status")])


@dataclass(frozen=True)
class Broken:
    seq: int
    id: str
    chain_seq: int | None
    reason: str


@dataclass
class Verification:
    """The outcome of checking one station's chain."""

    station: str
    rows: int = 0  # closed rows checked in the chain
    head: str = ""  # hash of the last good link
    broken: Broken | None = None
    open_rows: list[tuple[int, str]] = field(default_factory=list)  # (seq, id) still playing

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify(
    station: str, chained: Iterable[ChainRow], unchained: Iterable[ChainRow]
) -> Verification:
    """Check `chained` (rows with a chain_seq, in chain_seq order) and `unchained` (the rest).

    Stops at the first broken link: every later link depends on it.
    """
    result = Verification(station)
    prev, expected = "", 1
    for row in chained:
        if row.status == OPEN:
            reason = "an open (playing) row carries a chain position: edited by hand"
        elif row.chain_seq != expected:
            gap = (row.chain_seq or 0) > expected
            what = "a row before it was deleted" if gap else "a row was inserted"
            reason = f"chain position {row.chain_seq} where {expected} was expected: {what}"
        elif row.hash != link(prev, row.values):
            reason = (
                "content does not match its hash: this row was edited, "
                "or the row before it was deleted or inserted"
            )
        else:
            prev, expected = row.hash, expected + 1
            result.rows += 1
            continue
        result.broken = Broken(row.seq, row.id, row.chain_seq, reason)
        break
    result.head = prev
    for row in unchained:
        if row.status == OPEN:
            result.open_rows.append((row.seq, row.id))
        elif result.broken is None:
            result.broken = Broken(
                row.seq,
                row.id,
                None,
                f"closed row ({row.status}) outside the chain: inserted, or closed without loa",
            )
    return result

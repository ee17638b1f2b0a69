"""Copy a station's closed airtime rows into a central database (a district's PostgreSQL).

Idempotent by `id`: rows already there are left alone (a closed row never changes), so a push
can be repeated after a network failure or on a schedule. Rows keep their `chain_seq` and
`hash`, so the central copy of each station's chain verifies exactly as the station's does
(`airtime.store.verify_station`). Open (`playing`) rows wait for the next push, after they
close. The central database gives rows its own `seq`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airtime.chain import OPEN
from airtime.store import T

BATCH = 2000


@dataclass(frozen=True)
class PushResult:
    copied: int
    already: int
    open_rows: int


def push(source: Connection, target: Connection, station: str) -> PushResult:
    """Copy `station`'s closed rows from `source` to `target` (committing per batch)."""
    have = set(target.execute(sa.select(T.c.id).where(T.c.station == station)).scalars())
    columns = [c for c in T.c if c.name != "seq"]
    query = (
        sa.select(*columns)
        .where(T.c.station == station, T.c.status != OPEN)
        .order_by(T.c.chain_seq)
    )
    copied = already = 0
    batch: list[dict[str, object]] = []
    for row in source.execute(query).mappings():
        if row["id"] in have:
            already += 1
            continue
        batch.append(dict(row))
        if len(batch) >= BATCH:
            target.execute(T.insert(), batch)
            target.commit()
            copied += len(batch)
            batch = []
    if batch:
        target.execute(T.insert(), batch)
        target.commit()
        copied += len(batch)
    open_rows = source.execute(
        sa.select(sa.func.count()).where(T.c.station == station, T.c.status == OPEN)
    ).scalar_one()
    return PushResult(copied, already, int(open_rows))

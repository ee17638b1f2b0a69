"""`loa central verify`: every station's chain in the central database, checked as the
station checks its own (airtime.chain.verify), reading each chain in keyset pages.

The admin's run records each result in `central.chain_check` (what the district's report
prints as "verified", without reading the raw rows again); a district's run only reads.
"""

from __future__ import annotations

import psycopg

from airtime.chain import Verification, verify
from central import ingest
from central.conn import connect
from central.errors import CentralError
from central.schema import check_version

RECORD = (
    "INSERT INTO central.chain_check (station, checked_at, ok, rows, head, reason) "
    "VALUES (%s, now(), %s, %s, %s, %s) ON CONFLICT (station) DO UPDATE SET "
    "checked_at = excluded.checked_at, ok = excluded.ok, rows = excluded.rows, "
    "head = excluded.head, reason = excluded.reason"
)


def record(pg: psycopg.Connection, results: list[Verification]) -> bool:
    """Keep the results for the reports; False when this role may not (a district's)."""
    if not results:
        return True
    try:
        with pg.transaction():
            for r in results:
                reason = None if r.broken is None else f"id {r.broken.id}: {r.broken.reason}"
                pg.execute(RECORD, (r.station, r.ok, r.rows, r.head or "", reason))
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def verify_central(url: str, station: str | None = None) -> list[Verification]:
    with connect(url) as pg:
        check_version(pg, url)
        if station is None:
            ids = [r[0] for r in pg.execute("SELECT id FROM central.station ORDER BY id")]
        else:
            found = pg.execute("SELECT 1 FROM central.station WHERE id = %s", (station,))
            if found.fetchone() is None:
                raise CentralError(f"--station {station}: no such station in the central database")
            ids = [station]
        results = [verify(s, ingest.central_rows(pg, s), []) for s in ids]
        pg.commit()
        record(pg, results)
        pg.commit()
        return results

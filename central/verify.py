"""`loa central verify`: every station's chain in the central database, checked as the
station checks its own (airtime.chain.verify), reading each chain in keyset pages."""

from __future__ import annotations

from airtime.chain import Verification, verify
from central import ingest
from central.conn import connect
from central.errors import CentralError
from central.schema import check_version


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
        return [verify(s, ingest.central_rows(pg, s), []) for s in ids]

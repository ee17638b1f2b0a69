"""Old bulletin files leave the library's bulletin folder; their rows stay.

A bulletin's audio is needed until it can no longer air: withdrawn, refused, past its validity
window, or aired as often as it may (`scheduler.bulletin_rules.done_since`). `KEEP_DAYS` after
that its file is removed from `<library root>/.ban-tin/` (it can be looked at or played by hand
meanwhile). Never removed: the file of a bulletin that may still air, waits for the operator,
is not valid yet, or is in its topic's rotation without a limit. The bulletin's row (title,
priority, SHA-256, what the station measured and decided) and every airtime row stay, so the
log, the reports and the district's view stay whole; the fetcher does not fetch a finished
bulletin's file again. Files there that no row names (a download cut short, a row removed by
hand) go after the same time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from scheduler import bulletin_store as store
from scheduler.bulletin_rules import done_since

if TYPE_CHECKING:
    from scheduler.station_db import StationDB

log = logging.getLogger("loa.bulletins")

KEEP_DAYS = 30.0


def finished(
    db: StationDB, station: str, rows: Iterable[store.Bulletin], board: Any
) -> dict[int, Any]:
    """{bulletin id: since when its file is not needed} of the rows that can no longer air."""
    aired = store.airings(db, station)
    last = store.last_aired(db, station)
    day, tz, topics = board.today(), board.tz, board.topics()
    out = {}
    for row in rows:
        since = done_since(row, day, aired, last.get(str(row.id)), tz, topics)
        if since is not None:
            out[row.id] = since
    return out


def prune(db: StationDB, station: str, board: Any, keep_days: float = KEEP_DAYS) -> list[str]:
    """Remove the files of bulletins finished more than `keep_days` ago, and files no row
    names older than that; returns the names removed."""
    root = board.root()
    where = store.folder(root)
    if not where.is_dir():
        return []
    rows = store.all_rows(db)
    done = finished(db, station, rows, board)
    cutoff = store.now() - timedelta(days=keep_days)
    named = {(root / r.path).name: r for r in rows}
    gone: list[str] = []
    for path in sorted(where.iterdir()):
        if not path.is_file():
            continue
        row = named.get(path.name)
        if row is not None:
            since = done.get(row.id)
            old = since is not None and since <= cutoff
        else:
            try:
                old = path.stat().st_mtime <= time.time() - keep_days * 86400
            except OSError:
                continue
        if not old:
            continue
        try:
            path.unlink()
        except OSError as exc:
            log.warning("cannot remove the old bulletin file %s: %s", path, exc)
            continue
        gone.append(path.name)
    return gone

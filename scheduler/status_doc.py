"""The status document: what `loa status` shows of the running daemon, and what its heartbeat
writes into the database."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from scheduler.airlog import AirLog
from scheduler.runner import Airing


def status_document(
    *,
    station: str,
    config_error: str | None,
    airing: Airing | None,
    queued: int,
    output_error: str | None,
    airlog: AirLog,
    next_runs: dict[str, datetime],
) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "station": station,
        "config_error": config_error,
        "on_air": None
        if airing is None
        else {
            "kind": airing.kind,
            "slot": airing.slot,
            "since": airing.started.isoformat(),
            "titles": airing.titles,
        },
        "queued": queued,
        "output_error": output_error,
        # the daemon's own view: the database's may lag while writes are held
        "database": airlog.outage(),
        "playing": [
            {
                "slot": r.slot,
                "kind": r.kind,
                "title": r.title,
                "path": r.path,
                "started_at": r.started_at.isoformat() if r.started_at else None,
            }
            for r in airlog.open_rows()
        ],
        "jobs": {job: at.isoformat() for job, at in next_runs.items()},
    }

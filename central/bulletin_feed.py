"""The station's side of the bulletins channel: what it may read and what it reports.

Under the station's own role the row-level security policies show it only the bulletins
addressed to it; it reports (inserts) only its own delivery, acceptance and refusal rows. A
report is idempotent (the key is bulletin, station, state). LISTEN on `loa_bulletin` wakes the
station when something changed; the notification carries nothing, the station re-reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg

CHANNEL = "loa_bulletin"


@dataclass(frozen=True)
class Offered:
    """A bulletin as the central database offers it (without its audio)."""

    id: int
    title: str
    priority: str
    topic: str | None
    valid_from: date | None
    valid_until: date | None
    times: int | None
    filename: str
    sha256: str
    duration_s: float
    created_at: datetime
    withdrawn_at: datetime | None


def offered(conn: psycopg.Connection) -> list[Offered]:
    """Every bulletin addressed to this station (the policy filters), oldest first."""
    rows = conn.execute(
        "SELECT id, title, priority, topic, valid_from, valid_until, times, filename, sha256, "
        "duration_s, created_at, withdrawn_at FROM central.bulletin ORDER BY id"
    ).fetchall()
    return [Offered(*r) for r in rows]


def audio(conn: psycopg.Connection, bulletin: int) -> bytes:
    found = conn.execute("SELECT audio FROM central.bulletin WHERE id = %s", (bulletin,)).fetchone()
    if found is None:
        raise LookupError(f"bulletin {bulletin} is no longer addressed to this station")
    return bytes(found[0])


def reported(conn: psycopg.Connection) -> set[tuple[int, str]]:
    """(bulletin, state) this station has reported already."""
    return {(int(b), str(s)) for b, s in conn.execute(
        "SELECT bulletin, state FROM central.bulletin_report"
    )}  # fmt: skip


def report(
    conn: psycopg.Connection, bulletin: int, state: str, at: datetime, note: str | None = None
) -> None:
    conn.execute(
        "INSERT INTO central.bulletin_report (bulletin, state, at, note) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (bulletin, state, at, note),
    )


def listen(conn: psycopg.Connection) -> None:
    conn.execute(f"LISTEN {CHANNEL}")

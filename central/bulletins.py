"""Bulletins from the district (or the province) down to its commune stations: the sender's side.

`send` stores the audio (already measured by the caller with the station library's own probe)
with its SHA-256 and addresses it; the row-level security policies (central.schema V4) keep a
district to its own stations and its own bulletins, so nothing here re-checks them: a station
the role cannot see is simply not found. `listing` and `detail` show what became of each
bulletin at each station: delivered, accepted or refused (what the station reported), and each
airing as the station measured it, read from the airtime rows it pushed (never what it was told).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from central.conn import connect, redact
from central.errors import CentralError
from central.schema import check_version

PRIORITIES = ("thuong", "uu-tien", "khan-cap")
PRIORITY_NAMES = {"thuong": "thông thường", "uu-tien": "ưu tiên", "khan-cap": "khẩn cấp"}
MAX_AUDIO = 200 * 1024 * 1024


@dataclass(frozen=True)
class Audio:
    """The file to send, as the library measured it."""

    filename: str
    data: bytes
    duration_s: float

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Sent:
    id: int
    stations: tuple[str, ...]


def parse_stations(spec: str) -> tuple[str, str | tuple[str, ...]]:
    """`all`, `district:CODE` or `ID,ID` -> (kind, value); ValueError with the fix."""
    spec = spec.strip()
    if spec == "all":
        return "all", ""
    if spec.startswith("district:"):
        code = spec.removeprefix("district:").strip()
        if not code:
            raise ValueError("--stations district:CODE needs the district's code")
        return "district", code
    ids = tuple(dict.fromkeys(s.strip() for s in spec.split(",") if s.strip()))
    if not ids:
        raise ValueError("--stations: write all, district:CODE or ID,ID")
    return "ids", ids


def _addressees(conn: psycopg.Connection, spec: str) -> list[str]:
    kind, value = parse_stations(spec)
    visible = [r[0] for r in conn.execute("SELECT id FROM central.station ORDER BY id")]
    if kind == "all":
        chosen = visible
    elif kind == "district":
        chosen = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM central.station WHERE district = %s ORDER BY id", (value,)
            )
        ]
        if not chosen:
            raise CentralError(
                f"--stations district:{value}: no station of that district that this role may "
                "address (`loa central stations` lists them)"
            )
    else:
        missing = [s for s in value if s not in set(visible)]
        if missing:
            raise CentralError(
                f"--stations: {', '.join(missing)}: no such station that this role may address "
                "(`loa central stations` lists them)"
            )
        chosen = list(value)
    if not chosen:
        raise CentralError(
            "--stations: this role sees no station to address: `loa central add-station` first"
        )
    return chosen


def send(
    url: str,
    audio: Audio,
    *,
    title: str,
    priority: str,
    topic: str | None = None,
    stations: str = "all",
    valid_from: date | None = None,
    valid_until: date | None = None,
    times: int | None = None,
) -> Sent:
    """Store the bulletin and address it, in one transaction (the stations are told at commit)."""
    if priority not in PRIORITIES:
        raise CentralError(f"--priority {priority!r}: write {' | '.join(PRIORITIES)}")
    if valid_from and valid_until and valid_until < valid_from:
        raise CentralError(f"--until {valid_until} is before --from {valid_from}")
    if times is not None and times < 1:
        raise CentralError(f"--times {times}: at least 1")
    if len(audio.data) > MAX_AUDIO:
        raise CentralError(f"{audio.filename}: larger than {MAX_AUDIO // 2**20} MiB")
    with connect(url) as conn:
        check_version(conn, url)
        try:
            chosen = _addressees(conn, stations)
            found = conn.execute(
                "INSERT INTO central.bulletin (title, priority, topic, valid_from, valid_until, "
                "times, filename, audio, sha256, size, duration_s) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    title, priority, topic, valid_from, valid_until, times, audio.filename,
                    audio.data, audio.sha256, len(audio.data), audio.duration_s,
                ),
            ).fetchone()  # fmt: skip
            assert found is not None
            bulletin = int(found[0])
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO central.bulletin_station (bulletin, station) VALUES (%s, %s)",
                    [(bulletin, s) for s in chosen],
                )
            conn.commit()
        except psycopg.errors.InsufficientPrivilege as exc:
            raise CentralError(
                f"{redact(url)}: this role may not send bulletins ({exc.diag.message_primary}): "
                "use the district's URL from `loa central add-district`"
            ) from None
        except psycopg.errors.CheckViolation as exc:
            raise CentralError(
                f"refused by the central database: {exc.diag.message_primary}"
            ) from None
    return Sent(bulletin, tuple(chosen))


def withdraw(url: str, bulletin: int) -> datetime:
    """Withdraw a bulletin (the stations are told; one not yet aired is not aired)."""
    with connect(url) as conn:
        check_version(conn, url)
        row = conn.execute(
            "UPDATE central.bulletin SET withdrawn_at = coalesce(withdrawn_at, now()) "
            "WHERE id = %s RETURNING withdrawn_at",
            (bulletin,),
        ).fetchone()
        conn.commit()
    if row is None:
        raise CentralError(f"bulletin {bulletin}: no such bulletin that this role sent")
    return row[0]  # type: ignore[no-any-return]


LISTING = """
SELECT b.id, b.title, b.priority, b.topic, b.valid_from, b.valid_until, b.times, b.filename,
       b.sha256, b.size, b.duration_s, b.sender, b.district, b.created_at, b.withdrawn_at,
       (SELECT count(*) FROM central.bulletin_station a WHERE a.bulletin = b.id) AS stations,
       (SELECT count(*) FROM central.bulletin_report r
         WHERE r.bulletin = b.id AND r.state = 'delivered') AS delivered,
       (SELECT count(*) FROM central.bulletin_report r
         WHERE r.bulletin = b.id AND r.state = 'accepted') AS accepted,
       (SELECT count(*) FROM central.bulletin_report r
         WHERE r.bulletin = b.id AND r.state = 'refused') AS refused,
       (SELECT count(*) FROM central.airtime t
         WHERE t.bulletin = b.id::text AND t.status = 'completed') AS aired
  FROM central.bulletin b
 ORDER BY b.id
"""


def listing(url: str) -> list[dict[str, Any]]:
    with connect(url) as conn:
        check_version(conn, url)
        return list(conn.cursor(row_factory=dict_row).execute(LISTING))


def _why_not(
    bulletin: dict[str, Any], station: dict[str, Any], airings: Sequence[dict[str, Any]]
) -> str | None:
    """Why a station has not aired the bulletin (None once it has): pure."""
    if any(a["status"] == "completed" for a in airings):
        return None
    if station["refused_at"] is not None:
        note = f": {station['refused_note']}" if station["refused_note"] else ""
        return f"từ chối (refused by the station){note}"
    if bulletin["withdrawn_at"] is not None:
        cut = [a for a in airings if a["status"] == "interrupted" and a["played_s"]]
        if cut:  # the station took it off the air when it learnt of the withdrawal
            return (
                f"đã thu hồi, cắt khỏi sóng sau {cut[-1]['played_s']:.0f} s (withdrawn: cut off "
                f"the air after {cut[-1]['played_s']:.1f} s)"
            )
        return "đã thu hồi (withdrawn)"
    today = datetime.now(ZoneInfo(station["timezone"] or "Asia/Ho_Chi_Minh")).date()
    if bulletin["valid_until"] is not None and bulletin["valid_until"] < today:
        return "hết hạn (expired)"
    if station["delivered_at"] is None:
        if station["heartbeat_at"] is None:
            return "đài chưa từng báo về (station silent: never reported)"
        beat = f"{station['heartbeat_at']:%Y-%m-%d %H:%M}"
        return f"chưa nhận (not delivered yet; last heartbeat {beat})"
    if bulletin["priority"] == "thuong" and station["accepted_at"] is None:
        return "chờ đài duyệt (waiting for the operator's acceptance)"
    if airings:
        return "phát chưa trọn (not aired to the end: " + airings[-1]["status"] + ")"
    return "chưa phát (not aired yet, or not pushed yet)"


def detail(url: str, bulletin: int) -> dict[str, Any]:
    """The bulletin and, per addressed station, what became of it."""
    with connect(url) as conn:
        check_version(conn, url)
        cur = conn.cursor(row_factory=dict_row)
        found = cur.execute(
            "SELECT id, title, priority, topic, valid_from, valid_until, times, filename, "
            "sha256, size, duration_s, sender, district, created_at, withdrawn_at "
            "FROM central.bulletin WHERE id = %s",
            (bulletin,),
        ).fetchone()
        if found is None:
            raise CentralError(f"bulletin {bulletin}: no such bulletin that this role may see")
        stations = cur.execute(
            """
            SELECT a.station, s.name, s.timezone, h.heartbeat_at,
                   d.at AS delivered_at, c.at AS accepted_at, f.at AS refused_at,
                   f.note AS refused_note
              FROM central.bulletin_station a
              LEFT JOIN central.station s ON s.id = a.station
              LEFT JOIN central.station_report h ON h.station = a.station
              LEFT JOIN central.bulletin_report d
                     ON d.bulletin = a.bulletin AND d.station = a.station AND d.state = 'delivered'
              LEFT JOIN central.bulletin_report c
                     ON c.bulletin = a.bulletin AND c.station = a.station AND c.state = 'accepted'
              LEFT JOIN central.bulletin_report f
                     ON f.bulletin = a.bulletin AND f.station = a.station AND f.state = 'refused'
             WHERE a.bulletin = %s ORDER BY a.station
            """,
            (bulletin,),
        ).fetchall()
        airings = cur.execute(
            "SELECT station, kind, slot, started_at, ended_at, played_s, status, error "
            "FROM central.airtime WHERE bulletin = %s ORDER BY station, chain_seq",
            (str(bulletin),),
        ).fetchall()
    per: dict[str, list[dict[str, Any]]] = {}
    for a in airings:
        per.setdefault(a.pop("station"), []).append(a)
    out = []
    for s in stations:
        mine = per.get(s["station"], [])
        out.append({**s, "airings": mine, "why_not": _why_not(found, s, mine)})
    return {**found, "stations": out}

"""Registering stations and districts, each with its own PostgreSQL LOGIN role.

A station's role is `<db>_<station id>` in the group `<db>_station`; a district's is
`<db>_d_<code>` in `<db>_district`. The password is generated here, set on the role, and
returned once inside the URL to give the commune (or the district office); it is stored
nowhere else (PostgreSQL keeps only its SCRAM verifier). Adding a station again gives it a
new password (the old URL stops working): the way to re-issue a lost URL.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from central.conn import connect, database_name, libpq, redact
from central.errors import CentralError
from central.schema import check_version, group_roles

MAX_ROLE = 63  # PostgreSQL's identifier length


@dataclass(frozen=True)
class Issued:
    role: str
    url: str  # carries the password: print it once, never log it


def station_role(dbname: str, station: str) -> str:
    return f"{dbname}_{station}"


def district_role(dbname: str, code: str) -> str:
    return f"{dbname}_d_{code}"


def _login_url(admin_url: str, role: str, password: str, host: str | None) -> str:
    parts = urlsplit(libpq(admin_url))
    where = host or parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port and not (host and ":" in host) else ""
    return (
        f"postgresql+psycopg://{quote(role, safe='')}:{quote(password, safe='')}@{where}{port}"
        f"{parts.path}"
    )


def _login_role(conn: psycopg.Connection, role: str, group: str) -> str:
    if len(role.encode()) > MAX_ROLE:
        raise CentralError(
            f"role name {role!r} is longer than PostgreSQL's {MAX_ROLE} bytes: "
            "use a shorter database name or id"
        )
    password = secrets.token_urlsafe(24)
    ident = sql.Identifier(role)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    # the server gets only the SCRAM verifier, never the password (nor its statement log)
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
    conn.execute(
        sql.SQL(verb + " ROLE {} LOGIN INHERIT PASSWORD {}").format(
            ident, sql.Literal(verifier.decode())
        )
    )
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), ident))
    return password


def _district(conn: psycopg.Connection, code: str, name: str | None, province: str | None) -> None:
    conn.execute(
        "INSERT INTO central.district (code, name, province) VALUES (%s, %s, %s) "
        "ON CONFLICT (code) DO UPDATE SET name = coalesce(%s, central.district.name), "
        "province = coalesce(excluded.province, central.district.province)",
        (code, name or code, province, name),
    )


@contextmanager
def _as_admin(url: str, what: str) -> Iterator[None]:
    """A district's or a station's URL given where the admin's is needed: said, with the fix
    (it was an internal error, 'permission denied for table district')."""
    try:
        yield
    except psycopg.errors.InsufficientPrivilege as exc:
        raise CentralError(
            f"{redact(url)}: this role may not {what} ({exc.diag.message_primary}): use the "
            "admin URL (the database's owner, with CREATEROLE)"
        ) from None


def add_district(
    admin_url: str, code: str, name: str, province: str | None = None, host: str | None = None
) -> Issued:
    """Register (or rename) a district and (re)issue its read-only login role."""
    dbname = database_name(admin_url)
    role = district_role(dbname, code)
    with connect(admin_url) as conn, _as_admin(admin_url, "register districts"):
        check_version(conn, admin_url)
        _district(conn, code, name, province)
        password = _login_role(conn, role, group_roles(dbname)[1])
        conn.execute(
            "INSERT INTO central.role_map (role_name, district) VALUES (%s, %s) "
            "ON CONFLICT (role_name) DO UPDATE SET district = excluded.district",
            (role, code),
        )
        conn.commit()
    return Issued(role, _login_url(admin_url, role, password, host))


def add_station(
    admin_url: str,
    station: str,
    name: str,
    district: str,
    province: str | None = None,
    timezone: str = "Asia/Ho_Chi_Minh",
    host: str | None = None,
) -> Issued:
    """Register a station (its district too if new) and (re)issue its login role."""
    dbname = database_name(admin_url)
    role = station_role(dbname, station)
    with connect(admin_url) as conn, _as_admin(admin_url, "register stations"):
        check_version(conn, admin_url)
        _district(conn, district, None, province)
        conn.execute(
            "INSERT INTO central.station (id, name, district, province, timezone) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
            "district = excluded.district, province = excluded.province, "
            "timezone = excluded.timezone",
            (station, name, district, province, timezone),
        )
        password = _login_role(conn, role, group_roles(dbname)[0])
        conn.execute(
            "INSERT INTO central.role_map (role_name, station) VALUES (%s, %s) "
            "ON CONFLICT (role_name) DO UPDATE SET station = excluded.station",
            (role, station),
        )
        conn.commit()
    return Issued(role, _login_url(admin_url, role, password, host))


STATIONS = """
SELECT s.id, s.name, s.district, coalesce(s.province, d.province) AS province, s.timezone,
       r.heartbeat_at, r.loa_version,
       h.chain_seq AS rows, h.received_at AS pushed_at
  FROM central.station s
  JOIN central.district d ON d.code = s.district
  LEFT JOIN central.station_report r ON r.station = s.id
  LEFT JOIN LATERAL (
       SELECT a.chain_seq, a.received_at FROM central.airtime a
        WHERE a.station = s.id AND a.chain_seq = (
              SELECT max(m.chain_seq) FROM central.airtime m WHERE m.station = s.id)) h ON true
 ORDER BY s.district, s.id
"""


def stations(url: str) -> list[dict[str, Any]]:
    """Every station this role may see, with its last heartbeat and its chain's length."""
    with connect(url) as conn:
        check_version(conn, url)
        cur = conn.cursor(row_factory=dict_row)
        return list(cur.execute(STATIONS))

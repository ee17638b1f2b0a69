"""Connecting to the central PostgreSQL with psycopg 3, from loa's SQLAlchemy-style URLs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import psycopg

from central.errors import CentralError
from central.url_text import redact, scrub

__all__ = ["SCHEMES", "connect", "database_name", "libpq", "redact", "scrub"]

SCHEMES = ("postgresql+psycopg://", "postgresql://", "postgres://")


def libpq(url: str) -> str:
    """`postgresql+psycopg://u:p@h/db` -> `postgresql://u:p@h/db` (what libpq reads)."""
    if not url.startswith(SCHEMES):
        raise CentralError(
            f"{redact(url)}: not a PostgreSQL URL; write postgresql+psycopg://USER:PASSWORD@HOST/DB"
        )
    return "postgresql://" + url.split("://", 1)[1]


def _hint(url: str) -> str:
    rest = url.split("://", 1)[-1]
    userinfo = rest.rsplit("@", 1)[0] if "@" in rest else ""
    written = userinfo.split(":", 1)[1] if ":" in userinfo else ""
    if re.search(r"[@/?#]|%(?![0-9A-Fa-f]{2})", written):
        return (
            "; mật khẩu có ký tự @ / ? # % phải viết mã hoá (a password holding @ / ? # or % "
            "must be percent-encoded in the URL: @ = %40, / = %2F, ? = %3F, # = %23, % = %25)"
        )
    return ""


def database_name(url: str) -> str:
    return urlsplit(libpq(url)).path.lstrip("/") or "postgres"


def connect(
    url: str, *, autocommit: bool = False, timeout: float = 10, **options: object
) -> psycopg.Connection:
    """A connection, or CentralError saying what failed (never the password). `options` are
    more libpq parameters (keepalives for a connection held open)."""
    try:
        return psycopg.connect(
            libpq(url), autocommit=autocommit, connect_timeout=int(timeout), **options
        )
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CentralError(
            f"{redact(url)}: cannot connect to the central database: {scrub(url, reason)}"
            + _hint(url)
        ) from None

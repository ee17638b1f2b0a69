"""Connecting to the central PostgreSQL with psycopg 3, from loa's SQLAlchemy-style URLs."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg

from central.errors import CentralError

SCHEMES = ("postgresql+psycopg://", "postgresql://", "postgres://")


def libpq(url: str) -> str:
    """`postgresql+psycopg://u:p@h/db` -> `postgresql://u:p@h/db` (what libpq reads)."""
    if not url.startswith(SCHEMES):
        raise CentralError(
            f"{redact(url)}: not a PostgreSQL URL; write postgresql+psycopg://USER:PASSWORD@HOST/DB"
        )
    return "postgresql://" + url.split("://", 1)[1]


def redact(url: str) -> str:
    """The URL without its password, for messages and logs (a password holding an unescaped
    "@" is hidden up to the host's "@", not up to its own first one)."""
    return re.sub(r"(://[^:/@\s]+):[^/\s]*@", r"\1:***@", url)


def _secrets(url: str) -> list[str]:
    """Every piece of the URL's password that a libpq or psycopg message could quote: the
    password as written and decoded, what follows each "@" in it (libpq takes the first "@"
    as the host's: `p@ss@host` is the host `ss@host`), and `password=` of the query."""
    rest = url.split("://", 1)[-1]
    userinfo = rest[: len(rest) - len(rest.split("@")[-1]) - 1] if "@" in rest else ""
    found: list[str] = []
    if ":" in userinfo:
        written = userinfo.split(":", 1)[1]
        found += [written, unquote(written)]
        found += [written.split("@", i)[-1] for i in range(1, written.count("@") + 1)]
    query = rest.partition("?")[2]
    for value in parse_qs(query, keep_blank_values=True).get("password", []):
        found += [value]
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)


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


def scrub(url: str, text: str) -> str:
    """`text` (a driver's message) without any piece of the URL's password."""
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


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

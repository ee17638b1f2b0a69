"""A central URL's password kept out of every text: plain string work, no psycopg, so the
daemon's side of the push (central/push_process.py) masks with the same rules as the child
and the connections (central/conn.py)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote


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


def scrub(url: str, text: str) -> str:
    """`text` (a driver's message) without any piece of the URL's password."""
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text

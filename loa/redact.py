"""Never print a password: `mask_credentials(text)` hides the password of every URL in a text.

`postgresql+psycopg://loa:s3cret@host/loa` becomes `postgresql+psycopg://loa:***@host/loa`.
A regular expression finds every URL (a URL cut by a message and an unknown scheme too) and
libpq's `password=...` keyword form; no URL parser is imported (the daemon's log formatter
applies it, and `loa run` never imports SQLAlchemy: issue 17). The CLI's error mapper and the
log formatter both apply it, so no message, from loa or from a library it calls, shows a
password.
"""

from __future__ import annotations

import re

MASK = "***"
# scheme://anything but a space, a quote or a bracket
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`()\[\]]+")
# "//user:password@": greedy, so a password with an unescaped "@" is hidden up to the host
_USERINFO = re.compile(r"(?P<head>//[^/\s:@]*):(?P<password>[^\s/]*)@")
_KEYWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)('[^']*'|\"[^\"]*\"|[^\s,;)]+)", re.I)


def _mask_url(url: str) -> str:
    return _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", url)


def _masked(match: re.Match[str]) -> str:
    token = match.group(0)
    core = token.rstrip(".,;:!?")  # the sentence's punctuation is not part of the URL
    return _mask_url(core) + token[len(core) :]


def mask_credentials(text: str) -> str:
    """`text` with the password of every URL (and every `password=` keyword) replaced by ***."""
    if "://" not in text and "password" not in text.lower():
        return text
    text = _URL.sub(_masked, text)
    return _KEYWORD.sub(lambda m: f"{m['head']}{MASK}", text)

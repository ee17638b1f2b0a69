"""Logging for a station PC nobody watches: one line per record on stderr, journald-friendly.

Under systemd (JOURNAL_STREAM set) each line starts with the sd-daemon priority prefix `<N>`,
so journald keeps the level; elsewhere the line carries a timestamp instead.
"""

from __future__ import annotations

import logging
import os
import sys

from loa.redact import mask_credentials

_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class MaskingFormatter(logging.Formatter):
    """Every line loa logs, from any module or library, with URL passwords hidden."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_credentials(super().format(record))


class JournalFormatter(MaskingFormatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in text.splitlines())


def setup_logging(debug: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("loa")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False

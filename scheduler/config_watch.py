"""Watching config.toml: the heartbeat reloads it when its mtime changed or a reload was asked
for (SIGHUP, `systemctl reload`)."""

from __future__ import annotations

import threading
from pathlib import Path


class ConfigWatch:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.requested = threading.Event()
        self._mtime = self._read()

    def _read(self) -> float | None:
        try:
            return None if self.path is None else self.path.stat().st_mtime
        except OSError:
            return None

    def due(self) -> bool:
        """A reload is asked for, or the file changed since the last `seen`."""
        return self.requested.is_set() or self._read() != self._mtime

    def seen(self) -> None:
        """The file as it is now is being read."""
        self.requested.clear()
        self._mtime = self._read()

"""The locks of a station, each an exclusive flock on a file beside its database: one daemon
per station (`StationLock`), one library scan at a time (`exclusive`, with `LibraryBusy`)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LibraryBusy(Exception):
    """Another scan holds the library (a `loa library scan`, or a rescan still running)."""


@contextmanager
def exclusive(
    path: Path, wait: bool = True, busy: type[Exception] = BlockingIOError
) -> Iterator[None]:
    """Hold an exclusive lock on `path` inside; `wait=False`: raise `busy(path)` at once
    when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise busy(str(path)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class AlreadyRunning(Exception):
    def __init__(self, path: Path, pid: str) -> None:
        super().__init__(
            f"another loa daemon (pid {pid or '?'}) already runs this station (lock {path}); "
            "stop it first (systemctl stop loa) or use another config"
        )


class StationLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise AlreadyRunning(self.path, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def ensure(self) -> str | None:
        """Called every heartbeat: if the lock file was deleted (the data folder removed), or
        another file put at its path, lock a new one there, so a second `loa run` still finds
        this station taken. Returns what was done, for one event; None when the lock file is
        the one held (one stat). AlreadyRunning if another daemon took the new file first."""
        if self._fd is None:
            return None
        held = os.fstat(self._fd)
        try:
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino):
                return None
        except FileNotFoundError:
            pass
        old = self._fd
        self._fd = None
        try:
            self.acquire()
        except BaseException:
            self._fd = old  # still ours: the next heartbeat tries again
            raise
        os.close(old)
        return str(self.path)

    def move(self, path: Path) -> None:
        """The lock follows `daemon.socket` edited while running: lock `path` (AlreadyRunning
        if another daemon holds it; then the old one stays held), then let the old one go."""
        if path == self.path or self._fd is None:
            self.path = path
            return
        old_path, old_fd = self.path, self._fd
        self.path, self._fd = path, None
        try:
            self.acquire()
        except BaseException:
            self.path, self._fd = old_path, old_fd
            raise
        fcntl.flock(old_fd, fcntl.LOCK_UN)
        os.close(old_fd)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def held_by_other(self) -> str | None:
        """The pid of the daemon holding the lock, or None when nobody holds it."""
        if not self.path.exists():
            return None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        finally:
            os.close(fd)
        return None


class NoLock:
    """The lock of a daemon that is not the station's (a simulation): holds nothing, so a
    simulation runs beside the station's daemon and beside other simulations."""

    path = Path("/dev/null")

    def acquire(self) -> None:
        pass

    def release(self) -> None:
        pass

    def ensure(self) -> str | None:
        return None

    def move(self, path: Path) -> None:
        pass

    def held_by_other(self) -> str | None:
        return None

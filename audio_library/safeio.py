"""Opening library files so that none of them can stop the station.

A FIFO named `x.mp3` blocks `open()` until a writer comes; a device file never ends; a file on a
hung network or USB mount blocks every read. Two rules keep the scan (and the daemon) moving:

1. Only regular files are opened. `stat` (which never blocks on a FIFO) decides first; the open
   itself is `O_NONBLOCK` and checked again with `fstat`, so a file swapped for a FIFO between
   the two is still refused instead of waited on.
2. Every step that may block in the kernel runs under a time limit. ffmpeg is a subprocess
   (killed at its limit, in `analysis`); hashing, mutagen and the folder walk run in-process, so
   they run in a daemon thread that the caller stops waiting for at the limit (`with_deadline`).
   Why a thread and not only `O_NONBLOCK`: non-blocking mode does nothing for a regular file on
   a hung mount, whose `read()` (and even `stat()`) blocks in the kernel where no signal or
   flag reaches it. Such a thread is abandoned, never joined: it is a daemon thread, so it
   cannot keep the process alive at exit, and at most one is left per path (a path whose earlier
   step is still stuck is refused at once, not tried again).
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

T = TypeVar("T")

# Time limits, in seconds. Generous: a healthy disk does each step in well under a second.
HASH_TIMEOUT_S = 60.0  # sha256 of one file (1 GB at 20 MB/s)
TAGS_TIMEOUT_S = 30.0  # mutagen reading one file's header and tags
ANALYSE_TIMEOUT_S = 180.0  # one full ffmpeg decode (a 3 h file decodes in ~30 s)
WALK_TIMEOUT_S = 120.0  # listing and stat-ing the whole library

NOT_REGULAR = "không phải tệp thường (not a regular file)"


class StepTimeout(OSError):
    """A step on a file did not finish in its time limit (a hung mount, a blocking file)."""

    def __init__(self, what: str, timeout_s: float | None) -> None:
        self.what = what
        if timeout_s is None:
            text = f"{what}: vẫn treo từ lần trước (still stuck from an earlier try)"
        else:
            text = f"{what}: quá {timeout_s:g} s không xong (timed out)"
        super().__init__(text)
        self.strerror = text


class Abandoned(OSError):
    """The caller gave up on library work (the daemon is stopping)."""

    def __init__(self) -> None:
        super().__init__("đã dừng (abandoned: the daemon is stopping)")
        self.strerror = str(self)


class NotRegular(OSError):
    def __init__(self, kind: str) -> None:
        text = f"{NOT_REGULAR}: {kind}"
        super().__init__(text)
        self.strerror = text


def kind_of(mode: int) -> str:
    """What a non-regular file is, in the operator's words."""
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "thiết bị (device)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISDIR(mode):
        return "thư mục (directory)"
    return "loại lạ (special file)"


def not_regular_reason(mode: int) -> str | None:
    """The refusal of a file from its `st_mode`; None for a regular file."""
    return None if stat.S_ISREG(mode) else f"{NOT_REGULAR}: {kind_of(mode)}"


def open_regular(path: Path) -> IO[bytes]:
    """`path` opened for reading in binary, only if it is a regular file; never blocks on a
    FIFO or a device. Raises NotRegular (an OSError) for anything else."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegular(kind_of(mode))
        os.set_blocking(fd, True)  # a regular file: ordinary reads from here on
        handle = os.fdopen(fd, "rb")
        handle.raw.name = os.fspath(path)  # type: ignore[attr-defined]  # mutagen reads it
        return handle
    except BaseException:
        os.close(fd)
        raise


_stuck: dict[str, threading.Thread] = {}
_stuck_lock = threading.Lock()


def stuck_paths() -> list[str]:
    """Paths whose step is still blocked in an abandoned thread."""
    with _stuck_lock:
        return sorted(k for k, t in _stuck.items() if t.is_alive())


def with_deadline(
    fn: Callable[[], T],
    timeout_s: float,
    what: str,
    *,
    key: str | None = None,
    cancel: threading.Event | None = None,
) -> T:
    """fn() run in a daemon thread; its result or its exception, or StepTimeout when it takes
    longer than `timeout_s` (the thread is then abandoned), or Abandoned once `cancel` is set.
    `key` (a path) remembers an abandoned thread, so the same path is not tried again while
    it is still stuck."""
    if cancel is not None and cancel.is_set():
        raise Abandoned()
    if key is not None:
        with _stuck_lock:
            earlier = _stuck.get(key)
            if earlier is not None:
                if earlier.is_alive():
                    raise StepTimeout(what, None)
                del _stuck[key]
    box: dict[str, object] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=target, name=f"loa-library-{what}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not done.wait(max(0.0, min(0.25, deadline - time.monotonic()))):
        if cancel is not None and cancel.is_set():
            raise Abandoned()
        if time.monotonic() >= deadline:
            if key is not None:
                with _stuck_lock:
                    _stuck[key] = thread
            raise StepTimeout(what, timeout_s)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]

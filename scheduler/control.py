"""The running daemon's local control channel: a unix socket, one JSON request per line.

Only the owner can connect (the socket file is created mode 0600 in a 0700-safe way: the
umask is set around bind). Requests: {"cmd": "ping"}, {"cmd": "status"},
{"cmd": "play", "topic": ID | "file": PATH, "priority": "normal" | "priority" | "emergency"}.
Every reply is one JSON object with "ok": true/false.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("loa.control")

Handler = Callable[[dict[str, Any]], dict[str, Any]]
MAX_REQUEST = 64 * 1024


def _no_handler(request: dict[str, Any]) -> dict[str, Any]:
    return {"ok": False, "error": "the daemon is starting"}


class NoControl:
    """A daemon with no control channel: a simulated station answers no `loa status` (the
    socket belongs to the station's real daemon)."""

    def start(self, handler: Handler | None = None) -> None:
        pass

    def stop(self) -> None:
        pass

    def ensure(self) -> str | None:
        return None

    def move(self, path: Path) -> None:
        pass


class ControlPathTaken(Exception):
    """The control socket's path holds something that is not a socket (a file, a folder)."""


def path_taken(path: Path) -> str | None:
    """Why `path` cannot be the control socket (something else is there), else None: the
    daemon only ever replaces a stale socket, never a file or a folder someone put there."""
    try:
        if path.is_socket() and not path.is_symlink():
            return None
        if not (path.exists() or path.is_symlink()):
            return None
    except OSError as exc:
        return f"{path} cannot be looked at ({exc.strerror or exc}): choose another path"
    what = "a folder" if path.is_dir() and not path.is_symlink() else "a file"
    return f'{path} is {what}, not loa\'s control socket: choose another path, e.g. "data/loa.sock"'


class ControlServer:
    def __init__(self, path: Path, handler: Handler | None = None) -> None:
        self.path = path
        self.handler: Handler = handler or _no_handler
        self._sock: socket.socket | None = None
        self._inode: tuple[int, int] | None = None  # the socket file bound, (st_dev, st_ino)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self, handler: Handler | None = None) -> None:
        if handler is not None:
            self.handler = handler
        self.path.parent.mkdir(parents=True, exist_ok=True)
        taken = path_taken(self.path)
        if taken is not None:
            raise ControlPathTaken(f"daemon.socket: {taken}")
        if self.path.is_socket():
            self.path.unlink()  # a stale socket of a crashed daemon (the lock says we are alone)
        self._sock = self._bind()
        self._thread = threading.Thread(
            target=self._serve, args=(self._sock,), name="loa-control", daemon=True
        )
        self._thread.start()

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        except OSError:
            sock.close()
            raise
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        sock.listen(8)
        sock.settimeout(0.5)
        st = os.stat(self.path)
        self._inode = (st.st_dev, st.st_ino)
        return sock

    def ensure(self) -> str | None:
        """Called every heartbeat: if the socket file was deleted (the data folder removed,
        a cleaner of /tmp or /run), bind it again at the same path, so `loa status` and
        `loa play-now` still reach this daemon instead of thinking none runs. Returns what was
        done, for one event; None when the socket is there (one stat) or was not started.
        A file someone put at the path is left alone (OSError says so)."""
        if self._sock is None or self._stop.is_set():
            return None
        try:
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) == self._inode:
                return None
        except FileNotFoundError:
            pass
        taken = path_taken(self.path)
        if taken is not None and not self.path.is_socket():
            raise OSError(taken)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a socket that is not ours any more (nobody answers on it)
        new = self._bind()
        old, self._sock = self._sock, new
        self._thread = threading.Thread(
            target=self._serve, args=(new,), name="loa-control", daemon=True
        )
        self._thread.start()
        old.close()
        return f"{self.path}"

    def move(self, path: Path) -> None:
        """`daemon.socket` edited while running: listen at `path` from now on (so `loa status`
        and `loa play-now`, which read the edited config.toml, reach this daemon) and remove
        the socket at the old path. ControlPathTaken if something else is at `path`."""
        if path == self.path:
            return
        taken = path_taken(path)
        if taken is not None:
            raise ControlPathTaken(f"daemon.socket: {taken}")
        old, old_inode = self.path, self._inode
        self.path = path
        if self._sock is None:
            return
        try:
            self.ensure()
        except BaseException:
            self.path = old
            raise
        with contextlib.suppress(OSError):
            st = os.stat(old)
            if (st.st_dev, st.st_ino) == old_inode:
                old.unlink()

    def _serve(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                data = b""
                while not data.endswith(b"\n") and len(data) < MAX_REQUEST:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                request = json.loads(data.decode("utf-8"))
                if not isinstance(request, dict):
                    raise ValueError("a request is a JSON object")
                reply = self.handler(request)
            except (ValueError, UnicodeDecodeError) as exc:
                reply = {"ok": False, "error": f"bad request: {exc}"}
            except Exception as exc:
                log.exception("control request failed")
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(reply, ensure_ascii=False, default=str).encode() + b"\n")

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
        if self._thread is not None:
            self._thread.join(2)
        with contextlib.suppress(OSError):
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) == self._inode:  # only our own socket file
                self.path.unlink()


class NoDaemon(ConnectionError):
    """No daemon answers on the socket."""


def request(path: Path, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to the running daemon; NoDaemon if none listens."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        sock.close()
        raise NoDaemon(str(path)) from exc
    with sock:
        sock.sendall(json.dumps(message, ensure_ascii=False).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data.decode("utf-8"))

"""A real live stream for the relay tests: Debian's icecast2 fed by ffmpeg.

`IcecastServer` runs an icecast2 of its own through scripts/test-icecast.sh (config in a
temporary folder, a free port on 127.0.0.1; as root it drops to the `icecast2` user the Debian
package creates, since icecast refuses to run as root). `Feeder` pushes a generated signal to one mount of it with ffmpeg
(`-re`, so in real time, like a radio): `tones` is the known sequence 440, 660, 880 Hz, one
second each, at -12 dBFS; `silence` is digital silence (a stream that is up but says nothing).

`stream_server` (session) is the server the tests feed: the one `.ci/run` started when
`LOA_TEST_ICECAST` says where (``http://source:PASSWORD@127.0.0.1:PORT``), else one of its
own. Tests that kill the server mid-frame start their own `IcecastServer`. No icecast2, no
test: a missing server FAILS with the package to install, it never skips.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scheduler.output.decoder import ffmpeg_exe

ENV = "LOA_TEST_ICECAST"
NEEDS = "apt-get install icecast2 (scripts/install-debian-deps.sh)"
SETTLE_S = 1.0  # a started icecast2 must still be alive this long after it first answered
TONES = (440.0, 660.0, 880.0)  # the known sequence, one second each, repeating
TONE_AMPLITUDE = 0.25  # -12 dBFS
CODECS = {  # name: (ffmpeg encoder arguments, format, content type, mount suffix)
    "mp3": (["-c:a", "libmp3lame", "-b:a", "128k"], "mp3", "audio/mpeg", ".mp3"),
    "ogg": (["-c:a", "libvorbis", "-q:a", "4"], "ogg", "application/ogg", ".ogg"),
    "opus": (["-c:a", "libopus", "-b:a", "64k"], "ogg", "audio/ogg", ".opus"),
    "aac": (["-c:a", "aac", "-b:a", "96k"], "adts", "audio/aac", ".aac"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tone_expression() -> str:
    """The lavfi aevalsrc expression of the known sequence (TONES, one second each)."""
    f0, f1, f2 = TONES
    freq = f"if(eq(mod(floor(t),3),0),{f0},if(eq(mod(floor(t),3),1),{f1},{f2}))"
    return f"{TONE_AMPLITUDE}*sin(2*PI*{freq}*t)"


ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "test-icecast.sh"


class IcecastServer:
    """An icecast2 on 127.0.0.1 at a free port, in a temporary folder; kill and restart it."""

    def __init__(self, port: int | None = None, password: str | None = None) -> None:
        if shutil.which("icecast2") is None and shutil.which("icecast") is None:
            raise FileNotFoundError(f"icecast2 is not installed: {NEEDS}")
        self.port = port or free_port()
        self.password = password or secrets.token_hex(8)
        self.base = Path(tempfile.mkdtemp(prefix="loa-icecast-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def source_url(self) -> str:
        return f"http://source:{self.password}@127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0, attempts: int = 3) -> None:
        """Start icecast2 and return once it answers; start it again if it dies meanwhile.

        Measured here: with both cores busy, icecast2 2.4.4 died of SIGSEGV within its first
        second in 3 of 8 starts (after its port had accepted a connection), with nothing in
        its error log; idle, in none of 12. A start counts once the server has answered an
        HTTP request and is still alive SETTLE_S later.
        """
        why = ""
        for _ in range(attempts):
            self.proc = subprocess.Popen(
                ["bash", str(SCRIPT), str(self.base), str(self.port), self.password],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            if self._answers(time.monotonic() + timeout):
                time.sleep(SETTLE_S)
                if self.proc.poll() is None and self._answers(time.monotonic() + 2.0):
                    return
            log = self.base / "error.log"
            why = log.read_text(errors="replace")[-800:] if log.exists() else ""
            why = f"exit status {self.proc.poll()}; {why}"
            self.stop()
        raise RuntimeError(f"icecast2 did not start on port {self.port} ({attempts} tries): {why}")

    def _answers(self, deadline: float) -> bool:
        """Whether the server answers HTTP (any status) before `deadline`."""
        assert self.proc is not None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/", timeout=1.0):
                    return True
            except urllib.error.HTTPError:
                return True  # 404 and the like: the server answered
            except (urllib.error.URLError, OSError):
                if self.proc.poll() is not None:
                    return False
                time.sleep(0.05)
        return False

    def kill(self) -> None:
        """SIGKILL: the server dies mid-stream, as a crashed or unplugged one does."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class RemoteIcecast:
    """The server .ci/run started (LOA_TEST_ICECAST): fed by the tests, never killed."""

    def __init__(self, address: str) -> None:
        parts = urlsplit(address)
        self.password = parts.password or ""
        self.port = parts.port or 8000
        self.source_url = address.rstrip("/")
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        pass


Server = IcecastServer | RemoteIcecast


class Feeder:
    """ffmpeg pushing `signal` (tones | silence) in `codec` to a mount of `server`."""

    def __init__(
        self, server: Server, mount: str | None = None, signal: str = "tones", codec: str = "mp3"
    ) -> None:
        encoder, fmt, content_type, suffix = CODECS[codec]
        self.server = server
        self.mount = mount or f"/t-{secrets.token_hex(4)}{suffix}"
        self.signal = signal
        expr = tone_expression() if signal == "tones" else "0"
        self.cmd = [
            ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc='{expr}':s=44100:c=stereo",
            *encoder,
            "-content_type",
            content_type,
            "-f",
            fmt,
            f"icecast://source:{server.password}@127.0.0.1:{server.port}{self.mount}",
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{self.mount}"

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            self.cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        end = time.monotonic() + timeout
        while time.monotonic() < end:  # the mount exists once the first bytes arrived
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.read(1024):
                        return
            except (urllib.error.URLError, OSError):
                if self.proc.poll() is not None:
                    break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"ffmpeg could not feed {self.url}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture(scope="session")
def stream_server() -> Iterator[Server]:
    address = os.environ.get(ENV)
    if address:
        yield RemoteIcecast(address)
        return
    try:
        server = IcecastServer()
    except FileNotFoundError as e:
        pytest.fail(f"relay tests need a stream server: {e}")
    try:
        yield server
    finally:
        server.close()

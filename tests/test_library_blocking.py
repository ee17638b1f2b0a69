"""Files that block when opened (issue 10, part 2): a FIFO, a device, a socket in a topic folder.

Real FIFOs, a real socket and /dev/null, real ffmpeg; every call that used to hang runs in a
thread joined with a generous limit, so a regression fails the test instead of hanging it (these
are "did it finish at all" checks, not timings). A hung network or USB mount cannot be made here;
the same mechanism (a read blocked in the kernel, abandoned at its time limit) is proven on a FIFO
opened for reading, which blocks in the kernel the same way.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from audio_library.analysis import analyse
from audio_library.files import hash_file
from audio_library.safeio import Abandoned, NotRegular, StepTimeout, with_deadline
from audio_library.scan import scan_library
from audio_library.tags import Tags, read_tags
from audio_library.verdict import judge
from loa.cli import cli
from loa.db import open_database, station_db
from tests.library_audio import make_audio

ROOT = Path(__file__).resolve().parent.parent
FIFO = "không phải tệp thường (not a regular file): FIFO (named pipe)"
DEVICE = "không phải tệp thường (not a regular file): thiết bị (device)"
SOCKET = "không phải tệp thường (not a regular file): socket"
LIMIT_S = 60.0  # far above what any of these takes when nothing hangs

CONFIG = """
[station]
id = "xa-thu"
name = "Đài xã Thử"
[library]
root = "lib"
rescan = "{rescan}"
[database]
url = "sqlite:///data/loa.db"
[output]
backend = "null"
[daemon]
socket = "data/loa.sock"
heartbeat = "1s"
[[topics]]
id = "chi-so"
name = "Chỉ số"
[[slots]]
name = "sang"
start = "06:00"
length = "10m"
"""


def finishes(fn: Callable[[], Any], limit_s: float = LIMIT_S) -> Any:
    """fn() in a daemon thread; fails the test if it is still running after `limit_s`."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit_s)
    assert not thread.is_alive(), f"{fn} still blocked after {limit_s} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Path]:
    """A station whose topic folder holds a good spot, a FIFO, a socket and a link to a device."""
    folder = tmp_path / "lib" / "chi-so"
    folder.mkdir(parents=True)
    make_audio(folder / "tốt.mp3")
    os.mkfifo(folder / "x.mp3")
    (folder / "thiết bị.wav").symlink_to("/dev/zero")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "ổ cắm.ogg"))
    (tmp_path / "config.toml").write_text(CONFIG.format(rescan="5s"), "utf-8")
    yield tmp_path
    server.close()


def cli_run(station: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(station / "config.toml"), *args])
    return result.exit_code, result.output


def test_scan_list_and_check_refuse_what_is_not_a_regular_file(station: Path) -> None:
    code, out = finishes(lambda: cli_run(station, "library", "scan", "--json"))
    assert code == 0, out
    report = json.loads(out)
    assert report["added"] == 1
    assert report["rejected"] == [
        {"path": "chi-so/thiết bị.wav", "reason": DEVICE},
        {"path": "chi-so/x.mp3", "reason": FIFO},
        {"path": "chi-so/ổ cắm.ogg", "reason": SOCKET},
    ]
    code, out = finishes(lambda: cli_run(station, "library", "list", "--format", "json"))
    listed = {r["path"]: (r["status"], r["reason"]) for r in json.loads(out)}
    assert listed == {
        "chi-so/tốt.mp3": ("ok", None),
        "chi-so/thiết bị.wav": ("rejected", DEVICE),
        "chi-so/x.mp3": ("rejected", FIFO),
        "chi-so/ổ cắm.ogg": ("rejected", SOCKET),
    }
    code, out = finishes(lambda: cli_run(station, "library", "check"))
    assert code == 1
    assert f"lỗi (error): chi-so/x.mp3: {FIFO}" in out.splitlines()
    assert f"lỗi (error): chi-so/thiết bị.wav: {DEVICE}" in out.splitlines()
    assert "run a scan" not in out


def test_play_now_refuses_a_fifo(station: Path) -> None:
    fifo = station / "lib" / "chi-so" / "x.mp3"
    code, out = finishes(lambda: cli_run(station, "play-now", "--file", str(fifo)))
    assert code == 1
    assert out.strip() == f"--file: {fifo}: {FIFO}; chọn một tệp âm thanh (give an audio file)"


def test_a_jingle_that_is_a_fifo_is_named_not_waited_on(station: Path) -> None:
    fifo = station / "lib" / "chi-so" / "x.mp3"
    config = station / "config.toml"
    config.write_text(
        config.read_text("utf-8").replace('length = "10m"', f'length = "10m"\nintro = "{fifo}"'),
        "utf-8",
    )
    code, out = finishes(lambda: cli_run(station, "playlist", "preview", "--date", "2021-03-01"))
    assert code == 3  # a jingle that cannot air is a problem of config.toml
    assert out.strip().splitlines()[-1] == f"slots[0].intro: {fifo}: {FIFO}"


def test_every_reader_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.mp3"
    os.mkfifo(fifo)
    with pytest.raises(NotRegular, match="FIFO"):
        finishes(lambda: hash_file(fifo))

    tags = finishes(lambda: read_tags(fifo))
    assert tags.error == f"NotRegular: {FIFO}"


def test_ffmpeg_is_killed_at_its_time_limit(tmp_path: Path) -> None:
    """ffmpeg opening a FIFO with no writer blocks in the kernel, as on a hung mount."""
    fifo = tmp_path / "treo.mp3"
    os.mkfifo(fifo)
    result = finishes(lambda: analyse(fifo, timeout_s=1.0))
    assert result.timed_out and not result.ok
    assert result.open_error == "ffmpeg quá 1 s không xong (timed out)"
    refusal = judge(100, ".mp3", Tags(None, None, None), result)
    assert refusal is not None and refusal.problem == "timed_out"
    assert refusal.reason == (
        "quá thời gian giải mã (timed out: ffmpeg quá 1 s không xong (timed out)): tệp nằm trên "
        "ổ mạng hoặc USB bị treo? loa sẽ thử lại ở lần quét sau (tried again at the next scan)"
    )
    # cancelled (the daemon stopping): killed at once, not at the limit
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Abandoned):
        finishes(lambda: analyse(fifo, timeout_s=600.0, cancel=cancel), limit_s=10.0)


def test_a_step_blocked_in_the_kernel_is_abandoned_and_not_retried(tmp_path: Path) -> None:
    fifo = tmp_path / "treo"
    os.mkfifo(fifo)

    def blocked_read() -> bytes:
        with open(fifo, "rb") as fh:  # blocks until a writer opens the FIFO
            return fh.read()

    with pytest.raises(StepTimeout) as info:
        finishes(lambda: with_deadline(blocked_read, 0.5, "sha256", key="k-fifo"))
    assert str(info.value) == "sha256: quá 0.5 s không xong (timed out)"
    stuck = [t for t in threading.enumerate() if t.name == "loa-library-sha256"]
    assert stuck and all(t.daemon for t in stuck)  # cannot keep the process alive at exit
    # the same path while its step is still stuck: refused at once, no second thread
    with pytest.raises(StepTimeout, match="still stuck"):
        with_deadline(blocked_read, 30.0, "sha256", key="k-fifo")
    assert len([t for t in threading.enumerate() if t.name == "loa-library-sha256"]) == len(stuck)
    with open(fifo, "wb") as writer:  # release the stuck reader
        writer.write(b"x")
    for t in stuck:
        t.join(5)
    assert with_deadline(lambda: b"ok", 5.0, "sha256", key="k-fifo") == b"ok"


def test_a_cancelled_scan_stops_at_once(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    make_audio(root / "chi-so" / "a.flac", seconds=2.0)
    engine = open_database(f"sqlite:///{tmp_path}/loa.db")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Abandoned):
        finishes(
            lambda: scan_library(
                engine, root, ["chi-so"], max_spot_s=600.0, target_lufs=-16.0, cancel=cancel
            ),
            limit_s=20.0,
        )


class StuckScan:
    """A FAKE rescan that blocks until released: stands in for a scan stuck on a hung mount,
    which cannot be made here (every real step now has its own time limit)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, wait: bool = True) -> list:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(60)
        return []


def test_a_stuck_rescan_skips_the_next_ones_then_is_abandoned(station: Path) -> None:
    from loa.compose import LibrarySource
    from loa.config import load_config

    config = load_config(station / "config.toml")
    db = station_db(open_database(config.database.url))
    events: list[tuple[str, str, str]] = []
    source = LibrarySource(config, db, lambda *e: events.append(e), rescan_timeout_s=1.0)
    fake = StuckScan()
    source.refresh = fake  # type: ignore[method-assign]
    source.tick()  # starts the scan that sticks
    source.tick()  # skipped: one warning
    source.tick()  # skipped: nothing more
    assert fake.calls == 1
    warnings = [e for e in events if e[0] == "warning"]
    assert len(warnings) == 1
    assert warnings[0][2].endswith("(a rescan is still running; the next ones are skipped)")
    time.sleep(1.1)  # past its time limit
    source.tick()  # abandoned; a new rescan starts
    finishes(lambda: source._scan.join(10))  # type: ignore[union-attr]
    assert fake.calls == 2
    assert any(e[0] == "error" and "abandoned" in e[2] for e in events)
    fake.release.set()
    source.stop()


def loa(config: Path, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, **kw,
    )  # fmt: skip


@pytest.mark.slow
def test_loa_run_starts_rescans_and_stops_with_a_fifo_in_the_library(station: Path) -> None:
    config = station / "config.toml"
    # the database exists before the daemon and `loa status` race to create it (two processes
    # creating one new SQLite schema at once is a separate problem, not this test's)
    assert loa(config, "status", "--json").returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        status: dict = {}
        for _ in range(120):  # the daemon answers: its start did not wait on the library
            done = loa(config, "status", "--json")
            if done.returncode == 0:
                status = json.loads(done.stdout)
                if status["alive"] and status["heartbeat_at"]:
                    break
            time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()[0]
        assert status["alive"] and status["heartbeat_at"], status
        # a spot dropped in later is catalogued by the background rescan (it did not stop)
        make_audio(station / "lib" / "chi-so" / "mới.ogg", seconds=2.0, freq=500)
        for _ in range(120):
            listed = json.loads(loa(config, "library", "list", "--format", "json").stdout)
            if any(r["path"] == "chi-so/mới.ogg" and r["status"] == "ok" for r in listed):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the new spot was never catalogued: {listed}")
        assert {r["path"]: r["reason"] for r in listed}["chi-so/x.mp3"] == FIFO
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            raise AssertionError(f"loa run did not exit after SIGTERM:\n{out}") from None
    assert proc.returncode == 0, out


def test_a_stuck_library_thread_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    """A process whose library step is stuck in the kernel (a blocked FIFO read) still exits."""
    fifo = tmp_path / "treo"
    os.mkfifo(fifo)
    script = (
        "import sys\n"
        "from audio_library.safeio import StepTimeout, with_deadline\n"
        "def stuck():\n"
        f"    with open({str(fifo)!r}, 'rb') as fh:\n"
        "        return fh.read()\n"
        "try:\n"
        "    with_deadline(stuck, 0.2, 'sha256', key='x')\n"
        "except StepTimeout as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sha256: quá 0.2 s không xong (timed out)"

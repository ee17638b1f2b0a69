"""`loa play-now` by another user than the daemon's (the daemon runs as `loa` under systemd,
the operator types the command as himself): the control socket is owner-only, and the
PermissionError came out as "lỗi nội bộ (internal error)" with no advice. Now it names the
socket and the user to run it as, and never plays a second stream here beside the daemon."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_config import BASE
from tests.test_daemon_own_files import wait_for
from tests.test_report_output import tone

NOBODY = 65534


@pytest.fixture
def station() -> Iterator[Path]:
    """A station folder the user `nobody` may read (pytest's tmp_path is root's, 0700)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the command as another user")
    base = Path(tempfile.mkdtemp(prefix="loa-owner-"))
    base.chmod(0o755)
    (base / "audio_library" / "chi-so").mkdir(parents=True)
    (base / "audio_library" / "dich-vu-cong").mkdir(parents=True)
    tone(base / "audio_library" / "chi-so" / "tin.wav")
    (base / "config.toml").write_text(
        BASE + '\n[database]\nurl = "sqlite:///data/loa.db"\n[library]\nroot = "audio_library"\n'
        '[output]\nbackend = "null"\n[daemon]\nheartbeat = "1s"\n',
        "utf-8",
    )
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames:
            Path(dirpath, name).chmod(0o755)
        for name in filenames:
            Path(dirpath, name).chmod(0o644)
    yield base
    shutil.rmtree(base)


@pytest.mark.slow
def test_play_now_as_another_user_names_the_socket_and_the_user(station: Path) -> None:
    config = station / "config.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=station, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        sock = station / "data" / "loa.sock"
        assert wait_for(sock.is_socket, 30), "the daemon did not start"
        result = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             sys.executable, "-m", "loa", "--config", str(config), "play-now", "--topic", "chi-so"],
            cwd="/", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=30)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{sock}: không có quyền mở ổ điều khiển của daemon (permission denied" in (
        result.stderr
    )
    assert "sudo -u root loa play-now" in result.stderr
    assert "lỗi nội bộ" not in result.stderr and "phát trực tiếp" not in result.stderr
    assert proc.returncode == 0, log

"""Fixtures of the fault suite: a small filesystem of the test's own to fill."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _run(*cmd: str) -> bool:
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if sudo and shutil.which("sudo") is None:
        return False
    return subprocess.run([*sudo, *cmd], capture_output=True, timeout=30).returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs of this test's own (root, or passwordless sudo as on CI runners)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    opts = f"size=4m,uid={os.getuid()},gid={os.getgid()},mode=0755"
    if not _run("mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(mnt)):
        pytest.skip("cannot mount a tmpfs here (needs root or passwordless sudo)")
    try:
        yield mnt
    finally:
        _run("umount", "-l", str(mnt))


def fill(path: Path) -> int:
    """Write `path` until the filesystem refuses (ENOSPC); returns the bytes written."""
    written = 0
    block = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n = f.write(block)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                break
            written += n or 0
            if not n:
                break
        with contextlib.suppress(OSError):
            while f.write(b"\0" * 512):
                written += 512
    return written

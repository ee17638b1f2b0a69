"""Files a command reads whole (`loa simulate --events`, `loa central import`): a named pipe is
refused at once as a usage error, never waited on for a writer that does not come."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_config import BASE, ROOT


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--from", "2021-03-01", "--days", "1", "--events", "{fifo}"],
        ["central", "--url", "postgresql://loa:bí-mật@127.0.0.1:1/loa", "import", "{fifo}"],
    ],
)
def test_a_named_pipe_is_refused_at_once(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "config.toml").write_text(BASE, "utf-8")
    fifo = tmp_path / "mùa.toml"
    os.mkfifo(fifo)
    argv = [a.format(fifo=fifo) for a in args]
    run = subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(tmp_path / "config.toml"), *argv],
        cwd=ROOT, capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert (
        f"{fifo} is not a regular file (a named pipe, a device or a socket): give a file"
        in run.stderr
    )
    assert "bí-mật" not in run.stderr

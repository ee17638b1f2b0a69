"""Path keys of config.toml that loa cannot use: refused by `loa config check`, never acted on.

`daemon.socket = ""` used to pass the check and stop `loa run` with an internal error (the
socket path was the config's own folder); `library.root = ""` scanned the station's own folder.
A `daemon.socket` naming an existing file made `loa run` delete that file to bind its socket
there (a spot, the database, config.toml).
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from loa.cli import cli
from loa.errors import EXIT_CONFIG
from scheduler.control import ControlPathTaken, ControlServer
from tests.test_config import BASE, ROOT, problems_of


@pytest.mark.parametrize(
    ("section", "key"),
    [("library", "root"), ("daemon", "socket"), ("output", "path")],
)
def test_an_empty_path_is_refused(tmp_path: Path, section: str, key: str) -> None:
    problems = problems_of(tmp_path, BASE + f'\n[{section}]\n{key} = ""\n')
    assert problems == [
        f"{section}.{key}: must not be empty: write a path (relative to the folder of config.toml)"
    ]


def test_a_path_that_is_not_text_says_so(tmp_path: Path) -> None:
    assert problems_of(tmp_path, BASE + "\n[library]\nroot = 3\n") == [
        "library.root: 3 is not a path: write it as text in quotes"
    ]


def station(tmp_path: Path, socket_path: str) -> Path:
    (tmp_path / "audio_library" / "demo").mkdir(parents=True)
    path = tmp_path / "config.toml"
    path.write_text(BASE + f'\n[daemon]\nsocket = "{socket_path}"\n', "utf-8")
    return path


def test_a_socket_path_naming_a_file_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    spot = tmp_path / "tin quý.mp3"
    spot.write_bytes(b"ID3 the operator's only copy")
    config = station(tmp_path, "tin quý.mp3")
    result = CliRunner().invoke(cli, ["--config", str(config), "config", "check"])
    assert result.exit_code == EXIT_CONFIG, result.output
    assert (
        f"daemon.socket: {spot} is a file, not loa's control socket: choose another path, "
        'e.g. "data/loa.sock"'
    ) in result.output
    # and `loa run` on it (as an edit made after the check would make it) refuses to start
    run = subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == EXIT_CONFIG, run.stderr
    assert "daemon.socket" in run.stderr and "Traceback" not in run.stderr
    assert spot.read_bytes() == b"ID3 the operator's only copy"


def test_the_control_server_replaces_only_a_stale_socket(tmp_path: Path) -> None:
    folder = tmp_path / "thư mục"
    folder.mkdir()
    precious = tmp_path / "loa.db"
    precious.write_bytes(b"SQLite format 3\x00")
    for taken in (precious, folder):
        with pytest.raises(ControlPathTaken, match="not loa's control socket"):
            ControlServer(taken).start()
    assert precious.read_bytes() == b"SQLite format 3\x00" and folder.is_dir()
    stale = tmp_path / "loa.sock"  # a crashed daemon's socket: replaced
    left = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    left.bind(str(stale))
    left.close()
    server = ControlServer(stale)
    server.start()
    try:
        assert stale.is_socket()
    finally:
        server.stop()


@pytest.mark.parametrize("how", ["--config", "LOA_CONFIG", "./config.toml"])
def test_a_folder_as_config_toml_is_a_config_problem_not_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    (tmp_path / "config.toml").mkdir()
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "config.toml" if how != "./config.toml" else Path("config.toml")
    args, env = ["config", "check"], {"LOA_CONFIG": None}
    if how == "--config":
        args = ["--config", str(folder), *args]
    elif how == "LOA_CONFIG":
        env = {"LOA_CONFIG": str(folder)}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == EXIT_CONFIG, result.output
    assert (
        f"{folder}: cấu hình không hợp lệ, 1 lỗi (1 problem)\n"
        f"the path is a folder, not a file: pass --config {folder / 'config.toml'}"
    ) in result.output


def test_a_fifo_as_config_toml_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    """`loa config check` (and every command, and the daemon's reload) opened config.toml
    and waited forever for a writer when it was a named pipe."""
    import os

    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    run = subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(fifo), "config", "check"],
        cwd=ROOT, capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert run.returncode == EXIT_CONFIG, run.stderr
    assert (
        f"{fifo}: cấu hình không hợp lệ, 1 lỗi (1 problem)\n"
        "not a regular file (a named pipe, a device or a socket): config.toml must be a text "
        "file"
    ) in run.stderr

"""`database.url` naming something the daemon cannot open: `loa config check` refuses it.

Whatever `loa config check` accepts, `loa run` can start on: a station whose `[database] url`
names a folder, a file that is no SQLite database (config.toml itself, a document), or a path
under a regular file used to pass the check and then stop `loa run` at once with exit 4.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from loa.cli import cli
from loa.db import open_database
from loa.errors import EXIT_CONFIG, EXIT_DATABASE
from tests.test_config import BASE


def station(tmp_path: Path, url: str) -> Path:
    (tmp_path / "audio_library" / "demo").mkdir(parents=True)
    path = tmp_path / "config.toml"
    path.write_text(BASE + f'\n[database]\nurl = "{url}"\n', "utf-8")
    return path


def check(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
    return result.exit_code, result.output


def test_a_folder_as_the_database_is_refused_by_config_check(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    code, out = check(station(tmp_path, "sqlite:///data"))
    assert code == EXIT_CONFIG, out
    assert f"database.url: {tmp_path / 'data'} is a folder, not a database file" in out
    assert "sqlite:///data/loa.db" in out  # what to write instead
    assert "Traceback" not in out


def test_a_file_that_is_no_database_is_refused_by_config_check(tmp_path: Path) -> None:
    (tmp_path / "ghi-chu.txt").write_text("Lịch phát sóng tháng 3\n", "utf-8")
    code, out = check(station(tmp_path, "sqlite:///ghi-chu.txt"))
    assert code == EXIT_CONFIG, out
    assert f"database.url: {tmp_path / 'ghi-chu.txt'} is not a SQLite database" in out


def test_a_path_under_a_regular_file_is_refused_by_config_check(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("", "utf-8")
    code, out = check(station(tmp_path, "sqlite:///data/loa.db"))
    assert code == EXIT_CONFIG, out
    assert f"database.url: {tmp_path / 'data'} is a file, not a folder" in out


@pytest.mark.parametrize("made", ["none", "empty", "station"])
def test_what_the_daemon_opens_passes(tmp_path: Path, made: str) -> None:
    db = tmp_path / "data" / "loa.db"
    if made == "empty":  # `touch data/loa.db`: SQLite takes an empty file as a new database
        db.parent.mkdir()
        db.write_bytes(b"")
    elif made == "station":
        open_database(f"sqlite:///{db}").dispose()
    path = station(tmp_path, "sqlite:///data/loa.db")
    code, out = check(path)
    assert code == 0, out
    # and the database opens as the daemon opens it
    open_database(f"sqlite:///{db}").dispose()
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from loa_schema").fetchone()[0] >= 1


def test_the_daemon_refused_that_folder_so_the_check_must(tmp_path: Path) -> None:
    """The daemon's side of the rule, unchanged: it cannot open a folder (exit 4)."""
    (tmp_path / "data").mkdir()
    path = station(tmp_path, "sqlite:///data")
    result = CliRunner().invoke(cli, ["--config", str(path), "library", "scan"])
    assert result.exit_code == EXIT_DATABASE, result.output

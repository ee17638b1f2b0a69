"""The `loa` command's error paths: exit codes and exact text (click's CliRunner)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from loa import __version__
from loa.cli import cli
from loa.errors import EXIT_CONFIG

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"loa, version {__version__}\n"


def test_config_check_passes_the_shipped_config(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--config", str(ROOT / "config.toml"), "config", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{ROOT / 'config.toml'}: hợp lệ (valid): 11 chủ đề (topics), 2 buổi phát (slots), "
        "múi giờ Asia/Ho_Chi_Minh\n"
    )


def test_config_from_environment_then_default(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(ROOT / "config.toml", tmp_path / "dai.toml")
    result = runner.invoke(cli, ["config", "check"], env={"LOA_CONFIG": str(tmp_path / "dai.toml")})
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{tmp_path / 'dai.toml'}: hợp lệ")
    monkeypatch.chdir(tmp_path)  # no ./config.toml here
    result = runner.invoke(cli, ["config", "check"], env={"LOA_CONFIG": None})
    assert result.exit_code == EXIT_CONFIG
    assert result.stderr == (
        "config.toml: cấu hình không hợp lệ, 1 lỗi (1 problem)\n"
        "file not found: create it (copy the shipped config.toml) or pass --config\n"
    )


def test_config_check_lists_every_problem_and_exits_non_zero(
    runner: CliRunner, tmp_path: Path
) -> None:
    text = (ROOT / "config.toml").read_text("utf-8")
    text = text.replace('start = "17:00"', 'start = "25:00"').replace(
        'timezone = "Asia/Ho_Chi_Minh"', 'timezon = "Asia/Ho_Chi_Minh"'
    )
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    result = runner.invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == EXIT_CONFIG
    assert result.stdout == ""
    assert result.stderr == (
        f"{path}: cấu hình không hợp lệ, 2 lỗi (2 problems)\n"
        'station.timezon: unknown key; did you mean "timezone"?\n'
        'slots[1].start: "25:00" is not a time of day (HH:MM or HH:MM:SS)\n'
    )


def test_toml_syntax_error_is_not_a_traceback(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[station]\nid = "x"\n[[slots]\n', "utf-8")
    result = runner.invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == EXIT_CONFIG
    assert "Traceback" not in result.output
    assert result.stderr == (
        f"{path}: cấu hình không hợp lệ, 2 lỗi (2 problems)\n"
        "line 3, column 8: TOML syntax error: Expected ']]' at the end of an array declaration\n"
        "    [[slots]\n"
    )


def test_unknown_command_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["khong-co"])
    assert result.exit_code == 2
    assert "No such command 'khong-co'" in result.stderr


def test_debug_shows_the_traceback(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    result = runner.invoke(cli, ["--debug", "--config", str(path), "config", "check"])
    # with --debug the domain error propagates instead of being turned into a message
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "ConfigError"


def test_config_check_warns_about_a_topic_without_a_folder(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "lib" / "a").mkdir(parents=True)
    path = tmp_path / "config.toml"
    path.write_text(
        '[station]\nid = "x"\nname = "X"\n[library]\nroot = "lib"\n'
        '[[topics]]\nid = "a"\nname = "A"\n[[topics]]\nid = "b"\nname = "B"\n',
        "utf-8",
    )
    result = runner.invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == 0  # a warning, not an error: the station runs
    assert result.stderr == (
        f"cảnh báo (warning): topics[1].id: no folder {tmp_path / 'lib' / 'b'}; "
        "the topic cannot air until its spots are put there\n"
    )

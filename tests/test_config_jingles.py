"""A slot's intro/outro that cannot air: `loa config check` refuses it (the daemon airs the slot
without it), naming the key, the file and the reason; `loa status` shows it as a problem of
config.toml (exit 3), never as a failed command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from loa.cli import cli
from loa.errors import EXIT_CONFIG
from tests.test_config import with_slot


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _config(tmp_path: Path, intro: str) -> Path:
    path = tmp_path / "config.toml"
    (tmp_path / "thu-vien").mkdir()
    text = with_slot(name='"chieu"', start='"17:00"', length='"5m"', intro=f'"{intro}"')
    path.write_text(text + '\n[library]\nroot = "thu-vien"\n', "utf-8")
    return path


def test_a_missing_intro_is_refused_by_config_check(runner: CliRunner, tmp_path: Path) -> None:
    path = _config(tmp_path, "nhac-hieu.mp3")
    result = runner.invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == EXIT_CONFIG, result.output
    assert result.stderr.endswith(
        f"cấu hình không hợp lệ, 1 lỗi (1 problem)\nslots[1].intro: {tmp_path}/nhac-hieu.mp3: "
        "không đọc được tệp (cannot read the file): No such file or directory\n"
    )


def test_an_intro_that_is_not_audio_is_refused_by_config_check(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = _config(tmp_path, "nhac-hieu.mp3")
    (tmp_path / "nhac-hieu.mp3").write_text("không phải âm thanh\n", "utf-8")
    result = runner.invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == EXIT_CONFIG, result.output
    assert f"slots[1].intro: {tmp_path}/nhac-hieu.mp3: không phải tệp âm thanh: " in result.stderr


def test_status_names_a_missing_intro_as_a_config_problem(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = _config(tmp_path, "nhac-hieu.mp3")
    result = runner.invoke(cli, ["--config", str(path), "status"])
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "internal error" not in result.output
    assert f"slots[1].intro: {tmp_path}/nhac-hieu.mp3: không đọc được tệp" in result.stderr
    assert "Daemon: KHÔNG chạy (not running)" in result.stdout

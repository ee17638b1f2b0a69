"""The `loa` command's error paths: exit codes and exact text (click's CliRunner)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from loa import __version__
from loa.cli import cli
from loa.errors import EXIT_CONFIG
from loa.redact import mask_credentials

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
        f"{path}: cấu hình không hợp lệ, 1 lỗi (1 problem)\n"
        "line 3, column 8: TOML syntax error: Expected ']]' at the end of an array declaration\n"
        "    [[slots]\n"
    )


def test_a_key_written_twice_is_one_problem_with_what_to_do(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[library]\nroot = "a"\nroot = "b"\n', "utf-8")
    result = runner.invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == EXIT_CONFIG
    assert result.stderr == (
        f"{path}: cấu hình không hợp lệ, 1 lỗi (1 problem)\n"
        "line 3, column 11: TOML syntax error: Cannot overwrite a value; this key or table is "
        "written twice: keep one of them\n"
        '    root = "b"\n'
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


# ---------------------------------------------------------------- edges of the command line
# (issue #10, part 6)

YEAR_OUT = (
    "năm {year} nằm ngoài khoảng loa xử lý (year {year} is out of range): loa handles dates "
    "from 1900-01-01 to 2999-12-31"
)


@pytest.mark.parametrize(
    ("args", "option", "value", "year"),
    [
        (["playlist", "preview", "--date", "9999-12-31"], "--date", "9999-12-31", 9999),
        (["simulate", "--from", "9999-12-30", "--days", "1"], "--from", "9999-12-30", 9999),
        (["airtime", "log", "--from", "9999-12-31"], "--from", "9999-12-31", 9999),
        (["airtime", "log", "--to", "0001-01-01"], "--to", "0001-01-01", 1),
        (["airtime", "report", "--period", "9999"], "--period", "9999", 9999),
        (["airtime", "report", "--period", "9999-03"], "--period", "9999-03", 9999),
        (
            ["airtime", "report", "--period", "2021-01-01..9999-12-31"],
            "--period",
            "2021-01-01..9999-12-31",
            9999,
        ),
        (["library", "check", "--date", "3000-01-01"], "--date", "3000-01-01", 3000),
        (["library", "set", "x", "--until", "9999-12-31"], "--until", "9999-12-31", 9999),
    ],
)
def test_a_year_loa_cannot_handle_is_a_usage_error(
    runner: CliRunner, args: list[str], option: str, value: str, year: int
) -> None:
    result = runner.invoke(cli, ["--config", str(ROOT / "config.toml"), *args])
    assert result.exit_code == 2, result.output
    message = f'"{value}": {YEAR_OUT.format(year=year)}'
    assert f"Invalid value for '{option}': {message}" in result.stderr
    assert "internal error" not in result.output


def test_the_date_parameter_is_one_type() -> None:
    from loa.commands import airtime_cmd, library, playlist, simulate
    from loa.params import DateParam

    types = {
        type(p.type)
        for module in (airtime_cmd.airtime, library.library, playlist.playlist)
        for command in module.commands.values()
        for p in command.params
        if p.name in ("start", "end", "day", "on", "valid_from", "valid_until")
    } | {type(p.type) for p in simulate.simulate.params if p.name == "start_day"}
    assert types == {DateParam}


def _airtime_station(tmp_path: Path) -> Path:
    from tests.airtime_fixtures import write_config, write_log

    return write_config(tmp_path, write_log(tmp_path / "loa.db"))


def test_a_closed_pipe_ends_the_output_quietly(tmp_path: Path) -> None:
    """`loa airtime log | head -1`: the reader is gone before loa writes; no traceback, no
    "internal error", exit 1 (Python's convention for a broken pipe)."""
    import os
    import subprocess
    import sys

    config = _airtime_station(tmp_path)
    read, write = os.pipe()
    os.close(read)  # the reader has gone: every write to the pipe fails with EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "loa", "--config", str(config), "airtime", "log"],
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=120,
            cwd=ROOT,
        )
    finally:
        os.close(write)
    assert proc.stderr.decode() == ""
    assert proc.returncode == 1


PASSWORD = "s3cr3t-pw"
CENTRAL = f"postgresql+psycopg://loa:{PASSWORD}@127.0.0.1:1/loa"  # port 1: refused at once


def test_push_never_prints_the_password_nor_blames_database_url(
    runner: CliRunner, tmp_path: Path
) -> None:
    config = _airtime_station(tmp_path)
    result = runner.invoke(cli, ["--config", str(config), "airtime", "push", "--to", CENTRAL])
    assert result.exit_code == 1, result.output
    assert PASSWORD not in result.output
    assert "database.url" not in result.output
    assert result.stderr.startswith(
        "postgresql+psycopg://loa:***@127.0.0.1:1/loa: cannot connect to the central database: "
    )


def test_a_url_option_is_blamed_by_its_name(tmp_path: Path) -> None:
    """open_database names the key the URL came from (`--to`, `--db`), not database.url."""
    from loa.db import open_database
    from loa.errors import DatabaseError

    with pytest.raises(DatabaseError) as info:
        open_database(CENTRAL, key="--to")
    message = mask_credentials(str(info.value))
    assert message.startswith("--to: cannot open postgresql+psycopg://loa:***@127.0.0.1:1/loa: ")
    assert message.endswith("; check --to and that the file is a loa database")


def test_a_password_never_reaches_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from loa.logs import setup_logging

    setup_logging()
    logging.getLogger("loa.test").error("push to %s failed", CENTRAL)
    try:
        raise ValueError(f"connect {CENTRAL}")
    except ValueError:
        logging.getLogger("loa.test").exception("with a traceback")
    err = capsys.readouterr().err
    assert PASSWORD not in err
    assert "push to postgresql+psycopg://loa:***@127.0.0.1:1/loa failed" in err
    assert "ValueError: connect postgresql+psycopg://loa:***@127.0.0.1:1/loa" in err


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (CENTRAL, "postgresql+psycopg://loa:***@127.0.0.1:1/loa"),
        ("--to postgresql://u:pw@h/loa: refused", "--to postgresql://u:***@h/loa: refused"),
        ("'postgresql://u:p@ss@h:5432/d?x=1'", "'postgresql://u:***@h:5432/d?x=1'"),
        ("(mysql://u:p%40x@h/d).", "(mysql://u:***@h/d)."),
        ("scheme+x://a:b@c", "scheme+x://a:***@c"),
        ("host=h password=secret user=u", "host=h password=*** user=u"),
        ("sqlite:////var/lib/loa/loa.db", "sqlite:////var/lib/loa/loa.db"),
        ("postgresql://loa@host/loa", "postgresql://loa@host/loa"),
        ("no url here", "no url here"),
    ],
)
def test_mask_credentials(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked


def test_the_error_mapper_masks_any_message(runner: CliRunner, tmp_path: Path) -> None:
    """A database URL with a password in config.toml that cannot be opened: the message names
    database.url and hides the password."""
    path = tmp_path / "config.toml"
    path.write_text(
        '[station]\nid = "x"\nname = "X"\n[database]\n'
        f'url = "{CENTRAL}"\n[[topics]]\nid = "a"\nname = "A"\n',
        "utf-8",
    )
    result = runner.invoke(cli, ["--config", str(path), "airtime", "verify"])
    assert result.exit_code == 4, result.output
    assert PASSWORD not in result.output
    assert result.stderr.startswith(
        "database.url: cannot open postgresql+psycopg://loa:***@127.0.0.1:1/loa: "
    )


def _library_station(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "lib"
    (root / "a").mkdir(parents=True)
    (root / "a" / "tin.mp3").write_bytes(b"not decoded: approve only hashes the file")
    (tmp_path / "outside.mp3").write_bytes(b"outside the library")
    path = tmp_path / "config.toml"
    path.write_text(
        '[station]\nid = "x"\nname = "X"\n[library]\nroot = "lib"\n'
        '[[topics]]\nid = "a"\nname = "A"\n',
        "utf-8",
    )
    return path, root


OUTSIDE = (
    "{target}: tệp nằm ngoài thư viện {root} (the file is outside library.root): chép tệp vào "
    "thư mục của chủ đề rồi chạy `loa library scan` (copy it into its topic folder, then run a "
    "scan)\n"
)


@pytest.mark.parametrize("command", ["approve", "set"])
@pytest.mark.parametrize("target", ["/etc/passwd", "{tmp}/outside.mp3", "lib/../outside.mp3"])
def test_a_target_outside_the_library_is_refused(
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    target: str,
) -> None:
    config, root = _library_station(tmp_path)
    monkeypatch.chdir(tmp_path)
    target = target.format(tmp=tmp_path)
    extra = ["--note", "x"] if command == "set" else []
    result = runner.invoke(cli, ["--config", str(config), "library", command, target, *extra])
    assert result.exit_code == 1, result.output
    assert result.stderr == OUTSIDE.format(target=target, root=root)


def test_a_target_inside_the_library_is_approved(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, root = _library_station(tmp_path)
    monkeypatch.chdir(tmp_path)
    for target in (str(root / "a" / "tin.mp3"), "a/tin.mp3", "lib/a/tin.mp3"):
        result = runner.invoke(cli, ["--config", str(config), "library", "approve", target])
        assert result.exit_code == 0, result.output
        assert result.stdout.endswith(f"đã duyệt (approved): {target}\n")

"""`loa config check`: validate config.toml and print every problem at once."""

from __future__ import annotations

from pathlib import Path

import click

from loa.app import App
from loa.config import Config, check_config
from loa.errors import ConfigError


@click.group()
def config() -> None:
    """Tệp cấu hình config.toml (the configuration file)."""


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a folder that cannot be entered: reported as missing
        return False


def _jingle_problems(cfg: Config) -> list[str]:
    """Each intro/outro measured as the daemon measures it; one problem per refused file."""
    from loa.compose import jingle

    problems: list[str] = []
    for i, slot in enumerate(cfg.slots):
        for key, file in (("intro", slot.intro), ("outro", slot.outro)):
            try:
                jingle(cfg, f"slots[{i}].{key}", file)
            except ConfigError as exc:
                problems.extend(exc.problems)
    return problems


SQLITE_MAGIC = b"SQLite format 3\x00"


def _database_problems(cfg: Config) -> list[str]:
    """The SQLite file of `database.url` as the daemon will open it: another kind of URL, a
    folder, a file that is no SQLite database or a folder that cannot be made would stop
    `loa run` at start."""
    from loa.redact import mask_credentials
    from loa.station_open import NOT_A_STATION_FILE
    from scheduler.station_db import sqlite_file

    path = sqlite_file(cfg.database.url)
    if path is None:  # `loa run` opens it with sqlite3 (issue 17)
        url = mask_credentials(cfg.database.url)
        return [NOT_A_STATION_FILE.format(key="database.url", url=url)]
    advice = 'point [database] url at a file, e.g. "sqlite:///data/loa.db"'
    try:
        if path.is_dir():
            return [f"database.url: {path} is a folder, not a database file; {advice}"]
        if path.exists():
            if not path.is_file():
                return [f"database.url: {path} is not a regular file; {advice}"]
            with path.open("rb") as f:
                head = f.read(len(SQLITE_MAGIC))
            if head and head != SQLITE_MAGIC:
                return [
                    f"database.url: {path} is not a SQLite database; point [database] url at "
                    "the station's loa.db, or move that file away and loa creates a new one"
                ]
            return []
        for parent in path.parents:  # created at the first start: its folder must be makeable
            if parent.exists():
                if not parent.is_dir():
                    return [f"database.url: {parent} is a file, not a folder; {advice}"]
                break
    except OSError as exc:
        return [f"database.url: cannot read {path}: {exc.strerror or exc}; {advice}"]
    return []


def output_problems(cfg: Config, config_path: Path) -> list[str]:
    """The file backend's WAV as the daemon will write it: never over another file of the
    station (config.toml, the database, the socket, a spot in the library), a folder, a FIFO
    or a file that is not a WAV (`loa.output_file`, `scheduler.output.file.path_problem`)."""
    if cfg.output.backend != "file" or cfg.output.path is None:
        return []
    from loa.output_file import refusal
    from scheduler.output.file import path_problem

    path = cfg.output.path
    problem = refusal(cfg, config_path, path, "wav", "output.path") or path_problem(path)
    return [f"output.path: {problem}"] if problem else []


def start_problems(cfg: Config, config_path: Path) -> list[str]:
    """What would stop `loa run` at its start although the file validates (the database file,
    the file backend's WAV): a running daemon refuses an edit with them too, so that the
    station does not fail at its next restart, after a power cut, on an edit it took."""
    return _database_problems(cfg) + output_problems(cfg, config_path)


def check_file(path: Path) -> tuple[Config, list[str]]:
    """The checked config and the warnings to print; ConfigError for an invalid file."""
    cfg, problems = check_config(path)
    if cfg is None:
        raise ConfigError(str(path), problems)
    from scheduler.control import path_taken

    taken = path_taken(cfg.daemon.socket)
    problems = [f"daemon.socket: {taken}"] if taken else []
    problems += start_problems(cfg, path) + _jingle_problems(cfg)
    if problems:  # the daemon could not start (or reload) on them
        raise ConfigError(str(path), problems)
    warnings: list[str] = []
    if not _is_dir(cfg.library.root):
        warnings.append(
            f"cảnh báo (warning): library.root: the folder {cfg.library.root} does not exist; "
            "create it with one sub-folder per topic id"
        )
    else:
        for i, topic in enumerate(cfg.topics):
            if not _is_dir(cfg.library.root / topic.id):
                warnings.append(
                    f"cảnh báo (warning): topics[{i}].id: no folder {cfg.library.root / topic.id}"
                    "; the topic cannot air until its spots are put there"
                )
    return cfg, warnings


@config.command()
@click.pass_obj
def check(app: App) -> None:
    """Kiểm tra config.toml; in mọi lỗi, mỗi lỗi một dòng (every problem, one line each)."""
    path = app.config_path
    cfg, warnings = check_file(path)
    for warning in warnings:
        click.echo(warning, err=True)
    click.echo(
        f"{path}: hợp lệ (valid): {len(cfg.topics)} chủ đề (topics), "
        f"{len(cfg.slots)} buổi phát (slots), múi giờ {cfg.station.timezone}"
    )

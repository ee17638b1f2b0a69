"""`loa config check`: validate config.toml and print every problem at once."""

from __future__ import annotations

import click

from loa.app import App
from loa.config import check_config
from loa.errors import ConfigError


@click.group()
def config() -> None:
    """Tệp cấu hình config.toml (the configuration file)."""


@config.command()
@click.pass_obj
def check(app: App) -> None:
    """Kiểm tra config.toml; in mọi lỗi, mỗi lỗi một dòng (every problem, one line each)."""
    path = app.config_path
    cfg, problems = check_config(path)
    if cfg is None:
        raise ConfigError(str(path), problems)
    if not cfg.library.root.is_dir():
        click.echo(
            f"cảnh báo (warning): library.root: the folder {cfg.library.root} does not exist; "
            "create it with one sub-folder per topic id",
            err=True,
        )
    else:
        for i, topic in enumerate(cfg.topics):
            if not (cfg.library.root / topic.id).is_dir():
                click.echo(
                    f"cảnh báo (warning): topics[{i}].id: no folder {cfg.library.root / topic.id}"
                    "; the topic cannot air until its spots are put there",
                    err=True,
                )
    click.echo(
        f"{path}: hợp lệ (valid): {len(cfg.topics)} chủ đề (topics), "
        f"{len(cfg.slots)} buổi phát (slots), múi giờ {cfg.station.timezone}"
    )

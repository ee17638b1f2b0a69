"""The `loa` command: one group, one place that maps errors to a message and an exit code.

Each command family lives in its own module under `loa/commands/` and is registered in
`COMMANDS` below; a module is imported only when its command runs (or for `loa --help`), so a
command loads only the libraries it uses (`loa status` with a daemon running loads neither
SQLAlchemy nor pydantic: tests/test_playout_imports.py). Commands receive an `App` (the context
object) that loads config.toml and opens the database lazily, so `loa --help` and
`loa config check` never touch the database.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from loa import __version__
from loa.app import App
from loa.errors import EXIT_FAILED, LoaError
from loa.logs import setup_logging
from loa.redact import mask_credentials

log = logging.getLogger("loa.cli")


class LoaFailure(click.ClickException):
    """A LoaError on its way out: printed as-is (no "Error:" prefix), with its exit code."""

    def __init__(self, error: LoaError | str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(mask_credentials(str(error)))
        self.exit_code = getattr(error, "exit_code", exit_code)

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)


# name -> "module:attribute" of its click command; one line per command
COMMANDS = {
    "config": "loa.commands.config_cmd:config",
    "airtime": "loa.commands.airtime_cmd:airtime",
    "central": "loa.commands.central:central",
    "library": "loa.commands.library:library",
    "output": "loa.commands.output:output",
    "playlist": "loa.commands.playlist:playlist",
    "run": "loa.commands.station:run",
    "status": "loa.commands.status:status",
    "play-now": "loa.commands.playnow:play_now",
    "simulate": "loa.commands.simulate:simulate",
    "source": "loa.commands.source:source",  # relay sources (tiếp sóng), issue 14
    "bulletin": "loa.commands.bulletin:bulletin",  # bulletins from the district, issue 13
}


class LoaGroup(click.Group):
    """The top-level group: commands of `COMMANDS` are imported on first use."""

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:  # every command, e.g. for the docs tests
        for name in COMMANDS:
            self.get_command(None, name)  # type: ignore[arg-type]
        return self._loaded

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._loaded = dict(value)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self._loaded and cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name].split(":")
            self._loaded[cmd_name] = getattr(importlib.import_module(module), attr)
        return self._loaded.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self._loaded) | set(COMMANDS))

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        self._loaded[name or cmd.name or ""] = cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LoaError as exc:
            if _debug(ctx):
                raise
            raise LoaFailure(exc) from None
        except click.ClickException as exc:  # a usage error may quote a URL the user typed
            exc.message = mask_credentials(exc.message)
            raise
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # `loa airtime log | head -1`: the reader has all it wants
            quiet_broken_pipe()
        except KeyboardInterrupt:
            raise click.exceptions.Abort() from None
        except Exception as exc:  # a bug, not a user mistake: say so, keep the trace in the log
            if _debug(ctx):
                raise
            log.debug("internal error", exc_info=True)
            where = traceback.extract_tb(exc.__traceback__)[-1]
            raise LoaFailure(
                f"lỗi nội bộ (internal error): {type(exc).__name__}: {exc} "
                f"[{Path(where.filename).name}:{where.lineno}]; "
                "chạy lại với --debug để xem chi tiết (run again with --debug for details)"
            ) from None


def _debug(ctx: click.Context) -> bool:
    app = ctx.find_object(App)
    return bool(app and app.debug)


@click.group(cls=LoaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),  # a folder is a config problem (exit 3), not usage
    envvar="LOA_CONFIG",
    default="config.toml",
    show_default=True,
    help="config.toml của đài (the station's config; else $LOA_CONFIG, else ./config.toml).",
)
@click.option("--debug", is_flag=True, help="Hiện traceback khi lỗi (show tracebacks).")
@click.version_option(__version__, prog_name="loa")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, debug: bool) -> None:
    """loa: phát thanh tự động cho đài truyền thanh cấp xã.

    Broadcast scheduling and automation for commune loudspeaker stations.
    """
    setup_logging(debug)
    app = App(config_path=config_path, debug=debug)
    ctx.obj = app
    ctx.call_on_close(app.close)


def main() -> None:
    try:
        cli(prog_name="loa")
    except BrokenPipeError:
        quiet_broken_pipe()


def quiet_broken_pipe() -> None:
    """The reader of stdout went away (`| head -1`): exit at once, without a traceback and
    without a second error when Python flushes stdout at exit (the recipe of Python's
    documentation, "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(1)

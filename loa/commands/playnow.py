"""`loa play-now`: an ad hoc or emergency broadcast, via the running daemon."""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import Any

import click

from audio_library.safeio import not_regular_reason
from loa.app import App
from loa.commands.station import PRIORITY, open_output
from loa.compose import (
    resolve_adhoc,
    station_spec,
)
from loa.errors import LoaError
from scheduler.airlog import AirLog
from scheduler.clock import SystemClock
from scheduler.control import NoDaemon, request
from scheduler.runner import Runner


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes arrive as surrogate escapes
        return False
    return True


def _not_the_owner(socket: Path) -> str:
    try:
        owner = pwd.getpwuid(os.stat(socket).st_uid).pw_name
    except (OSError, KeyError):
        owner = "loa"
    return (
        f"{socket}: không có quyền mở ổ điều khiển của daemon (permission denied: the daemon's "
        f"control socket is its owner's only); chạy lệnh bằng người dùng của daemon (run it as "
        f"the daemon's user): sudo -u {owner} loa play-now …"
    )


@click.command("play-now")
@click.option("--topic", help="Phát tin/bài kế tiếp của chủ đề này (the topic's next spot).")
@click.option(
    "--file",
    "file",
    # a missing file or a symlink loop is the command's own error below (Vietnamese, exit 1)
    type=click.Path(dir_okay=False, path_type=Path),
    help="Phát tệp âm thanh này (any audio file).",
)
@click.option(
    "--priority",
    type=PRIORITY,
    default="normal",
    show_default=True,
    help="normal: sau buổi đang phát; priority: kế tiếp; emergency: ngắt ngay.",
)
@click.option("--wait/--no-wait", default=False, help="Chờ phát xong (wait until aired).")
@click.pass_obj
def play_now(app: App, topic: str | None, file: Path | None, priority: str, wait: bool) -> None:
    """Phát ngay một tin (ad hoc or emergency broadcast, via the running daemon)."""
    config = app.config
    if bool(topic) == bool(file):
        raise click.UsageError("give --topic ID or --file PATH (one of them)")
    message: dict[str, Any] = {"cmd": "play", "priority": priority, "wait": wait}
    if topic:
        message["topic"] = topic
    else:
        # a FIFO or a device would block the decoder: refused here, before anything opens it
        try:
            refused = not_regular_reason(os.stat(file).st_mode)  # type: ignore[arg-type]
        except OSError as exc:
            refused = f"không đọc được tệp (cannot read the file): {exc.strerror}"
        if refused is None and not _utf8(str(file)):  # its airtime row could not be written
            refused = "tên tệp không phải UTF-8: đổi tên tệp (file name is not UTF-8)"
            file = Path(os.fsencode(file).decode("utf-8", "replace"))
        if refused is not None:
            raise LoaError(f"--file: {file}: {refused}; chọn một tệp âm thanh (give an audio file)")
        message["file"] = str(Path(file).resolve())  # type: ignore[arg-type]
    try:
        reply = request(config.daemon.socket, message, timeout=3600 if wait else 30)
    except NoDaemon:
        reply = None
    except PermissionError:  # the daemon's socket is its owner's only: never play beside it
        raise LoaError(_not_the_owner(config.daemon.socket)) from None
    if reply is not None:
        if not reply.get("ok"):
            raise LoaError(f"daemon từ chối (refused): {reply.get('error')}")
        if wait:
            click.echo(f"Đã phát (aired): {reply.get('status')} {reply.get('items')}")
        else:
            click.echo(
                f"Đã chuyển cho daemon (handed to the daemon), {priority}: "
                f"{', '.join(reply.get('queued', []))}"
            )
        return
    # No daemon: play here and log it.
    spots = resolve_adhoc(config, app.db, message)
    airlog = AirLog(app.db, config.station.id)
    output = open_output(app)
    try:
        runner = Runner(station_spec(config), airlog, output, SystemClock(), lambda: spots)
        kind = "emergency" if priority == "emergency" else "adhoc"
        click.echo(
            f"Không có daemon: phát trực tiếp (no daemon: playing here) {spots[0].title}", err=True
        )
        outcome = runner.air_adhoc(kind, spots)
    finally:
        output.close()
    if outcome.status != "aired":
        raise LoaError(outcome.message)
    for r in outcome.results:
        click.echo(f"{r.status}: {r.played_s:.1f} s")
    if any(r.status != "completed" for r in outcome.results):
        raise LoaError(
            "không phát trọn (not fully aired): "
            + "; ".join(f"{r.status} {r.error or ''}" for r in outcome.results)
        )

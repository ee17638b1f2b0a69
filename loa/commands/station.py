"""`loa run`: the station daemon, and what the other station commands share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from loa import bulletin_wiring
from loa.app import App
from loa.compose import (
    LibrarySource,
    demo_slot,
    jingle_missing,
    start_pusher,
    station_daemon,
    station_spec,
)
from loa.config import Config
from loa.errors import ConfigError, LoaError
from scheduler.airlog import AirLog
from scheduler.control import ControlPathTaken
from scheduler.lock import AlreadyRunning, StationLock
from scheduler.slots import in_quiet_hours

PRIORITY = click.Choice(["normal", "priority", "emergency"])


def lock_for(config: Config) -> StationLock:
    return StationLock(config.daemon.socket.with_suffix(".lock"))


def open_output(app: App, demo: bool = False) -> Any:
    """The configured output; for --demo without a sound card, a WAV file instead."""
    from scheduler.output import OutputError, list_devices
    from scheduler.output import open_output as open_backend

    config = app.config
    out = config.output
    backend, path = out.backend, out.path
    if demo and backend == "device":
        try:
            devices = list_devices()
        except Exception:
            devices = []
        if not devices:
            backend = "file"
            path = out.path or config.daemon.socket.parent / "demo-air.wav"
            click.echo(
                f"Không thấy card âm thanh: buổi phát thử ghi vào {path} "
                f"(no sound device: the demo slot airs into that WAV file)",
                err=True,
            )
    if backend == "file" and path == out.path:  # as `loa config check` refuses it
        from loa.commands.config_cmd import output_problems

        problems = output_problems(config, app.config_path)
        if problems:
            raise ConfigError(str(app.config_path), problems)
    try:
        return open_backend(backend, device=out.device, path=path, realtime=True)
    except OutputError as exc:
        raise LoaError(str(exc)) from None


@click.command()
@click.option(
    "--demo",
    is_flag=True,
    help="Thêm một buổi phát thử 1 phút, bắt đầu sau 20 giây (a 1-minute demo slot in 20 s).",
)
@click.pass_obj
def run(app: App, demo: bool) -> None:
    """Chạy đài (the daemon, in the foreground; systemd runs it)."""
    config = app.config
    from loa.station_open import open_for_daemon  # migrated in a child: no SQLAlchemy here

    db = open_for_daemon(config.database.url)
    airlog = AirLog(db, config.station.id)
    extra = (demo_slot(config, datetime.now(UTC)),) if demo else ()
    station = station_spec(config, extra, jingle_missing(airlog))
    lock = lock_for(config)
    pid = lock.held_by_other()
    if pid:
        raise LoaError(str(AlreadyRunning(lock.path, pid)))
    # The start never waits on the library (a FIFO or a hung mount in it): the catalogue as
    # it is airs now, and the scan runs in the background from `source.start` on.
    source = LibrarySource(config, db, airlog.event)
    click.echo(
        f"{len(source.load())} tin/bài phát được trong danh mục; quét thư viện "
        f"{config.library.root} ở chế độ nền (playable spots; the library is scanned in the "
        "background)",
        err=True,
    )
    output = open_output(app, demo)
    daemon = station_daemon(config, app.config_path, db, station, source, output, lock, extra)
    bulletins = bulletin_wiring.board(config, db, lambda: source.config)  # issue 13
    guard = bulletin_wiring.attach(daemon, bulletins, source, airlog.event)
    if demo:
        slot = extra[0]
        click.echo(
            f"Buổi phát thử (demo slot) lúc {slot.start:%H:%M:%S}, 1 phút; "
            "Ctrl-C để dừng (to stop).",
            err=True,
        )
        if in_quiet_hours(datetime.now(UTC), config.station.quiet_hours, config.tz):
            click.echo(
                "Đang trong giờ yên tĩnh: chỉ buổi phát thử này vẫn phát vì bạn yêu cầu; các buổi "
                "theo lịch thì không (quiet hours now: only this demo slot airs, because you "
                "asked for it; scheduled slots do not)",
                err=True,
            )
    source.start(config.library.rescan)
    pusher = start_pusher(config, db, airlog.event, lambda: source.config)
    fetcher = bulletin_wiring.start_fetcher(
        config, bulletins, airlog.event, lambda spots: daemon.enqueue_adhoc(spots, "emergency"),
        lambda: source.config, on_withdrawn=guard.withdraw,
    )  # fmt: skip
    try:
        daemon.run_forever()
    except AlreadyRunning as exc:
        raise LoaError(str(exc)) from None
    except ControlPathTaken as exc:  # nothing aired yet: the station cannot be reached
        raise ConfigError(str(app.config_path), [str(exc)]) from None
    finally:
        if fetcher is not None:
            fetcher.stop()
        if pusher is not None:
            pusher.stop()
        source.stop()
        output.close()
        db.close()

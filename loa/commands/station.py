"""The station's life: `loa run`, `loa status`, `loa play-now`, `loa simulate`."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click

from loa.app import App
from loa.compose import (
    LibrarySource,
    demo_slot,
    library_spots,
    resolve_adhoc,
    station_spec,
)
from loa.config import Config
from loa.db import open_database
from loa.errors import ConfigError, LoaError
from loa.params import DATE
from scheduler.airlog import AirLog
from scheduler.clock import SystemClock
from scheduler.control import NoDaemon, request
from scheduler.lock import AlreadyRunning, StationLock
from scheduler.preview import preview
from scheduler.runner import Runner
from scheduler.slots import in_quiet_hours

PRIORITY = click.Choice(["normal", "priority", "emergency"])


def lock_for(config: Config) -> StationLock:
    return StationLock(config.daemon.socket.with_suffix(".lock"))


def open_output(config: Config, demo: bool = False) -> Any:
    """The configured output; for --demo without a sound card, a WAV file instead."""
    from scheduler.output import OutputError, list_devices
    from scheduler.output import open_output as open_backend

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
    from scheduler.daemon import Daemon

    config = app.config
    engine = app.engine
    airlog = AirLog(engine, config.station.id)
    extra = (demo_slot(config, datetime.now(UTC)),) if demo else ()
    station = station_spec(config, extra)
    lock = lock_for(config)
    pid = lock.held_by_other()
    if pid:
        raise LoaError(str(AlreadyRunning(lock.path, pid)))
    click.echo(f"Quét thư viện {config.library.root} (scanning the library)…", err=True)
    source = LibrarySource(config, engine, airlog.event)
    click.echo(f"  {len(source())} tin/bài phát được (playable spots)", err=True)
    output = open_output(config, demo)
    runner = Runner(station, airlog, output, SystemClock(), source)

    def load_station() -> Any:
        from loa.config import load_config

        new_config = load_config(app.config_path)
        source.config = new_config
        return station_spec(new_config, extra)

    daemon = Daemon(
        load_station=load_station,
        airlog=airlog,
        runner=runner,
        lock=lock,
        control_path=config.daemon.socket,
        resolve_adhoc=lambda req: resolve_adhoc(source.config, engine, req),
        config_path=app.config_path,
        heartbeat_s=config.daemon.heartbeat,
    )
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
    try:
        daemon.run_forever()
    except AlreadyRunning as exc:
        raise LoaError(str(exc)) from None
    finally:
        output.close()


def _ago(moment: datetime, now: datetime) -> str:
    seconds = int((now - moment).total_seconds())
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON thay cho bảng (JSON output).")
@click.option(
    "--days",
    type=click.IntRange(1, 14),
    default=1,
    show_default=True,
    help="Xem kế hoạch bấy nhiêu ngày tới (next slots over this many days).",
)
@click.pass_context
def status(ctx: click.Context, as_json: bool, days: int) -> None:
    """Tình trạng đài: daemon, đang phát, buổi tới, sự cố gần đây (station status)."""
    app: App = ctx.obj
    try:
        config = app.config
    except ConfigError as exc:
        # An edit the running daemon refused: say so, and still show what the daemon does.
        _status_with_bad_config(app, exc, as_json)
        ctx.exit(exc.exit_code)
    engine = app.engine
    airlog = AirLog(engine, config.station.id)
    now = datetime.now(UTC)
    live: dict[str, Any] | None = None
    try:
        live = request(config.daemon.socket, {"cmd": "status"}, timeout=3)
    except (NoDaemon, OSError, ValueError):
        live = None
    state = airlog.daemon_state()
    lock_pid = lock_for(config).held_by_other()
    alive = bool(live and live.get("ok")) or lock_pid is not None
    playing = (
        [
            {
                "slot": r.slot,
                "kind": r.kind,
                "title": r.title,
                "path": r.path,
                "started_at": r.started_at.astimezone(config.tz).isoformat()
                if r.started_at
                else None,
            }
            for r in airlog.open_rows()
        ]
        if alive
        else []
    )
    station = station_spec(config)
    start = now.astimezone(config.tz)
    plans = preview(
        station,
        library_spots(config, engine),
        airlog.history(),
        start,
        start + timedelta(days=days),
    )
    problems = [
        {
            "at": e.at.astimezone(config.tz).isoformat(timespec="seconds"),
            "level": e.level,
            "source": e.source,
            "message": e.message,
        }
        for e in airlog.events(limit=10)
        if e.level in ("error", "warning")
    ]
    data = {
        "station": {"id": config.station.id, "name": config.station.name},
        "alive": alive,
        "pid": (live or {}).get("pid")
        or (int(lock_pid) if lock_pid and lock_pid.isdigit() else None),
        "heartbeat_at": state.heartbeat_at.astimezone(config.tz).isoformat(timespec="seconds")
        if state
        else None,
        "config_error": (live or {}).get("config_error"),
        "on_air": playing,
        "next": [
            {
                "slot": p.slot,
                "start": p.start.isoformat(),
                "items": len(p.items),
                "seconds": round(sum(i.duration_s for i in p.items), 1),
                "titles": [i.title for i in p.items],
            }
            for p in plans
        ],
        "problems": problems,
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    lines = [f"{config.station.name} ({config.station.id})"]
    if alive:
        lines.append(
            f"Daemon: đang chạy (running), pid {data['pid']}"
            + (f", nhịp cuối {_ago(state.heartbeat_at, now)} trước" if state else "")
        )
    else:
        last = f"; nhịp cuối (last heartbeat) {data['heartbeat_at']}" if state else ""
        lines.append(f"Daemon: KHÔNG chạy (not running){last}")
    if data["config_error"]:
        lines.append("Sửa config.toml bị từ chối (edit refused), đang chạy cấu hình cũ:")
        lines.extend(f"  {line}" for line in str(data["config_error"]).splitlines())
    if playing:
        for p in playing:
            lines.append(
                f"Đang phát (on air): {p['title']} [{p['kind']} {p['slot'] or ''}] "
                f"từ {p['started_at']}"
            )
    else:
        lines.append("Đang phát (on air): không (nothing)")
    lines.append("Buổi tới (next slots):")
    for p in data["next"][:6]:
        lines.append(
            f"  {p['start'][:19].replace('T', ' ')} {p['slot']}: {p['items']} tin/bài, "
            f"{int(p['seconds']) // 60}:{int(p['seconds']) % 60:02d}"
        )
    if not data["next"]:
        lines.append("  (không có — none)")
    lines.append("Sự cố gần đây (recent problems):" if problems else "Sự cố gần đây: không (none)")
    for e in problems:
        first = e["message"].splitlines()[0]
        lines.append(f"  {e['at'][:19].replace('T', ' ')} {e['level']} {e['source']}: {first}")
    click.echo("\n".join(lines))


def _status_with_bad_config(app: App, error: ConfigError, as_json: bool) -> None:
    socket = app.config_path.resolve().parent / "data" / "loa.sock"
    try:
        raw = tomllib.loads(app.config_path.read_text("utf-8"))
        socket = app.config_path.resolve().parent / raw["daemon"]["socket"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        live = request(socket, {"cmd": "status"}, timeout=3)
    except (NoDaemon, OSError, ValueError):
        live = {}
    data = {
        "alive": bool(live.get("ok")),
        "pid": live.get("pid"),
        "config_problems": error.problems,
        "config_error": live.get("config_error"),
        "on_air": live.get("on_air"),
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    click.echo(str(error), err=True)
    if data["alive"]:
        on_air = live.get("on_air") or {}
        click.echo(
            f"Daemon: đang chạy (running), pid {data['pid']}, với cấu hình tốt gần nhất "
            "(on the last good config); "
            f"đang phát (on air): {', '.join(on_air.get('titles', [])) or 'không (nothing)'}"
        )
    else:
        click.echo("Daemon: KHÔNG chạy (not running)")


@click.command("play-now")
@click.option("--topic", help="Phát tin/bài kế tiếp của chủ đề này (the topic's next spot).")
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
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
        message["file"] = str(Path(file).resolve())  # type: ignore[arg-type]
    try:
        reply = request(config.daemon.socket, message, timeout=3600 if wait else 30)
    except NoDaemon:
        reply = None
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
    engine = app.engine
    spots = resolve_adhoc(config, engine, message)
    airlog = AirLog(engine, config.station.id)
    output = open_output(config)
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


@click.command()
@click.option("--from", "start_day", type=DATE, required=True, help="Ngày bắt đầu (first day).")
@click.option("--days", type=click.IntRange(1, 3660), required=True, help="Số ngày (days).")
@click.option("--db", "db_url", help="CSDL ghi kết quả (database URL); mặc định một tệp riêng.")
@click.pass_obj
def simulate(app: App, start_day: date, days: int, db_url: str | None) -> None:
    """Mô phỏng trên đồng hồ ảo (the real engine on a virtual clock, null output)."""
    from scheduler.simulate import simulate as run_simulation

    config = app.config
    spots = library_spots(config, app.engine)
    if not spots:
        raise LoaError(
            "thư viện chưa có tin/bài phát được (no playable spot): run `loa library scan`"
        )
    if db_url is None:
        target = config.daemon.socket.parent / f"simulate-{start_day}-{days}d.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        db_url = f"sqlite:///{target}"
    if db_url == config.database.url:
        click.echo(
            "--db là CSDL của đài: mô phỏng ghi vào nhật ký thật (writing the station's log)",
            err=True,
        )
    engine = open_database(db_url)
    start = datetime.combine(start_day, time(0), tzinfo=config.tz)
    airlog = AirLog(engine, config.station.id)
    t0 = datetime.now(UTC)
    result = run_simulation(
        station_spec(config), airlog, spots, start, start + timedelta(days=days)
    )
    took = (datetime.now(UTC) - t0).total_seconds()
    total = sum(result.seconds_by_topic.values()) or 1.0
    weights = {t.id: t.weight for t in config.topics}
    wsum = sum(weights.values())
    click.echo(
        f"Mô phỏng {days} ngày từ {start_day}: {result.slots} buổi, {result.plays} lượt phát, "
        f"{dict(result.outcomes)} trong {took:.1f} s → {db_url}"
    )
    click.echo(f"{'chủ đề (topic)':<28} {'lượt':>6} {'phút':>8} {'tỉ lệ':>7} {'mục tiêu':>8}")
    off = 0
    for topic in config.topic_ids:
        secs = result.seconds_by_topic.get(topic, 0.0)
        share, target = 100 * secs / total, 100 * weights[topic] / wsum
        flag = "  !" if abs(share - target) > 2 else ""
        off += bool(flag)
        click.echo(
            f"{topic:<28} {result.plays_by_topic.get(topic, 0):>6} {secs / 60:>8.1f} "
            f"{share:>6.1f}% {target:>7.1f}%{flag}"
        )
    if off:
        click.echo(
            f"! {off} chủ đề lệch quá 2 điểm so với tỉ trọng, thường do thiếu tin/bài "
            "(off their weight share by more than 2 points: usually too few spots to fill "
            "the slots; add spots to the short topics)"
        )

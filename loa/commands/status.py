"""`loa status`: is the daemon alive, what is on air, the next slots, recent problems."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from loa.app import App
from loa.commands.bulletin import waiting as waiting_bulletins
from loa.commands.station import lock_for
from loa.compose import (
    library_spots,
    station_spec,
)
from loa.errors import ConfigError
from scheduler.airlog import AirLog
from scheduler.control import NoDaemon, request
from scheduler.preview import preview


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
        _live_playing(live["playing"], config.tz)
        if live and isinstance(live.get("playing"), list)
        else [
            {
                "slot": r.slot,
                "kind": r.kind,
                "title": r.title,
                "path": r.path,
                "started_at": r.started_at.astimezone(config.tz).isoformat(timespec="milliseconds")
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
    outage = (live or {}).get("database")
    if outage:  # the daemon cannot write its database now: the event itself waits in memory
        problems.insert(
            0,
            {
                "at": datetime.fromisoformat(outage["since"])
                .astimezone(config.tz)
                .isoformat(timespec="seconds"),
                "level": "error",
                "source": "database",
                "message": f"không ghi được cơ sở dữ liệu (cannot write the database): "
                f"{outage['error']}; {outage['held']} airtime writes held in memory",
            },
        )
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
        "central": central_status(config, engine),
        "bulletins_waiting": waiting_bulletins(engine, config.tz),
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
                f"từ {str(p['started_at'])[11:19]}"
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
    lines.extend(central_lines(data["central"]))
    for b in data["bulletins_waiting"]:  # issue 13
        lines.append(
            f"Bản tin chờ duyệt (bulletin waiting): {b['id']} {b['title']}: "
            f"`loa bulletin accept {b['id']}` or `refuse {b['id']}`"
        )
    lines.append("Sự cố gần đây (recent problems):" if problems else "Sự cố gần đây: không (none)")
    for e in problems:
        first = e["message"].splitlines()[0]
        lines.append(f"  {e['at'][:19].replace('T', ' ')} {e['level']} {e['source']}: {first}")
    click.echo("\n".join(lines))


def central_status(config: Any, engine: Any) -> dict[str, Any] | None:
    """The background push: last success, rows waiting, last error (None: no [central])."""
    if not config.central.url:
        return None
    from airtime.push import chain_length
    from scheduler.pusher import read_state

    state = read_state(engine, config.station.id) or {}
    with engine.connect() as conn:
        total = chain_length(conn, config.station.id)

    def shown(value: Any) -> str | None:
        return value.astimezone(config.tz).isoformat(timespec="seconds") if value else None

    return {
        "pushed_at": shown(state.get("pushed_at")),
        "attempt_at": shown(state.get("attempt_at")),
        "waiting": total - int(state.get("central_head") or 0),
        "error": state.get("error"),
        "failures": int(state.get("failures") or 0),
    }


def central_lines(central: dict[str, Any] | None) -> list[str]:
    if central is None:
        return []
    when = (central["pushed_at"] or "chưa lần nào (never)")[:19].replace("T", " ")
    lines = [f"Gửi trung tâm (central push): lần cuối {when}, {central['waiting']} bản ghi chờ gửi"]
    if central["error"]:
        lines.append(f"  lỗi gần nhất (last error, {central['failures']} lần): {central['error']}")
    return lines


def _live_playing(rows: list[dict[str, Any]], tz: Any) -> list[dict[str, Any]]:
    """What the daemon says is on air (the database may lag while its writes are held)."""
    return [
        {
            **r,
            "started_at": datetime.fromisoformat(r["started_at"])
            .astimezone(tz)
            .isoformat(timespec="milliseconds")
            if r.get("started_at")
            else None,
        }
        for r in rows
    ]


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

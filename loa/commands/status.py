"""`loa status`: is the daemon alive, what is on air, the next slots, recent problems.

The running daemon answers the whole status over its control socket (loa/status_report.py,
`status_handler`): this module then needs only the standard library and click, and the answer
takes a fraction of the time that importing SQLAlchemy and pydantic would (BENCHMARKS.md,
"`loa status`"). The daemon's answer is used only while it runs on config.toml as the file
is now (same path, same modification time, no refused edit); otherwise, and with no daemon,
the command validates the config and reads the database itself, as before.
"""

from __future__ import annotations

import json
import os
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scheduler.control import NoDaemon, request

if TYPE_CHECKING:
    from loa.app import App
    from loa.errors import ConfigError

REPORT_CMD = "status-report"  # = loa.status_report.REPORT_CMD (not imported: it is heavy)
MAX_PROBLEM_LINES = 5  # lines of a problem's reason shown under it
DEFAULT_SOCKET = "data/loa.sock"  # = the default of [daemon] socket in loa/config/schema.py


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
    data = _from_daemon(app.config_path, days)
    if data is None:
        from loa.errors import ConfigError

        try:
            config = app.config
            data = _from_database(app, config, days)  # a missing jingle: a ConfigError here
        except ConfigError as exc:
            # An edit the running daemon refused: say so, and still show what the daemon does.
            _status_with_bad_config(app, exc, as_json)
            ctx.exit(exc.exit_code)
    _show(data, as_json)


def _socket_path(config_path: Path) -> Path | None:
    """`[daemon] socket` read with tomllib alone, resolved as loa.config does; None if the
    file cannot be read (then the full validation says why)."""
    base = config_path.resolve().parent
    try:
        raw = tomllib.loads(config_path.read_text("utf-8"))
        value = (raw.get("daemon") or {}).get("socket", DEFAULT_SOCKET)
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(value, str) or not value:
        return None
    return base / Path(value).expanduser()


def _from_daemon(config_path: Path, days: int) -> dict[str, Any] | None:
    """The daemon's whole status, if it runs on config.toml as the file is now."""
    sock = _socket_path(config_path)
    if sock is None:
        return None
    try:
        reply = request(sock, {"cmd": REPORT_CMD, "days": days}, timeout=3)
        mtime = os.stat(config_path).st_mtime_ns
        same = os.path.samefile(reply.get("config_path") or "", config_path)
    except (NoDaemon, OSError, ValueError, AttributeError):
        return None
    if not reply.get("ok") or not isinstance(reply.get("report"), dict):
        return None  # an older daemon, or one that cannot report: read the database
    if not same or reply.get("config_mtime_ns") != mtime or reply.get("config_error"):
        return None  # config.toml changed since the daemon read it: validate it here
    return reply["report"]


def _from_database(app: App, config: Any, days: int) -> dict[str, Any]:
    """The status built here: read with sqlite3 alone when the station's database is a
    SQLite file at the schema this loa knows, else after SQLAlchemy has created or migrated
    it (as `loa run` would)."""
    from loa.status_report import DatabaseReads, build_status
    from scheduler.lock import StationLock
    from scheduler.sqlite_read import open_reader

    live: dict[str, Any] | None = None
    try:
        live = request(config.daemon.socket, {"cmd": "status"}, timeout=3)
    except (NoDaemon, OSError, ValueError):
        live = None
    # = loa.commands.station.lock_for (not imported: it loads the daemon's modules)
    lock_pid = StationLock(config.daemon.socket.with_suffix(".lock")).held_by_other()
    reader = open_reader(config.database.url, config.station.id)
    if reader is None:
        from loa.db import station_db

        db = station_db(app.engine)
        try:
            return build_status(config, DatabaseReads(db, config.station.id), live, lock_pid, days)
        finally:
            db.close()
    try:
        return build_status(config, reader, live, lock_pid, days)
    finally:
        reader.close()


def _show(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    now = datetime.now(UTC)
    beat = data["heartbeat_at"]
    lines = [f"{data['station']['name']} ({data['station']['id']})"]
    if data["alive"]:
        lines.append(
            f"Daemon: đang chạy (running), pid {data['pid']}"
            + (f", nhịp cuối {_ago(datetime.fromisoformat(beat), now)} trước" if beat else "")
        )
    else:
        last = f"; nhịp cuối (last heartbeat) {beat}" if beat else ""
        lines.append(f"Daemon: KHÔNG chạy (not running){last}")
    if data["config_error"]:
        lines.append("Sửa config.toml bị từ chối (edit refused), đang chạy cấu hình cũ:")
        lines.extend(f"  {line}" for line in str(data["config_error"]).splitlines())
    if data["on_air"]:
        for p in data["on_air"]:
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
        for b in p.get("bulletins") or ():  # a bulletin heads the slot (issue 13)
            lines.append(
                f"    bản tin (bulletin) {b['bulletin']} [{b['priority']}] {b['title']}, "
                f"{int(b['seconds']) // 60}:{int(b['seconds']) % 60:02d}"
            )
    if not data["next"]:
        lines.append("  (không có — none)")
    lines.extend(central_lines(data["central"]))
    for b in data.get("bulletins_waiting") or ():  # issue 13
        lines.append(
            f"Bản tin chờ duyệt (bulletin waiting): {b['id']} {b['title']}: "
            f"`loa bulletin accept {b['id']}` or `refuse {b['id']}`"
        )
    problems = data["problems"]
    lines.append("Sự cố gần đây (recent problems):" if problems else "Sự cố gần đây: không (none)")
    for e in problems:
        first, *rest = e["message"].splitlines() or [""]
        lines.append(f"  {e['at'][:19].replace('T', ' ')} {e['level']} {e['source']}: {first}")
        # the reason under a heading ("edit refused:" then each `key.path: message`)
        lines.extend(f"      {line}" for line in rest[:MAX_PROBLEM_LINES])
        if len(rest) > MAX_PROBLEM_LINES:
            lines.append(f"      … (+{len(rest) - MAX_PROBLEM_LINES})")
    click.echo("\n".join(lines))


def central_lines(central: dict[str, Any] | None) -> list[str]:
    if central is None:
        return []
    pushed = central["pushed_at"]
    when = pushed[:19].replace("T", " ") if pushed else "chưa lần nào (never)"
    lines = [f"Gửi trung tâm (central push): lần cuối {when}, {central['waiting']} bản ghi chờ gửi"]
    if central["error"]:
        lines.append(f"  lỗi gần nhất (last error, {central['failures']} lần): {central['error']}")
    return lines


def _status_with_bad_config(app: App, error: ConfigError, as_json: bool) -> None:
    socket = _socket_path(app.config_path) or app.config_path.resolve().parent / DEFAULT_SOCKET
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

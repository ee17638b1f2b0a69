"""`loa bulletin list|accept|refuse`: the bulletins the district sent, at the station.

khẩn cấp and ưu tiên ones air by themselves; a thông thường one waits for the operator:
accepted, it airs in its topic's rotation (or once at the head of the next slot when it has
no topic) inside its validity window; refused, it never airs. The decision is written into the
station database at once; the running daemon reports it to the district at its next fetch.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from loa.app import App
from loa.errors import LoaError

PRIORITY_NAMES = {"thuong": "thông thường", "uu-tien": "ưu tiên", "khan-cap": "khẩn cấp"}


def _state(row: Any, aired: int, today: Any) -> str:
    if row.withdrawn_at is not None:
        return "thu hồi (withdrawn)"
    if row.refused_at is not None:
        return "từ chối (refused)"
    if row.valid_until is not None and row.valid_until < today:
        return "hết hạn (expired)"
    if row.priority == "thuong" and row.accepted_at is None:
        return "chờ duyệt (waiting for acceptance)"
    if row.priority == "thuong":
        return "đã duyệt (accepted)"
    return "tự phát (airs by its priority)"


def _local(value: datetime | None, tz: Any) -> str | None:
    return None if value is None else value.astimezone(tz).isoformat(timespec="seconds")


@click.group()
def bulletin() -> None:
    """Bản tin huyện/tỉnh gửi xuống (bulletins from the district or province)."""


@bulletin.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON thay cho bảng (JSON output).")
@click.pass_obj
def list_cmd(app: App, as_json: bool) -> None:
    """Danh sách bản tin đã nhận (the bulletins received, with their state and airings)."""
    from scheduler import bulletin_store as store

    config = app.config
    tz = config.tz
    today = datetime.now(tz).date()
    aired = store.airings(app.db, config.station.id)
    rows = store.all_rows(app.db)
    data = [
        {
            "id": r.id,
            "title": r.title,
            "priority": r.priority,
            "topic": r.topic,
            "valid_from": r.valid_from.isoformat() if r.valid_from else None,
            "valid_until": r.valid_until.isoformat() if r.valid_until else None,
            "times": r.times,
            "duration_s": round(r.playable_s, 3),
            "path": r.path,
            "received_at": _local(r.received_at, tz),
            "accepted_at": _local(r.accepted_at, tz),
            "refused_at": _local(r.refused_at, tz),
            "note": r.note,
            "withdrawn_at": _local(r.withdrawn_at, tz),
            "aired": aired.get(str(r.id), 0),
            "state": _state(r, aired.get(str(r.id), 0), today),
        }
        for r in rows
    ]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    if not data:
        click.echo("chưa nhận bản tin nào (no bulletins received)")
    for d in data:
        window = f"{d['valid_from'] or '…'}..{d['valid_until'] or '…'}"
        click.echo(
            f"{d['id']}  [{d['priority']}: {PRIORITY_NAMES[d['priority']]}]  {d['title']} "
            f"({d['duration_s']:.0f} s, chủ đề (topic) {d['topic'] or '-'}, hiệu lực {window}): "
            f"{d['state']}, đã phát (aired) {d['aired']} lần"
            + (f"; {d['note']}" if d["note"] else "")
        )


def _decide(app: App, bulletin_id: int, verb: str, reason: str | None = None) -> None:
    from scheduler import bulletin_store as store

    row = store.get(app.db, bulletin_id)
    if row is None:
        raise LoaError(
            f"bulletin {bulletin_id}: không có bản tin này (no such bulletin received): "
            "`loa bulletin list` shows them"
        )
    if row.priority != "thuong":
        raise LoaError(
            f"bulletin {bulletin_id}: bản tin {PRIORITY_NAMES[row.priority]} ({row.priority}) "
            "tự phát theo độ ưu tiên, không cần duyệt (airs by its priority: nothing to decide)"
        )
    if row.withdrawn_at is not None:
        raise LoaError(f"bulletin {bulletin_id}: đã bị thu hồi (withdrawn by the district)")
    if row.accepted_at is not None or row.refused_at is not None:
        done = "accepted" if row.accepted_at is not None else "refused"
        raise LoaError(f"bulletin {bulletin_id}: already {done}; a decision is made once")
    now = store.now()
    if verb == "accept":
        store.update(app.db, bulletin_id, accepted_at=now)
        if row.topic and row.topic in app.config.topic_ids:
            where = f"vòng xoay chủ đề {row.topic} (its topic's rotation)"
        else:
            where = "đầu buổi phát kế tiếp (the head of the next slot), một lần (once)"
        click.echo(f"bản tin (bulletin) {bulletin_id}: đã duyệt (accepted), phát ở {where}")
    else:
        note = f"người vận hành từ chối (refused by the operator){': ' + reason if reason else ''}"
        store.update(app.db, bulletin_id, refused_at=now, note=note)
        click.echo(f"bản tin (bulletin) {bulletin_id}: đã từ chối (refused), sẽ không phát")


@bulletin.command("accept")
@click.argument("bulletin_id", metavar="ID", type=int)
@click.pass_obj
def accept_cmd(app: App, bulletin_id: int) -> None:
    """Duyệt bản tin thông thường để phát (accept a thuong bulletin: it airs)."""
    _decide(app, bulletin_id, "accept")


@bulletin.command("refuse")
@click.argument("bulletin_id", metavar="ID", type=int)
@click.option("--reason", help="Lý do (why; the district sees it).")
@click.pass_obj
def refuse_cmd(app: App, bulletin_id: int, reason: str | None) -> None:
    """Từ chối bản tin thông thường (refuse a thuong bulletin: it never airs)."""
    _decide(app, bulletin_id, "refuse", reason)

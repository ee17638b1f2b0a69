"""`loa playlist preview`: what will air, exactly as the daemon will plan it."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import click

from airtime.bulletin_spot import parse_spot
from loa import bulletin_wiring
from loa.app import App
from loa.compose import library_spots, station_spec
from loa.params import DATE, format_option
from playlists.types import Plan, PlanItem
from scheduler.airlog import AirLog
from scheduler.bulletin_preview import label
from scheduler.preview import preview
from scheduler.runner import Spot


@click.group()
def playlist() -> None:
    """Danh sách phát (what the rotation plans)."""


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _bulletin_keys(item: PlanItem) -> dict[str, object]:
    """A bulletin heading the slot (issue 13): its central id and priority."""
    found = parse_spot(item.spot) if item.role == "bulletin" else None
    return {"bulletin": int(found[0]), "priority": found[1]} if found else {}


def plans_json(plans: list[Plan]) -> list[dict[str, object]]:
    return [
        {
            "slot": plan.slot,
            "start": plan.start.isoformat(),
            "items": [
                {
                    "spot": item.spot,
                    "topic": item.topic,
                    "path": item.path,
                    "title": item.title,
                    "start": (plan.start + timedelta(seconds=item.offset_s)).isoformat(
                        timespec="milliseconds"
                    ),
                    "duration_s": round(item.duration_s, 3),
                    **_bulletin_keys(item),
                }
                for item in plan.items
            ],
        }
        for plan in plans
    ]


def plans_table(plans: list[Plan]) -> str:
    lines: list[str] = []
    for plan in plans:
        used = sum(i.duration_s for i in plan.items)
        lines.append(
            f"{plan.start:%Y-%m-%d %H:%M:%S} {plan.slot}: {len(plan.items)} tin/bài, "
            f"{_clock(used)} / {_clock(plan.length_s)} (unfilled {_clock(plan.unfilled_s)})"
        )
        for item in plan.items:
            at = plan.start + timedelta(seconds=item.offset_s)
            title = item.title if len(item.title) <= 40 else item.title[:39] + "…"
            topic = (label(item.spot) if item.role == "bulletin" else None) or item.topic
            lines.append(f"  {at:%H:%M:%S} {_clock(item.duration_s):>6} {topic[:22]:<22} {title}")
        lines.extend(f"  ! {note}" for note in plan.notes)
    return "\n".join(lines) if lines else "Không có buổi phát nào trong khoảng này (no slot)."


def plans_m3u(plans: list[Plan], spots: dict[str, Spot]) -> str:
    lines = ["#EXTM3U"]
    for plan in plans:
        lines.append(f"# {plan.slot} {plan.start.isoformat()}")
        for item in plan.items:
            spot = spots.get(item.spot)
            lines.append(f"#EXTINF:{round(item.duration_s)},{item.title}")
            lines.append(str(spot.file) if spot else item.path)
    return "\n".join(lines)


@playlist.command()
@click.option("--date", "day", type=DATE, help="Ngày đầu, mặc định hôm nay (first day; today).")
@click.option("--days", type=click.IntRange(1, 3660), default=1, show_default=True)
@format_option("table", "json", "m3u")
@click.pass_obj
def preview_cmd(app: App, day: date | None, days: int, fmt: str) -> None:
    """Xem trước những gì sẽ phát (what will air, day after day)."""
    config = app.config
    station = station_spec(config)
    day = day or datetime.now(config.tz).date()
    start = datetime.combine(day, time(0), tzinfo=config.tz)
    spots = library_spots(config, app.db)
    history = AirLog(app.db, config.station.id).history()
    bulletins = bulletin_wiring.view(config, app.db)  # those that head a slot (issue 13)
    plans = preview(station, spots, history, start, start + timedelta(days=days), bulletins)
    if fmt == "json":
        click.echo(json.dumps(plans_json(plans), ensure_ascii=False, indent=1))
    elif fmt == "m3u":
        click.echo(plans_m3u(plans, {s.id: s for s in spots}))
    else:
        click.echo(plans_table(plans))


preview_cmd.name = "preview"

"""`loa simulate`: the real engine on a virtual clock with the null output."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import click

from airtime.export_text import fixed_table
from loa.app import App
from loa.compose import (
    library_spots,
    station_spec,
)
from loa.db import open_database, station_db
from loa.errors import LoaError
from loa.params import DATE, InputFile
from loa.redact import mask_credentials
from scheduler.airlog import AirLog

TOPIC_COLUMNS = (
    ("chủ đề (topic)", 28, "<"),
    ("lượt", 6, ">"),
    ("phút", 8, ">"),
    ("tỉ lệ", 7, ">"),
    ("mục tiêu", 8, ">"),
    ("chênh (spread)", 14, ">"),
)


@click.command()
@click.option("--from", "start_day", type=DATE, required=True, help="Ngày bắt đầu (first day).")
@click.option("--days", type=click.IntRange(1, 3660), required=True, help="Số ngày (days).")
@click.option("--db", "db_url", help="CSDL ghi kết quả (database URL); mặc định một tệp riêng.")
@click.option(
    "--events",
    "events_file",
    type=InputFile(),
    help="Kịch bản sự kiện TOML (a scripted season: emergencies, crashes, edits, spots, device).",
)
@click.pass_obj
def simulate(
    app: App, start_day: date, days: int, db_url: str | None, events_file: Path | None
) -> None:
    """Mô phỏng trên đồng hồ ảo (the real daemon on a virtual clock, null output)."""
    from scheduler.simulate import simulate as run_simulation
    from scheduler.spread import MAX_SPREAD, topic_spreads

    config = app.config
    spots = library_spots(config, app.db)
    if not spots:
        raise LoaError(
            "thư viện chưa có tin/bài phát được (no playable spot): run `loa library scan`"
        )
    given = db_url is not None
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
    key = "--db" if given else "database.url"
    engine = open_database(db_url, key=key)
    start = datetime.combine(start_day, time(0), tzinfo=config.tz)
    airlog = AirLog(station_db(engine, key=key), config.station.id)
    t0 = datetime.now(UTC)
    if events_file is not None:
        from loa.season import read_season, replay, report

        events = read_season(events_file, config)
        season = replay(config, engine, spots, events, start, start + timedelta(days=days))
        took = (datetime.now(UTC) - t0).total_seconds()
        click.echo(
            f"Mô phỏng {days} ngày từ {start_day} với {len(events)} sự kiện (events) "
            f"trong {took:.1f} s → {mask_credentials(db_url)}"
        )
        report(season, click.echo)
        return
    station = station_spec(config)
    result = run_simulation(station, airlog, spots, start, start + timedelta(days=days))
    spreads = topic_spreads(
        station, spots, result.plays_by_spot, start_day, start_day + timedelta(days=days - 1)
    )
    took = (datetime.now(UTC) - t0).total_seconds()
    total = sum(result.seconds_by_topic.values()) or 1.0
    weights = {t.id: t.weight for t in config.topics}
    wsum = sum(weights.values())
    click.echo(
        f"Mô phỏng {days} ngày từ {start_day}: {result.slots} buổi, {result.plays} lượt phát, "
        f"{dict(result.outcomes)} trong {took:.1f} s → {mask_credentials(db_url)}"
    )
    for source, seconds in sorted(result.relayed_s.items()):
        click.echo(f"tiếp sóng (relay) {source}: {seconds / 60:.1f} phút (minutes)")
    off = 0
    uneven = []
    table = []
    for topic in config.topic_ids:
        secs = result.seconds_by_topic.get(topic, 0.0)
        share, target = 100 * secs / total, 100 * weights[topic] / wsum
        flag = "  !" if abs(share - target) > 2 else ""
        off += bool(flag)
        spread = spreads.get(topic)
        even = "" if spread is None else str(spread.spread)
        if spread is not None and spread.flagged:
            uneven.append(spread)
            even += " !"
        plays = result.plays_by_topic.get(topic, 0)
        row = [topic, plays, f"{secs / 60:.1f}", f"{share:.1f}%", f"{target:.1f}%", even + flag]
        table.append(row)
    for line in fixed_table(TOPIC_COLUMNS, table, rule=False, cut=False):
        click.echo(line)
    if off:
        click.echo(
            f"! {off} chủ đề lệch quá 2 điểm so với tỉ trọng, thường do thiếu tin/bài "
            "(off their weight share by more than 2 points: usually too few spots to fill "
            "the slots; add spots to the short topics)"
        )
    for spread in uneven:
        click.echo(
            f"! {spread.topic}: số lượt phát giữa các tin/bài chênh {spread.spread} "
            f"(play counts of its spots differ by {spread.spread} > {MAX_SPREAD}): "
            + "; ".join(spread.reasons)
        )

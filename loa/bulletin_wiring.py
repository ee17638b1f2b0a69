"""Wiring the bulletins into `loa run`: the board the runner plans from, and the fetcher."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loa.config import Config
from scheduler.bulletins import Board

if TYPE_CHECKING:
    from scheduler.station_db import StationDB


def board(config: Config, db: StationDB, current: Callable[[], Config]) -> Board:
    """The station's bulletins (the library root of the config in use after a reload)."""
    return Board(
        db,
        config.station.id,
        lambda: current().library.root,
        config.tz,
        topics=lambda: current().topic_ids,
    )


def attach(daemon: Any, bulletins: Board, library: Any, event: Any) -> Any:
    """The runner plans from the library and the bulletins, and airs through the guard that
    takes a withdrawn bulletin off the air (scheduler.bulletin_guard); returns the guard."""
    from scheduler.bulletin_guard import GuardedOutput

    bulletins.event = event
    runner = daemon.runner
    runner.spots = bulletins.source(library)
    runner.planner = bulletins.planner(runner.plan_from_log)
    runner.output = GuardedOutput(runner.output, bulletins.is_withdrawn)
    return runner.output


def start_fetcher(
    config: Config,
    bulletins: Board,
    event: Any,
    air_now: Callable[[list[Any]], Any],
    current: Callable[[], Config],
    on_withdrawn: Callable[[int], Any] | None = None,
) -> Any:
    """The background fetch when `[central] url` is set (else None): polls every push_every
    at the most, and is told at once by NOTIFY."""
    if not config.central.url:
        return None
    from audio_library.probe import probe
    from central.pq_choice import import_for_daemon

    import_for_daemon()  # the system's libpq where there is one: ~3 MB less (issue 17)
    from scheduler.bulletin_fetch import Fetcher

    def measure(path: Path) -> Any:
        lib = current().library
        return probe(path, target_lufs=lib.target_loudness, max_boost_db=lib.max_boost)

    fetcher = Fetcher(
        bulletins,
        config.central.url,
        measure,
        air_now,
        event=event,
        poll_s=min(30.0, config.central.push_every),
        on_withdrawn=on_withdrawn,
    )
    fetcher.start()
    return fetcher


def view(config: Config, db: StationDB) -> Any:
    """The station's bulletins as `loa playlist preview` and `loa status` plan them (None when
    it holds none)."""
    from scheduler import bulletin_store as store
    from scheduler.bulletin_preview import BulletinView

    rows = store.all_rows(db)
    if not rows:
        return None
    aired = store.airings(db, config.station.id)
    return BulletinView(rows, aired, config.library.root, config.topic_ids)

"""Old bulletin files leave `.ban-tin/`, never one still needed, and the rows stay whole.

The rule (`done_since`) by a table of cases; then the daemon's own fetcher against a real
PostgreSQL, a real SQLite file and library folder: a withdrawn bulletin's file and an aired-out
one's go after the retention, a live one's and one waiting for the operator stay; the fetcher
does not fetch a removed file again; the airtime rows and the bulletin rows keep their
metadata.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from airtime.bulletin_spot import spot_id
from audio_library.probe import probe
from loa.db import open_database, station_db
from scheduler import bulletin_store as store
from scheduler.airlog import AirLog
from scheduler.bulletin_fetch import Fetcher
from scheduler.bulletin_rules import done_since
from scheduler.bulletins import Board
from tests.audio_media import tone
from tests.central_support import central, loa

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)


def row(**fields: object) -> store.Bulletin:
    base: dict[str, object] = dict(
        id=1, title="T", priority="uu-tien", filename="t.wav", sha256="0" * 64,
        path=".ban-tin/1-0.wav", playable_s=3.0, received_at=NOW - timedelta(days=40),
    )  # fmt: skip
    return store.Bulletin(**{**base, **fields})


@pytest.mark.parametrize(
    ("fields", "aired", "expected"),
    [
        ({}, 0, None),  # uu-tien not aired yet: needed
        ({}, 1, "last"),  # aired its one time: done since it ended
        ({"times": 3}, 2, None),
        ({"times": 3}, 3, "last"),
        ({"withdrawn_at": NOW - timedelta(days=2)}, 0, NOW - timedelta(days=2)),
        ({"priority": "thuong", "refused_at": NOW - timedelta(days=1)}, 0, NOW - timedelta(days=1)),
        ({"priority": "thuong", "accepted_at": NOW}, 1, "last"),  # a head: done once aired
        ({"priority": "thuong", "topic": "a", "accepted_at": NOW}, 9, None),  # in rotation
        ({"valid_from": TODAY + timedelta(days=3)}, 0, None),  # not valid yet: needed
        (
            {"valid_until": TODAY - timedelta(days=2)},
            0,
            datetime(2026, 11, 30, tzinfo=HCM),  # the day after its last valid day, locally
        ),
        ({"priority": "khan-cap"}, 1, "last"),
    ],
)
def test_done_since(fields: dict[str, object], aired: int, expected: object) -> None:
    last = NOW - timedelta(days=5)
    got = done_since(row(**fields), TODAY, {"1": aired}, last, HCM, topics=["a"])
    assert got == (last if expected == "last" else expected)


@pytest.mark.postgres
def test_old_files_go_the_needed_stay_and_the_rows_stay_whole(
    tmp_path: Path, pg_admin_url: str
) -> None:
    urls = central(pg_admin_url, ("xa-1", "h-a"))
    tone(tmp_path / "tin.wav", 700.0, 1.5, amp=0.3)

    def send(priority: str) -> int:
        code, out, err = loa("central", "--url", pg_admin_url, "send", str(tmp_path / "tin.wav"),
                             "--title", f"Tin {priority}", "--priority", priority)  # fmt: skip
        assert code == 0, err
        return int(out.split()[3].rstrip(":"))

    gone, aired, live, waiting = send("uu-tien"), send("uu-tien"), send("uu-tien"), send("thuong")
    engine = open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    root = tmp_path / "lib"
    db = station_db(engine)
    board = Board(db, "xa-1", lambda: root, HCM)
    fetcher = Fetcher(board, urls["xa-1"], lambda p: probe(p, target_lufs=-16.0), lambda s: None)
    try:
        fetcher.sync_once()
        held = {r.id: r for r in store.all_rows(db)}
        assert set(held) == {gone, aired, live, waiting}
        assert loa("central", "--url", pg_admin_url, "withdraw", str(gone))[0] == 0
        fetcher.sync_once()
        airlog = AirLog(station_db(engine), "xa-1")
        at = datetime.now(UTC) - timedelta(minutes=5)
        airlog.record(
            status="completed", kind="scheduled", slot="xa", spot=spot_id(aired, "uu-tien"),
            title="Tin uu-tien", path=held[aired].path, scheduled_at=at, started_at=at,
            ended_at=at + timedelta(seconds=1.5), played_s=1.5,
        )  # fmt: skip
        orphan = store.folder(root) / "99-deadbeef0000.wav"
        orphan.write_bytes(b"x")
        fresh_orphan = store.folder(root) / "98-deadbeef0000.wav"
        fresh_orphan.write_bytes(b"x")
        old = time.time() - 3 * 86400
        os.utime(orphan, (old, old))

        assert fetcher.prune() == 0  # the default retention: 30 days, nothing is that old
        files = {p.name for p in store.folder(root).iterdir()}
        assert len(files) == 6
        fetcher._pruned_at = -1e18
        fetcher.keep_days = 1.0
        assert fetcher.prune() == 1  # only the orphan 3 days old
        assert not orphan.exists() and fresh_orphan.exists()
        fetcher._pruned_at = -1e18
        fetcher.keep_days = 0.0
        assert fetcher.prune() == 3  # withdrawn, aired out, and the fresh orphan
        assert not (root / held[gone].path).exists() and not (root / held[aired].path).exists()
        assert (root / held[live].path).exists() and (root / held[waiting].path).exists()
        fetcher.sync_once()  # a finished bulletin's file is not fetched again
        assert not (root / held[gone].path).exists() and not (root / held[aired].path).exists()
        after = {r.id: r for r in store.all_rows(db)}
        assert set(after) == set(held)
        assert after[aired].sha256 == held[aired].sha256 and after[aired].path == held[aired].path
        (logged,) = [r for r in airlog.rows_between("xa", at - timedelta(1), at + timedelta(1))]
        assert logged.bulletin == str(aired) and logged.path == held[aired].path
        # the live one's file lost by accident is still fetched again
        (root / held[live].path).unlink()
        fetcher.sync_once()
        assert (root / held[live].path).exists()
    finally:
        fetcher.stop()
        db.close()
        engine.dispose()

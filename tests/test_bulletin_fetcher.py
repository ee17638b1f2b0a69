"""The station's bulletin fetcher in process (the daemon's own class, a real PostgreSQL, a real
SQLite file and library folder): what it keeps survives a lost file (fetched again, the
operator's decision kept), a network cut is one event and its recovery another, and the
operator's decision goes up at the next pass."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from audio_library.catalog import probe
from loa.db import open_database, station_db
from scheduler import bulletin_store as store
from scheduler.bulletin_fetch import Fetcher
from scheduler.bulletins import Board
from tests.audio_media import tone
from tests.central_support import Relay, central, connect_as, loa, via

pytestmark = pytest.mark.postgres
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_a_lost_file_is_fetched_again_and_a_network_cut_is_told_once(
    tmp_path: Path, pg_admin_url: str
) -> None:
    urls = central(pg_admin_url, ("xa-1", "h-a"))
    tone(tmp_path / "tin.wav", 700.0, 1.5, amp=0.3)
    code, _, err = loa("central", "--url", pg_admin_url, "send", str(tmp_path / "tin.wav"),
                       "--title", "Tin", "--priority", "thuong")  # fmt: skip
    assert code == 0, err
    port = int(pg_admin_url.rsplit(":", 1)[1].split("/")[0])
    relay = Relay(port)
    engine = open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    root = tmp_path / "lib"
    events: list[tuple[str, str]] = []
    db = station_db(engine)
    board = Board(db, "xa-1", lambda: root, HCM)
    fetcher = Fetcher(
        board,
        via(urls["xa-1"], relay.port),
        lambda p: probe(p, target_lufs=-16.0),
        lambda spots: None,
        event=lambda level, _source, message: events.append((level, message)),
    )
    try:
        fetcher.sync_once()
        (row,) = store.all_rows(db)
        assert (root / row.path).read_bytes() == (tmp_path / "tin.wav").read_bytes()
        assert row.playable_s > 1.0 and row.reported == "delivered"
        store.update(db, row.id, accepted_at=store.now())  # `loa bulletin accept`
        (root / row.path).unlink()
        fetcher.sync_once()
        (again,) = store.all_rows(db)
        assert (root / again.path).exists() and again.accepted_at is not None
        assert again.reported == "delivered,accepted"
        with connect_as(pg_admin_url) as conn:
            states = {r[0] for r in conn.execute("SELECT state FROM central.bulletin_report")}
        assert states == {"delivered", "accepted"}
        # the network goes: one event however many failures, then one when it is back
        relay.down()
        fetcher._drop()
        for _ in range(3):
            try:
                fetcher.sync_once()
            except Exception as exc:  # what the thread's loop catches
                fetcher._failed(exc)
            else:
                raise AssertionError("synced through a cut network")
        assert sum("fetch failed" in m for _, m in events) == 1
        relay.up = True
        fetcher.sync_once()
        fetcher._recovered()
        assert any("fetching again" in m for _, m in events) and fetcher.failures == 0
    finally:
        fetcher.stop()
        relay.close()
        db.close()
        engine.dispose()

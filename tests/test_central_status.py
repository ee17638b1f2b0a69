"""`loa central status` against a real PostgreSQL: stations push their events and heartbeats
through the real push; stale stations come first and each station's problems of the last
day are counted by kind from the central events table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from airtime.models import Event
from central.push import StationReport, push
from central.status import order, problem_kind
from loa.db import open_database
from tests.central_support import central, connect_as, loa, write_rows

pytestmark = pytest.mark.postgres

E = Event.__table__  # type: ignore[attr-defined]


def _push(tmp: Path, station: str, url: str, events: list[tuple[timedelta, str, str, str]]) -> None:
    db = write_rows(tmp / f"{station}.db", station, 40, datetime(2021, 3, 1, 6, tzinfo=UTC))
    engine = open_database(db)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for back, level, source, message in events:
            conn.execute(E.insert().values(at=now - back, level=level, source=source,
                                           message=message))  # fmt: skip
    with engine.connect() as source:
        push(source, url, station, StationReport({"topics": [], "slots": []}, "9.9"))
    engine.dispose()


@pytest.fixture
def stations(tmp_path: Path, pg_admin_url: str) -> dict[str, str]:
    urls = central(pg_admin_url, ("xa-ok", "h-a"), ("xa-old", "h-a"), ("xa-never", "h-a"),
                   ("xa-b", "h-b"))  # fmt: skip
    minute = timedelta(minutes=1)
    _push(tmp_path, "xa-ok", urls["xa-ok"], [
        (5 * minute, "error", "output", "thiết bị âm thanh (sound device): PortAudio error"),
        (50 * minute, "error", "output", "thiết bị âm thanh (sound device): gone"),
        (2 * minute, "warning", "library", "bad.mp3: cannot decode"),
        (3 * minute, "error", "config", "sửa đổi config.toml bị từ chối: slots[0].start"),
        (4 * minute, "warning", "slot", "sang 2026-01-01T06:00:00+07:00: missed"),
        (10 * minute, "info", "config", "config.toml reloaded"),  # a notice, not a problem
        (timedelta(days=2), "error", "output", "two days ago: not in the last day"),
    ])  # fmt: skip
    _push(tmp_path, "xa-old", urls["xa-old"], [(minute, "warning", "hook", "amp relay slow")])
    _push(tmp_path, "xa-b", urls["xa-b"], [])
    with connect_as(pg_admin_url) as conn:  # xa-old was last heard of three hours ago
        conn.execute("UPDATE central.station_report SET heartbeat_at = now() - interval '3 hours'"
                     " WHERE station = 'xa-old'")  # fmt: skip
    code, out, err = loa("central", "--url", pg_admin_url, "add-district", "h-a", "--name", "A")
    assert code == 0, err
    return {"admin": pg_admin_url, "h-a": out.strip()}


def test_stale_stations_come_first_and_the_last_days_problems_are_counted(
    stations: dict[str, str],
) -> None:
    code, out, err = loa("central", "--url", stations["admin"], "status", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [s["id"] for s in data] == ["xa-never", "xa-old", "xa-ok", "xa-b"]
    by_id = {s["id"]: s for s in data}
    assert [by_id[s]["alive"] for s in ("xa-never", "xa-old", "xa-ok")] == [False, False, True]
    ok = by_id["xa-ok"]
    assert ok["problems"] == {"device": 2, "files": 1, "edits": 1, "missed": 1, "other": 0}
    assert ok["rows"] == 40 and ok["last_push"] is not None and ok["loa_version"] == "9.9"
    assert [e["source"] for e in ok["recent"]] == ["library", "config", "slot"]  # newest first
    assert by_id["xa-old"]["problems"]["other"] == 1
    assert by_id["xa-never"]["last_push"] is None and by_id["xa-never"]["heartbeat_at"] is None
    code, out, err = loa("central", "--url", stations["admin"], "status")
    assert code == 0, err
    lines = out.splitlines()
    assert "4 đài (stations), 2 mất liên lạc" in lines[0]
    assert lines[1].startswith("MẤT LIÊN LẠC") and "xa-never" in lines[1]
    assert "chưa bao giờ (never)" in lines[1]
    ok_line = next(x for x in lines if "xa-ok" in x)
    assert ok_line.startswith("hoạt động")
    assert "2 lỗi thiết bị âm thanh, 1 tệp bị từ chối, 1 sửa cấu hình bị từ chối, 1 buổi phát lỡ" \
        in ok_line  # fmt: skip
    assert "không có sự cố" in next(x for x in lines if "xa-b" in x)


def test_a_district_sees_the_status_of_its_own_stations_only(stations: dict[str, str]) -> None:
    code, out, err = loa("central", "--url", stations["h-a"], "status", "--json")
    assert code == 0, err
    assert {s["id"] for s in json.loads(out)} == {"xa-never", "xa-old", "xa-ok"}


def test_problem_kinds_and_order_are_pure() -> None:
    assert problem_kind("output", "error") == "device"
    assert problem_kind("library", "warning") == "files"
    assert problem_kind("config", "error") == "edits"
    assert problem_kind("config", "info") is None
    assert problem_kind("slot", "warning") == "missed"
    assert problem_kind("hook", "error") == "other"
    assert order([]) == []

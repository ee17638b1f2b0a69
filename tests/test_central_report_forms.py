"""`loa central report` on a real PostgreSQL, beyond the district's figures: bulletins sent
down are counted apart (per priority) and never as the station's scheduled plays, exactly as
each station's own `loa airtime report` counts them; the province's json and csv carry each
station's per-topic figures as the district's do; the xlsx has no durations as text."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from airtime.log import chain_in_order
from airtime.models import new_id
from airtime.store import T
from central.push import StationReport, push
from loa.db import open_database
from tests.central_support import TOPICS, central, loa, station_config, write_rows

pytestmark = pytest.mark.postgres

SCHEDULE = {"topics": [{"id": t, "name": f"Chủ đề {t}", "weight": 1} for t in TOPICS],
            "slots": []}  # fmt: skip
# (station, district, first day): 90 plays of the station's own spots, 30 a day
STATIONS = (
    ("xa-1", "h-a", datetime(2021, 3, 1, 6, tzinfo=UTC)),
    ("xa-2", "h-a", datetime(2021, 5, 1, 6, tzinfo=UTC)),
    ("xa-3", "h-b", datetime(2021, 8, 1, 6, tzinfo=UTC)),
)


def bulletin_rows(station: str, at: datetime) -> list[dict]:
    """A bulletin heading a slot (uu-tien, topic-less like the runner writes it), one in a
    topic's rotation (thuong), an emergency one (khan-cap, kind emergency), and a head bulletin
    cut short (interrupted): what the runner records for each."""

    def row(bulletin: int, priority: str, kind: str, topic: str | None, status: str,
            played: float, minutes: int) -> dict:  # fmt: skip
        when = at + timedelta(minutes=minutes)
        spot = f"bulletin-{bulletin}-{priority}"
        return dict(
            id=new_id(), station=station, slot="sang" if kind == "scheduled" else None,
            kind=kind, topic=topic, spot=spot, title=f"Bản tin {bulletin}",
            path=f".ban-tin/{bulletin}.mp3", scheduled_at=when, started_at=when,
            ended_at=when + timedelta(seconds=played), played_s=played, status=status,
            error=None, bulletin=str(bulletin), priority=priority,
        )  # fmt: skip

    return [
        row(7, "uu-tien", "scheduled", None, "completed", 95.5, 0),
        row(8, "thuong", "scheduled", TOPICS[0], "completed", 40.25, 3),
        row(9, "khan-cap", "emergency", None, "completed", 62.0, 7),
        row(7, "uu-tien", "scheduled", None, "interrupted", 12.0, 60 * 24),
    ]


def add_rows(db: str, station: str, rows: list[dict]) -> None:
    engine = open_database(db)
    with engine.begin() as conn:
        chain_in_order(conn, station, rows)
        conn.execute(T.insert(), rows)
    engine.dispose()


@pytest.fixture
def pushed(tmp_path: Path, pg_admin_url: str) -> dict:
    urls = central(pg_admin_url, *((s, d) for s, d, _ in STATIONS))
    configs = {}
    for s, _d, start in STATIONS:
        db = write_rows(tmp_path / f"{s}.db", s, 90, start)
        if s != "xa-3":  # xa-3 aired no bulletin
            add_rows(db, s, bulletin_rows(s, start + timedelta(hours=3)))
        engine = open_database(db)
        with engine.connect() as source:
            push(source, urls[s], s, StationReport(SCHEDULE, "test"))
        engine.dispose()
        configs[s] = station_config(tmp_path / s, s, db, None)
    return {"admin": pg_admin_url, "configs": configs, "tmp": tmp_path}


def report(url: str, fmt: str, *args: str) -> str:
    code, out, err = loa("central", "--url", url, "report", "--period", "2021", "--format", fmt,
                         *args)  # fmt: skip
    assert code == 0, err
    return out


def test_bulletins_are_counted_apart_as_the_stations_own_reports_count_them(pushed: dict) -> None:
    data = json.loads(report(pushed["admin"], "json", "--district", "h-a"))
    (part,) = data["districts"]
    stations = {s["id"]: s for s in part["stations"]}
    for sid in ("xa-1", "xa-2"):
        code, out, err = loa("--config", str(pushed["configs"][sid]), "airtime", "report",
                             "--period", "2021", "--format", "json")  # fmt: skip
        assert code == 0, err
        own, mine = json.loads(out), stations[sid]
        # the station's own spots only: the head and the rotation bulletins are not its plays
        assert mine["plays"] == own["total"]["plays"] == 90 - 90 // 11 - 1
        assert mine["seconds"] == pytest.approx(own["total"]["seconds"], abs=1e-6)
        assert mine["topics"] == pytest.approx(
            {t["id"]: t["seconds"] for t in own["topics"] if t["seconds"]}
        )
        assert "(không rõ chủ đề)" not in mine["topics"]  # the head bulletin has no topic
        assert (
            mine["emergency"]
            == {"plays": 0, "seconds": 0.0}
            == {k: own["emergency"][k] for k in ("plays", "seconds")}
        )
        b = mine["bulletins"]
        assert b == {
            "khan-cap": {"airings": 1, "seconds": 62.0, "bulletins": 1},
            "uu-tien": {"airings": 1, "seconds": 95.5, "bulletins": 1},
            "thuong": {"airings": 1, "seconds": 40.25, "bulletins": 1},
        }
        assert sum(x["airings"] for x in b.values()) == own["bulletins"]["plays"] == 3
        assert sum(x["seconds"] for x in b.values()) == pytest.approx(own["bulletins"]["seconds"])
        # the interrupted head bulletin is not a scheduled play due at the station either
        assert (
            mine["due"] == own["reliability"]["completed"] + own["reliability"]["interrupted"] - 4
        )
    totals = part["totals"]
    # two stations aired the same three bulletins: six airings, three bulletins
    assert totals["bulletins"]["uu-tien"] == {"airings": 2, "seconds": 191.0, "bulletins": 1}
    assert sum(x["bulletins"] for x in totals["bulletins"].values()) == 3
    assert totals["combined_seconds"] == pytest.approx(
        totals["seconds"] + 2 * (95.5 + 40.25 + 62.0), abs=1e-6
    )
    # the province counts them the same, in the csv too
    province = json.loads(report(pushed["admin"], "json"))
    assert province["totals"]["bulletins"] == totals["bulletins"]
    rows = list(csv.reader(io.StringIO(report(pushed["admin"], "csv").lstrip("\ufeff"))))
    head = rows[0]
    got = {(r[1], r[5]): r for r in rows[1:] if r[4] == "station-bulletin"}
    assert set(got) == {(s, p) for s in ("xa-1", "xa-2") for p in ("khan-cap", "uu-tien",
                                                                 "thuong")}  # fmt: skip
    uu = got[("xa-1", "uu-tien")]
    assert uu[head.index("Lượt phát")] == "1" and uu[head.index("Giây")] == "95.5"
    (total,) = [r for r in rows[1:] if r[4] == "province-bulletin" and r[5] == "thuong"]
    assert total[head.index("Lượt phát")] == "2" and total[head.index("Số tin, bài")] == "1"
    # the document names them in their own section and table
    text = report(pushed["admin"], "text", "--district", "h-a")
    flat = " ".join(text.split())
    assert "Bản tin cấp trên đã phát 6 lượt" in flat
    assert "khẩn cấp 2 lượt (2,1 phút)" in flat


def test_the_province_json_and_csv_carry_each_stations_topics_as_the_district_does(
    pushed: dict,
) -> None:
    admin = pushed["admin"]
    province = json.loads(report(admin, "json"))
    for part in province["districts"]:
        district = json.loads(report(admin, "json", "--district", part["code"]))
        assert part["stations"] == district["districts"][0]["stations"]
        for s in part["stations"]:
            assert set(s["topics"]) == set(TOPICS) and set(s["topic_plays"]) == set(TOPICS)
            assert sum(s["topic_plays"].values()) == s["plays"]
    rows = list(csv.reader(io.StringIO(report(admin, "csv").lstrip("\ufeff"))))
    head = rows[0]
    per_topic = [r for r in rows[1:] if r[4] == "station-topic"]
    assert {r[1] for r in per_topic} == {"xa-1", "xa-2", "xa-3"}
    assert len(per_topic) == 3 * len(TOPICS)
    for sid in ("xa-1", "xa-2", "xa-3"):
        (station,) = [r for r in rows[1:] if r[4] == "station" and r[1] == sid]
        mine = [r for r in per_topic if r[1] == sid]
        plays = head.index("Lượt phát")
        assert sum(int(r[plays]) for r in mine) == int(station[plays])


def test_the_xlsx_keeps_durations_as_minutes_numbers_right_aligned(pushed: dict) -> None:
    tmp: Path = pushed["tmp"]
    for args in ((), ("--district", "h-a")):
        out = tmp / f"r{len(args)}.xlsx"
        report(pushed["admin"], "xlsx", *args, "--output", str(out))
        wb = load_workbook(out)
        checked = timed = 0
        for ws in wb.worksheets[1:]:  # the table sheets (the first is the document's text)
            headers = {c.column: str(c.value) for c in ws[4] if c.value}
            body = 5  # the table's rows run to the first empty row (the note follows)
            while any(ws.cell(body, c).value is not None for c in headers):
                body += 1
            for col, header in headers.items():
                for r in range(5, body):
                    cell = ws.cell(r, col)
                    if isinstance(cell.value, str):
                        # no duration written as text anywhere: "12:34", "1 giờ 30 phút"
                        assert not re.fullmatch(r"\d+:\d\d(:\d\d)?", cell.value), (ws.title, r)
                        assert not re.search(r"\d+ (giờ|phút)", cell.value), (ws.title, r)
                    if header == "Phút:giây" and cell.value is not None:
                        # minutes:seconds as a time value a spreadsheet adds up, not as text
                        # (openpyxl reads a number in a time format back as a timedelta)
                        assert isinstance(cell.value, timedelta), (ws.title, r)
                        beside = ws.cell(r, col - 1).value  # Thời lượng (phút)
                        assert abs(cell.value.total_seconds() / 60 - beside) < 0.06
                        assert cell.number_format == "[m]:ss"
                        assert cell.alignment.horizontal == "right"
                        timed += 1
                    if "phút" in header and cell.value is not None and ws.cell(r, 2).value:
                        assert isinstance(cell.value, int | float), (ws.title, header, r)
                        assert "0.0" in cell.number_format
                        assert cell.alignment.horizontal == "right"
                        checked += 1
        assert checked >= 8
        assert timed >= 2  # the stations' rows and their total

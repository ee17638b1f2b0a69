"""A province of stations with a year of real logs each, for the central report's tests, its
benchmark and rendering the documents by hand.

Each station's log is written into its own SQLite file through the log's own chaining
(`chain_in_order`, as `loa simulate` does) and pushed through the real push, so the central
rows and roll-ups are what a district holds: two sessions a day, four spots each from the
eleven topics of the provincial letter (config.toml), some missed and failed sessions, now and
then an ad hoc or emergency broadcast, a stretch of days off for some stations.

    python -m tests.central_year OUT_DIR   # renders the district's and the province's
                                           # docx, xlsx and text into OUT_DIR (own cluster)
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from airtime.log import chain_in_order
from airtime.models import new_id
from airtime.store import T
from central.push import StationReport, push
from loa.db import open_database

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TOPICS: list[tuple[str, str, float]] = [
    (t["id"], t["name"], float(t.get("weight", 1)))
    for t in tomllib.loads((ROOT / "config.toml").read_text("utf-8"))["topics"]
]
SLOTS = (("sang", time(6, 0)), ("chieu", time(17, 0)))
SCHEDULE = {
    "topics": [{"id": i, "name": n, "weight": w} for i, n, w in TOPICS],
    "slots": [{"name": n, "start": f"{t:%H:%M}", "days": "mon-sun", "length_s": 600}
              for n, t in SLOTS],
}  # fmt: skip


def station_rows(
    station: str, start: date, end: date, seed: int, off: tuple[date, date] | None = None
) -> list[dict[str, Any]]:
    """The closed rows of `station` from `start` to `end`, in the order they closed."""
    rows: list[dict[str, Any]] = []
    n = seed
    day = start
    while day <= end:
        if off and off[0] <= day <= off[1]:
            day += timedelta(days=1)
            continue
        for slot, at in SLOTS:
            n += 1
            begin = datetime.combine(day, at, tzinfo=TZ).astimezone(UTC)
            base = dict(station=station, slot=slot, kind="scheduled", scheduled_at=begin,
                        error=None)  # fmt: skip
            if n % 89 == 0:
                rows.append(dict(base, id=new_id(), topic=None, spot=None, title="", path="",
                                 started_at=None, ended_at=None, played_s=0.0, status="missed",
                                 error="loa was not running"))  # fmt: skip
                continue
            offset = 0.0
            for k in range(4):
                # topics in turn, the weight-2 topic twice as often; some topics rarer here
                topic = TOPICS[(n * 3 + k * 5 + seed) % len(TOPICS)][0]
                if k == 0 and n % 2:
                    topic = "dich-vu-cong"
                spot = f"{topic}-{(n + k) % 4}"
                seconds = 55.0 + ((n * 7 + k * 13) % 50) + 0.25 * (k + 1)
                status = "failed" if n % 131 == 0 else "completed"
                t0 = begin + timedelta(seconds=offset)
                rows.append(dict(
                    base, id=new_id(), topic=topic, spot=spot, title=f"Tin {spot}",
                    path=f"{topic}/{spot}.mp3", started_at=t0,
                    ended_at=t0 + timedelta(seconds=seconds),
                    played_s=0.0 if status == "failed" else seconds, status=status,
                    error="device lost" if status == "failed" else None,
                ))  # fmt: skip
                offset += seconds + 1
        if day.day == 15 and (day.month + seed) % 3 == 0:
            t0 = datetime.combine(day, time(9, 30), tzinfo=TZ).astimezone(UTC)
            rows.append(dict(station=station, slot=None, kind="adhoc", topic=None, spot=None,
                             title="Thông báo lịch tiếp công dân", path="adhoc/tiep-dan.mp3",
                             id=new_id(), scheduled_at=t0, started_at=t0,
                             ended_at=t0 + timedelta(seconds=83), played_s=83.0,
                             status="completed", error=None))  # fmt: skip
        if day == date(day.year, 9, 10) and seed % 2 == 0:
            t0 = datetime.combine(day, time(22, 15), tzinfo=TZ).astimezone(UTC)
            rows.append(dict(station=station, slot=None, kind="emergency", topic=None,
                             spot=None, title="Khẩn cấp: bão số 5", path="adhoc/bao.mp3",
                             id=new_id(), scheduled_at=t0, started_at=t0,
                             ended_at=t0 + timedelta(seconds=126), played_s=126.0,
                             status="completed", error=None))  # fmt: skip
        day += timedelta(days=1)
    return rows


def write_station(db: Path, rows: list[dict[str, Any]]) -> str:
    url = f"sqlite:///{db}"
    engine = open_database(url)
    with engine.begin() as conn:
        if rows:
            chain_in_order(conn, rows[0]["station"], rows)
            for k in range(0, len(rows), 5000):
                conn.execute(T.insert(), rows[k : k + 5000])
    engine.dispose()
    return url


def push_station(db_url: str, central_url: str, station: str) -> None:
    engine = open_database(db_url)
    with engine.connect() as source:
        push(source, central_url, station, StationReport(SCHEDULE, "demo"))
    engine.dispose()


def demo(out: Path) -> None:
    """Two districts, eight stations (one never pushes, one stopped in October), 2021."""
    from airtime.export_docx import document_docx
    from airtime.export_text import document_text
    from airtime.export_xlsx import document_xlsx
    from airtime.periods import parse_period
    from central.conn import connect
    from central.document import central_document
    from central.report_queries import central_report
    from central.roles import add_district, add_station
    from central.schema import init
    from loa.commands.central import report_letterhead
    from tests.pg_fixture import start_cluster

    out.mkdir(parents=True, exist_ok=True)
    cluster = start_cluster()
    try:
        admin = cluster.url
        init(admin)
        add_district(admin, "h-tran-de", "Huyện Trần Đề")
        add_district(admin, "h-my-xuyen", "Huyện Mỹ Xuyên")
        names = [
            ("xa-dai-hai", "h-tran-de", "Đài Truyền thanh xã Đại Hải"),
            ("xa-lich-hoi-thuong", "h-tran-de", "Đài Truyền thanh xã Lịch Hội Thượng"),
            ("xa-trung-binh", "h-tran-de", "Đài Truyền thanh xã Trung Bình"),
            ("xa-vien-an", "h-tran-de", "Đài Truyền thanh xã Viên An"),
            ("xa-tai-van", "h-tran-de", "Đài Truyền thanh xã Tài Văn"),
            ("xa-gia-hoa-1", "h-my-xuyen", "Đài Truyền thanh xã Gia Hòa 1"),
            ("xa-hoa-tu-2", "h-my-xuyen", "Đài Truyền thanh xã Hòa Tú 2"),
            ("xa-ngoc-dong", "h-my-xuyen", "Đài Truyền thanh xã Ngọc Đông"),
        ]
        for i, (sid, district, name) in enumerate(names):
            issued = add_station(admin, sid, name, district)
            if sid == "xa-vien-an":
                continue  # never pushed
            end = date(2021, 10, 20) if sid == "xa-tai-van" else date(2021, 12, 31)
            off = (date(2021, 3, 8), date(2021, 3, 21)) if i % 3 == 1 else None
            rows = station_rows(sid, date(2021, 1, 1), end, i, off)
            push_station(write_station(out / f"{sid}.db", rows), issued.url, sid)
        now = datetime(2022, 1, 5, 9, tzinfo=TZ)
        with connect(admin, autocommit=True) as pg:  # as if each row came an hour after it ended
            pg.execute("UPDATE central.airtime SET received_at = coalesce(ended_at, "
                       "scheduled_at) + interval '1 hour'")  # fmt: skip
            pg.execute("UPDATE central.station_report r SET heartbeat_at = (SELECT max("
                       "received_at) FROM central.airtime a WHERE a.station = r.station)")  # fmt: skip
        for label, district in (("huyen", "h-tran-de"), ("tinh", None)):
            r = central_report(admin, parse_period("2021"), district, now=now)
            d = central_document(r, report_letterhead(r, {"signer": "Nguyễn Văn Bình"}),
                                 issued=now.date(), created=now)  # fmt: skip
            (out / f"bao-cao-{label}.docx").write_bytes(document_docx(d))
            (out / f"bao-cao-{label}.xlsx").write_bytes(document_xlsx(d))
            (out / f"bao-cao-{label}.txt").write_text(document_text(d), "utf-8")
    finally:
        cluster.stop("immediate")
        shutil.rmtree(cluster.base, ignore_errors=True)


if __name__ == "__main__":
    demo(Path(sys.argv[1]))

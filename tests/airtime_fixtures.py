"""A real station log for the airtime tests, written through the daemon's write API.

The plays straddle the boundaries that matter: local midnight, month, quarter and half-year
ends (where the UTC date differs from the station's date), plus ad hoc, emergency, failed,
missed, interrupted and still-open rows, with Vietnamese titles. `PLAYS` is the plain data,
so tests compute their expected sums from it independently of loa's SQL.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from airtime.log import close_play, open_play, record_closed
from loa.db import open_database, station_db

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
STATION = "xa-thu"
TOPICS = [("dich-vu-cong", "Dịch vụ công trực tuyến"), ("chi-so", "Chỉ số cải cách hành chính"),
          ("duong-day-nong", "Đường dây nóng")]  # fmt: skip


@dataclass(frozen=True)
class Play:
    start: datetime  # station-local
    topic: str | None
    spot: str | None
    title: str
    seconds: float
    status: str = "completed"
    kind: str = "scheduled"

    @property
    def local_day(self) -> date:
        return self.start.date()


def _at(y: int, mo: int, d: int, h: int, mi: int, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=TZ)


PLAYS: list[Play] = [
    # New Year's Day, local morning = 31 Dec UTC: belongs to 2021 / Q1 / H1 / January
    Play(_at(2021, 1, 1, 6, 0), "dich-vu-cong", "dvc-1", "Hướng dẫn nộp hồ sơ trực tuyến", 90.5),
    Play(_at(2021, 1, 1, 6, 2), "chi-so", "cs-1", "Chỉ số PAR Index năm 2020", 61.25),
    # crosses local midnight 31 Jan -> 1 Feb: counts once, in January
    Play(_at(2021, 1, 31, 23, 59, 30), "dich-vu-cong", "dvc-2", "Dịch vụ bưu chính công ích", 75),
    Play(_at(2021, 2, 14, 17, 0), "dich-vu-cong", "dvc-1", "Hướng dẫn nộp hồ sơ trực tuyến", 90.5),
    # last minute of Q1, crossing into Q2
    Play(_at(2021, 3, 31, 23, 59), "chi-so", "cs-2", "Khảo sát SIPAS: ý kiến người dân", 120),
    # 06:30 on 1 April local = 31 March 23:30 UTC: belongs to Q2 / April
    Play(_at(2021, 4, 1, 6, 30), "chi-so", "cs-1", "Chỉ số PAR Index năm 2020", 61.25),
    Play(_at(2021, 4, 1, 6, 32), "duong-day-nong", "ddn-1", "Số điện thoại đường dây nóng", 45),
    Play(_at(2021, 5, 19, 6, 0), "dich-vu-cong", "dvc-3", "Cổng dịch vụ công quốc gia", 100),
    Play(_at(2021, 5, 19, 6, 2), "dich-vu-cong", "dvc-3", "Cổng dịch vụ công quốc gia", 30.0,
         status="interrupted"),
    Play(_at(2021, 6, 30, 23, 58), "dich-vu-cong", "dvc-1", "Hướng dẫn nộp hồ sơ trực tuyến", 90.5),
    # 1 July 00:10 local = 30 June UTC: H2
    Play(_at(2021, 7, 1, 0, 10), "chi-so", "cs-2", "Khảo sát SIPAS: ý kiến người dân", 120),
    Play(_at(2021, 9, 2, 6, 0), "dich-vu-cong", None, "Tin phát từ tệp", 33.3),
    Play(_at(2021, 10, 10, 17, 0), "chi-so", "cs-3", "Chỉ số PAPI", 0, status="failed"),
    Play(_at(2021, 10, 10, 17, 5), "chi-so", "cs-3", "Chỉ số PAPI", 0, status="missed"),
    Play(_at(2021, 11, 20, 8, 0), None, None, "Thông báo đột xuất của UBND xã", 55,
         kind="adhoc"),
    Play(_at(2021, 12, 3, 22, 0), None, None, "Khẩn cấp: bão số 9", 40, kind="emergency"),
    Play(_at(2021, 12, 31, 23, 59, 50), "duong-day-nong", "ddn-1", "Số điện thoại đường dây nóng",
         45),
    # 2022: outside every 2021 period
    Play(_at(2022, 1, 1, 6, 0), "dich-vu-cong", "dvc-1", "Hướng dẫn nộp hồ sơ trực tuyến", 90.5),
]  # fmt: skip
OPEN_AT = _at(2021, 12, 31, 17, 0)  # a play still open (daemon running)


def write_log(db: Path) -> str:
    """Write PLAYS (and one open play) into a new SQLite log; returns its URL."""
    url = f"sqlite:///{db}"
    engine = open_database(url)
    db = station_db(engine)
    with db.transaction() as session:
        for p in PLAYS:
            common = dict(
                station=STATION,
                kind=p.kind,
                slot=None if p.kind != "scheduled" else ("sang" if p.start.hour < 12 else "chieu"),
                topic=p.topic,
                spot=p.spot,
                title=p.title,
                path=f"{p.topic or 'adhoc'}/{p.spot or 'tep'}.mp3",
            )
            if p.status in ("missed", "failed"):
                record_closed(session, status=p.status, scheduled_at=p.start, **common)
                continue
            row = open_play(session, started_at=p.start, scheduled_at=p.start, **common)
            close_play(session, row, p.start + timedelta(seconds=p.seconds), p.seconds, p.status)
        open_play(session, station=STATION, started_at=OPEN_AT, topic="chi-so", spot="cs-1",
                  title="Đang phát", path="chi-so/cs-1.mp3")  # fmt: skip
    db.close()
    engine.dispose()
    return url


def write_config(tmp_path: Path, url: str) -> Path:
    topics = "\n".join(f'[[topics]]\nid = "{i}"\nname = "{n}"\n' for i, n in TOPICS)
    text = (
        textwrap.dedent(f"""
        [station]
        id = "{STATION}"
        name = "Đài Truyền thanh xã Thử"
        timezone = "Asia/Ho_Chi_Minh"

        [database]
        url = "{url}"

        [report]
        recipient = "Phòng Văn hóa và Thông tin huyện Thử"
        place = "Thử"
        signer = "Nguyễn Văn An"
        """)
        + topics
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def expected(start: date, end: date) -> dict[str, dict[str, float]]:
    """Per-topic plays/items/seconds of completed scheduled plays starting in [start, end]."""
    out: dict[str, dict[str, float]] = {}
    for tid, _ in TOPICS:
        mine = [
            p for p in PLAYS
            if p.topic == tid and p.kind == "scheduled" and p.status == "completed"
            and start <= p.local_day <= end
        ]  # fmt: skip
        items = {p.spot or f"path:{tid}/tep.mp3" for p in mine}
        out[tid] = {
            "plays": len(mine),
            "items": len(items),
            "seconds": round(sum(p.seconds for p in mine), 3),
        }
    return out

"""A station's log over many days, written through the daemon's write API: two slots a day,
a few spots each, a stretch of days the station was off (no rows at all), a few missed and
failed slots, ad hoc and emergency broadcasts. Used by the report document tests and to render
the documents by hand (python -m tests.airtime_station_year DIR)."""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from airtime.log import close_play, open_play, record_closed
from loa.db import open_database, station_db

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
STATION = "xa-dai-hai"
SLOTS = (("sang", time(6, 0)), ("chieu", time(17, 0)))
SLOT_LENGTH_S = 600
TOPICS = [
    ("quan-diem", "Tầm quan trọng, ý nghĩa, mục tiêu và tác động của cải cách hành chính; "
                  "quan điểm, chủ trương của Đảng, chính sách pháp luật của Nhà nước", 1),
    ("dich-vu-cong", "Tiện ích và hướng dẫn sử dụng dịch vụ công trực tuyến, dịch vụ bưu chính "
                     "công ích tại Trung tâm Phục vụ hành chính công", 2),
    ("chi-so", "Chỉ số cải cách hành chính (PAR Index), Chỉ số hài lòng (SIPAS), Chỉ số PAPI", 1),
    ("duong-day-nong", "Công khai đường dây nóng tiếp nhận phản ánh, kiến nghị", 1),
]  # fmt: skip
# each session airs these spots in turn (topic, spot, seconds); "duong-day-nong" airs rarely
ROTATION = [
    [("dich-vu-cong", "dvc-1", 92.4), ("quan-diem", "qd-1", 75.0), ("chi-so", "cs-1", 61.2)],
    [("dich-vu-cong", "dvc-2", 80.5), ("chi-so", "cs-2", 58.0), ("quan-diem", "qd-2", 66.6)],
    [("dich-vu-cong", "dvc-1", 92.4), ("duong-day-nong", "ddn-1", 45.0), ("quan-diem", "qd-1", 75.0)],
]  # fmt: skip


@dataclass
class Year:
    """What was written, for the tests' own sums."""

    sessions_aired: int = 0
    sessions_logged_not_aired: int = 0
    off_days: list[date] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    plays: dict[str, int] = field(default_factory=dict)
    outcomes: list[tuple[date, str, str]] = field(default_factory=list)  # day, slot, aired|logged


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=TZ)


def write_station_log(
    db: Path, start: date, end: date, off: tuple[date, date] | None = None, first: int = 0
) -> tuple[str, Year]:
    """Write sessions for every day in [start, end] except the `off` days (inclusive);
    session number `first` + k is missed when divisible by 97, failed when by 131."""
    url = f"sqlite:///{db}"
    engine = open_database(url)
    year = Year()
    n = first
    db = station_db(engine)
    with db.transaction() as session:
        day = start
        while day <= end:
            if off and off[0] <= day <= off[1]:
                year.off_days.append(day)
                day += timedelta(days=1)
                continue
            for name, at in SLOTS:
                begin = _local(day, at)
                n += 1
                common = dict(station=STATION, kind="scheduled", slot=name)
                if n % 97 == 0:  # missed: the daemon came back too late
                    record_closed(session, status="missed", scheduled_at=begin, **common,
                                  error="loa was not running")  # fmt: skip
                    year.sessions_logged_not_aired += 1
                    year.outcomes.append((day, name, "logged"))
                    continue
                if n % 131 == 0:  # the sound device failed for the whole session
                    for topic, spot, _ in ROTATION[n % 3]:
                        record_closed(session, status="failed", scheduled_at=begin, topic=topic,
                                      spot=spot, title=spot, path=f"{topic}/{spot}.mp3",
                                      error="device lost", **common)  # fmt: skip
                    year.sessions_logged_not_aired += 1
                    year.outcomes.append((day, name, "logged"))
                    continue
                offset = 0.0
                for topic, spot, seconds in ROTATION[n % 3]:
                    at_ = begin + timedelta(seconds=offset)
                    row = open_play(session, started_at=at_, scheduled_at=at_, topic=topic,
                                    spot=spot, title=f"Tin {spot}", path=f"{topic}/{spot}.mp3",
                                    **common)  # fmt: skip
                    close_play(session, row, at_ + timedelta(seconds=seconds), seconds,
                               "completed")  # fmt: skip
                    year.seconds[topic] = year.seconds.get(topic, 0.0) + seconds
                    year.plays[topic] = year.plays.get(topic, 0) + 1
                    offset += seconds + 1
                year.sessions_aired += 1
                year.outcomes.append((day, name, "aired"))
            if day.day == 15 and day.month % 2 == 1:
                at_ = _local(day, time(9, 30))
                row = open_play(session, station=STATION, kind="adhoc", started_at=at_,
                                scheduled_at=at_, title="Thông báo lịch tiếp công dân của UBND xã",
                                path="adhoc/tiep-dan.mp3")  # fmt: skip
                close_play(session, row, at_ + timedelta(seconds=83), 83.0, "completed")
            if day.month == 9 and day.day == 10:
                at_ = _local(day, time(22, 15))
                row = open_play(session, station=STATION, kind="emergency", started_at=at_,
                                scheduled_at=at_, title="Khẩn cấp: bão số 5 đổ bộ",
                                path="adhoc/bao-so-5.mp3")  # fmt: skip
                close_play(session, row, at_ + timedelta(seconds=126), 126.0, "completed")
            day += timedelta(days=1)
    db.close()
    engine.dispose()
    return url, year


def write_station_config(folder: Path, url: str, extra: str = "") -> Path:
    topics = "\n".join(
        f'[[topics]]\nid = "{i}"\nname = "{n}"\nweight = {w}\n' for i, n, w in TOPICS
    )
    slots = "\n".join(
        f'[[slots]]\nname = "{name}"\nstart = "{at:%H:%M}"\nlength = "10m"\ndays = "mon-sun"\n'
        for name, at in SLOTS
    )
    text = (
        textwrap.dedent(f"""
        [station]
        id = "{STATION}"
        name = "Đài Truyền thanh xã Đại Hải"
        timezone = "Asia/Ho_Chi_Minh"

        [database]
        url = "{url}"

        [report]
        parent = "UBND XÃ ĐẠI HẢI"
        symbol = "ĐTT"
        place = "Đại Hải"
        title = "TRƯỞNG ĐÀI"
        signer = "Nguyễn Văn An"
        recipients = ["Phòng Văn hóa và Thông tin huyện Trần Đề", "Thường trực Đảng ủy xã",
                      "Chủ tịch, các Phó Chủ tịch UBND xã", "Lưu: VT"]
        """)
        + extra
        + "\n"
        + topics
        + "\n"
        + slots
    )
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    url, _ = write_station_log(out / "loa.db", date(2021, 1, 1), date(2021, 12, 31),
                               off=(date(2021, 3, 8), date(2021, 3, 21)))  # fmt: skip
    print(write_station_config(out, url))

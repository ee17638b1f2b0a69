"""A bulletin that will head a slot shows in `loa playlist preview` and in `loa status`'s next
slots (title, priority, length), planned by the daemon's own rules: the ưu tiên one heads the
first slot that airs (not one in quiet hours), once; an accepted thông thường one without a topic
the same, `--times N` N slots; one not yet accepted, withdrawn or expired does not. Real SQLite file, real library scan,
the bulletin rows as the fetcher stores them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from audio_library.probe import probe
from loa.db import open_database, station_db
from scheduler import bulletin_store as store
from tests.audio_media import tone
from tests.central_support import loa


def station(tmp_path: Path) -> Path:
    for rel, freq in (("a/a1.wav", 440.0), ("a/a2.wav", 660.0)):
        (tmp_path / "lib" / rel).parent.mkdir(parents=True, exist_ok=True)
        tone(tmp_path / "lib" / rel, freq, 3.0, amp=0.3)
    config = tmp_path / "config.toml"
    config.write_text(
        """
[station]
id = "xa-thu"
name = "Đài xã Thử"
timezone = "Asia/Ho_Chi_Minh"
[library]
root = "lib"
[output]
backend = "null"
[daemon]
socket = "data/loa.sock"
[[topics]]
id = "a"
name = "Chủ đề A"
[[slots]]
name = "sang"
start = "06:00"
length = "60s"
[[slots]]
name = "chieu"
start = "17:00"
length = "60s"
""",
        "utf-8",
    )
    assert loa("--config", str(config), "library", "scan")[0] == 0
    return config


def bulletin(tmp_path: Path, bid: int, priority: str, **fields: object) -> None:
    folder = store.folder(tmp_path / "lib")
    folder.mkdir(exist_ok=True)
    path = folder / f"{bid}-000000000000.wav"
    tone(path, 1000.0, 12.0, amp=0.3)
    info = probe(path, target_lufs=-16.0)
    engine = open_database(f"sqlite:///{tmp_path / 'data' / 'loa.db'}")
    db = station_db(engine)
    store.save(
        db,
        store.Bulletin(
            id=bid, title=f"Tin {bid}", priority=priority, filename=path.name, sha256="0" * 64,
            path=f"{store.FOLDER}/{path.name}", playable_s=info.playable_s,
            trim_start_s=info.trim_start_s, gain_db=info.gain_db, received_at=store.now(),
            **fields,
        ),
    )  # fmt: skip
    db.close()
    engine.dispose()


def preview(config: Path, day: date) -> list[dict[str, object]]:
    code, out, err = loa("--config", str(config), "playlist", "preview", "--date",
                         day.isoformat(), "--days", "2", "--format", "json")  # fmt: skip
    assert code == 0, err
    return json.loads(out)


def test_the_head_bulletins_show_where_they_will_air(tmp_path: Path) -> None:
    config = station(tmp_path)
    day = date.today() + timedelta(days=1)
    before = preview(config, day)
    bulletin(tmp_path, 11, "uu-tien")
    bulletin(tmp_path, 12, "thuong", accepted_at=datetime.now(UTC))
    bulletin(tmp_path, 13, "thuong")  # waits for the operator
    bulletin(tmp_path, 14, "uu-tien", withdrawn_at=datetime.now(UTC))
    plans = preview(config, day)
    first, second = plans[0], plans[1]
    heads = [i for i in first["items"] if "bulletin" in i]
    assert [(i["bulletin"], i["priority"], i["title"]) for i in heads] == [
        (11, "uu-tien", "Tin 11"),
        (12, "thuong", "Tin 12"),
    ]
    assert first["items"][:2] == heads and 11.0 < heads[0]["duration_s"] <= 12.0
    # before the slot's spots, counted in its length
    spots = [i for i in first["items"] if "bulletin" not in i]
    heads_end = datetime.fromisoformat(heads[1]["start"]) + timedelta(seconds=11)
    assert spots and datetime.fromisoformat(spots[0]["start"]) >= heads_end
    assert first["start"] == before[0]["start"]
    assert not [i for i in second["items"] if "bulletin" in i]  # aired once: not again
    _, out, _ = loa("--config", str(config), "playlist", "preview", "--date",
                       day.isoformat())  # fmt: skip
    assert "bản tin ưu tiên" in out and "Tin 11" in out and "Tin 13" not in out


def test_times_n_heads_n_slots_and_the_status_shows_it(tmp_path: Path) -> None:
    config = station(tmp_path)
    bulletin(tmp_path, 21, "uu-tien", times=2)
    bulletin(tmp_path, 22, "uu-tien", valid_until=date.today() - timedelta(days=1))  # expired
    day = date.today() + timedelta(days=1)
    plans = preview(config, day)
    where = [(p["slot"], [i.get("bulletin") for i in p["items"] if "bulletin" in i]) for p in plans]
    assert where[:4] == [("sang", [21]), ("chieu", [21]), ("sang", []), ("chieu", [])]
    code, out, err = loa("--config", str(config), "status", "--json", "--days", "2")
    assert code == 0, err
    heads = [b for p in json.loads(out)["next"] for b in p["bulletins"]]
    assert heads and heads[0]["title"] == "Tin 21" and heads[0]["priority"] == "uu-tien"
    code, out, _ = loa("--config", str(config), "status", "--days", "2")
    assert "bản tin (bulletin) 21 [uu-tien] Tin 21, 0:1" in out

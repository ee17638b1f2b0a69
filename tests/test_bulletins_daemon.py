"""Bulletins on the real `loa run` daemon (null output on the wall clock) and a real central
PostgreSQL: each priority's rule of Thông tư 39/2020, as the station's airtime log records it
and as the district then sees it after the station's next push.

- khan-cap cuts into the slot on air, and the cut slot resumes after it;
- uu-tien heads the next slot; a withdrawn one is not aired;
- thuong waits for the operator: accepted it airs, refused it never does (the district sees both);
- a station offline when a bulletin was sent gets it on return and airs it only if still valid;
- a corrupted download is refused and fetched again.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.audio_media import tone
from tests.central_support import Relay, central, connect_as, loa, via
from tests.run_station import HCM, start_run, write_station

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def station(
    tmp_path: Path, url: str, slots: list[tuple[str, datetime, int]], quiet: str | None = None
) -> Path:
    return write_station(
        tmp_path,
        slots,
        spot_s=3.0,
        station=f'quiet_hours = "{quiet}"' if quiet else "",
        sections=f'[output]\nbackend = "null"\n[central]\nurl = "{url}"\npush_every = "2s"\n',
        slot_keys='pause = "0.5s"\n',
    )


@pytest.fixture
def run_loa() -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []

    def start(config: Path) -> subprocess.Popen[str]:
        proc = start_run(config)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
            print(out)  # shown when the test failed
            assert proc.returncode == 0, out


def rows(tmp_path: Path) -> list[dict[str, object]]:
    db = tmp_path / "data" / "loa.db"
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        found = con.execute("select * from airtime order by seq").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()
    return [dict(r) for r in found]


def until(what: Callable[[], object], timeout: float, step: float = 0.2) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s: {what}")


def local_bulletins(tmp_path: Path) -> dict[int, dict[str, object]]:
    code, out, _ = loa("--config", str(tmp_path / "config.toml"), "bulletin", "list", "--json")
    assert code == 0
    return {b["id"]: b for b in json.loads(out)}


def sent(url: str, path: Path, priority: str, *extra: str) -> int:
    code, out, err = loa("central", "--url", url, "send", str(path), "--title",
                         f"Bản tin {priority}", "--priority", priority, *extra)  # fmt: skip
    assert code == 0, err
    return int(out.split()[3].rstrip(":"))


@pytest.fixture
def district(tmp_path: Path, pg_admin_url: str) -> dict[str, str]:
    urls = central(pg_admin_url, ("xa-thu", "h-thu"))
    code, out, err = loa("central", "--url", pg_admin_url, "add-district", "h-thu", "--name", "T")
    assert code == 0, err
    tone(tmp_path / "tin.wav", 1500.0, 2.0, amp=0.3)
    return {**urls, "h-thu": out.strip(), "admin": pg_admin_url}


def test_emergency_cuts_in_the_slot_resumes_and_the_district_sees_the_airing(
    tmp_path: Path, district: dict[str, str], run_loa: Callable[[Path], subprocess.Popen[str]]
) -> None:
    start = (datetime.now(UTC) + timedelta(seconds=15)).replace(microsecond=0)
    config = station(tmp_path, district["xa-thu"], [("thu", start, 30)])
    run_loa(config)
    until(lambda: any(r["status"] == "playing" for r in rows(tmp_path)), 45, step=0.1)
    time.sleep(0.5)  # inside the slot's first spot (3 s)
    bid = sent(district["h-thu"], tmp_path / "tin.wav", "khan-cap")
    aired = until(
        lambda: [r for r in rows(tmp_path) if r["bulletin"] and r["status"] == "completed"], 30
    )
    (emergency,) = aired  # type: ignore[misc]
    assert emergency["kind"] == "emergency" and emergency["priority"] == "khan-cap"
    assert emergency["bulletin"] == str(bid) and emergency["path"].startswith(".ban-tin/")
    all_rows = rows(tmp_path)
    before = [r for r in all_rows if r["seq"] < emergency["seq"] and r["kind"] == "scheduled"]
    assert "interrupted" in [r["status"] for r in before]  # the slot was cut
    # the cut slot resumes after the bulletin
    after = until(
        lambda: [
            r
            for r in rows(tmp_path)
            if r["kind"] == "scheduled" and r["seq"] > emergency["seq"] and r["status"] != "playing"
        ],
        30,
    )
    assert after[0]["slot"] == "thu" and after[0]["status"] == "completed"  # type: ignore[index]
    assert after[0]["started_at"] >= emergency["ended_at"]  # type: ignore[index,operator]

    # the district sees the station's own measured start after the next push
    def central_airing() -> list[dict[str, object]]:
        code, out, _ = loa("central", "--url", district["h-thu"], "bulletin", str(bid), "--json")
        return json.loads(out)["stations"][0]["airings"] if code == 0 else []

    (airing,) = until(central_airing, 30)  # type: ignore[misc]
    measured = datetime.fromisoformat(str(emergency["started_at"])).replace(tzinfo=UTC)
    assert datetime.fromisoformat(airing["started_at"]) == measured
    assert airing["status"] == "completed" and airing["kind"] == "emergency"
    code, out, _ = loa("central", "--url", district["h-thu"], "bulletin", str(bid))
    assert "phát (aired)" in out and "delivered" in out
    assert loa("--config", str(config), "airtime", "verify")[0] == 0
    code, out, _ = loa("central", "--url", district["admin"], "verify")
    assert code == 0, out


def test_priority_heads_the_next_slot_and_normal_waits_for_the_operator(
    tmp_path: Path, district: dict[str, str], run_loa: Callable[[Path], subprocess.Popen[str]]
) -> None:
    first = (datetime.now(UTC) + timedelta(seconds=14)).replace(microsecond=0)
    second = first + timedelta(seconds=22)
    config = station(tmp_path, district["xa-thu"], [("mot", first, 12), ("hai", second, 12)])
    run_loa(config)
    wav = tmp_path / "tin.wav"
    head = sent(district["h-thu"], wav, "uu-tien")
    normal = sent(district["h-thu"], wav, "thuong")
    refused = sent(district["h-thu"], wav, "thuong")
    gone = sent(district["h-thu"], wav, "uu-tien")
    until(lambda: len(local_bulletins(tmp_path)) == 4, 20)
    code, out, err = loa("central", "--url", district["h-thu"], "withdraw", str(gone))
    assert code == 0, err
    until(lambda: local_bulletins(tmp_path)[gone]["withdrawn_at"], 20)
    code, out, _ = loa("--config", str(config), "status")
    assert f"bulletin waiting): {normal}" in out and f"bulletin waiting): {refused}" in out
    # slot one: the uu-tien bulletin first; the thuong ones wait; the withdrawn one never airs
    one = until(
        lambda: [r for r in rows(tmp_path) if r["slot"] == "mot" and r["status"] == "completed"]
        if datetime.now(UTC) > first + timedelta(seconds=12) else [],
        40,
    )  # fmt: skip
    assert one[0]["bulletin"] == str(head) and one[0]["priority"] == "uu-tien"  # type: ignore[index]
    assert one[0]["kind"] == "scheduled" and one[0]["topic"] is None  # type: ignore[index]
    assert [r["bulletin"] for r in one[1:]] == [None] * (len(one) - 1)  # type: ignore[index]
    assert loa("--config", str(config), "bulletin", "accept", str(normal))[0] == 0
    code, _, err = loa("--config", str(config), "bulletin", "refuse", str(refused),
                       "--reason", "trùng tin")  # fmt: skip
    assert code == 0, err
    code, _, err = loa("--config", str(config), "bulletin", "accept", str(head))
    assert code == 1 and "nothing to decide" in err
    code, _, err = loa("--config", str(config), "bulletin", "accept", str(refused))
    assert code == 1 and "already refused" in err
    # slot two: the accepted thuong bulletin heads it; the uu-tien one does not air again
    two = until(
        lambda: [r for r in rows(tmp_path) if r["slot"] == "hai" and r["status"] == "completed"]
        if datetime.now(UTC) > second + timedelta(seconds=12) else [],
        40,
    )  # fmt: skip
    assert two[0]["bulletin"] == str(normal) and two[0]["priority"] == "thuong"  # type: ignore[index]
    bulletins = [r["bulletin"] for r in rows(tmp_path) if r["bulletin"]]
    assert bulletins == [str(head), str(normal)]

    # the district sees the decisions and the airings
    def decided() -> dict[str, object]:
        out = loa("central", "--url", district["h-thu"], "bulletins", "--json")[1]
        got = {b["id"]: b for b in json.loads(out)}
        return got if got[normal]["aired"] == 1 and got[refused]["refused"] == 1 else {}

    got = until(decided, 30)
    assert got[head]["aired"] == 1 and got[gone]["aired"] == 0  # type: ignore[index]
    code, out, _ = loa("central", "--url", district["h-thu"], "bulletin", str(refused))
    assert "refused by the station" in out and "trùng tin" in out
    code, out, _ = loa("central", "--url", district["h-thu"], "bulletin", str(gone))
    assert "withdrawn" in out


def test_offline_station_gets_it_on_return_and_airs_only_what_is_still_valid(
    tmp_path: Path,
    district: dict[str, str],
    pg_server: object,
    run_loa: Callable[[Path], subprocess.Popen[str]],
) -> None:
    port = int(district["admin"].rsplit(":", 1)[1].split("/")[0])
    relay = Relay(port)
    relay.down()
    try:
        late = (datetime.now(UTC) + timedelta(hours=6)).replace(microsecond=0)
        now = datetime.now(HCM)
        quiet = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
        config = station(tmp_path, via(district["xa-thu"], relay.port), [("xa", late, 60)],
                         quiet=quiet)  # fmt: skip
        run_loa(config)
        wav = tmp_path / "tin.wav"
        yesterday = (datetime.now(HCM) - timedelta(days=1)).date().isoformat()
        valid = sent(district["h-thu"], wav, "khan-cap")
        expired = sent(district["h-thu"], wav, "khan-cap", "--until", yesterday)
        withdrawn = sent(district["h-thu"], wav, "khan-cap")
        assert loa("central", "--url", district["h-thu"], "withdraw", str(withdrawn))[0] == 0
        time.sleep(4)
        assert local_bulletins(tmp_path) == {}  # offline: nothing arrived
        relay.up = True
        # in quiet hours: only the emergency airs, and only the one still valid
        aired = until(
            lambda: [r for r in rows(tmp_path) if r["bulletin"] and r["status"] == "completed"],
            30,
        )
        assert [r["bulletin"] for r in aired] == [str(valid)]  # type: ignore[union-attr]
        held = local_bulletins(tmp_path)
        assert held[expired]["state"].startswith("hết hạn") and withdrawn not in held
        time.sleep(3)
        assert [r["bulletin"] for r in rows(tmp_path) if r["bulletin"]] == [str(valid)]
        assert not [r for r in rows(tmp_path) if r["kind"] == "scheduled"]
    finally:
        relay.close()


def test_a_corrupted_download_is_refused_and_fetched_again(
    tmp_path: Path, district: dict[str, str], run_loa: Callable[[Path], subprocess.Popen[str]]
) -> None:
    bid = sent(district["h-thu"], tmp_path / "tin.wav", "thuong")
    with connect_as(district["admin"]) as conn:
        good = conn.execute("SELECT audio FROM central.bulletin WHERE id = %s", (bid,)).fetchone()
        conn.execute(  # one byte flipped in storage: the SHA-256 no longer matches
            "UPDATE central.bulletin SET audio = set_byte(audio, 100, get_byte(audio, 100) # 1)"
        )
    late = (datetime.now(UTC) + timedelta(hours=6)).replace(microsecond=0)
    config = station(tmp_path, district["xa-thu"], [("xa", late, 60)])
    run_loa(config)

    def refused_event() -> bool:
        out = loa("--config", str(config), "status", "--json")[1]
        return any(
            "corrupted download refused" in p["message"] for p in json.loads(out)["problems"]
        )

    until(refused_event, 30)
    assert local_bulletins(tmp_path) == {}
    assert not list((tmp_path / "lib" / ".ban-tin").glob(f"{bid}-*.wav"))
    with connect_as(district["admin"]) as conn:
        conn.execute("UPDATE central.bulletin SET audio = %s WHERE id = %s", (good[0], bid))
    held = until(lambda: local_bulletins(tmp_path), 30)
    stored = tmp_path / "lib" / str(held[bid]["path"])  # type: ignore[index]
    assert stored.read_bytes() == bytes(good[0])
    until(
        lambda: (
            json.loads(loa("central", "--url", district["h-thu"], "bulletins", "--json")[1])[0][
                "delivered"
            ]
            == 1
        ),
        20,
    )

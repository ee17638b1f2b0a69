"""Pushes and bundles into a real PostgreSQL: idempotent, resumable by the chain, forks and
tampering refused whole, the roll-ups equal to the station's own report."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from central.push import push
from central.schema import latest_version
from loa.db import open_database
from scheduler.pusher import Pusher
from scheduler.station_db import StationDB
from tests.airtime_fixtures import STATION, write_config, write_log
from tests.central_support import (
    Relay,
    central,
    loa,
    scalar,
    station_config,
    via,
    write_rows,
)

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parent.parent

ROLLUP_TOPICS = """
SELECT topic, sum(plays), sum(seconds) FROM central.rollup_day
 WHERE station = %s AND kind = 'scheduled' AND status = 'completed'
   AND day BETWEEN '2021-01-01' AND '2021-12-31' GROUP BY topic
"""
DISTINCT_SPOTS = """
SELECT topic, count(DISTINCT spot) FROM central.rollup_spot_day
 WHERE station = %s AND kind = 'scheduled' AND status = 'completed'
   AND day BETWEEN '2021-01-01' AND '2021-12-31' GROUP BY topic
"""


def _rows(url: str, query: str, params: tuple) -> list[tuple]:
    from tests.central_support import connect_as

    with connect_as(url) as conn:
        return list(conn.execute(query, params))


def test_init_is_idempotent_and_refuses_a_newer_schema(pg_admin_url: str) -> None:
    for _ in range(2):
        code, out, err = loa("central", "--url", pg_admin_url, "init")
        assert code == 0, err
    assert f"phiên bản {latest_version()}" in out and "already up to date" in out
    assert "***" in out and pg_admin_url.split(":")[2].split("@")[0] not in out  # no password
    from tests.central_support import connect_as

    with connect_as(pg_admin_url) as conn:
        conn.execute("INSERT INTO central.schema_version (version, why) VALUES (99, 'future')")
    code, _out, err = loa("central", "--url", pg_admin_url, "init")
    assert code == 4 and "version 99, newer than this loa" in err
    code, _out, err = loa("central", "--url", pg_admin_url, "stations")
    assert code == 4


def test_push_is_idempotent_and_the_central_copy_verifies_and_sums_as_the_station(
    tmp_path: Path, pg_admin_url: str
) -> None:
    urls = central(pg_admin_url, (STATION, "h-thu"))
    cfg = write_config(tmp_path, write_log(tmp_path / "loa.db"))
    first = loa("--config", str(cfg), "airtime", "push", "--to", urls[STATION])
    assert first[0] == 0, first[2]
    assert "đã gửi (copied) 18 bản ghi, đã có sẵn (already there) 0" in first[1]
    assert "(open, next push) 1" in first[1]
    again = loa("--config", str(cfg), "airtime", "push", "--to", urls[STATION])
    assert "đã gửi (copied) 0 bản ghi, đã có sẵn (already there) 18" in again[1]
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 18
    # the schedule and heartbeat came with it
    version = scalar(pg_admin_url, "select loa_version from central.station_report")
    assert version
    # the roll-ups sum as the station's own report
    want = json.loads(loa("--config", str(cfg), "airtime", "report", "--period", "2021",
                          "--format", "json")[1])  # fmt: skip
    got = {t: (int(n), float(s)) for t, n, s in _rows(pg_admin_url, ROLLUP_TOPICS, (STATION,))}
    spots = dict(_rows(pg_admin_url, DISTINCT_SPOTS, (STATION,)))
    for topic in want["topics"]:
        assert got[topic["id"]][0] == topic["plays"]
        assert got[topic["id"]][1] == pytest.approx(topic["seconds"])
        assert spots[topic["id"]] == topic["items"]
    # the central chain verifies with the station's head; tampering there is found there
    code, out, _ = loa("central", "--url", pg_admin_url, "verify")
    local = loa("--config", str(cfg), "airtime", "verify")[1]
    assert code == 0 and f"{STATION}: toàn vẹn (verified), 18 bản ghi" in out
    assert out.split("head ")[1].strip() in local
    from tests.central_support import connect_as

    with connect_as(pg_admin_url) as conn:
        conn.execute("update central.airtime set title = 'sửa' where chain_seq = 3")
    code, out, _err = loa("central", "--url", pg_admin_url, "verify", "--station", STATION)
    assert code == 1 and "chain position 3" in out and "NOT verified" in out


def test_a_fork_is_refused_naming_the_row_and_nothing_is_written(
    tmp_path: Path, pg_admin_url: str
) -> None:
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    db = tmp_path / "a.db"
    cfg = station_config(tmp_path, "xa-a", write_rows(db, "xa-a", 100), urls["xa-a"])
    assert loa("--config", str(cfg), "airtime", "push")[0] == 0
    # the station's database is replaced: a new log, another history, longer than the first
    db.unlink()
    write_rows(db, "xa-a", 150)
    code, _out, err = loa("--config", str(cfg), "airtime", "push")
    assert code == 1
    assert "fork" in err and "nothing was written" in err
    assert "chain position 1:" in err and "seq 1," in err  # the first row that does not link
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 100
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_day") == 100


def test_two_stations_pushing_at_once(tmp_path: Path, pg_admin_url: str) -> None:
    urls = central(pg_admin_url, ("xa-a", "h-thu"), ("xa-b", "h-thu"))
    engines = {s: open_database(write_rows(tmp_path / f"{s}.db", s, 3000)) for s in urls}
    failures: list[BaseException] = []

    def run(station: str) -> None:
        try:
            with engines[station].connect() as source:
                push(source, urls[station], station, batch=250)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    for s in urls:
        assert scalar(pg_admin_url, "select count(*) from central.airtime where station=%s",
                      (s,)) == 3000  # fmt: skip
        assert scalar(pg_admin_url, "select sum(plays) from central.rollup_day where station=%s",
                      (s,)) == 3000  # fmt: skip
    assert loa("central", "--url", pg_admin_url, "verify")[0] == 0


def test_the_network_down_for_a_while_then_back_loses_and_doubles_nothing(
    tmp_path: Path, pg_admin_url: str
) -> None:
    port = int(pg_admin_url.rsplit(":", 1)[1].split("/")[0])
    relay = Relay(port)
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    db = tmp_path / "a.db"
    write_rows(db, "xa-a", 500)
    events: list[tuple[str, str, str]] = []
    pusher = Pusher(StationDB(db), "xa-a", via(urls["xa-a"], relay.port), 900.0,
                    event=lambda *e: events.append(e))  # fmt: skip
    try:
        assert pusher.push_once()
        relay.down()
        write_rows(db, "xa-a", 300)
        assert not pusher.push_once() and not pusher.push_once()
        assert pusher.failures == 2 and pusher.next_delay() == 20.0
        assert len([e for e in events if e[0] == "warning"]) == 1  # once per change
        cfg = station_config(tmp_path, "xa-a", f"sqlite:///{db}", urls["xa-a"])
        _code, out, _ = loa("--config", str(cfg), "status", "--json")
        state = json.loads(out)["central"]
        assert state["waiting"] == 300 and state["failures"] == 2 and state["error"]
        write_rows(db, "xa-a", 200)
        relay.up = True
        assert pusher.push_once()
        assert events[-1][0] == "info"
    finally:
        relay.close()
    _code, out, _ = loa("--config", str(cfg), "status", "--json")
    assert json.loads(out)["central"]["waiting"] == 0
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 1000
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_day") == 1000
    assert loa("central", "--url", pg_admin_url, "verify")[0] == 0


def test_a_push_killed_mid_batch_and_repeated(tmp_path: Path, pg_admin_url: str) -> None:
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    cfg = station_config(tmp_path, "xa-a", write_rows(tmp_path / "a.db", "xa-a", 30_000),
                         urls["xa-a"])  # fmt: skip
    cmd = [sys.executable, "-m", "loa", "--config", str(cfg), "airtime", "push", "--batch", "100"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    count = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and count < 2000:
        count = int(scalar(pg_admin_url, "select count(*) from central.airtime") or 0)
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    count = int(scalar(pg_admin_url, "select count(*) from central.airtime") or 0)
    assert 0 < count < 30_000 and proc.returncode == -signal.SIGKILL
    assert count % 100 == 0  # whole batches only
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_day") == count
    code, out, err = loa("--config", str(cfg), "airtime", "push")
    assert code == 0, err
    assert f"đã gửi (copied) {30_000 - count} bản ghi, đã có sẵn (already there) {count}" in out
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 30_000
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_day") == 30_000
    assert loa("central", "--url", pg_admin_url, "verify")[0] == 0


def _export(cfg: Path, period: str, out: Path) -> None:
    code, _o, err = loa("--config", str(cfg), "airtime", "export", "--period", period,
                        "--output", str(out))  # fmt: skip
    assert code == 0, err


def test_bundles_import_once_in_order_and_tampered_ones_are_refused(
    tmp_path: Path, pg_admin_url: str
) -> None:
    central(pg_admin_url, ("xa-a", "h-thu"))
    cfg = station_config(tmp_path, "xa-a", write_rows(tmp_path / "a.db", "xa-a", 1800), None)
    jan, feb = tmp_path / "jan.loa.gz", tmp_path / "feb.loa.gz"
    _export(cfg, "2021-01", jan)
    _export(cfg, "2021-02", feb)
    # February before January: a gap, refused whole
    code, _out, err = loa("central", "--url", pg_admin_url, "import", str(feb))
    assert code == 1 and "import the bundle before it first" in err
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 0
    # tampered: one title changed inside the compressed rows
    lines = gzip.decompress(jan.read_bytes()).split(b"\n")
    lines[5] = lines[5].replace(b"Tin ", b"Tun ")
    bad = tmp_path / "bad.loa.gz"
    bad.write_bytes(gzip.compress(b"\n".join(lines)))
    code, _out, err = loa("central", "--url", pg_admin_url, "import", str(bad))
    assert code == 1 and "SHA-256 does not match" in err
    # tampered with the digest recomputed: the chain refuses it, naming the row
    import hashlib

    manifest = json.loads(lines[0])
    manifest["sha256"] = hashlib.sha256(b"".join(x + b"\n" for x in lines[1:-1])).hexdigest()
    lines[0] = json.dumps(manifest).encode()
    bad.write_bytes(gzip.compress(b"\n".join(lines)))
    code, _out, err = loa("central", "--url", pg_admin_url, "import", str(bad))
    assert code == 1 and "do not link" in err and "chain position 5" in err
    # truncated (a USB stick pulled out too early)
    cut = tmp_path / "cut.loa.gz"
    cut.write_bytes(jan.read_bytes()[: len(jan.read_bytes()) // 2])
    code, _out, err = loa("central", "--url", pg_admin_url, "import", str(cut))
    assert code == 1 and "truncated" in err
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 0
    # the good ones, twice: the second time changes nothing
    code, out, err = loa("central", "--url", pg_admin_url, "import", str(jan), str(feb))
    assert code == 0, err
    assert "930 bản ghi, mới (new) 930" in out and "840 bản ghi, mới (new) 840" in out
    total = scalar(pg_admin_url, "select count(*) from central.airtime")
    assert total == 930 + 840
    code, out, err = loa("central", "--url", pg_admin_url, "import", str(jan), str(feb))
    assert code == 0 and out.count("mới (new) 0") == 2
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == total
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_day") == total
    assert loa("central", "--url", pg_admin_url, "verify")[0] == 0
    # and a push after the bundles continues the same chain
    urls_again = loa("central", "--url", pg_admin_url, "add-station", "xa-a", "--name", "A",
                     "--district", "h-thu")[1].strip()  # fmt: skip
    cfg2 = station_config(tmp_path / "s", "xa-a", f"sqlite:///{tmp_path / 'a.db'}", urls_again)
    code, out, err = loa("--config", str(cfg2), "airtime", "push")
    assert code == 0, err
    assert "đã gửi (copied) 30 bản ghi, đã có sẵn (already there) 1770" in out
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 1800

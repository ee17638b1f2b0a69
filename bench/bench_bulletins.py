"""Bulletins benchmark: from `loa central send --priority khan-cap` at the district to the first
sample at a commune's output, and the time until 100 addressed stations all have it.

1. A real `loa run` daemon (device output into the virtual PulseAudio sink, scripts/
   virtual-audio.sh) with `[central] url` on a throwaway PostgreSQL cluster (fsync on, made
   like the tests'). Each run starts a capture of the sink's monitor (tests/audio_capture.py),
   notes the wall time, runs `loa central send FILE --priority khan-cap` as a process (its
   Python start, the library's measurement of the file, the insert), and finds the first
   captured sample of the bulletin's 1 kHz tone: the latency. The daemon learns of it by
   LISTEN/NOTIFY, downloads it, checks its SHA-256, measures it, and airs it as an emergency
   (the runner places an ad hoc broadcast 1 s ahead, LEAD_S, so the device starts it exactly).
   Median and worst over --runs, with the parts: the send command, the station's `delivered`
   report at the central database, the first sample.
2. 100 stations addressed at once: 100 of the daemon's fetchers (scheduler.bulletins, each with
   its own role, LISTEN connection, SQLite database and library folder) in one process; the
   time from the start of `loa central send` until the last of them has the file stored and
   verified, and until the last `delivered` report is in the central database. All 100 share
   this machine's cores (each measures the file with ffmpeg), so this is slower than 100
   stations on their own machines.

    flock /tmp/loa-heavy.lock python bench/bench_bulletins.py [--runs 10] [--stations 100]

Needs: pulseaudio pulseaudio-utils libasound2-plugins libportaudio2, PostgreSQL server binaries.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.audio_fixture import start_virtual_audio, stop_virtual_audio  # noqa: E402
from tests.audio_media import tone  # noqa: E402
from tests.pg_fixture import libpq, start_cluster  # noqa: E402

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def loa(*args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "loa", *args], cwd=ROOT, capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise RuntimeError(f"loa {' '.join(args[:3])}: {out.stderr.strip()}")
    return out.stdout


def station_config(tmp: Path, url: str) -> Path:
    lib = tmp / "lib" / "a"
    lib.mkdir(parents=True, exist_ok=True)
    tone(lib / "a1.wav", 440.0, 3.0, amp=0.3)
    late = (datetime.now(UTC) + timedelta(hours=6)).astimezone(HCM)
    config = tmp / "config.toml"
    config.write_text(
        f"""
[station]
id = "xa-bench"
name = "Đài xã Đo"
[library]
root = "lib"
[output]
backend = "device"
device = "default"
[daemon]
socket = "data/loa.sock"
heartbeat = "1s"
[central]
url = "{url}"
push_every = "30s"
[[topics]]
id = "a"
name = "A"
[[slots]]
name = "xa"
start = "{late:%H:%M:%S}"
length = "60s"
""",
        "utf-8",
    )
    return config


def first_sample(cap: object, after: float) -> float | None:
    import numpy as np

    x = cap.x  # type: ignore[attr-defined]
    start = max(0, cap.frame_of(after))  # type: ignore[attr-defined]
    loud = np.flatnonzero(np.abs(x[start:]) > 0.05)
    return None if loud.size == 0 else cap.t_of(start + int(loud[0]))  # type: ignore[attr-defined]


def delivered_at(admin: str, bulletin: int) -> list[float]:
    with psycopg.connect(libpq(admin)) as conn:
        return [
            r[0].timestamp()
            for r in conn.execute(
                "SELECT at FROM central.bulletin_report "
                "WHERE bulletin = %s AND state = 'delivered'",
                (bulletin,),
            )
        ]


def latency(admin: str, district: str, station_url: str, runs: int, tmp: Path) -> dict:
    from tests.audio_capture import MonitorCapture

    va = tmp / "va"
    va.mkdir()
    env = {**os.environ, **start_virtual_audio(va)}
    os.environ.update(env)
    config = station_config(tmp / "station", station_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    wav = tmp / "khan-cap.wav"
    tone(wav, 1000.0, 1.0, amp=0.3)
    results = []
    try:
        time.sleep(6)  # the daemon up, its fetcher listening
        for i in range(runs):
            cap = MonitorCapture().wait_ready()
            t0 = time.time()
            out = loa("central", "--url", district, "send", str(wav), "--title", f"Khẩn {i}",
                      "--priority", "khan-cap", env=env)  # fmt: skip
            t_cmd = time.time()
            bid = int(out.split()[3].rstrip(":"))
            time.sleep(4.0)  # the airing (1 s ahead + 1 s of tone) is over by then
            got = cap.stop()
            t_first = first_sample(got, t0)
            delivered = delivered_at(admin, bid)
            if t_first is None:
                raise RuntimeError(f"run {i}: nothing sounded at the output")
            stages = stage_times(admin, tmp / "station" / "data" / "loa.db", bid, t0)
            results.append(
                {
                    "latency_s": t_first - t0,
                    "send_s": t_cmd - t0,
                    "delivered_s": (delivered[0] - t0) if delivered else None,
                    **stages,
                }
            )
            print(f"  run {i + 1}: first sample {t_first - t0:.3f} s after the send started "
                  f"(send command {t_cmd - t0:.3f} s, delivered "
                  f"{results[-1]['delivered_s']:.3f} s; stages "
                  + ", ".join(f"{k} {v:.3f}" for k, v in stages.items() if v is not None)
                  + ")", flush=True)  # fmt: skip
            time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        stop_virtual_audio(va)
    rows = sqlite_rows(tmp / "station" / "data" / "loa.db")
    lat = [r["latency_s"] for r in results]
    return {
        "runs": results,
        "median_s": statistics.median(lat),
        "worst_s": max(lat),
        "aired_rows": rows,
        "daemon_exit": proc.returncode,
    }


def stage_times(admin: str, db: Path, bulletin: int, t0: float) -> dict[str, float | None]:
    """Where the time went, each from the send's start: `inserted` (the central row's
    created_at, the send's transaction), `stored` (the station's received_at: told, downloaded,
    SHA-256 checked, written), `queued` (the emergency's scheduled_at less the runner's lead:
    measured, saved, reported, handed to the air worker), `started` (the airtime row's
    started_at: the device's first sample)."""
    import sqlite3

    with psycopg.connect(libpq(admin)) as conn:
        found = conn.execute(
            "SELECT created_at FROM central.bulletin WHERE id = %s", (bulletin,)
        ).fetchone()
    con = sqlite3.connect(db)
    try:
        got = con.execute("select received_at from bulletin where id = ?", (bulletin,)).fetchone()
        row = con.execute(
            "select scheduled_at, started_at from airtime where bulletin = ? order by seq",
            (str(bulletin),),
        ).fetchone()
    finally:
        con.close()

    def at(text: object) -> float | None:
        if text is None:
            return None
        when = datetime.fromisoformat(str(text))
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() - t0

    from scheduler import runner

    lead = getattr(runner, "EMERGENCY_LEAD_S", runner.LEAD_S)  # the emergency's lead
    queued = at(row[0]) if row else None
    return {
        "inserted": found[0].timestamp() - t0 if found else None,
        "stored": at(got[0]) if got else None,
        "queued": None if queued is None else queued - lead,
        "started": at(row[1]) if row else None,
    }


def sqlite_rows(db: Path) -> int:
    import sqlite3

    con = sqlite3.connect(db)
    try:
        return int(
            con.execute(
                "select count(*) from airtime where bulletin is not null and status = 'completed'"
            ).fetchone()[0]
        )
    finally:
        con.close()


def many(admin: str, district: str, urls: dict[str, str], tmp: Path) -> dict:
    from audio_library.probe import probe
    from loa.db import open_database, station_db
    from scheduler.bulletin_fetch import Fetcher
    from scheduler.bulletins import Board

    stored: dict[str, float] = {}
    lock = threading.Lock()
    fetchers = []
    for s, url in urls.items():
        root = tmp / "many" / s
        root.mkdir(parents=True)
        engine = open_database(f"sqlite:///{root / 'loa.db'}")
        board = Board(station_db(engine), s, lambda root=root: root, HCM)

        def measure(path: Path, s: str = s) -> object:
            with lock:
                stored.setdefault(s, time.time())
            return probe(path, target_lufs=-16.0)

        fetcher = Fetcher(board, url, measure, lambda spots: None, poll_s=30.0)
        fetchers.append(fetcher)
    for f in fetchers:
        f.start()
    time.sleep(8)  # every fetcher connected and listening
    wav = tmp / "many.wav"
    tone(wav, 1000.0, 1.0, amp=0.3)
    t0 = time.time()
    out = loa("central", "--url", district, "send", str(wav), "--title", "Khẩn cho 100 đài",
              "--priority", "khan-cap")  # fmt: skip
    bid = int(out.split()[3].rstrip(":"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(delivered_at(admin, bid)) < len(urls):
        time.sleep(0.1)
    reports = delivered_at(admin, bid)
    for f in fetchers:
        f.stop()
    return {
        "stations": len(urls),
        "delivered": len(reports),
        "last_stored_s": max(stored.values()) - t0 if stored else None,
        "first_stored_s": min(stored.values()) - t0 if stored else None,
        "last_delivered_s": max(reports) - t0 if reports else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--stations", type=int, default=100)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-latency", action="store_true", help="only the 100 stations")
    parser.add_argument("--skip-many", action="store_true", help="only the latency runs")
    args = parser.parse_args()
    # a SIGTERM (timeout) still stops the cluster and removes the folders
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    from central.roles import add_district, add_station
    from central.schema import init

    cluster = start_cluster(fsync=True)
    tmp = Path(tempfile.mkdtemp(prefix="loa-bench-bulletins-"))
    try:
        with psycopg.connect(libpq(cluster.url), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench_bulletins")
            version = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
        admin = cluster.url.rsplit("/", 1)[0] + "/bench_bulletins"
        init(admin)
        district = add_district(admin, "h-bench", "Huyện Đo").url
        one = add_station(admin, "xa-bench", "Đài xã Đo", "h-bench").url
        print(f"PostgreSQL {version}, fsync on, {os.cpu_count()} cores")
        first: dict = {}
        if not args.skip_latency:
            print(f"1. khan-cap, send -> first sample at the output, {args.runs} runs:")
            first = latency(admin, district, one, args.runs, tmp)
            print(f"   median {first['median_s']:.3f} s, worst {first['worst_s']:.3f} s "
                  f"(target <= 5 s); {first['aired_rows']} airings logged")  # fmt: skip
        if args.skip_many:
            if args.json:
                args.json.write_text(json.dumps({"latency": first}, indent=1))
            return
        # the many: their own district so the first station is not addressed again
        d2 = add_district(admin, "h-many", "Huyện Nhiều").url
        urls = {
            f"xa-{i:03d}": add_station(admin, f"xa-{i:03d}", f"Xã {i}", "h-many").url
            for i in range(args.stations)
        }
        print(f"2. one khan-cap bulletin to {args.stations} stations:")
        second = many(admin, d2, urls, tmp)
        print(f"   first has it {second['first_stored_s']:.2f} s, the last has it (stored, "
              f"SHA-256 checked) {second['last_stored_s']:.2f} s, last `delivered` report "
              f"{second['last_delivered_s']:.2f} s ({second['delivered']} of "
              f"{second['stations']})")  # fmt: skip
        if args.json:
            args.json.write_text(json.dumps({"latency": first, "many": second}, indent=1))
    finally:
        cluster.stop("fast")
        shutil.rmtree(cluster.base, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

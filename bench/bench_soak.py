"""Soak benchmark: memory and open files of a real `loa run` over hours of playout.

A station whose slots follow each other all along the run (58 s of every minute) airs tone
spots of 7-13 s through the file output (real decoding by mpg123 or ffmpeg, the wall clock,
the WAV file growing as a recorder on the line output would). Every `--every` seconds the
daemon's RSS (VmRSS), its open file descriptors (/proc/PID/fd), its threads and its decoder
children are sampled. Reported: first sample after the first slot, last sample, the maximum,
the growth per hour of RSS (least squares over the samples after the first 10 minutes, or
after the first third of a shorter run), and the airtime rows written.

    python bench/bench_soak.py [--minutes 120] [--every 30] [--json results.json]

The issue asks for 2 hours; BENCHMARKS.md says for how long the recorded run went.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def sample(pid: int) -> dict[str, Any]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    children = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            decoder = "ffmpeg" in stat or "mpg123" in stat
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and decoder:
                children += 1
    return {
        "t": time.time(),
        "rss_kib": int(fields["VmRSS"].split()[0]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(fields["Threads"]),
        "decoders": children,
    }


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    den = sum((t - mx) ** 2 for t, _ in points)
    return 0.0 if den == 0 else sum((t - mx) * (v - my) for t, v in points) / den * 3600


def station(root: Path, minutes: int) -> Path:
    from tests.audio_media import tone

    for topic in ("a", "b"):
        (root / "lib" / topic).mkdir(parents=True)
        for i in range(6):
            tone(root / "lib" / topic / f"{topic}{i}.wav", 300 + 60 * i, 7 + i, amp=0.3)
    first = (datetime.now(UTC) + timedelta(seconds=20)).replace(second=0, microsecond=0)
    first += timedelta(minutes=1)
    slots = "".join(
        f'[[slots]]\nname = "m{i:03d}"\n'
        f'start = "{(first + timedelta(minutes=i)).astimezone(HCM):%H:%M:%S}"\nlength = "58s"\n'
        for i in range(minutes + 1)
    )
    config = root / "config.toml"
    config.write_text(
        f"""
[station]
id = "xa-thu"
name = "Đài xã Thử"
timezone = "Asia/Ho_Chi_Minh"
[library]
root = "lib"
[output]
backend = "file"
path = "data/air.wav"
[daemon]
socket = "data/loa.sock"
heartbeat = "5s"
[[topics]]
id = "a"
name = "A"
[[topics]]
id = "b"
name = "B"
{slots}""",
        "utf-8",
    )
    return config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=int, default=120)
    ap.add_argument("--every", type=float, default=30.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="loa-soak-") as tmp:
        root = Path(tmp)
        config = station(root, args.minutes)
        log = open(root / "run.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "loa", "--config", str(config), "run"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        samples: list[dict[str, Any]] = []
        began = time.time()
        try:
            time.sleep(90)  # start-up, then the first slot under way
            end = began + 80 + args.minutes * 60
            while time.time() < end and proc.poll() is None:
                samples.append(sample(proc.pid))
                time.sleep(args.every)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            log.close()
        con = sqlite3.connect(root / "data" / "loa.db")
        statuses = dict(con.execute("select status, count(*) from airtime group by status"))
        con.close()
        hours = (samples[-1]["t"] - samples[0]["t"]) / 3600 if samples else 0.0
        warm = samples[0]["t"] + min(600.0, (samples[-1]["t"] - samples[0]["t"]) / 3)
        steady = [(s["t"], s["rss_kib"]) for s in samples if s["t"] >= warm]
        result = {
            "played_h": round(hours, 3),
            "samples": len(samples),
            "rows": statuses,
            "rss_kib": {
                "first": samples[0]["rss_kib"],
                "last": samples[-1]["rss_kib"],
                "max": max(s["rss_kib"] for s in samples),
                "growth_per_h": round(slope_per_hour(steady)),
            },
            "fds": {
                "first": samples[0]["fds"],
                "last": samples[-1]["fds"],
                "max": max(s["fds"] for s in samples),
            },
            "threads": {"first": samples[0]["threads"], "max": max(s["threads"] for s in samples)},
            "decoders_max": max(s["decoders"] for s in samples),
            "exit_code": proc.returncode,
        }
        print(json.dumps(result, indent=1))
        if args.json:
            args.json.write_text(json.dumps({**result, "series": samples}, indent=1))


if __name__ == "__main__":
    main()

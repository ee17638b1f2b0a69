"""Relay slots (tiếp sóng): placement, drop gaps, CPU and memory; side by side with Liquidsoap.

Everything real and local: a private PulseAudio null sink (tests/audio_fixture.py) recorded
from its monitor (tests/audio_capture.py), an icecast2 of its own fed by ffmpeg with the known
tone sequence (tests/stream_fixture.py), loa's device output and runner with a relay slot.

- timing: `--runs` relay slots of 6 s: the first relayed sample on the monitor vs the slot's
  instant (target within 20 ms, as the spots), and the relay row's measured start vs it.
- drop: one 24 s relay slot (source_timeout 2 s, fallback spots of 3 s): icecast2 is killed
  4 s in and started again (with its feeder) 9 s in. Measured on the monitor: the silence at
  the drop (stream gone -> the first fallback sample), the silence at the resume (fallback ->
  stream); from the rows: the drop's length and the fallback's start after the drop.
- soak: one relay slot of `--soak-minutes`: CPU (% of one core, loa's process + its ffmpeg)
  and RSS sampled every 10 s; growth = last minute's mean RSS - first minute's.
- liquidsoap: Liquidsoap relaying the same stream (input.http -> output.pulseaudio) to the
  same sink for `--liq-seconds`: CPU and RSS the same way (Liquidsoap starts a stream when it
  connects; it has no slot instant to place its first sample on).

    flock /tmp/loa-heavy.lock .venv/bin/python bench/bench_relay.py --only timing,drop,liquidsoap
    nice .venv/bin/python bench/bench_relay.py --only soak --soak-minutes 30
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_playout import tree  # the process tree, as the playout bench reads it

from tests.airlog_engine import engine_of

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
TICK = os.sysconf("SC_CLK_TCK")


def ticks_rss(pids: list[int]) -> tuple[int, int]:
    """utime+stime ticks and RSS (kB) summed over pids (vanished ones skipped)."""
    ticks = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/status") as f:
                rss += next(int(x.split()[1]) for x in f if x.startswith("VmRSS:"))
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, StopIteration):
            continue
    return ticks, rss


def sample(pid: int, seconds: float, every: float = 10.0, skip: set[int] | None = None) -> dict:
    """CPU % of one core and RSS of pid's tree (minus `skip`), sampled every `every` s."""
    skip = skip or set()
    rows: list[tuple[float, float, int]] = []
    t_prev, (c_prev, _) = time.monotonic(), ticks_rss([p for p in tree(pid) if p not in skip])
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(min(every, max(0.1, end - time.monotonic())))
        t = time.monotonic()
        c, rss = ticks_rss([p for p in tree(pid) if p not in skip])
        rows.append((t - (end - seconds), 100.0 * (c - c_prev) / TICK / (t - t_prev), rss))
        t_prev, c_prev = t, c
    cpu = [r[1] for r in rows]
    rss = [r[2] for r in rows]
    n = max(1, round(60 / every))
    return {
        "seconds": seconds,
        "cpu_mean_pct": round(float(np.mean(cpu)), 2),
        "cpu_max_pct": round(float(np.max(cpu)), 2),
        "rss_first_min_kb": round(float(np.mean(rss[:n]))),
        "rss_last_min_kb": round(float(np.mean(rss[-n:]))),
        "rss_max_kb": max(rss),
        "rss_growth_kb": round(float(np.mean(rss[-n:]) - np.mean(rss[:n]))),
        "rss_per_minute_kb": [round(float(np.mean(rss[i : i + n]))) for i in range(0, len(rss), n)],
    }


def relay_runner(out: Any, url: str, length_s: float, work: Path, **kw: Any) -> tuple:
    from loa.db import open_database, station_db
    from scheduler.airlog import AirLog
    from scheduler.clock import SystemClock
    from scheduler.relay import CONNECT_S
    from scheduler.runner import Runner
    from scheduler.slots import Occurrence
    from scheduler.spec import RelaySpec, SlotSpec, StationSpec

    engine = open_database(f"sqlite:///{tempfile.mkdtemp(dir=work)}/loa.db")
    at = datetime.now(HCM).replace(microsecond=0) + timedelta(seconds=CONNECT_S + 2)
    relay = RelaySpec("vov1", "VOV1", url, kw.pop("fallback", "silence"), kw.pop("timeout", 10.0))
    slot = SlotSpec("thoi-su", at.time(), length_s, topics=("chi-so",), relay=relay)
    station = StationSpec(id="xa", name="Xã", tz=HCM, weights={"chi-so": 1}, slots=(slot,))
    airlog = AirLog(station_db(engine), station.id)
    spots = kw.pop("spots", [])
    runner = Runner(station, airlog, out, SystemClock(), spots=lambda: spots)
    return runner, Occurrence(at, slot), airlog


def all_rows(airlog: Any) -> list[Any]:
    from sqlmodel import Session, select

    from airtime.models import Airtime

    with Session(engine_of(airlog)) as s:
        return list(s.exec(select(Airtime).order_by(Airtime.started_at)))  # type: ignore[arg-type]


def silences(x: np.ndarray, rate: int, thr: float = 0.02, min_s: float = 0.05) -> list[tuple]:
    """(start frame, length s) of every quiet run longer than min_s."""
    quiet = np.abs(x) <= thr
    d = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(int(a), (b - a) / rate) for a, b in zip(starts, ends, strict=True)
            if (b - a) / rate >= min_s]  # fmt: skip


def timing(out: Any, feeder: Any, runs: int, work: Path) -> dict:
    from tests.audio_capture import MonitorCapture, sounding

    firsts, rows_ms = [], []
    for _ in range(runs):
        runner, occ, airlog = relay_runner(out, feeder.url, 6.0, work)
        cap_run = MonitorCapture().wait_ready()
        runner.air_slot(occ)
        time.sleep(0.3)
        cap = cap_run.stop()
        first, _ = sounding(cap.x)
        at = occ.at.timestamp()
        firsts.append((cap.t_of(first) - at) * 1000)
        relay = [r for r in all_rows(airlog) if r.kind == "relay"]
        rows_ms.append((relay[0].started_at.timestamp() - at) * 1000)
    return {
        "runs": runs,
        "first_sample_ms": [round(v, 1) for v in firsts],
        "first_sample_worst_abs_ms": round(max(abs(v) for v in firsts), 1),
        "row_start_worst_abs_ms": round(max(abs(v) for v in rows_ms), 2),
    }


def drop(out: Any, work: Path) -> dict:
    from scheduler.spec import Spot
    from tests.audio_capture import MonitorCapture
    from tests.audio_media import tone
    from tests.stream_fixture import Feeder, IcecastServer

    path = tone(work / "fb.wav", 300.0, 3.0)
    spots = [Spot(f"fb{i}", "chi-so", f"chi-so/fb{i}.wav", path, f"fb {i}", 3.0) for i in range(8)]
    server = IcecastServer()
    feeder = Feeder(server, mount="/vov1.mp3")
    try:
        runner, occ, airlog = relay_runner(
            out, feeder.url, 24.0, work, fallback="spots", timeout=2.0, spots=spots
        )
        cap_run = MonitorCapture().wait_ready()
        thread = threading.Thread(target=runner.air_slot, args=(occ,))
        thread.start()
        at = occ.at.timestamp()
        time.sleep(max(0.0, at + 4 - time.time()))
        server.kill()
        time.sleep(max(0.0, at + 9 - time.time()))
        server.start()
        feeder.start()
        back = time.time()
        thread.join(60)
        time.sleep(0.3)
        cap = cap_run.stop()
    finally:
        feeder.stop()
        server.close()
    got = all_rows(airlog)
    d = next(r for r in got if r.kind == "relay" and r.status == "failed")
    fb = [r for r in got if r.kind == "scheduled"]
    d0, d1 = d.started_at.timestamp(), d.ended_at.timestamp()
    quiet = [(cap.t_of(a), s) for a, s in silences(cap.x, cap.rate)]
    at_drop = max((s for t, s in quiet if d0 - 0.5 <= t <= d0 + 2.5), default=0.0)
    at_resume = max((s for t, s in quiet if d1 - 0.5 <= t <= d1 + 0.5), default=0.0)
    return {
        "drop_length_s": round(d1 - d0, 3),
        "server_back_to_relay_s": round(d1 - back, 3),
        "fallback_start_after_drop_s": round(fb[0].started_at.timestamp() - d0, 3) if fb else None,
        "silence_at_drop_s": round(at_drop, 3),
        "silence_at_resume_s": round(at_resume, 3),
        "fallback_spots": len(fb),
    }


def soak(out: Any, feeder: Any, minutes: float, work: Path) -> dict:
    runner, occ, _ = relay_runner(out, feeder.url, minutes * 60 + 5, work)
    thread = threading.Thread(target=runner.air_slot, args=(occ,), daemon=True)
    thread.start()
    time.sleep(max(0.0, occ.at.timestamp() + 3 - time.time()))
    # loa's process and its children, but not the stream server and its feeder
    skip = set(tree(feeder.server.proc.pid)) if getattr(feeder.server, "proc", None) else set()
    skip |= set(tree(feeder.proc.pid))
    result = sample(os.getpid(), minutes * 60, skip=skip)
    thread.join(30)
    return result


LIQ = """
settings.init.allow_root.set(true)
settings.log.stdout.set(false)
settings.log.file.set(false)
s = input.http("{url}")
output.pulseaudio(mksafe(s))
"""


def liquidsoap(url: str, seconds: float, work: Path) -> dict:
    script = work / "relay.liq"
    script.write_text(LIQ.format(url=url))
    proc = subprocess.Popen(
        ["liquidsoap", str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(5)
        if proc.poll() is not None:
            raise RuntimeError("liquidsoap exited")
        return sample(proc.pid, seconds)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="timing,drop,soak,liquidsoap")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--soak-minutes", type=float, default=30.0)
    ap.add_argument("--liq-seconds", type=float, default=120.0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    parts = args.only.split(",")
    from tests.audio_fixture import start_virtual_audio, stop_virtual_audio
    from tests.stream_fixture import Feeder, IcecastServer

    va_dir = Path(tempfile.mkdtemp(prefix="loa-bench-relay-audio-"))
    os.environ.update(start_virtual_audio(va_dir))  # before any PortAudio use
    work = Path(tempfile.mkdtemp(prefix="loa-bench-relay-"))
    from scheduler.output import open_output

    server = IcecastServer()
    feeder = Feeder(server, mount="/tones.mp3")
    out = open_output("device", device="default")
    results: dict[str, Any] = {}
    try:
        if "timing" in parts:
            results["timing"] = timing(out, feeder, args.runs, work)
            print(json.dumps({"timing": results["timing"]}), flush=True)
        if "drop" in parts:
            results["drop"] = drop(out, work)
            print(json.dumps({"drop": results["drop"]}), flush=True)
        if "liquidsoap" in parts:
            results["liquidsoap"] = liquidsoap(feeder.url, args.liq_seconds, work)
            print(json.dumps({"liquidsoap": results["liquidsoap"]}), flush=True)
            if "soak" not in parts:  # loa over the same window, for the side by side
                results["loa_same_window"] = soak(out, feeder, args.liq_seconds / 60, work)
                print(json.dumps({"loa_same_window": results["loa_same_window"]}), flush=True)
        if "soak" in parts:
            results["soak"] = soak(out, feeder, args.soak_minutes, work)
            print(json.dumps({"soak": results["soak"]}), flush=True)
    finally:
        out.close()
        feeder.stop()
        server.close()
        stop_virtual_audio(va_dir)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

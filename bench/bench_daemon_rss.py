"""RSS and PSS of the whole `loa run` daemon (device output) and its decoders while a slot airs.

A station in a fresh directory (6 mp3 spots of 20 s in 2 topics, device output on a private
PulseAudio null sink), `loa run --demo` (a 1-minute slot 20 s after the start); sampled 15 s
after the start (nothing on air) and 27 s after it (the slot airing): VmRSS and PSS of the
daemon and of each child.

    python bench/bench_daemon_rss.py [--root DIR]

Needs: pulseaudio pulseaudio-utils libasound2-plugins libportaudio2 (Debian).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_playout import pss, ticks_rss, tree  # noqa: E402
from bench.bench_status import CONFIG  # noqa: E402


def sample(pid: int) -> str:
    parts, rss_kb, pss_kb = [], 0, 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/comm") as f:
                comm = f.read().strip()
            r, s = ticks_rss(p)[1], pss(p)
        except (OSError, StopIteration):
            continue
        rss_kb, pss_kb = rss_kb + r, pss_kb + s
        parts.append(f"{comm} {r / 1024:.1f}")
    return f"RSS {rss_kb / 1024:.1f} MB, PSS {pss_kb / 1024:.1f} MB ({'; '.join(parts)})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=ROOT, help="the loa checkout to run")
    args = ap.parse_args()
    from tests.audio_fixture import start_virtual_audio, stop_virtual_audio
    from tests.audio_media import tone

    va = Path(tempfile.mkdtemp(prefix="loa-bench-audio-"))
    work = Path(tempfile.mkdtemp(prefix="loa-bench-daemon-"))
    env = dict(os.environ, **start_virtual_audio(va), PYTHONPATH=str(args.root.resolve()))
    try:
        for i, topic in enumerate(["tin", "tin", "tin", "dich-vu-cong", "dich-vu-cong", "tin"]):
            (work / "lib" / topic).mkdir(parents=True, exist_ok=True)
            tone(work / "lib" / topic / f"spot{i}.mp3", 300 + 100 * i, 20.0, rate=44100)
        config = work / "config.toml"
        config.write_text(CONFIG.replace('backend = "null"', 'backend = "device"'), "utf-8")
        loa = [sys.executable, "-m", "loa", "--config", str(config)]
        scan = [*loa, "library", "scan"]
        subprocess.run(scan, env=env, capture_output=True, check=True, cwd=work)
        daemon = subprocess.Popen(
            [*loa, "run", "--demo"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=work,  # so that `-m loa` is the one on PYTHONPATH (--root)
        )
        try:
            time.sleep(15)
            print(f"{args.root}: nothing on air: {sample(daemon.pid)}")
            time.sleep(12)
            print(f"{args.root}: a slot airing: {sample(daemon.pid)}")
            print(f"load (1 min) {os.getloadavg()[0]:.2f}")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(30)
    finally:
        stop_virtual_audio(va)


if __name__ == "__main__":
    main()

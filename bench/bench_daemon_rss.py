"""RSS and PSS of the whole `loa run` daemon (device output) and its decoders while a slot airs.

A station in a fresh directory (6 mp3 spots of 20 s in 2 topics, device output on a private
PulseAudio null sink), `loa run --demo` (a 1-minute slot 20 s after the start); sampled 15 s
after the start (nothing on air) and 27 s after it (the slot airing): VmRSS and PSS of the
daemon and of each child.

With `--modules`: also what each package the daemon has imported by then costs. The daemon
writes its `sys.modules` (in import order) when it gets SIGUSR1 at the airing sample; a fresh
interpreter then imports them in that order and charges each package the RSS its own module
bodies added, less what the packages they imported added (exclusive, as `-X importtime`
charges time). PortAudio's device scan is left out (it needs the sound server; the daemon
line shows it).

With `--central`: the station has a `[central] url` (a closed port on this machine), so the
daemon also holds the bulletin fetcher's client (psycopg) and starts a push child at each try.

With `--minutes N`: one N-minute mp3 airs in an (N+1)-minute slot that starts 30 s after the
daemon; the tree is sampled 30 s into the slot and every 5 minutes until its end (the
issue's "flat over a 60-minute file": `--minutes 60`).

    python bench/bench_daemon_rss.py [--root DIR] [--modules] [--central closed|live] [--minutes N]

Needs: pulseaudio pulseaudio-utils libasound2-plugins libportaudio2 (Debian).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
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

from bench.bench_playout import pss, ticks_rss, tree  # noqa: E402
from bench.bench_status import CONFIG  # noqa: E402

# `python -c WRAPPED loa ...`: the loa command, writing its modules to $LOA_BENCH_MODULES on
# SIGUSR1
WRAPPED = """
import os, runpy, signal, sys
def dump(*_):
    with open(os.environ["LOA_BENCH_MODULES"], "w") as f:
        f.write("\\n".join(sys.modules))
signal.signal(signal.SIGUSR1, dump)
sys.argv = sys.argv[1:]
runpy.run_module("loa", run_name="__main__", alter_sys=True)
"""

# run in a fresh interpreter: import the modules of argv[1] in order, print JSON of
# {package: exclusive MB}
CHARGE = """
import importlib, importlib.abc, json, sys
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1048576
stack, cost = [], {}
class Charge(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is None:
                continue
            loader = spec.loader
            if loader is not None and hasattr(loader, "exec_module"):
                run = loader.exec_module
                def exec_module(module, run=run, top=name.split(".")[0]):
                    stack.append(0.0)
                    before = rss()
                    try:
                        run(module)
                    finally:
                        added, inner = rss() - before, stack.pop()
                        cost[top] = cost.get(top, 0.0) + added - inner
                        if stack:
                            stack[-1] += added
                try:
                    loader.exec_module = exec_module
                except (AttributeError, TypeError):
                    pass
            return spec
        return None
sys.meta_path.insert(0, Charge())
start = rss()
for name in open(sys.argv[1]).read().split():
    if name.startswith("__") or name in ("sounddevice", "_sounddevice"):
        continue
    try:
        importlib.import_module(name)
    except Exception:
        pass
cost["(interpreter)"] = start
cost["(total)"] = rss()
print(json.dumps(cost))
"""


def charge_modules(modules: Path, root: Path) -> dict[str, float]:
    """{top-level package: exclusive MB} importing `modules` in order in a fresh interpreter."""
    env = dict(os.environ, PYTHONPATH=str(root.resolve()))
    out = subprocess.run(
        [sys.executable, "-c", CHARGE, str(modules)],
        env=env, capture_output=True, text=True, check=True, cwd=modules.parent,
    )  # fmt: skip
    return json.loads(out.stdout)


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


def live_central() -> tuple[Any, str]:
    """A throwaway cluster holding loa's central schema, a district and station xa-thu: the
    cluster and the station's URL (its own role)."""
    import psycopg

    from central.roles import add_district, add_station
    from central.schema import init
    from tests.pg_fixture import libpq, start_cluster

    cluster = start_cluster(fsync=True)
    with psycopg.connect(libpq(cluster.url), autocommit=True) as conn:
        conn.execute("CREATE DATABASE bench_rss")
    admin = cluster.url.rsplit("/", 1)[0] + "/bench_rss"
    init(admin)
    add_district(admin, "h-bench", "Huyện Đo")
    return cluster, add_station(admin, "xa-thu", "Đài xã Thử", "h-bench").url


def long_file(pid: int, root: Path, slot_at: datetime, minutes: int) -> None:
    """Samples while one `minutes`-long file airs: 30 s in, then every 5 minutes."""
    marks = [0.5, *range(5, minutes, 5), minutes - 0.5]
    for mark in marks:
        wait = (slot_at + timedelta(minutes=mark) - datetime.now(UTC)).total_seconds()
        time.sleep(max(0.0, wait))
        print(f"{root}: {mark:4.1f} min into the file: {sample(pid)}", flush=True)
    print(f"load (1 min) {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=ROOT, help="the loa checkout to run")
    ap.add_argument("--modules", action="store_true", help="what each imported package costs")
    ap.add_argument("--central", choices=("closed", "live"), help="with a [central] url")
    ap.add_argument("--minutes", type=int, default=0, help="one N-minute file in one slot")
    args = ap.parse_args()
    from tests.audio_fixture import start_virtual_audio, stop_virtual_audio
    from tests.audio_media import tone

    va = Path(tempfile.mkdtemp(prefix="loa-bench-audio-"))
    work = Path(tempfile.mkdtemp(prefix="loa-bench-daemon-"))
    modules = work / "modules.txt"
    env = dict(
        os.environ,
        **start_virtual_audio(va),
        PYTHONPATH=str(args.root.resolve()),
        LOA_BENCH_MODULES=str(modules),
    )
    cluster: tuple[Any, str] | None = None
    try:
        config = work / "config.toml"
        text = CONFIG.replace('backend = "null"', 'backend = "device"')
        slot_at = datetime.now(UTC)
        if args.minutes:
            (work / "lib" / "tin").mkdir(parents=True)
            tone(work / "lib" / "tin" / "long.mp3", 440, 60.0 * args.minutes, rate=44100)
            text = text[: text.index("[[slots]]")] + (
                f'[[slots]]\nname = "dai"\nstart = "00:00:00"\n'
                f'length = "{args.minutes + 1}m"\ntopics = ["tin"]\n'
            )
        else:
            for i, topic in enumerate(["tin", "tin", "tin", "dich-vu-cong", "dich-vu-cong", "tin"]):
                (work / "lib" / topic).mkdir(parents=True, exist_ok=True)
                tone(work / "lib" / topic / f"spot{i}.mp3", 300 + 100 * i, 20.0, rate=44100)
        if args.central == "closed":
            with socket.socket() as probe:  # a port nobody listens on
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            text += f'[central]\nurl = "postgresql://loa:pw@127.0.0.1:{port}/loa"\n'
        elif args.central == "live":
            cluster = live_central()
            text += f'[central]\nurl = "{cluster[1]}"\npush_every = "10s"\n'
        config.write_text(text, "utf-8")
        loa = [sys.executable, "-m", "loa", "--config", str(config)]
        scan = [*loa, "library", "scan"]
        subprocess.run(scan, env=env, capture_output=True, check=True, cwd=work)
        if args.minutes:  # the slot starts 30 s after the daemon (the scan took its time)
            slot_at = datetime.now(UTC) + timedelta(seconds=30)
            local = slot_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
            text = re.sub(r'start = "[0-9:]+"', f'start = "{local:%H:%M:%S}"', text)
            config.write_text(text, "utf-8")
        run = [sys.executable, "-c", WRAPPED, *loa[2:]] if args.modules else loa
        daemon = subprocess.Popen(
            [*run, "run", *([] if args.minutes else ["--demo"])],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=work,  # so that `-m loa` is the one on PYTHONPATH (--root)
        )
        try:
            if args.minutes:
                long_file(daemon.pid, args.root, slot_at, args.minutes)
                return
            time.sleep(15)
            print(f"{args.root}: nothing on air: {sample(daemon.pid)}")
            time.sleep(12)
            print(f"{args.root}: a slot airing: {sample(daemon.pid)}")
            print(f"load (1 min) {os.getloadavg()[0]:.2f}")
            if args.modules:
                daemon.send_signal(signal.SIGUSR1)
                time.sleep(1)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(30)
        if args.modules:
            cost = charge_modules(modules, args.root)
            names = modules.read_text().split()
            print(f"{len(names)} modules; in a fresh interpreter, without PortAudio's scan: "
                  f"{cost.pop('(total)'):.1f} MB RSS, {cost.pop('(interpreter)'):.1f} of it "
                  "the interpreter's start; exclusive MB by package:")  # fmt: skip
            for top, mb in sorted(cost.items(), key=lambda kv: -kv[1])[:16]:
                count = sum(1 for n in names if n.split(".")[0] == top)
                print(f"  {mb:5.1f}  {top} ({count} modules)")
    finally:
        stop_virtual_audio(va)
        if cluster is not None:
            cluster[0].stop("fast")
            shutil.rmtree(cluster[0].base, ignore_errors=True)


if __name__ == "__main__":
    main()

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

    python bench/bench_daemon_rss.py [--root DIR] [--modules]

Needs: pulseaudio pulseaudio-utils libasound2-plugins libportaudio2 (Debian).
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=ROOT, help="the loa checkout to run")
    ap.add_argument("--modules", action="store_true", help="what each imported package costs")
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
    try:
        for i, topic in enumerate(["tin", "tin", "tin", "dich-vu-cong", "dich-vu-cong", "tin"]):
            (work / "lib" / topic).mkdir(parents=True, exist_ok=True)
            tone(work / "lib" / topic / f"spot{i}.mp3", 300 + 100 * i, 20.0, rate=44100)
        config = work / "config.toml"
        config.write_text(CONFIG.replace('backend = "null"', 'backend = "device"'), "utf-8")
        loa = [sys.executable, "-m", "loa", "--config", str(config)]
        scan = [*loa, "library", "scan"]
        subprocess.run(scan, env=env, capture_output=True, check=True, cwd=work)
        run = [sys.executable, "-c", WRAPPED, *loa[2:]] if args.modules else loa
        daemon = subprocess.Popen(
            [*run, "run", "--demo"],
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


if __name__ == "__main__":
    main()

"""How long `loa status` takes, with the daemon running and with none (hyperfine-like).

A station in a fresh directory (null output, 2 topics, 6 short spots scanned), `loa run` in the
background, then `loa status` N times in fresh interpreters (bytecode cached by a first run):
wall time of each run and its CPU time (user + system, from the children's rusage); then the
daemon is stopped and the same N runs read the database instead; then the same N runs again
after two bulletins are put in the database (a station whose district has sent some).

    python bench/bench_status.py [--runs 20] [--root DIR] [--json out.json]

--root runs another checkout of loa (e.g. `git archive <commit> | tar -x -C DIR`) with this
interpreter, to measure a version before a change side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIG = """
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
id = "tin"
name = "Tin tức"
[[topics]]
id = "dich-vu-cong"
name = "Dịch vụ công"
[[slots]]
name = "sang"
start = "06:00"
length = "10m"
[[slots]]
name = "chieu"
start = "17:00"
length = "10m"
"""


def station(work: Path) -> Path:
    from tests.audio_media import tone

    for i, topic in enumerate(["tin", "tin", "tin", "dich-vu-cong", "dich-vu-cong", "tin"]):
        folder = work / "lib" / topic
        folder.mkdir(parents=True, exist_ok=True)
        tone(folder / f"spot{i}.wav", 300 + 100 * i, 2.0)
    config = work / "config.toml"
    config.write_text(CONFIG, "utf-8")
    return config


def loa(env: dict[str, str], config: Path, *args: str, **kw: Any) -> Any:
    cmd = [sys.executable, "-m", "loa", "--config", str(config), *args]
    # cwd: the station's directory, so that `-m loa` finds loa on PYTHONPATH (--root), not in
    # the directory the bench was started from
    return subprocess.run(
        cmd, env=env, capture_output=True, text=True, check=True, cwd=config.parent, **kw
    )


def hold_bulletins(database: Path) -> None:
    """Two bulletins as the fetcher stores them (an ưu tiên one heading the next slot, a thông
    thường one waiting for the operator): most stations hold some once their district sends."""
    from tests.bulletin_rows import put_bulletins

    put_bulletins(database, [(1, "Bản tin", "uu-tien"), (2, "Bản tin", "thuong")])


def runs(env: dict[str, str], config: Path, n: int) -> dict[str, Any]:
    loa(env, config, "status")  # bytecode cached, files in the page cache
    walls, cpus = [], []
    for _ in range(n):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        out = loa(env, config, "status").stdout
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        )  # fmt: skip
    return {
        "wall_s": {"median": statistics.median(walls), "min": min(walls), "max": max(walls)},
        "cpu_s": {"median": statistics.median(cpus), "min": min(cpus), "max": max(cpus)},
        "load_1min": os.getloadavg()[0],
        "first_line": out.splitlines()[1] if len(out.splitlines()) > 1 else out,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--root", type=Path, default=ROOT, help="the loa checkout to run")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--no-bytecode",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE from the environment (loa's sources compiled on "
        "every run)",
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="loa-bench-status-"))
    env = dict(os.environ, PYTHONPATH=str(args.root.resolve()))
    if not args.no_bytecode:
        # An installed loa has its bytecode (pip compiles it at install); a checkout run with
        # PYTHONDONTWRITEBYTECODE=1 (as this sandbox sets it) recompiles its ~40 modules on
        # every start (~0.1 s of CPU). The warm-up run of `runs` writes the .pyc files.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    config = station(work)
    loa(env, config, "library", "scan")
    results: dict[str, Any] = {"root": str(args.root), "runs": args.runs}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work,
    )  # fmt: skip
    try:
        sock = work / "data" / "loa.sock"
        end = time.monotonic() + 60
        while not sock.exists() and time.monotonic() < end and daemon.poll() is None:
            time.sleep(0.1)
        time.sleep(1.0)
        results["daemon running"] = runs(env, config, args.runs)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
    results["no daemon"] = runs(env, config, args.runs)
    hold_bulletins(work / "data" / "loa.db")
    results["no daemon, bulletins"] = runs(env, config, args.runs)
    print(f"loa status, {args.runs} runs each ({args.root}):")
    for cond in ("daemon running", "no daemon", "no daemon, bulletins"):
        r = results[cond]
        w, c = r["wall_s"], r["cpu_s"]
        print(f"  {cond:15s} wall median {w['median']:.3f} s (min {w['min']:.3f}, max"
              f" {w['max']:.3f}); CPU median {c['median']:.3f} s; load {r['load_1min']:.2f};"
              f" {r['first_line']!r}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

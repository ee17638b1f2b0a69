#!/usr/bin/env python3
"""Benchmark of the audio library scan (results in BENCHMARKS.md, "## Audio library").

1. First scan of N files of 30-120 s (mixed mp3/ogg/m4a/flac/opus/wav, spread over topic
   folders) against ffmpeg's decode-only time for the same files (`ffmpeg -i f -f null -`, one
   file after another; also two at a time, as the scan uses 2 workers). Target <= 1.3x.
2. Rescan of the unchanged library, files/s. Target >= 5,000.
3. Peak RSS of a scan (in a fresh process) for 100 vs N files and for one 1-min vs one 60-min file.

    python bench/bench_library.py [--files 1000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audio_library.analysis import ffmpeg_exe

TOPICS = [f"chu-de-{i:02d}" for i in range(11)]
CODECS = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "2"],
    "m4a": ["-c:a", "aac", "-b:a", "64k"],
    "opus": ["-c:a", "libopus", "-b:a", "32k", "-ar", "48000"],
    "flac": ["-c:a", "flac"],
    "wav": ["-c:a", "pcm_s16le"],
}
FORMATS = {"mp3": "mp3", "ogg": "ogg", "m4a": "ipod", "opus": "opus", "flac": "flac", "wav": "wav"}
WEIGHTS = {"mp3": 5, "ogg": 2, "m4a": 2, "opus": 1, "flac": 1, "wav": 1}


def make(path: Path, seconds: float, seed: int) -> None:
    """Write a speech-like noise file; via a hidden temporary name, so a killed run leaves no
    half-written file that the next run would take as done."""
    ext = path.suffix[1:]
    part = path.with_name(f".part-{path.name}")
    graph = (
        f"anoisesrc=d={seconds}:c=pink:a=0.2:seed={seed},lowpass=f=3500,"
        f"volume='0.3+0.7*gt(sin(2*PI*t*{0.7 + seed % 5 / 10}),0)':eval=frame"
    )
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            graph,
            "-ac",
            "1",
            "-ar",
            "44100",
            *CODECS[ext],
            "-f",
            FORMATS[ext],
            str(part),
        ],
        check=True,
    )
    part.replace(path)


def make_library(root: Path, n: int) -> list[Path]:
    rng = random.Random(1)
    exts = [e for e, w in WEIGHTS.items() for _ in range(w)]
    jobs = []
    for i in range(n):
        ext = rng.choice(exts)
        path = root / TOPICS[i % len(TOPICS)] / f"Tin số {i:04d}.{ext}"
        jobs.append((path, rng.uniform(30, 120), i))
    todo = [j for j in jobs if not j[0].exists()]
    for topic in TOPICS:
        (root / topic).mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda j: make(*j), todo))
    return [j[0] for j in jobs]


def decode_only(paths: list[Path], workers: int) -> float:
    def one(p: Path) -> None:
        subprocess.run(
            [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(p), "-f", "null", "-"], check=True
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, paths))
    return time.perf_counter() - start


SCAN_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from loa.db import open_database
from audio_library.scan import scan_library
root, db, topics = Path(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
engine = open_database(f"sqlite:///{db}")
t = time.perf_counter()
report = scan_library(engine, root, topics, max_spot_s=None, target_lufs=-16.0, workers=2)
elapsed = time.perf_counter() - t
print(json.dumps({"elapsed": elapsed, "added": report.added, "unchanged": report.unchanged,
    "rejected": len(report.rejected),
    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def scan_in_child(root: Path, db: Path, topics: list[str]) -> dict:
    repo = str(Path(__file__).resolve().parents[1])
    out = subprocess.run(
        [sys.executable, "-c", SCAN_CHILD, repo, str(root), str(db), json.dumps(topics)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--workdir", type=Path, default=None, help="keep generated files here")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="loa-bench-"))
    pool_dir = work / "library"  # every file ever generated; a run scans the first N of them
    t = time.perf_counter()
    made = make_library(pool_dir, args.files)
    root = work / f"library-{args.files}"
    paths = []
    for src in made:
        dst = root / src.relative_to(pool_dir)
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.hardlink_to(src)
        paths.append(dst)
    print(f"library: {len(paths)} files in {root} (made in {time.perf_counter() - t:.0f} s)")
    decode_only(paths[:20], 2)  # warm the page cache, as a scan after copying would find it
    decode_only(paths, 2)
    seq = decode_only(paths, 1)
    par = decode_only(paths, 2)
    c0 = cpu_children()
    decode_only(paths, 2)
    decode_cpu = cpu_children() - c0
    db = work / "bench.db"
    db.unlink(missing_ok=True)
    c0 = cpu_children()
    first = scan_in_child(root, db, TOPICS)
    scan_cpu = cpu_children() - c0
    again = scan_in_child(root, db, TOPICS)
    results = {
        "files": len(paths),
        "decode_only_sequential_s": round(seq, 2),
        "decode_only_2_parallel_s": round(par, 2),
        "first_scan_s": round(first["elapsed"], 2),
        "ratio_vs_sequential_decode": round(first["elapsed"] / seq, 2),
        "ratio_vs_parallel_decode": round(first["elapsed"] / par, 2),
        "cpu_ratio_scan_vs_decode": round(scan_cpu / decode_cpu, 2),
        "first_scan_added": first["added"],
        "first_scan_rejected": first["rejected"],
        "rescan_s": round(again["elapsed"], 3),
        "rescan_files_per_s": round(len(paths) / again["elapsed"]),
        "rescan_unchanged": again["unchanged"],
        "first_scan_peak_rss_mb": round(first["maxrss_mb"], 1),
    }
    # memory against the number of files: 100 files vs all
    small = work / f"small-of-{args.files}"
    if not small.exists():
        for p in paths[:100]:
            dst = small / p.relative_to(root)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.hardlink_to(p)
    (work / "small.db").unlink(missing_ok=True)
    results["peak_rss_mb_100_files"] = round(
        scan_in_child(small, work / "small.db", TOPICS)["maxrss_mb"], 1
    )
    # memory against a file's length: one 1-minute file vs one 60-minute file
    for minutes in (1, 60):
        lib = work / f"one-{minutes}m"
        f = lib / TOPICS[0] / f"Dài {minutes} phút.mp3"
        if not f.exists():
            f.parent.mkdir(parents=True, exist_ok=True)
            make(f, minutes * 60.0, minutes)
        (work / f"one-{minutes}m.db").unlink(missing_ok=True)
        r = scan_in_child(lib, work / f"one-{minutes}m.db", TOPICS)
        results[f"peak_rss_mb_one_{minutes}min_file"] = round(r["maxrss_mb"], 1)
        results[f"scan_s_one_{minutes}min_file"] = round(r["elapsed"], 2)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

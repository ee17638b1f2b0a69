"""Playout benchmark: loa's device output side by side with Liquidsoap.

Both play the same spots to the same virtual PulseAudio sink in the same run (turns
alternate), and the sink's monitor is recorded and measured (tests/audio_capture.py):

- start error: first captured sample minus the requested instant (loa places the plan by the
  device clock; Liquidsoap has no "start at" so the request is pushed to its queue at the
  instant over its telnet server, as an external scheduler would);
- inter-spot gap: longest silence between a 500 ms 1 kHz spot and the 300 ms 2 kHz spot after it;
- median and worst of N runs, with the machine idle and with both cores loaded (two busy loops);
- CPU % and RSS while playing a 1-minute and a 60-minute mp3 (process + child processes:
  loa's ffmpeg decoder is counted with it).

    python bench/bench_playout.py [--runs 20] [--cpu-seconds 15] [--json results.json]

Needs: pulseaudio pulseaudio-utils libasound2-plugins libportaudio2 liquidsoap (Debian).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLK_TCK = os.sysconf("SC_CLK_TCK")
LEAD_S = 1.0  # > the device buffer of loa (0.5 s)
SPOTS_S = 0.8  # 500 ms + 300 ms


# -- players ---------------------------------------------------------------------------------
def child_loa() -> None:
    """Runs in a child process: one DeviceOutput for its life, commands on stdin."""
    from datetime import UTC, datetime

    from scheduler.output import PlayItem, open_output

    out = open_output("device", device="default")
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        at = datetime.fromtimestamp(cmd["at"], tz=UTC)
        h = out.play([PlayItem(Path(p)) for p in cmd["files"]], at)
        if cmd.get("cut_at"):
            time.sleep(max(0.0, cmd["cut_at"] - time.time()))
            h.cut()
        h.wait()
        started = [s.started_at.timestamp() if s else None for s in h.started]
        print(json.dumps({"started": started}), flush=True)
    out.close()


class LoaPlayer:
    name = "loa"

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child-loa"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        assert self.proc.stdout is not None
        json.loads(self.proc.stdout.readline())

    def play(self, files: list[Path], at: float, cut_at: float | None = None) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        cmd = {"cmd": "play", "files": [str(f) for f in files], "at": at, "cut_at": cut_at}
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        self._reply = self.proc.stdout

    def wait(self) -> None:
        json.loads(self._reply.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write('{"cmd": "quit"}\n')
        self.proc.stdin.flush()
        self.proc.wait(10)


LIQ = """
settings.init.allow_root.set(true)
settings.log.stdout.set(false)
settings.log.file.set(false)
settings.server.telnet.set(true)
settings.server.telnet.port.set({port})
q = request.queue(id="q")
output.pulseaudio(mksafe(q))
"""


class LiquidsoapPlayer:
    name = "liquidsoap"

    def __init__(self, work: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        script = work / "bench.liq"
        script.write_text(LIQ.format(port=self.port))
        self.proc = subprocess.Popen(
            ["liquidsoap", str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        end = time.monotonic() + 30
        while True:
            try:
                self._cmd("uptime\n")
                break
            except OSError:
                if time.monotonic() > end or self.proc.poll() is not None:
                    raise RuntimeError("liquidsoap did not start") from None
                time.sleep(0.1)
        time.sleep(1.0)  # let its output settle

    def _cmd(self, text: str) -> None:
        """One telnet connection per command (the server drops idle ones after 30 s)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(text.encode())
            buf = b""
            while buf.count(b"END") < text.count("\n"):
                data = sock.recv(4096)
                if not data:
                    raise OSError("liquidsoap closed the telnet connection")
                buf += data

    def play(self, files: list[Path], at: float, cut_at: float | None = None) -> None:
        sleep_until(at)
        self._cmd("".join(f"q.push {f}\n" for f in files))
        self._cut_at = cut_at
        self._until = at + SPOTS_S + 0.5

    def wait(self) -> None:
        if self._cut_at:
            sleep_until(self._cut_at)
            self._cmd("q.skip\n")
        else:
            sleep_until(self._until)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def sleep_until(t: float) -> None:
    while (d := t - time.time()) > 0.003:
        time.sleep(d - 0.002)
    while time.time() < t:
        pass


# -- measurements ----------------------------------------------------------------------------
def tone(path: Path, freq: float, seconds: float) -> Path:
    from tests.audio_media import tone as make

    return make(path, freq, seconds, rate=44100)


def one_run(player: Any, a: Path, b: Path) -> dict[str, float]:
    from tests.audio_capture import MonitorCapture, longest_silence_ms, sounding

    cap = MonitorCapture().wait_ready()
    at = time.time() + LEAD_S
    player.play([a, b], at)
    player.wait()
    time.sleep(0.3)
    c = cap.stop()
    onset, end = sounding(c.x)
    return {
        "start_error_ms": (c.t_of(onset) - at) * 1000,
        "gap_ms": longest_silence_ms(c.x, c.rate),
        "length_ms": (end - onset) * 1000 / c.rate,
    }


def tree(pid: int) -> list[int]:
    """pid and its descendants."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def ticks_rss(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return int(fields[11]) + int(fields[12]), rss


def cpu_rss(player: Any, path: Path, seconds: float) -> dict[str, float]:
    at = time.time() + LEAD_S
    player.play([path], at, cut_at=at + 2 + seconds + 0.5)
    sleep_until(at + 2)
    base: dict[int, int] = {}
    for p in tree(player.proc.pid):
        base[p] = ticks_rss(p)[0]
    last: dict[int, int] = {}
    peak_rss = 0
    t0 = time.time()
    while time.time() - t0 < seconds:
        total = 0
        for p in tree(player.proc.pid):
            try:
                ticks, rss = ticks_rss(p)
            except (OSError, StopIteration):
                continue
            last[p] = ticks
            total += rss
        peak_rss = max(peak_rss, total)
        time.sleep(0.25)
    wall = time.time() - t0
    used = sum(t - base.get(p, 0) for p, t in last.items())
    player.wait()
    return {"cpu_pct": used / CLK_TCK / wall * 100, "rss_mb": peak_rss / 1024}


def stats(values: list[float], worst_abs: bool = True) -> tuple[float, float]:
    worst = max(values, key=abs) if worst_abs else max(values)
    return statistics.median(values), worst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--cpu-seconds", type=float, default=15.0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--child-loa", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_loa:
        child_loa()
        return
    from tests.audio_fixture import start_virtual_audio, stop_virtual_audio
    from tests.audio_media import ffmpeg

    va_dir = Path(tempfile.mkdtemp(prefix="loa-bench-audio-"))
    os.environ.update(start_virtual_audio(va_dir))  # before any PortAudio use
    work = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    a, b = tone(work / "a.wav", 1000, 0.5), tone(work / "b.wav", 2000, 0.3)
    longs = {}
    for minutes in (1, 60):
        p = work / f"long{minutes}.mp3"
        ffmpeg("-f", "lavfi", "-i", f"sine=f=440:d={minutes * 60}:sample_rate=44100",
               "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", str(p))  # fmt: skip
        longs[minutes] = p
    players = [LoaPlayer(), LiquidsoapPlayer(work)]
    results: dict[str, Any] = {"runs": args.runs, "timing": {}, "cpu": {}}
    try:
        for cond in ("idle", "loaded"):
            load = []
            if cond == "loaded":
                load = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                        for _ in range(os.cpu_count() or 2)]  # fmt: skip
            runs: dict[str, list[dict[str, float]]] = {p.name: [] for p in players}
            results.setdefault("loadavg_before", {})[cond] = os.getloadavg()[0]
            for i in range(args.runs):
                for p in players:
                    r = one_run(p, a, b)
                    runs[p.name].append(r)
                    print(f"{cond} {i:2d} {p.name:10s} start {r['start_error_ms']:7.2f} ms"
                          f"  gap {r['gap_ms']:6.2f} ms  length {r['length_ms']:7.1f} ms",
                          flush=True)  # fmt: skip
            for proc in load:
                proc.kill()
                proc.wait()
            results["timing"][cond] = runs
        for p in players:
            for minutes, path in longs.items():
                r = cpu_rss(p, path, args.cpu_seconds)
                results["cpu"][f"{p.name} {minutes} min"] = r
                print(f"{p.name} {minutes}-min mp3: CPU {r['cpu_pct']:.1f} %", end="")
                print(f"  RSS {r['rss_mb']:.1f} MB")
    finally:
        for p in players:
            p.close()
        stop_virtual_audio(va_dir)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def print_table(results: dict[str, Any]) -> None:
    print("\n| condition | player | start error ms median / worst | gap ms median / worst |"
          " length ms (800 expected) |\n|---|---|---|---|---|")  # fmt: skip
    for cond, runs in results["timing"].items():
        for name, rs in runs.items():
            s = stats([r["start_error_ms"] for r in rs])
            g = stats([r["gap_ms"] for r in rs], worst_abs=False)
            ln = [r["length_ms"] for r in rs]
            print(f"| {cond} | {name} | {s[0]:.2f} / {s[1]:.2f} | {g[0]:.2f} / {g[1]:.2f} |"
                  f" {min(ln):.1f}–{max(ln):.1f} |")  # fmt: skip
    print(f"\nload average (1 min) before the runs: {results.get('loadavg_before')}")
    print("\n| player, file | CPU % | RSS MB (peak, with child processes) |\n|---|---|---|")
    for name, r in results["cpu"].items():
        print(f"| {name} | {r['cpu_pct']:.1f} | {r['rss_mb']:.1f} |")


if __name__ == "__main__":
    main()

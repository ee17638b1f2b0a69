"""Playout benchmark: loa's device output side by side with Liquidsoap.

Both play the same spots to the same virtual PulseAudio sink in the same run (turns
alternate), and the sink's monitor is recorded and measured (tests/audio_capture.py):

- start error: first captured sample minus the requested instant (loa places the plan by the
  device clock; Liquidsoap has no "start at" so the request is pushed to its queue at the
  instant over its telnet server, as an external scheduler would);
- inter-spot gap: longest silence between a 500 ms 1 kHz spot and the 300 ms 2 kHz spot after it;
- median and worst of N runs, with the machine idle and with both cores loaded (two busy loops);
- CPU % of one core and RSS while idle (stream open, nothing to play) and while playing a
  1-minute and a 60-minute mp3, with the machine idle and with both cores loaded (process +
  child processes: loa's decoder, mpg123 for these mp3s, is counted with it; from
  /proc/<pid>/stat utime+stime over the window, so other load on the machine does not count);
  underruns the player reported meanwhile;
- loa's profile: the CPU of each of its threads over the same windows (`--threads`);
- the same while playing a slot of four 1-minute mp3s (every decoder of the slot counted);
- PSS beside RSS (pages shared between loa and its decoder children counted once).

    python bench/bench_playout.py [--runs 20] [--cpu-seconds 15] [--json results.json]
        [--root DIR]   # loa's code from another checkout (`git archive C | tar -x -C DIR`)

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
def child_loa(root: Path) -> None:
    """Runs in a child process: one DeviceOutput for its life, commands on stdin."""
    sys.path.insert(0, str(root))
    import threading
    from datetime import UTC, datetime

    from scheduler.output import PlayItem, open_output

    out = open_output("device", device="default")
    native: dict[int, str] = {}

    def callback_thread() -> None:  # PortAudio's thread: learn its id from inside the callback
        native.setdefault(threading.get_native_id(), "PortAudio callback")

    mixer_render = out.mixer.render  # type: ignore[attr-defined]

    def render(o: Any, t0: float) -> int:
        callback_thread()
        return mixer_render(o, t0)

    out.mixer.render = render  # type: ignore[attr-defined,method-assign]
    say = threading.Lock()

    def reply(obj: dict[str, Any]) -> None:
        with say:
            print(json.dumps(obj), flush=True)

    def play(cmd: dict[str, Any]) -> None:  # in a thread: "stats" is answered meanwhile
        at = datetime.fromtimestamp(cmd["at"], tz=UTC)
        # with their lengths, as the daemon's runner hands them over
        h = out.play([PlayItem(Path(p), duration_s=d) for p, d in cmd["files"]], at)
        if cmd.get("cut_at"):
            time.sleep(max(0.0, cmd["cut_at"] - time.time()))
            h.cut()
        h.wait()
        reply({"started": [s.started_at.timestamp() if s else None for s in h.started]})

    reply({"ready": True})
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        if cmd["cmd"] == "stats":
            names = {t.native_id: t.name for t in threading.enumerate() if t.native_id}
            names.update(native)
            reply({"underruns": getattr(out, "underruns", 0), "threads": names})
            continue
        threading.Thread(target=play, args=(cmd,), daemon=True).start()
    out.close()


class LoaPlayer:
    name = "loa"

    def __init__(self, root: Path = ROOT) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child-loa", str(root)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root,
        )  # fmt: skip
        assert self.proc.stdout is not None
        json.loads(self.proc.stdout.readline())
        self._early: list[dict[str, Any]] = []

    def play(self, files: list[Path], at: float, cut_at: float | None = None) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        cmd = {"cmd": "play", "files": [(str(f), duration(f)) for f in files], "at": at,
               "cut_at": cut_at}  # fmt: skip
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def _read(self, key: str) -> dict[str, Any]:
        """The next reply that has `key` (replies to a play and to stats may interleave)."""
        assert self.proc.stdout is not None
        for i, r in enumerate(self._early):
            if key in r:
                return self._early.pop(i)
        while True:
            r = json.loads(self.proc.stdout.readline())
            if key in r:
                return r
            self._early.append(r)

    def wait(self) -> None:
        self._read("started")

    def stats(self) -> dict[str, Any]:
        """Underruns so far and the names of the child's threads by native id."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write('{"cmd": "stats"}\n')
        self.proc.stdin.flush()
        r = self._read("underruns")
        r["threads"] = {int(k): v for k, v in r["threads"].items()}
        return r

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write('{"cmd": "quit"}\n')
        self.proc.stdin.flush()
        self.proc.wait(10)


LIQ = """
settings.init.allow_root.set(true)
settings.log.stdout.set(false)
settings.log.file.set(true)
settings.log.file.path.set("{log}")
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
        self.log = work / "liquidsoap.log"
        script.write_text(LIQ.format(port=self.port, log=self.log))
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

    def stats(self) -> dict[str, Any]:
        """Underruns: the lines of its log that report one (it has no counter to ask)."""
        try:
            text = self.log.read_text("utf-8", "replace").lower()
        except OSError:
            text = ""
        return {"underruns": text.count("underrun"), "threads": {}}

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def duration(path: Path) -> float:
    """The length of a bench file in seconds (from its name: long60.mp3 is 60 minutes)."""
    name = path.stem
    if name.startswith("long"):
        return float(name.removeprefix("long")) * 60
    return {"a": 0.5, "b": 0.3}.get(name, 0.0)


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


def pss(pid: int) -> int:
    """Proportional set size in KiB: a page shared by n processes counts 1/n in each."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Pss:"))


def thread_ticks(pid: int) -> dict[int, tuple[str, int]]:
    """native thread id -> (kernel name, utime + stime ticks) of every thread of pid."""
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st.rsplit(")", 1)[1].split()
        out[int(t)] = (st[st.index("(") + 1 : st.rindex(")")], int(fields[11]) + int(fields[12]))
    return out


def cpu_rss(player: Any, path: Path | list[Path] | None, seconds: float) -> dict[str, Any]:
    """CPU % of one core and peak RSS (and PSS) of the player and its children over
    `seconds`, while it plays `path` (a file or a slot of files; from 2 s after its start) or,
    with no path, while it waits with nothing to play; the underruns it reported meanwhile;
    loa's CPU per thread."""
    if path is not None:
        at = time.time() + LEAD_S
        files = path if isinstance(path, list) else [path]
        player.play(files, at, cut_at=at + 2 + seconds + 0.5)
        sleep_until(at + 2)
    before = player.stats()
    base = {p: ticks_rss(p)[0] for p in tree(player.proc.pid)}
    threads0 = thread_ticks(player.proc.pid)
    last: dict[int, int] = {}
    rss_seen: list[int] = []
    pss_seen: list[int] = []
    procs_seen: list[int] = []
    t0 = time.time()
    while time.time() - t0 < seconds:
        total = total_pss = n = 0
        for p in tree(player.proc.pid):
            try:
                ticks, rss = ticks_rss(p)
                total_pss += pss(p)
            except (OSError, StopIteration):
                continue
            last[p] = ticks
            total += rss
            n += 1
        rss_seen.append(total)
        pss_seen.append(total_pss)
        procs_seen.append(n)
        time.sleep(0.25)
    wall = time.time() - t0
    threads1 = thread_ticks(player.proc.pid)
    used = sum(t - base.get(p, 0) for p, t in last.items())
    child = sum(t - base.get(p, 0) for p, t in last.items() if p != player.proc.pid)
    after = player.stats()
    if path is not None:
        player.wait()
    names = after["threads"]
    per_thread = {}
    for tid, (comm, ticks) in threads1.items():
        name = names.get(tid) or comm
        pct = (ticks - threads0.get(tid, (comm, 0))[1]) / CLK_TCK / wall * 100
        per_thread[f"{name} [{tid}]"] = round(pct, 3)
    return {
        "cpu_pct": used / CLK_TCK / wall * 100,
        "decoder_cpu_pct": child / CLK_TCK / wall * 100,
        "rss_mb": max(rss_seen) / 1024,
        "rss_first_last_mb": [rss_seen[0] / 1024, rss_seen[-1] / 1024],
        "pss_mb": max(pss_seen) / 1024,
        "processes_max": max(procs_seen),
        "underruns": after["underruns"] - before["underruns"],
        "threads": per_thread,
    }


def stats(values: list[float], worst_abs: bool = True) -> tuple[float, float]:
    worst = max(values, key=abs) if worst_abs else max(values)
    return statistics.median(values), worst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--cpu-seconds", type=float, default=15.0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--threads", action="store_true", help="print loa's CPU per thread")
    ap.add_argument("--root", type=Path, default=ROOT, help="the loa checkout to measure")
    ap.add_argument("--child-loa", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_loa:
        child_loa(args.child_loa)
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
    players = [LoaPlayer(args.root.resolve()), LiquidsoapPlayer(work)]
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
        for cond in ("idle", "loaded"):
            load = []
            if cond == "loaded":
                load = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                        for _ in range(os.cpu_count() or 2)]  # fmt: skip
            for p in players:
                what: dict[str, Path | list[Path] | None] = {"nothing to play": None}
                what.update({f"{m}-min mp3": f for m, f in longs.items()})
                what["slot of 4 x 1-min mp3"] = [longs[1]] * 4
                for label, path in what.items():
                    secs = args.cpu_seconds * (2 if path is None else 1)
                    r = cpu_rss(p, path, secs)
                    r["load_1min"] = os.getloadavg()[0]
                    results["cpu"][f"{cond} | {p.name} | {label}"] = r
                    print(f"{cond} {p.name} {label}: CPU {r['cpu_pct']:.2f} %"
                          f" (decoder {r['decoder_cpu_pct']:.2f})  RSS {r['rss_mb']:.1f} MB"
                          f"  PSS {r['pss_mb']:.1f} MB  processes {r['processes_max']}"
                          f"  underruns {r['underruns']}  load {r['load_1min']:.2f}",
                          flush=True)  # fmt: skip
                    if args.threads and r["threads"]:
                        for name, pct in sorted(r["threads"].items(), key=lambda kv: -kv[1]):
                            print(f"    {pct:6.2f} %  {name}")
            for proc in load:
                proc.kill()
                proc.wait()
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
    print(
        "\n| machine | player | playing | CPU % of a core (decoder) | RSS MB peak"
        " (first → last) | PSS MB | processes | underruns |\n|---|---|---|---|---|---|---|---|"
    )
    for name, r in results["cpu"].items():
        first, last = r["rss_first_last_mb"]
        print(f"| {name} | {r['cpu_pct']:.2f} ({r['decoder_cpu_pct']:.2f}) |"
              f" {r['rss_mb']:.1f} ({first:.1f} → {last:.1f}) | {r['pss_mb']:.1f} |"
              f" {r['processes_max']} | {r['underruns']} |")  # fmt: skip


if __name__ == "__main__":
    main()

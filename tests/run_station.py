"""A small station for the tests that start the real `loa run` (a subprocess, wall clock).

Two topics, `a` and `b`, with tone spots in `lib/`, the control socket in `data/`, a 1 s
heartbeat; each test adds what it is about (a central server, a sound device, quiet hours)
and its slots.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.audio_media import tone

ROOT = Path(__file__).resolve().parent.parent
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SPOTS = {"a/a1.wav": 440.0, "a/a2.wav": 660.0, "b/b1.wav": 880.0}


def write_station(
    folder: Path,
    slots: Sequence[tuple[str, datetime, float]],
    *,
    spot_s: float,
    spots: dict[str, float] = SPOTS,
    station: str = "",
    sections: str = '[output]\nbackend = "null"\n',
    slot_keys: str = "",
    weight_a: int = 1,
) -> Path:
    """Write `folder/lib` (a tone per spot, `spot_s` long) and `folder/config.toml`; return
    the config's path. `slots`: (name, start, length in seconds); `station`: more lines of
    [station]; `sections`: more sections ([output] by default); `slot_keys`: more lines of
    each slot; `weight_a`: topic a's weight (b's is 1)."""
    for rel, freq in spots.items():
        (folder / "lib" / rel).parent.mkdir(parents=True, exist_ok=True)
        tone(folder / "lib" / rel, freq, spot_s, amp=0.3)
    text = f"""
[station]
id = "xa-thu"
name = "Đài xã Thử"
{station}
[library]
root = "lib"
{sections}
[daemon]
socket = "data/loa.sock"
heartbeat = "1s"
[[topics]]
id = "a"
name = "Chủ đề A"
weight = {weight_a}
[[topics]]
id = "b"
name = "Chủ đề B"
"""
    for name, start, length_s in slots:
        text += f"""
[[slots]]
name = "{name}"
start = "{start.astimezone(HCM):%H:%M:%S}"
length = "{length_s:g}s"
{slot_keys}"""
    config = folder / "config.toml"
    config.write_text(text, "utf-8")
    return config


def start_run(config: Path) -> subprocess.Popen[str]:
    """`loa run` on `config`, its stdout and stderr together in `.stdout`."""
    return subprocess.Popen(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip

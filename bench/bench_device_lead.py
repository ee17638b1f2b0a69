"""How far ahead a plan must reach the device output: starts against the lead time.

One DeviceOutput on a private PulseAudio null sink; a 0.5 s tone is handed over `lead` seconds
before its instant, alternately 0.8 s and 1.5 s, and the sink's monitor is recorded. Per run:
the start error in the capture, what loa reported minus the capture, and whether the engine
found the first item's decoder without samples when it rendered the start (`starved`: the
start then waits for the next block, and loa reports the late start as it happened).

    python bench/bench_device_lead.py [--runs 20] [--leads 0.8,1.5]

Needs: pulseaudio pulseaudio-utils libasound2-plugins libportaudio2 (Debian).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--leads", default="0.8,1.5")
    args = ap.parse_args()
    leads = [float(x) for x in args.leads.split(",")]
    from tests.audio_fixture import start_virtual_audio, stop_virtual_audio

    va = Path(tempfile.mkdtemp(prefix="loa-bench-audio-"))
    os.environ.update(start_virtual_audio(va))  # before PortAudio starts
    from scheduler.output import ItemStarted, PlayItem, open_output
    from tests.audio_capture import MonitorCapture, sounding
    from tests.audio_media import tone

    t = tone(Path(tempfile.mkdtemp()) / "t.wav", 1000, 0.5)
    out = open_output("device", device="default")
    time.sleep(1)
    try:
        for run in range(args.runs):
            lead = leads[run % len(leads)]
            starved = out.mixer.starved  # type: ignore[attr-defined]
            cap = MonitorCapture().wait_ready()
            at = datetime.now(UTC) + timedelta(seconds=lead)
            events: list[object] = []
            out.play([PlayItem(t)], at, events.append).wait(30)
            time.sleep(0.25)
            c = cap.stop()
            t_on = c.t_of(sounding(c.x)[0])
            s = next(e for e in events if isinstance(e, ItemStarted)).started_at.timestamp()
            print(
                f"run {run:2d} lead {lead:.1f} s: start error {(t_on - at.timestamp()) * 1000:7.2f}"
                f" ms, reported - captured {(s - t_on) * 1000:6.2f} ms, starved"
                f" {out.mixer.starved - starved}, load {os.getloadavg()[0]:.1f}",  # type: ignore[attr-defined]
                flush=True,
            )
            time.sleep(0.5)
    finally:
        out.close()
        stop_virtual_audio(va)


if __name__ == "__main__":
    main()

"""No spot clips on air (issue 10, part 4), heard on the virtual sink.

The shipped demo spot is mastered to full scale (true peak +0.2 dBTP at -18.8 LUFS). It is
catalogued by a real scan, and played through the device output (PortAudio -> PulseAudio null
sink, tests/audio_fixture.py) with the gain the catalogue gives it; the sink's monitor is
recorded. No captured sample may reach full scale. The same file played with the gain the
target alone asks for (+2.8 dB, what loa applied before) is recorded too, and does reach full
scale: the check can fail.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from audio_library.catalog import list_spots
from audio_library.scan import scan_library
from loa.db import open_database
from scheduler.output import PlayItem, open_output
from scheduler.output.device import DeviceOutput
from tests.audio_capture import MonitorCapture

pytestmark = pytest.mark.audio

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "audio_library/demo/chi-so/Chỉ số PAPI và PCI - số 2.ogg"
FULL_SCALE = 32767 / 32768  # the largest sample a 16-bit sink can hold
LEAD_S = 0.8


@pytest.fixture(scope="module")
def device(virtual_audio: dict[str, str]) -> Iterator[DeviceOutput]:
    out = open_output("device", device="default")
    assert isinstance(out, DeviceOutput)
    assert out.is_open, out.error
    yield out
    out.close()


def captured_peak(out: DeviceOutput, path: Path, gain_db: float) -> tuple[float, int]:
    """(largest |sample|, samples at full scale) of what the sink played."""
    cap = MonitorCapture().wait_ready()
    handle = out.play(
        [PlayItem(path, gain_db=gain_db, key="spot")],
        datetime.now(UTC) + timedelta(seconds=LEAD_S),
        lambda _e: None,
    )
    assert handle.wait(60)
    time.sleep(0.25)  # the last buffer reaches the sink
    x = np.abs(cap.stop().x)
    return float(x.max()), int((x >= FULL_SCALE - 1e-6).sum())


def test_a_spot_mastered_to_full_scale_never_reaches_it_on_air(
    device: DeviceOutput, tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    (root / "chi-so").mkdir(parents=True)
    shutil.copy(DEMO, root / "chi-so" / "demo.ogg")
    engine = open_database(f"sqlite:///{tmp_path}/loa.db")
    scan_library(engine, root, ["chi-so"], max_spot_s=600.0, target_lufs=-16.0, workers=1)
    (spot,) = list_spots(engine, root)
    assert spot.peak_dbtp is not None and spot.peak_dbtp > -0.5  # it is mastered to 0 dBFS
    wanted = -16.0 - (spot.loudness_lufs or 0.0)
    assert wanted > 2.0 and spot.gain_db < -1.0  # the target wants a boost; the cap cuts

    peak, at_full = captured_peak(device, spot.abs_path, spot.gain_db)
    assert peak > 0.5, f"the spot did not play (peak {peak:.3f})"
    assert at_full == 0, f"{at_full} samples at full scale"
    assert 20 * np.log10(peak) < -0.5, f"peak {20 * np.log10(peak):.2f} dBFS"

    # what loa did before: the uncapped gain clips, so the assertion above can fail
    _, clipped = captured_peak(device, spot.abs_path, wanted)
    assert clipped > 0
    print(
        f"gain {spot.gain_db:+.2f} dB: peak {20 * np.log10(peak):.2f} dBFS, 0 at full scale; "
        f"uncapped {wanted:+.2f} dB: {clipped} samples at full scale"
    )

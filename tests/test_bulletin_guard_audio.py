"""A withdrawn bulletin leaves the real sound output: the device backend through the OS audio
stack (PortAudio -> ALSA "pulse" -> a private PulseAudio null sink, tests/audio_fixture.py),
wrapped by the withdrawal guard, recorded from the sink's monitor. What came out is asserted:
the bulletin sounds until the withdrawal, fades out within the fade and the device's lead, and
the row's end agrees with the capture; one withdrawn before its start never sounds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from scheduler.bulletin_guard import FADE_MS, WITHDRAWN, GuardedOutput
from scheduler.output import ItemEnded, PlayItem, open_output
from scheduler.output.device import DeviceOutput
from tests.audio_capture import RATE, MonitorCapture, sounding
from tests.audio_media import tone

pytestmark = pytest.mark.audio
LEAD_S = 1.5  # as tests/test_playout_device.py: the device renders ~0.75 s ahead


@pytest.fixture(scope="module")
def device(virtual_audio: dict[str, str]) -> Iterator[DeviceOutput]:
    out = open_output("device", device="default")
    assert isinstance(out, DeviceOutput)
    assert out.is_open, out.error
    yield out
    out.close()


def test_withdrawn_on_air_it_fades_out_of_the_sink(device: DeviceOutput, tmp_path: Path) -> None:
    withdrawn: set[int] = set()
    guard = GuardedOutput(device, lambda b: b in withdrawn)
    wav = tone(tmp_path / "b.wav", 1000, 6.0, amp=0.3)
    events: list[object] = []
    cap = MonitorCapture().wait_ready()
    at = datetime.now(UTC) + timedelta(seconds=LEAD_S)
    handle = guard.play([PlayItem(wav, key="bulletin-9-khan-cap")], at, events.append)
    time.sleep(LEAD_S + 1.5)
    withdrawn.add(9)
    t_withdrawn = time.time()
    assert guard.withdraw(9) == 1
    assert handle.wait(10)
    time.sleep(0.5)
    got = cap.stop()
    onset, end = sounding(got.x)
    assert abs(got.t_of(onset) - at.timestamp()) < 0.05  # it aired from its start
    heard_until = got.t_of(end)
    # it sounded up to the withdrawal, and was gone within the fade plus what the device had
    # rendered ahead (latency 0.5 s + one 0.25 s block)
    assert t_withdrawn - 0.1 < heard_until < t_withdrawn + FADE_MS / 1000 + 0.75 + 0.3
    loud = got.x[got.frame_of(heard_until) + 4800 :]
    assert loud.size and float(np.max(np.abs(loud))) < 0.02  # silence after it
    (ended,) = [e for e in events if isinstance(e, ItemEnded)]
    assert ended.status == "interrupted" and ended.error == WITHDRAWN
    assert abs(ended.ended_at.timestamp() - heard_until) < 0.1  # the row's end as heard
    assert 1.4 < ended.played_s < 3.5


def test_withdrawn_before_its_start_it_never_sounds(device: DeviceOutput, tmp_path: Path) -> None:
    guard = GuardedOutput(device, lambda b: b == 8)
    wav = tone(tmp_path / "b.wav", 1000, 2.0, amp=0.3)
    events: list[object] = []
    cap = MonitorCapture().wait_ready()
    at = datetime.now(UTC) + timedelta(seconds=LEAD_S)
    handle = guard.play([PlayItem(wav, key="bulletin-8-khan-cap")], at, events.append)
    assert handle.wait(10)
    time.sleep(LEAD_S + 1.0)
    got = cap.stop()
    assert got.x.size > RATE  # the capture ran over the time it would have aired
    assert float(np.max(np.abs(got.x))) < 0.02
    (ended,) = [e for e in events if isinstance(e, ItemEnded)]
    assert ended.status == "skipped" and ended.error == WITHDRAWN

"""`loa output list` / `loa output test` (the click group, without the main CLI)."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loa.commands.output import output
from tests.audio_media import have_espeak


def test_output_test_to_a_file_writes_tone_then_speech(tmp_path: Path) -> None:
    wav = tmp_path / "test.wav"
    r = CliRunner().invoke(output, ["test", "--backend", "file", "--path", str(wav)])
    assert r.exit_code == 0, r.output
    assert "✓ tiếng bíp 1000 Hz: đã phát 2.00 giây" in r.output
    with wave.open(str(wav)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())
    beep = x[: 2 * rate, 0].astype(np.float32) / 32768
    spectrum = np.abs(np.fft.rfft(beep))
    assert abs(np.argmax(spectrum) * rate / len(beep) - 1000) < 2
    assert abs(np.abs(beep).max() - 10 ** (-12 / 20)) < 0.01  # -12 dBFS
    assert np.all(x[int(2.05 * rate) : int(2.45 * rate)] == 0)  # the pause
    if have_espeak():
        assert "✓ câu nói tiếng Việt" in r.output
        assert np.abs(x[int(2.5 * rate) :]).max() > 1000  # speech after the pause
    else:
        assert "cài espeak-ng" in r.output


def test_output_test_file_without_path_says_what_to_do() -> None:
    r = CliRunner().invoke(output, ["test", "--backend", "file"])
    assert r.exit_code == 2
    assert "cần --path" in r.output


@pytest.mark.audio
def test_output_list_shows_the_default_device(virtual_audio: dict[str, str]) -> None:
    r = CliRunner().invoke(output, ["list"])
    assert r.exit_code == 0, r.output
    assert "default" in r.output and "* = mặc định" in r.output
    r = CliRunner().invoke(output, ["list", "--json"])
    devices = json.loads(r.output)
    assert any(d["is_default"] for d in devices)
    assert {"index", "name", "hostapi", "channels", "samplerate"} <= set(devices[0])


@pytest.mark.audio
def test_output_test_on_a_missing_device_fails_with_a_hint(virtual_audio: dict[str, str]) -> None:
    r = CliRunner().invoke(output, ["test", "--device", "loa-no-such-device"])
    assert r.exit_code == 1
    assert "✗ tiếng bíp 1000 Hz: failed" in r.output
    assert "loa-no-such-device" in r.output
    assert "loa output list" in r.output

"""`loa output list` / `loa output test` (the click group, without the main CLI)."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from loa.cli import cli
from tests.audio_media import have_espeak


def run_output(*args: str, config: Path | None = None):
    """`loa output ...` through the main command; by default with no config.toml at all."""
    path = config or Path("/nonexistent/config.toml")
    return CliRunner().invoke(cli, ["--config", str(path), "output", *args])


def test_output_test_to_a_file_writes_tone_then_speech(tmp_path: Path) -> None:
    wav = tmp_path / "test.wav"
    r = run_output("test", "--backend", "file", "--path", str(wav))
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
    r = run_output("test", "--backend", "file")
    assert r.exit_code == 2
    assert "cần --path" in r.output


@pytest.mark.audio
def test_output_list_shows_the_default_device(virtual_audio: dict[str, str]) -> None:
    r = run_output("list")
    assert r.exit_code == 0, r.output
    assert "default" in r.output and "* = mặc định" in r.output
    r = run_output("list", "--json")
    devices = json.loads(r.output)
    assert any(d["is_default"] for d in devices)
    assert {"index", "name", "hostapi", "channels", "samplerate"} <= set(devices[0])


@pytest.mark.audio
def test_output_test_on_a_missing_device_fails_with_a_hint(virtual_audio: dict[str, str]) -> None:
    r = run_output("test", "--device", "loa-no-such-device")
    assert r.exit_code == 1
    assert "✗ tiếng bíp 1000 Hz: failed" in r.output
    assert "loa-no-such-device" in r.output
    assert "loa output list" in r.output


def test_output_test_uses_the_configured_output(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[station]\nid = "xa"\nname = "Xã"\n[output]\nbackend = "file"\npath = "thu.wav"\n'
        '[[topics]]\nid = "a"\nname = "A"\n',
        "utf-8",
    )
    r = run_output("test", config=config)
    assert r.exit_code == 0, r.output
    assert f"tệp {tmp_path / 'thu.wav'}" in r.output
    assert (tmp_path / "thu.wav").stat().st_size > 2 * 44100

"""The real-audio fixture without a sound server: a skip on a developer's machine, a FAILED
test under CI (`CI=true`), so CI never passes with its audio tests skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run_without_pulseaudio(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text("from tests.audio_fixture import virtual_audio\n")
    (tmp_path / "test_needs_audio.py").write_text(
        "def test_plays(virtual_audio):\n    assert virtual_audio\n"
    )
    empty_bin = tmp_path / "bin"  # a PATH without pulseaudio and parec
    empty_bin.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PATH=str(empty_bin), PYTHONPATH=str(ROOT))
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_missing_sound_server_fails(tmp_path: Path, ci: str) -> None:
    done = _run_without_pulseaudio(tmp_path, ci)
    assert done.returncode == 1, done.stdout
    assert "1 error" in done.stdout  # the fixture fails: an error of the test, exit 1
    assert "PulseAudio is not installed" in done.stdout
    assert "CI is set: a missing sound server fails the run" in done.stdout


def test_outside_ci_a_missing_sound_server_skips_saying_what_to_install(tmp_path: Path) -> None:
    done = _run_without_pulseaudio(tmp_path, None)
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert "apt-get install pulseaudio" in done.stdout

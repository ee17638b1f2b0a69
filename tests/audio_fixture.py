"""The real-audio fixture: a private PulseAudio with a null sink "station", once per session.

`virtual_audio` starts scripts/virtual-audio.sh in a fresh directory of this test session (so
parallel sessions do not hear each other), exports its environment *before* sounddevice
starts PortAudio (which enumerates devices once; if something imported it earlier, PortAudio
is re-initialised), and stops the server at the end. Without PulseAudio (or PortAudio) the
tests that use it skip on a developer's machine, saying what to install; under CI (`CI` set to
true, as .ci/run and every CI service set it) they FAIL instead: a missing sound server never
passes CI as skipped tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "virtual-audio.sh"
NEEDS = "apt-get install pulseaudio pulseaudio-utils libasound2-plugins libportaudio2"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip the real-audio test here; fail it under CI (never a skipped test called passing)."""
    message = f"real-audio test: {reason}"
    if on_ci():
        pytest.fail(f"{message} (CI is set: a missing sound server fails the run)", pytrace=False)
    pytest.skip(message)


def start_virtual_audio(va_dir: Path) -> dict[str, str]:
    """Start the server in `va_dir`, return its environment (not applied)."""
    env = dict(os.environ, VA_DIR=str(va_dir))
    out = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    if out.returncode == 3:
        raise FileNotFoundError(out.stderr.strip())
    if out.returncode != 0:
        raise RuntimeError(f"virtual audio failed: {out.stderr.strip()}")
    result = {}
    for line in out.stdout.splitlines():
        k, v = line.removeprefix("export ").split("=", 1)
        result[k] = v
    return result


def stop_virtual_audio(va_dir: Path) -> None:
    env = dict(os.environ, VA_DIR=str(va_dir))
    subprocess.run(["bash", str(SCRIPT), "--stop"], env=env, capture_output=True, timeout=30)


@pytest.fixture(scope="session")
def virtual_audio() -> Iterator[dict[str, str]]:
    if shutil.which("pulseaudio") is None or shutil.which("parec") is None:
        unavailable(f"PulseAudio is not installed ({NEEDS})")
    va_dir = Path(tempfile.mkdtemp(prefix="loa-audio-"))
    try:
        env = start_virtual_audio(va_dir)
    except FileNotFoundError as e:
        unavailable(str(e))
    os.environ.update(env)
    if "sounddevice" in sys.modules:  # PortAudio already enumerated without our server
        sd = sys.modules["sounddevice"]
        sd._terminate()
        sd._initialize()
    try:
        import sounddevice  # noqa: F401
    except OSError as e:
        stop_virtual_audio(va_dir)
        unavailable(f"PortAudio is missing ({e}); {NEEDS}")
    yield env
    stop_virtual_audio(va_dir)
    shutil.rmtree(va_dir, ignore_errors=True)

"""`output.path` (the file backend's WAV) never names another file of the station.

The file backend opened its path with `wave.open(path, "wb")`: an `output.path` naming
config.toml, the database or a spot passed `loa config check`, and `loa run` then replaced that
file with a recording. Now the check refuses such a path, `loa run` refuses to start on it
(exit 3) and the output itself replaces only a WAV file (its own earlier recording).
"""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from loa.cli import cli
from loa.errors import EXIT_CONFIG
from scheduler.output.base import OutputError
from scheduler.output.file import FileOutput, path_problem
from tests.test_config import BASE, ROOT

SPOT = b"ID3\x04 the operator's only copy of this spot"


def station(tmp_path: Path, output_path: str) -> Path:
    (tmp_path / "audio_library" / "dich-vu-cong").mkdir(parents=True)
    path = tmp_path / "config.toml"
    path.write_text(
        BASE + f'\n[output]\nbackend = "file"\npath = "{output_path}"\n'
        '\n[database]\nurl = "sqlite:///data/loa.db"\n[library]\nroot = "audio_library"\n',
        "utf-8",
    )
    return path


def check(config: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), "config", "check"])
    return result.exit_code, result.output


def run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), "run"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def write_wav(path: Path, frames: int = 4800) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(b"\x01\x00" * frames)


def refused_and_kept(config: Path, kept: Path, message: str) -> None:
    """`loa config check` refuses `config` with `message`; `loa run` refuses to start on it
    (exit 3, no traceback); `kept` is byte for byte what it was."""
    before = kept.read_bytes()
    code, output = check(config)
    assert code == EXIT_CONFIG, output
    assert message in output
    started = run(config)
    assert started.returncode == EXIT_CONFIG, started.stderr
    assert message in started.stderr and "Traceback" not in started.stderr
    assert kept.read_bytes() == before


def test_the_config_file_itself_is_refused_and_kept(tmp_path: Path) -> None:
    config = station(tmp_path, "config.toml")
    refused_and_kept(
        config,
        config,
        f"output.path: {config} là tệp cấu hình của đài (the station's config), loa sẽ ghi đè "
        "lên nó (loa would overwrite it): chọn tên tệp khác cho output.path (choose another "
        "file name)",
    )


def test_a_wav_spot_in_the_library_is_refused_and_kept(tmp_path: Path) -> None:
    config = station(tmp_path, "audio_library/dich-vu-cong/thu tuc.wav")
    spot = tmp_path / "audio_library" / "dich-vu-cong" / "thu tuc.wav"
    write_wav(spot)
    library = tmp_path / "audio_library"
    refused_and_kept(
        config, spot, f"output.path: {spot} nằm trong thư viện {library} (inside the library"
    )


def test_the_database_is_named_as_such(tmp_path: Path) -> None:
    config = station(tmp_path, "data/loa.db")
    code, output = check(config)
    assert code == EXIT_CONFIG, output
    database = tmp_path / "data" / "loa.db"
    assert f"output.path: {database} là CSDL của đài (the station's database" in output


def test_a_file_of_another_kind_is_refused_and_kept(tmp_path: Path) -> None:
    config = station(tmp_path, "tin.mp3")
    spot = tmp_path / "tin.mp3"  # a spot outside the library, say a copy on the desktop
    spot.write_bytes(SPOT)
    refused_and_kept(
        config,
        spot,
        f"output.path: {spot} là một tệp khác, không phải bản ghi WAV, loa sẽ ghi đè lên nó (a "
        "file that is not a WAV recording: loa would overwrite it)",
    )


def test_an_earlier_recording_is_replaced(tmp_path: Path) -> None:
    config = station(tmp_path, "data/air.wav")
    (tmp_path / "data").mkdir()
    old = tmp_path / "data" / "air.wav"
    write_wav(old, frames=48000)
    code, output = check(config)
    assert code == 0, output
    out = FileOutput(old, samplerate=48000, channels=1)
    out.close()
    with wave.open(str(old), "rb") as w:
        assert w.getnframes() == 0  # the new (empty) recording, not the old second


@pytest.mark.parametrize("kind", ["folder", "fifo", "text"])
def test_the_output_refuses_what_is_not_a_wav_without_waiting(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "air.wav"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opening it to look would block: it is refused by its type
    else:
        path.write_bytes(SPOT)
    with pytest.raises(OutputError) as caught:
        FileOutput(path, samplerate=48000)
    words = {"folder": "is a folder", "fifo": "is not a regular file", "text": "not a WAV"}
    assert words[kind] in str(caught.value)
    assert path_problem(path) == str(caught.value)
    if kind == "text":
        assert path.read_bytes() == SPOT


def test_output_test_never_records_over_a_spot(tmp_path: Path) -> None:
    """`loa output test --backend file --path` named a WAV spot in the library: the spot was
    replaced by the test tone (only the configured output.path was checked for the library)."""
    config = station(tmp_path, "data/air.wav")
    spot = tmp_path / "audio_library" / "dich-vu-cong" / "tin.wav"
    write_wav(spot)
    before = spot.read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), "output", "test",
         "--backend", "file", "--path", str(spot)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{spot} nằm trong thư viện" in result.stderr and "chọn tên tệp khác cho --path" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert spot.read_bytes() == before

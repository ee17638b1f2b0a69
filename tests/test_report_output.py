"""`loa airtime report --output` and `loa airtime export --output` never overwrite another file
of the station, nor a file of another kind.

`output.write_bytes(data)` replaced whatever the path named: `loa airtime report --format docx
--output config.toml` turned the station's config into a Word document (the next command then
said config.toml was UTF-16), and the same for loa.db or a spot. Now such an --output is a usage
error (exit 2) naming the file, and the file is kept byte for byte; an earlier report of the same
format is still replaced, as before.
"""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import wave
from datetime import date
from pathlib import Path

import pytest

from tests.test_config import BASE

SPOT = b"ID3\x04 the operator's only copy of this spot"


def station(tmp_path: Path) -> Path:
    (tmp_path / "audio_library" / "chi-so").mkdir(parents=True)
    (tmp_path / "audio_library" / "chi-so" / "spot.mp3").write_bytes(SPOT)
    (tmp_path / "notes.txt").write_text("sổ ghi chép của đài\n", "utf-8")
    path = tmp_path / "config.toml"
    path.write_text(
        BASE + '\n[database]\nurl = "sqlite:///data/loa.db"\n[library]\nroot = "audio_library"\n'
        '[output]\nbackend = "null"\n',
        "utf-8",
    )
    return path


def loa(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), *args],
        cwd=config.parent, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = station(tmp_path)
    assert loa(path, "airtime", "log").returncode == 0  # creates data/loa.db
    return path


YEAR = str(date.today().year)
REPORT = ["airtime", "report", "--period", YEAR]


def tone(path: Path, seconds: float = 1.0, rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                for i in range(int(seconds * rate))
            )
        )


@pytest.mark.parametrize(
    ("target", "fmt", "named"),
    [
        ("config.toml", "docx", "tệp cấu hình của đài (the station's config)"),
        ("config.toml", "csv", "tệp cấu hình của đài (the station's config)"),
        ("data/loa.db", "xlsx", "CSDL của đài (the station's database, database.url)"),
        ("data/loa.db", "text", "CSDL của đài (the station's database, database.url)"),
        ("audio_library/chi-so/spot.mp3", "docx", "nằm trong thư viện"),
        ("notes.txt", "docx", "không phải docx"),
    ],
)
def test_a_report_never_overwrites_another_file(
    config: Path, target: str, fmt: str, named: str
) -> None:
    path = config.parent / target
    before = path.read_bytes()
    result = loa(config, *REPORT, "--format", fmt, "--output", target)
    assert result.returncode == 2, result.stderr
    assert "Invalid value for '--output'" in result.stderr
    assert f"{target} " in result.stderr and named in result.stderr
    assert "chọn tên tệp khác cho --output (choose another file name)" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before
    assert loa(config, "config", "check").returncode == 0


def test_an_earlier_report_of_the_same_format_is_replaced(config: Path) -> None:
    out = config.parent / "bao-cao.docx"
    for _ in range(2):
        result = loa(config, *REPORT, "--format", "docx", "--output", str(out))
        assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"PK\x03\x04")
    csv = config.parent / "bao-cao.csv"
    for _ in range(2):
        assert loa(config, *REPORT, "--format", "csv", "--output", str(csv)).returncode == 0
    assert csv.read_text("utf-8-sig").startswith("Mã đài,")
    # but a csv is not written over the docx
    result = loa(config, *REPORT, "--format", "csv", "--output", str(out))
    assert result.returncode == 2 and "không phải csv" in result.stderr
    assert out.read_bytes().startswith(b"PK\x03\x04")


def test_an_export_never_overwrites_another_file(config: Path) -> None:
    tone(config.parent / "tin.wav")  # one closed row (played here: no daemon runs)
    played = loa(config, "play-now", "--file", "tin.wav", "--priority", "emergency")
    assert played.returncode == 0, played.stderr
    before = config.read_bytes()
    for target in ("config.toml", "notes.txt", "data/loa.db"):
        kept = (config.parent / target).read_bytes()
        result = loa(config, "airtime", "export", "--period", YEAR, "--output", target)
        assert result.returncode == 2, result.stderr
        assert "Invalid value for '--output'" in result.stderr
        assert (config.parent / target).read_bytes() == kept
    assert config.read_bytes() == before
    bundle = config.parent / "nhat-ky.loa.gz"
    for _ in range(2):  # an earlier bundle is replaced
        result = loa(config, "airtime", "export", "--period", YEAR, "--output", str(bundle))
        assert result.returncode == 0, result.stderr
    assert bundle.read_bytes()[:2] == b"\x1f\x8b"

"""A file name with a newline or a tab (a copy from a phone, a script's mistake) is refused as a
bad name: it aired, and its path split `loa playlist preview --format m3u` into two lines (VLC
then opened neither), and broke the log's and the list's one line per spot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from audio_library.files import CONTROL_IN_NAME, discover
from tests.test_library_folder_links import station
from tests.test_report_output import tone


def test_a_name_with_a_newline_or_a_tab_is_a_bad_name(tmp_path: Path) -> None:
    topic = tmp_path / "chi-so"
    topic.mkdir()
    for name in ("dòng 1\ndòng 2.wav", "tab\there.wav", "bình thường.wav"):
        (topic / name).write_bytes(b"RIFF")
    found, bad = discover(tmp_path, ["chi-so"])
    assert [f.path for f in found] == ["chi-so/bình thường.wav"]
    assert sorted((b.path, b.reason, b.problem) for b in bad) == [
        ("chi-so/dòng 1?dòng 2.wav", CONTROL_IN_NAME, "bad_name"),
        ("chi-so/tab?here.wav", CONTROL_IN_NAME, "bad_name"),
    ]


def test_the_m3u_has_one_line_per_path(tmp_path: Path) -> None:
    config = station(tmp_path)
    tone(tmp_path / "audio_library" / "chi-so" / "dòng 1\ndòng 2.wav", seconds=1.5)

    def loa(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "loa", "--config", str(config), *args],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    scan = loa("library", "scan")
    assert scan.returncode == 0, scan.stderr
    assert f"chi-so/dòng 1?dòng 2.wav: {CONTROL_IN_NAME}" in scan.stdout
    m3u = loa("playlist", "preview", "--format", "m3u")
    assert m3u.returncode == 0, m3u.stderr
    paths = [line for line in m3u.stdout.splitlines() if line and not line.startswith("#")]
    assert paths and all(Path(p).is_file() for p in paths), m3u.stdout

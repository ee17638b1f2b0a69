"""Spots that used to vanish or be refused wrongly (issue 10, part 5).

- A complete VBR MP3 without a Xing header (and an ADTS AAC, which never has a length) was
  refused as "truncated": mutagen's length is an estimate from the file size there.
- Unreadable files, unreadable sub-folders and broken symlinks vanished from scan, list and
  check, and check told an unreadable file to "run a scan".

Tests run as root, for whom `chmod 000` changes nothing. The unreadable cases therefore run the
real `loa` command as the unprivileged user `nobody` (`setpriv`), on a station in a folder that
user may use; as a non-root user they run directly. No simulation: the permission is real.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from audio_library.analysis import analyse, ffmpeg_exe
from audio_library.tags import read_tags
from audio_library.verdict import judge
from tests.library_audio import make_audio

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534
UNREADABLE = (
    "không đọc được tệp (unreadable file): Permission denied; cấp quyền đọc cho người dùng "
    "chạy loa (give loa read permission)"
)
UNREADABLE_DIR = (
    "không đọc được thư mục (unreadable folder): Permission denied; cấp quyền đọc cho người "
    "dùng chạy loa (give loa read permission)"
)
BROKEN = "liên kết hỏng, không trỏ tới tệp nào (broken symlink): sửa hoặc xoá liên kết"

CONFIG = """
[station]
id = "xa-thu"
name = "Đài xã Thử"
[library]
root = "lib"
[database]
url = "sqlite:///data/loa.db"
[daemon]
socket = "data/loa.sock"
[[topics]]
id = "chi-so"
name = "Chỉ số"
[[slots]]
name = "sang"
start = "06:00"
length = "10m"
"""


def vbr_without_xing(path: Path, codec: list[str]) -> Path:
    """Digital silence first (a 32 kb/s first frame), then loud noise (high bitrates): the
    estimate from the first frame's bitrate is three times the real length."""
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y",
         "-f", "lavfi", "-i", "anullsrc=d=0.5:r=44100:cl=stereo",
         "-f", "lavfi", "-i", "anoisesrc=d=6:a=0.3:r=44100,aformat=channel_layouts=stereo",
         "-filter_complex", "[0][1]concat=n=2:v=0:a=1", *codec, str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("vbr.mp3", ["-c:a", "libmp3lame", "-q:a", "2", "-write_xing", "0"]),
        ("vbr.aac", ["-c:a", "aac", "-q:a", "2", "-f", "adts"]),
    ],
)
def test_a_complete_file_whose_header_only_estimates_its_length_is_good(
    tmp_path: Path, name: str, codec: list[str]
) -> None:
    path = vbr_without_xing(tmp_path / name, codec)
    import mutagen

    estimate = mutagen.File(path).info.length
    analysis = analyse(path)
    assert analysis.decoded_s == pytest.approx(6.5, abs=0.1)
    assert estimate > analysis.decoded_s + 1.0  # what made the old verdict say "truncated"
    tags = read_tags(path)
    assert tags.header_s is None  # an estimate is no declared length
    assert judge(path.stat().st_size, path.suffix, tags, analysis) is None


def test_an_mp3_with_a_xing_header_cut_in_half_is_still_truncated(tmp_path: Path) -> None:
    whole = make_audio(tmp_path / "whole.mp3", seconds=6.0)  # libmp3lame writes a Xing/Info
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    tags = read_tags(cut)
    assert tags.header_s == pytest.approx(6.0, abs=0.1)
    refusal = judge(cut.stat().st_size, ".mp3", tags, analyse(cut))
    assert refusal is not None and refusal.problem == "truncated"


@pytest.fixture
def station() -> Iterator[Path]:
    """A station that `nobody` may use (pytest's tmp_path is root's, mode 0700)."""
    base = Path(tempfile.mkdtemp(prefix="loa-unreadable-"))
    base.chmod(0o777)
    folder = base / "lib" / "chi-so"
    folder.mkdir(parents=True)
    make_audio(folder / "tốt.ogg", freq=300)
    make_audio(folder / "đóng.ogg", freq=400)
    make_audio(folder / "kín" / "trong.ogg", freq=500)
    (folder / "hỏng.mp3").symlink_to(base / "không có.mp3")
    (base / "config.toml").write_text(CONFIG, "utf-8")
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames:
            Path(dirpath, name).chmod(0o777)
        for name in filenames:
            if not Path(dirpath, name).is_symlink():
                Path(dirpath, name).chmod(0o666)
    yield base
    for dirpath, dirnames, _ in os.walk(base):
        for name in dirnames:
            Path(dirpath, name).chmod(0o777)
    shutil.rmtree(base)


def loa(station: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real loa command, as an unprivileged user when the tests run as root."""
    as_user = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: chmod 000 cannot be made to matter")
        as_user = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return subprocess.run(
        [*as_user, sys.executable, "-m", "loa", "--config", str(station / "config.toml"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_unreadable_files_folders_and_broken_links_are_listed_with_their_reason(
    station: Path,
) -> None:
    folder = station / "lib" / "chi-so"
    done = loa(station, "library", "scan", "--json")
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)
    assert first["added"] == 3 and first["rejected"] == [
        {"path": "chi-so/hỏng.mp3", "reason": BROKEN}
    ]
    ids = {r["path"]: r["id"] for r in json.loads(loa(station, "library", "list", "--format",
                                                      "json").stdout)}  # fmt: skip
    (folder / "đóng.ogg").chmod(0o000)
    (folder / "kín").chmod(0o000)

    done = loa(station, "library", "scan", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["added"], report["removed"]) == (0, 2)
    assert report["rejected"] == [
        {"path": "chi-so/hỏng.mp3", "reason": BROKEN},
        {"path": "chi-so/đóng.ogg", "reason": UNREADABLE},
        {"path": "chi-so/kín/", "reason": UNREADABLE_DIR},
    ]

    listed = json.loads(loa(station, "library", "list", "--format", "json").stdout)
    by_path = {r["path"]: (r["status"], r["reason"]) for r in listed}
    assert by_path["chi-so/tốt.ogg"] == ("ok", None)
    assert by_path["chi-so/hỏng.mp3"] == ("rejected", BROKEN)
    assert by_path["chi-so/kín/"] == ("rejected", UNREADABLE_DIR)
    assert by_path["chi-so/đóng.ogg"] == ("removed", UNREADABLE)  # catalogued, now unreadable
    assert by_path["chi-so/kín/trong.ogg"][0] == "removed"

    done = loa(station, "library", "check")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert f"lỗi (error): chi-so/đóng.ogg: {UNREADABLE}" in lines
    assert f"lỗi (error): chi-so/kín/: {UNREADABLE_DIR}" in lines
    assert f"lỗi (error): chi-so/hỏng.mp3: {BROKEN}" in lines
    assert "run a scan" not in done.stdout

    # readable again: the same spots come back, with their ids
    (folder / "đóng.ogg").chmod(0o666)
    (folder / "kín").chmod(0o777)
    report = json.loads(loa(station, "library", "scan", "--json").stdout)
    assert report["rejected"] == [{"path": "chi-so/hỏng.mp3", "reason": BROKEN}]
    listed = json.loads(loa(station, "library", "list", "--format", "json").stdout)
    back = {r["path"]: (r["id"], r["status"]) for r in listed if r["status"] == "ok"}
    assert back == {p: (i, "ok") for p, i in ids.items() if p != "chi-so/hỏng.mp3"}


def test_a_file_never_catalogued_and_unreadable_is_named_by_check(station: Path) -> None:
    (station / "lib" / "chi-so" / "đóng.ogg").chmod(0o000)
    done = loa(station, "library", "check")
    assert done.returncode == 1
    assert f"lỗi (error): chi-so/đóng.ogg: {UNREADABLE}" in done.stdout.splitlines()
    assert "chi-so/đóng.ogg: chưa có trong danh mục" not in done.stdout

"""Symlinked folders in the library: a topic folder linked to `/` (or to a folder that holds the
library) is refused instead of walked, and a symlinked sub-folder is named instead of vanishing.

A topic folder `lib/goc -> /` made `loa library scan` walk, hash and probe the whole disk
(more than 2 minutes of full CPU here with no line printed, loa.db and config.toml among the
"spots"); a symlinked sub-folder (`chi-so/usb -> /media/usb`) was skipped by os.walk without a
word, so its spots never aired and nothing said why.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_config import BASE
from tests.test_report_output import tone

WRAPS = "thư mục chủ đề là liên kết tới {target}, nơi chứa cả thư viện"
LINKED = "thư mục con là liên kết, không được quét (a symlinked sub-folder is not followed)"


def station(tmp_path: Path) -> Path:
    lib = tmp_path / "audio_library"
    (lib / "chi-so").mkdir(parents=True)
    tone(lib / "chi-so" / "tin.wav")
    path = tmp_path / "config.toml"
    path.write_text(
        BASE.replace('id = "dich-vu-cong"', 'id = "goc"')
        + '\n[database]\nurl = "sqlite:///data/loa.db"\n[library]\nroot = "audio_library"\n',
        "utf-8",
    )
    return path


def loa(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loa", "--config", str(config), *args],
        cwd=config.parent, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_a_topic_folder_linked_to_the_root_of_the_disk_is_refused(tmp_path: Path) -> None:
    config = station(tmp_path)
    (tmp_path / "audio_library" / "goc").symlink_to("/")
    scan = loa(config, "library", "scan", timeout=30)  # it walked the whole disk
    assert scan.returncode == 0, scan.stderr
    assert f"goc/: {WRAPS.format(target='/')}" in scan.stdout
    assert "Thêm 1," in scan.stdout  # chi-so/tin.wav, nothing of the disk
    check = loa(config, "library", "check")
    assert check.returncode == 1 and WRAPS.format(target="/") in check.stdout
    listed = loa(config, "library", "list", "--format", "json")
    assert "/etc/" not in listed.stdout and "loa.db" not in listed.stdout


def test_a_topic_folder_linked_to_the_station_folder_is_refused(tmp_path: Path) -> None:
    config = station(tmp_path)
    (tmp_path / "audio_library" / "goc").symlink_to("..")
    scan = loa(config, "library", "scan")
    assert scan.returncode == 0, scan.stderr
    assert f"goc/: {WRAPS.format(target=tmp_path.resolve())}" in scan.stdout
    assert "Thêm 1," in scan.stdout


def test_a_topic_folder_linked_elsewhere_is_still_scanned(tmp_path: Path) -> None:
    config = station(tmp_path)
    usb = tmp_path / "usb"
    usb.mkdir()
    tone(usb / "tin-usb.wav", seconds=1.5)
    (tmp_path / "audio_library" / "goc").symlink_to(usb)
    scan = loa(config, "library", "scan")
    assert scan.returncode == 0, scan.stderr
    assert "Thêm 2," in scan.stdout and "liên kết" not in scan.stdout


def test_a_symlinked_sub_folder_is_named_not_skipped_silently(tmp_path: Path) -> None:
    config = station(tmp_path)
    usb = tmp_path / "usb"
    usb.mkdir()
    tone(usb / "tin-usb.wav", seconds=1.5)
    (tmp_path / "audio_library" / "chi-so" / "usb").symlink_to(usb)
    (tmp_path / "audio_library" / "chi-so" / "vong").symlink_to(".")
    scan = loa(config, "library", "scan")
    assert scan.returncode == 0, scan.stderr
    assert f"chi-so/usb/: {LINKED}" in scan.stdout
    assert f"chi-so/vong/: {LINKED}" in scan.stdout
    check = loa(config, "library", "check")
    assert check.returncode == 1 and f"chi-so/usb/: {LINKED}" in check.stdout

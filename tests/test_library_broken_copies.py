"""A refused file is reported for what is wrong with it: its copies, and when it comes back.

Real files (ffmpeg-made tones, damaged by hand) in a real SQLite catalogue, as an operator meets
them: two identical garbage files dropped in a topic folder, a copy of a broken spot made later,
a library folder that vanishes (an unplugged USB stick, a wrong `library.root`) and comes back.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from audio_library.catalog import list_spots
from audio_library.scan import ScanReport, scan_library
from loa.db import open_database
from tests.library_audio import make_audio

TOPICS = ["chi-so", "dich-vu-cong"]
NOT_AUDIO = "không phải tệp âm thanh: ffmpeg không nhận ra định dạng dù tên có đuôi .mp3; "
EMPTY = "rỗng: tệp 0 byte (empty)"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    for topic in TOPICS:
        (lib / topic).mkdir(parents=True)
    return lib


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_database(f"sqlite:///{tmp_path}/loa.db")


def scan(engine: Engine, root: Path) -> ScanReport:
    return scan_library(engine, root, TOPICS, max_spot_s=600.0, target_lufs=-16.0, workers=1)


def reasons(report: ScanReport) -> dict[str, str]:
    return {r["path"]: r["reason"] for r in report.rejected}


def catalogue(engine: Engine, root: Path) -> dict[str, tuple[str, str | None, str | None]]:
    return {s.path: (s.status, s.problem, s.reason) for s in list_spots(engine, root)}


def garbage(path: Path) -> Path:
    path.write_bytes(random.Random(3).randbytes(3000))  # named .mp3, no audio in it
    return path


def truncated(path: Path, tmp: Path) -> Path:
    whole = make_audio(tmp / "whole.mp3", seconds=6.0)
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return path


def test_identical_broken_files_are_each_refused_for_what_is_wrong_with_them(
    engine: Engine, root: Path, tmp_path: Path
) -> None:
    garbage(root / "chi-so/rác 1.mp3")
    shutil.copyfile(root / "chi-so/rác 1.mp3", root / "dich-vu-cong/rác 2.mp3")
    (root / "chi-so/rỗng 1.mp3").write_bytes(b"")
    (root / "chi-so/rỗng 2.mp3").write_bytes(b"")
    truncated(root / "chi-so/cụt.mp3", tmp_path)
    shutil.copyfile(root / "chi-so/cụt.mp3", root / "chi-so/cụt (bản sao).mp3")
    report = scan(engine, root)
    said = reasons(report)
    assert set(said) == {
        "chi-so/rác 1.mp3",
        "dich-vu-cong/rác 2.mp3",
        "chi-so/rỗng 1.mp3",
        "chi-so/rỗng 2.mp3",
        "chi-so/cụt.mp3",
        "chi-so/cụt (bản sao).mp3",
    }
    assert said["chi-so/rác 1.mp3"].startswith(NOT_AUDIO)
    assert said["dich-vu-cong/rác 2.mp3"] == said["chi-so/rác 1.mp3"]
    assert said["chi-so/rỗng 1.mp3"] == said["chi-so/rỗng 2.mp3"] == EMPTY
    assert said["chi-so/cụt.mp3"].startswith("bị cắt cụt: ")
    assert said["chi-so/cụt (bản sao).mp3"] == said["chi-so/cụt.mp3"]
    assert "duplicate" not in " ".join(said.values())
    rows = catalogue(engine, root)
    assert rows["dich-vu-cong/rác 2.mp3"][:2] == ("rejected", "not_audio")
    assert rows["chi-so/rỗng 2.mp3"][:2] == ("rejected", "empty")
    assert rows["chi-so/cụt (bản sao).mp3"][:2] == ("rejected", "truncated")
    assert reasons(scan(engine, root)) == said  # the same on a rescan, nothing decoded again


def test_a_copy_of_a_broken_file_made_later_says_what_is_wrong_with_it(
    engine: Engine, root: Path
) -> None:
    garbage(root / "chi-so/rác.mp3")
    first = reasons(scan(engine, root))["chi-so/rác.mp3"]
    shutil.copyfile(root / "chi-so/rác.mp3", root / "chi-so/rác - bản sao.mp3")
    assert reasons(scan(engine, root)) == {
        "chi-so/rác.mp3": first,
        "chi-so/rác - bản sao.mp3": first,
    }
    # the first one deleted: the copy is still refused for its content, not "file gone"
    (root / "chi-so/rác.mp3").unlink()
    assert reasons(scan(engine, root)) == {"chi-so/rác - bản sao.mp3": first}


def test_a_good_copy_is_still_a_duplicate(engine: Engine, root: Path) -> None:
    make_audio(root / "chi-so/gốc.mp3")
    shutil.copyfile(root / "chi-so/gốc.mp3", root / "chi-so/sao.mp3")
    assert reasons(scan(engine, root)) == {
        "chi-so/sao.mp3": "trùng nội dung với chi-so/gốc.mp3 (duplicate)"
    }


def test_a_broken_file_that_comes_back_is_refused_for_its_content_not_as_gone(
    engine: Engine, root: Path, tmp_path: Path
) -> None:
    garbage(root / "chi-so/rác.mp3")
    truncated(root / "chi-so/cụt.mp3", tmp_path)
    make_audio(root / "chi-so/tốt.mp3")
    before = reasons(scan(engine, root))
    assert set(before) == {"chi-so/rác.mp3", "chi-so/cụt.mp3"}
    # the folder goes away (a USB stick pulled out, library.root pointed elsewhere)
    root.rename(tmp_path / "away")
    root.mkdir()
    for topic in TOPICS:
        (root / topic).mkdir()
    gone = scan(engine, root)
    assert gone.removed == 3
    assert catalogue(engine, root)["chi-so/rác.mp3"][0] == "removed"
    # and comes back, the same files: each refused with its own reason again
    shutil.rmtree(root)
    (tmp_path / "away").rename(root)
    back = scan(engine, root)
    assert reasons(back) == before
    rows = catalogue(engine, root)
    assert rows["chi-so/rác.mp3"] == ("rejected", "not_audio", before["chi-so/rác.mp3"])
    assert rows["chi-so/cụt.mp3"][:2] == ("rejected", "truncated")
    assert rows["chi-so/tốt.mp3"] == ("ok", None, None)


def test_a_file_renamed_while_it_is_decoded_is_not_refused_as_corrupt(
    engine: Engine, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator renames a spot just as the scan reaches it (hashed, then gone before
    ffmpeg opens it): no verdict on content nobody read, and the renamed file airs."""
    import audio_library.scan as scan_module

    make_audio(root / "chi-so/Tin mới (1).mp3")
    real = scan_module.analyse
    moved: list[Path] = []

    def rename_first(path: Path, **kw: object):  # type: ignore[no-untyped-def]
        if not moved:
            moved.append(path.rename(path.with_name("Tin mới.mp3")))
        return real(path, **kw)

    monkeypatch.setattr(scan_module, "analyse", rename_first)
    first = scan(engine, root)
    assert first.rejected == [] and first.added == 0  # vanished: the next scan sees it
    assert catalogue(engine, root) == {}
    second = scan(engine, root)
    assert (second.added, second.rejected) == (1, [])
    assert catalogue(engine, root) == {"chi-so/Tin mới.mp3": ("ok", None, None)}


def test_a_refused_row_left_saying_file_gone_is_judged_again(
    engine: Engine, root: Path, tmp_path: Path
) -> None:
    """A catalogue written by a loa before the fix above: refused rows that came back kept the
    removal's reason, and their copies took it over. The next scan repairs them."""
    import sqlite3

    garbage(root / "chi-so/rác.mp3")
    shutil.copyfile(root / "chi-so/rác.mp3", root / "chi-so/rác 2.mp3")
    before = reasons(scan(engine, root))
    with sqlite3.connect(tmp_path / "loa.db") as conn:
        conn.execute("update spot set reason = 'tệp không còn trong thư viện (file gone)'")
    assert reasons(scan(engine, root)) == before
    assert reasons(scan(engine, root)) == before

"""scan_library on real files in a real SQLite catalogue: identity, increments, refusals."""

from __future__ import annotations

import os
import random
import shutil
import struct
import unicodedata
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

import audio_library.scan as scan_module
from audio_library.catalog import SpotRecord, list_spots, set_meta
from audio_library.scan import ScanReport, scan_library
from loa.db import open_database
from tests.library_audio import copy, make_audio

TOPICS = ["dich-vu-cong", "chi-so"]
DAY = date(2021, 3, 1)


def playable_spots(
    engine: Engine,
    root: Path,
    *,
    on: date,
    require_approval: bool,
    topics: list[str] | None = None,
) -> list[SpotRecord]:
    """What the catalogue says may air on `on`: present and good at the last scan, inside its
    validity window, approved when `require_approval` (the fields the planner judges)."""
    return [
        r
        for r in list_spots(engine, root, include_removed=False)
        if r.status == "ok"
        and r.valid_on(on)
        and (r.approved or not require_approval)
        and (topics is None or r.topic in topics)
    ]


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Made once per module, copied into each test: ffmpeg is not the thing under test here."""
    cache = tmp_path_factory.mktemp("tones")

    def get(ext: str = "mp3", **kw: object) -> Path:
        name = "_".join(f"{k}{v}" for k, v in sorted(kw.items())) or "plain"
        path = cache / f"{name}.{ext}"
        if not path.exists():
            make_audio(path, **kw)  # type: ignore[arg-type]
        return path

    return get


@pytest.fixture
def root(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    for topic in TOPICS:
        (lib / topic).mkdir(parents=True)
    return lib


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_database(f"sqlite:///{tmp_path}/loa.db")


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Which files went through ffmpeg (the real analyse runs)."""
    seen: list[Path] = []
    real = scan_module.analyse

    def spy(path: Path, **kw: object):  # type: ignore[no-untyped-def]
        seen.append(path)
        return real(path, **kw)

    monkeypatch.setattr(scan_module, "analyse", spy)
    return seen


def scan(engine: Engine, root: Path, **kw: object) -> ScanReport:
    options: dict = {"max_spot_s": 600.0, "target_lufs": -16.0, "workers": 1, **kw}
    return scan_library(engine, root, TOPICS, **options)


def by_path(engine: Engine, root: Path) -> dict:
    return {s.path: s for s in list_spots(engine, root)}


def counts(report: ScanReport) -> tuple[int, int, int, int]:
    return report.added, report.updated, report.unchanged, report.removed


def test_first_scan_catalogues_vietnamese_names_and_every_format(
    engine: Engine, root: Path, tone: Callable[..., Path]
) -> None:
    names = {
        "dich-vu-cong/Dịch vụ công trực tuyến - số 1.MP3": tone("mp3", lead=0.5),
        "dich-vu-cong/Hướng dẫn nộp hồ sơ.Ogg": tone("ogg", freq=500),
        "dich-vu-cong/bưu điện/Nhận kết quả tại nhà.opus": tone("opus", freq=600),
        "chi-so/Chỉ số SIPAS.m4a": tone("m4a", freq=700),
        "chi-so/Chỉ số PAPI.wav": tone("wav", freq=800),
        "chi-so/Chỉ số PCI.flac": tone("flac", freq=900),
        "chi-so/Tin ngắn.aac": tone("aac", freq=1000),
    }
    for rel, src in names.items():
        copy(src, root / rel)
    report = scan(engine, root)
    assert counts(report) == (7, 0, 0, 0)
    assert report.rejected == []
    spots = by_path(engine, root)
    assert set(spots) == set(names)
    first = spots["dich-vu-cong/Dịch vụ công trực tuyến - số 1.MP3"]
    assert first.title == "Dịch vụ công trực tuyến - số 1"
    assert first.duration_s == pytest.approx(3.5, abs=0.1)
    assert first.trim_start_s == pytest.approx(0.5, abs=0.1)
    assert first.playable_s == pytest.approx(3.0, abs=0.1)
    assert first.abs_path == root / "dich-vu-cong/Dịch vụ công trực tuyến - số 1.MP3"
    assert spots["dich-vu-cong/bưu điện/Nhận kết quả tại nhà.opus"].topic == "dich-vu-cong"
    for spot in spots.values():
        assert spot.status == "ok"
        assert spot.duration_s == pytest.approx(3.0 + (spot.trim_start_s > 0.25) * 0.5, abs=0.1)
        # quiet test tones (peak near -30 dBTP): the gain is library.max_boost at most
        assert spot.peak_dbtp is not None and spot.peak_dbtp < -20.0
        assert spot.gain_db == pytest.approx(min(12.0, -16.0 - spot.loudness_lufs), abs=0.01)
        assert len(spot.id) == 16


def test_an_unchanged_library_is_not_decoded_again(
    engine: Engine, root: Path, tone: Callable[..., Path], decodes: list[Path]
) -> None:
    copy(tone("mp3"), root / "chi-so/a.mp3")
    copy(tone("ogg"), root / "chi-so/b.ogg")
    assert counts(scan(engine, root)) == (2, 0, 0, 0)
    assert len(decodes) == 2
    assert counts(scan(engine, root)) == (0, 0, 2, 0)
    # touched: same bytes, new mtime: hashed, not decoded, same row
    before = by_path(engine, root)["chi-so/a.mp3"]
    os.utime(root / "chi-so/a.mp3", ns=(1_600_000_000_000_000_000,) * 2)
    assert counts(scan(engine, root)) == (0, 0, 2, 0)
    assert len(decodes) == 2
    assert by_path(engine, root)["chi-so/a.mp3"].id == before.id


def test_a_renamed_or_moved_file_keeps_its_id_and_metadata(
    engine: Engine, root: Path, tone: Callable[..., Path], decodes: list[Path]
) -> None:
    copy(tone("mp3"), root / "chi-so/tin cũ.mp3")
    scan(engine, root)
    spot = by_path(engine, root)["chi-so/tin cũ.mp3"]
    set_meta(
        engine, spot.id, approved=True, approved_by="Ban biên tập", valid_until=date(2021, 6, 30)
    )
    (root / "chi-so/tin cũ.mp3").rename(root / "chi-so/Tin mới đổi tên.mp3")
    assert counts(scan(engine, root)) == (0, 1, 0, 0)
    (root / "chi-so/2021").mkdir()
    (root / "chi-so/Tin mới đổi tên.mp3").rename(root / "chi-so/2021/Tin mới đổi tên.mp3")
    assert counts(scan(engine, root)) == (0, 1, 0, 0)
    assert len(decodes) == 1
    spots = list_spots(engine, root)
    assert [(s.path, s.id, s.status) for s in spots] == [
        ("chi-so/2021/Tin mới đổi tên.mp3", spot.id, "ok")
    ]
    assert spots[0].approved and spots[0].approved_by == "Ban biên tập"
    assert spots[0].valid_until == date(2021, 6, 30)
    playable = playable_spots(engine, root, on=DAY, require_approval=True)
    assert [s.id for s in playable] == [spot.id]


def test_the_same_content_twice_is_one_spot_and_the_copy_is_reported(
    engine: Engine, root: Path, tone: Callable[..., Path], decodes: list[Path]
) -> None:
    copy(tone("mp3"), root / "chi-so/bản gốc.mp3")
    copy(tone("mp3"), root / "dich-vu-cong/bản sao.mp3")
    report = scan(engine, root)
    assert report.rejected == [
        {
            "path": "dich-vu-cong/bản sao.mp3",
            "reason": "trùng nội dung với chi-so/bản gốc.mp3 (duplicate)",
        }
    ]
    assert len(decodes) == 1
    spots = by_path(engine, root)
    assert spots["dich-vu-cong/bản sao.mp3"].id == spots["chi-so/bản gốc.mp3"].id
    assert spots["dich-vu-cong/bản sao.mp3"].problem == "duplicate"
    assert [s.path for s in playable_spots(engine, root, on=DAY, require_approval=False)] == [
        "chi-so/bản gốc.mp3"
    ]
    assert scan(engine, root).rejected == report.rejected  # still reported on a rescan
    # the original goes: the copy takes over the spot (its id, nothing decoded)
    (root / "chi-so/bản gốc.mp3").unlink()
    report = scan(engine, root)
    assert report.rejected == []
    playable = playable_spots(engine, root, on=DAY, require_approval=False)
    assert [(s.path, s.id) for s in playable] == [
        ("dich-vu-cong/bản sao.mp3", spots["chi-so/bản gốc.mp3"].id)
    ]
    assert len(decodes) == 1


def test_a_changed_file_is_analysed_again_under_a_new_id(
    engine: Engine, root: Path, tone: Callable[..., Path], decodes: list[Path]
) -> None:
    target = copy(tone("mp3", seconds=3.0), root / "chi-so/tin.mp3")
    scan(engine, root)
    old = by_path(engine, root)["chi-so/tin.mp3"]
    set_meta(engine, old.id, approved=True)
    shutil.copyfile(tone("mp3", seconds=5.0), target)
    assert counts(scan(engine, root)) == (0, 1, 0, 0)
    assert len(decodes) == 2
    rows = list_spots(engine, root)
    assert [(r.path, r.status) for r in rows] == [
        ("chi-so/tin.mp3", "ok"),
        ("chi-so/tin.mp3", "removed"),
    ]
    new = rows[0]
    assert new.id != old.id and new.duration_s == pytest.approx(5.0, abs=0.1)
    assert not new.approved  # new content: the board approves it again
    assert playable_spots(engine, root, on=DAY, require_approval=True) == []


def test_a_removed_file_is_marked_removed_never_deleted(
    engine: Engine, root: Path, tone: Callable[..., Path]
) -> None:
    copy(tone("mp3"), root / "chi-so/a.mp3")
    copy(tone("ogg"), root / "chi-so/b.ogg")
    scan(engine, root)
    (root / "chi-so/a.mp3").unlink()
    assert counts(scan(engine, root)) == (0, 0, 1, 1)
    rows = by_path(engine, root)
    assert rows["chi-so/a.mp3"].status == "removed"
    assert rows["chi-so/a.mp3"].reason == "tệp không còn trong thư viện (file gone)"
    assert [s.path for s in playable_spots(engine, root, on=DAY, require_approval=False)] == [
        "chi-so/b.ogg"
    ]
    assert counts(scan(engine, root)) == (0, 0, 1, 0)  # removed once, not again
    # it comes back: the same row, same id, ok again, without decoding
    copy(tone("mp3"), root / "chi-so/a.mp3")
    assert counts(scan(engine, root)) == (0, 1, 1, 0)
    assert by_path(engine, root)["chi-so/a.mp3"].status == "ok"
    assert len(list_spots(engine, root)) == 2


def test_nfc_and_nfd_spellings_are_the_same_name(
    engine: Engine, root: Path, tone: Callable[..., Path], decodes: list[Path]
) -> None:
    name = "Thủ tục hành chính.mp3"
    nfd = unicodedata.normalize("NFD", name)
    assert nfd != name
    copy(tone("mp3"), root / "chi-so" / nfd)  # copied from a Mac
    scan(engine, root)
    spot = list_spots(engine, root)[0]
    assert spot.path == f"chi-so/{name}"  # stored NFC
    assert spot.abs_path.exists() and spot.abs_path.name == nfd
    assert spot.title == "Thủ tục hành chính"
    # the same file arrives again from Windows, in NFC, same bytes and mtime: the same spot
    stat = (root / "chi-so" / nfd).stat()
    (root / "chi-so" / nfd).rename(root / "chi-so" / name)
    os.utime(root / "chi-so" / name, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert counts(scan(engine, root)) == (0, 0, 1, 0)
    assert list_spots(engine, root)[0].abs_path.name == name
    # both spellings side by side (possible on Linux): one is refused, not catalogued twice
    copy(tone("mp3", freq=300), root / "chi-so" / nfd)
    report = scan(engine, root)
    assert [r["path"] for r in report.rejected] == [f"chi-so/{nfd}"]
    assert "trùng tên với" in report.rejected[0]["reason"]
    assert len(decodes) == 1


def _corrupt(src: Path, dst: Path) -> Path:
    data = bytearray(src.read_bytes())
    middle = len(data) // 3
    data[middle : middle + 1024] = random.Random(7).randbytes(1024)  # bit rot inside
    dst.write_bytes(bytes(data))
    return dst


def _truncate(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    return dst


def _unknown_codec(src: Path, dst: Path) -> Path:
    data = bytearray(src.read_bytes())
    fmt = data.find(b"fmt ")
    data[fmt + 8 : fmt + 10] = struct.pack("<H", 0x1234)  # no such WAVE format tag
    dst.write_bytes(bytes(data))
    return dst


def test_every_refusal_is_listed_with_its_reason_and_never_airs(
    engine: Engine, root: Path, tone: Callable[..., Path]
) -> None:
    folder = root / "chi-so"
    copy(tone("mp3", freq=300), folder / "tốt.mp3")
    _corrupt(tone("mp3", seconds=6.0), folder / "hỏng.mp3")
    _truncate(tone("wav", seconds=6.0), folder / "cụt.wav")
    _truncate(tone("flac", seconds=6.0), folder / "cụt.flac")
    _truncate(tone("mp3", seconds=6.0), folder / "cụt.mp3")
    (folder / "rỗng.mp3").write_bytes(b"")
    (folder / "ghi chú.txt").write_text("Lịch phát tháng 3", "utf-8")
    _unknown_codec(tone("wav"), folder / "lạ.wav")
    copy(tone("ogg", silent=True), folder / "im lặng.ogg")
    copy(tone("flac", seconds=12.0), folder / "dài.flac")
    report = scan(engine, root, max_spot_s=10.0)
    assert report.added == 10
    rows = by_path(engine, root)
    problems = {path.split("/")[1]: (s.status, s.problem) for path, s in rows.items()}
    assert problems == {
        "tốt.mp3": ("ok", None),
        "hỏng.mp3": ("rejected", "corrupt"),
        "cụt.wav": ("rejected", "truncated"),
        "cụt.flac": ("rejected", "truncated"),
        "cụt.mp3": ("rejected", "truncated"),
        "rỗng.mp3": ("rejected", "empty"),
        "ghi chú.txt": ("rejected", "not_audio"),
        "lạ.wav": ("rejected", "unsupported"),
        "im lặng.ogg": ("rejected", "silent"),
        "dài.flac": ("rejected", "too_long"),
    }
    reasons = {r["path"].split("/")[1]: r["reason"] for r in report.rejected}
    assert set(reasons) == set(problems) - {"tốt.mp3"}
    assert reasons["hỏng.mp3"].startswith("hỏng: ")
    assert reasons["cụt.wav"] == "bị cắt cụt: giải mã 3.0 s / tiêu đề 6.0 s (truncated)"
    assert reasons["cụt.mp3"].startswith("bị cắt cụt: giải mã ")
    assert reasons["rỗng.mp3"] == "rỗng: tệp 0 byte (empty)"
    assert reasons["ghi chú.txt"] == (
        "không phải tệp âm thanh: ffmpeg không nhận ra định dạng; hãy thay bằng bản ghi âm thật "
        "hoặc xoá tệp (not an audio file: unknown format; replace it with a real recording or "
        "remove it)"
    )
    assert reasons["lạ.wav"] == (
        "codec không hỗ trợ: ffmpeg không có bộ giải mã cho codec lạ (unsupported codec)"
    )
    assert reasons["im lặng.ogg"] == "im lặng: không có âm thanh trên -50 dBFS (silent)"
    assert reasons["dài.flac"] == (
        "quá dài: 12s, dài hơn mọi buổi phát (tối đa 10s) (longer than every slot)"
    )
    playable = playable_spots(engine, root, on=DAY, require_approval=False)
    assert [s.path for s in playable] == ["chi-so/tốt.mp3"]
    # a longer slot in config.toml: the long spot airs, without decoding it again
    report = scan(engine, root, max_spot_s=900.0)
    assert counts(report) == (0, 0, 10, 0)
    assert rows["chi-so/dài.flac"].id in {
        s.id for s in playable_spots(engine, root, on=DAY, require_approval=False)
    }


def test_gain_follows_the_target_loudness(
    engine: Engine, root: Path, tone: Callable[..., Path]
) -> None:
    copy(tone("flac", volume_db=0.0), root / "chi-so/a.flac")  # peak -18 dBTP: room to boost
    scan(engine, root, target_lufs=-16.0)
    spot = list_spots(engine, root)[0]
    assert spot.loudness_lufs is not None
    assert spot.gain_db == pytest.approx(-16.0 - spot.loudness_lufs, abs=0.01)
    scan(engine, root, target_lufs=-20.0)
    assert list_spots(engine, root)[0].gain_db == pytest.approx(spot.gain_db - 4.0, abs=0.01)
    assert (root / "chi-so/a.flac").read_bytes() == tone("flac", volume_db=0.0).read_bytes()


def test_folders_that_are_no_topic_and_loose_files_are_reported(
    engine: Engine, root: Path, tone: Callable[..., Path]
) -> None:
    copy(tone("mp3"), root / "dich-vu-cong-cu/tin.mp3")
    copy(tone("mp3"), root / "tin lẻ.mp3")
    copy(tone("mp3"), root / "chi-so/.tin ẩn.mp3")  # dotfiles are ignored
    (root / ".Trash").mkdir()
    report = scan(engine, root)
    assert report.rejected == [
        {
            "path": "dich-vu-cong-cu/",
            "reason": "thư mục không phải chủ đề nào trong config.toml (not a configured topic); "
            'có phải "dich-vu-cong"? (did you mean)',
        },
        {
            "path": "tin lẻ.mp3",
            "reason": "nằm ngoài thư mục chủ đề (not in a topic folder): chuyển vào thư mục mang "
            "mã chủ đề",
        },
    ]
    assert list_spots(engine, root) == []


def test_validity_window_and_approval_decide_what_airs(
    engine: Engine, root: Path, tone: Callable[..., Path]
) -> None:
    copy(tone("mp3", freq=300), root / "chi-so/a.mp3")
    copy(tone("mp3", freq=400), root / "chi-so/b.mp3")
    copy(tone("mp3", freq=500), root / "dich-vu-cong/c.mp3")
    scan(engine, root)
    ids = {s.path: s.id for s in list_spots(engine, root)}
    set_meta(
        engine, ids["chi-so/a.mp3"], valid_from=date(2021, 3, 2), valid_until=date(2021, 3, 31)
    )
    set_meta(engine, ids["chi-so/b.mp3"], approved=True)

    def airs(day: date, approval: bool, topics: list[str] | None = None) -> list[str]:
        spots = playable_spots(engine, root, on=day, require_approval=approval, topics=topics)
        return [s.path for s in spots]

    assert airs(date(2021, 3, 1), False) == ["chi-so/b.mp3", "dich-vu-cong/c.mp3"]
    assert airs(date(2021, 3, 2), False) == ["chi-so/a.mp3", "chi-so/b.mp3", "dich-vu-cong/c.mp3"]
    assert airs(date(2021, 3, 31), False)[0] == "chi-so/a.mp3"  # until is inclusive
    assert airs(date(2021, 4, 1), False) == ["chi-so/b.mp3", "dich-vu-cong/c.mp3"]
    assert airs(date(2021, 3, 2), True) == ["chi-so/b.mp3"]
    assert airs(date(2021, 3, 2), False, ["dich-vu-cong"]) == ["dich-vu-cong/c.mp3"]

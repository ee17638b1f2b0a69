"""A file that is not audio at all but named `.mp3` (a text renamed, a picture, a saved web page)
is refused as "không phải tệp âm thanh (not an audio file)" with what to do, not as corrupt; a
real recording that is damaged stays corrupt (or truncated, when it is cut). Before, the .mp3
extension alone made any file ffmpeg could not open "hỏng (corrupt)". Real files, the real
scan (mutagen + ffmpeg), the real CLI and a real SQLite catalogue."""

from __future__ import annotations

import random
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from audio_library import scan as scan_module
from audio_library.scan import scan_library
from audio_library.tags import container_of
from loa.cli import cli
from loa.db import open_database
from tests.audio_media import tone

TOPIC = "chi-so"
NOT_AUDIO = "không phải tệp âm thanh: "
ADVICE = "; replace it with a real recording or remove it)"
CORRUPT = (
    "hỏng: tệp âm thanh bị hỏng, ffmpeg không giải mã được; hãy chép lại từ bản gốc (corrupt: "
)

CONFIG = """
[station]
id = "xa-thu"
name = "Đài xã Thử"

[library]
root = "lib"
require_approval = false

[database]
url = "sqlite:///loa.db"

[[topics]]
id = "chi-so"
name = "Chỉ số"

[[slots]]
name = "sang"
start = "06:00"
length = "10m"
"""


def png() -> bytes:
    """A real 8x8 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("not-audio")
    return {
        "mp3": tone(folder / "tin.mp3", 440, 6.0),
        "m4a": tone(folder / "tin.m4a", 440, 6.0),
    }


def library(root: Path, recordings: dict[str, Path]) -> dict[str, str]:
    """The files of the test, in `root/chi-so`; what each must be refused as."""
    folder = root / TOPIC
    folder.mkdir(parents=True)
    (folder / "văn bản.mp3").write_text("Lịch phát thanh tháng 3, xã Thử.\n" * 30, "utf-8")
    (folder / "rỗng.mp3").write_bytes(b"")
    (folder / "ảnh.mp3").write_bytes(png())
    (folder / "trang web.mp3").write_text(
        "<!DOCTYPE html><html><body>404 Not Found</body></html>\n", "utf-8"
    )
    mp3 = recordings["mp3"].read_bytes()
    m4a = recordings["m4a"].read_bytes()
    (folder / "cụt giữa.mp3").write_bytes(mp3[: len(mp3) // 2])  # cut in the middle
    (folder / "chỉ còn thẻ ID3.mp3").write_bytes(mp3[:45])  # the recording's first bytes only
    (folder / "cụt.m4a").write_bytes(m4a[: len(m4a) // 2])  # its index (moov) is at the end
    rotten = bytearray(mp3)
    third = len(rotten) // 3
    rotten[third : third + 1024] = random.Random(7).randbytes(1024)  # bit rot inside
    (folder / "hỏng giữa.mp3").write_bytes(bytes(rotten))
    shutil.copy(recordings["mp3"], folder / "tốt.mp3")
    return {
        "văn bản.mp3": "not_audio",
        "trang web.mp3": "not_audio",
        "ảnh.mp3": "not_audio",
        "rỗng.mp3": "empty",
        "cụt giữa.mp3": "truncated",
        "chỉ còn thẻ ID3.mp3": "corrupt",
        "cụt.m4a": "corrupt",
        "hỏng giữa.mp3": "corrupt",
    }


def problems(engine: object, root: Path) -> dict[str, tuple[str, str | None, str | None]]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(text("SELECT path, status, problem, reason FROM spot")).all()
    return {
        path.split("/", 1)[1]: (status, problem, reason) for path, status, problem, reason in rows
    }


def test_a_file_that_is_not_audio_is_told_apart_from_a_damaged_recording(
    tmp_path: Path, recordings: dict[str, Path]
) -> None:
    root = tmp_path / "lib"
    expected = library(root, recordings)
    engine = open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    report = scan_library(engine, root, [TOPIC], max_spot_s=600.0, target_lufs=-16.0, workers=1)
    rows = problems(engine, root)
    assert {name: rows[name][1] for name in expected} == expected
    assert rows["tốt.mp3"][:2] == ("ok", None)
    said = {r["path"].split("/", 1)[1]: r["reason"] for r in report.rejected}
    assert set(said) == set(expected)
    assert said["văn bản.mp3"] == (
        "không phải tệp âm thanh: ffmpeg không nhận ra định dạng dù tên có đuôi .mp3; hãy thay "
        "bằng bản ghi âm thật hoặc xoá tệp (not an audio file: unknown format, although named "
        ".mp3; replace it with a real recording or remove it)"
    )
    assert said["trang web.mp3"] == said["văn bản.mp3"]
    assert said["ảnh.mp3"] == (
        "không phải tệp âm thanh: ffmpeg đọc được nó là png_pipe nhưng không có luồng âm thanh "
        "dù tên có đuôi .mp3; hãy thay bằng bản ghi âm thật hoặc xoá tệp (not an audio file: "
        "ffmpeg finds no audio stream in this png_pipe, although named .mp3; replace it with a "
        "real recording or remove it)"
    )
    assert said["rỗng.mp3"] == "rỗng: tệp 0 byte (empty)"
    assert said["cụt giữa.mp3"].startswith("bị cắt cụt: giải mã ")
    for name in ("chỉ còn thẻ ID3.mp3", "cụt.m4a"):
        assert said[name].startswith(CORRUPT), said[name]
    assert said["hỏng giữa.mp3"].startswith("hỏng: ") and "lỗi giải mã" in said["hỏng giữa.mp3"]
    for name, problem in expected.items():
        assert (NOT_AUDIO in said[name]) == (problem == "not_audio"), name
        assert (ADVICE in said[name]) == (problem == "not_audio"), name


def test_scan_and_check_show_it_in_their_usual_lines(
    tmp_path: Path, recordings: dict[str, Path]
) -> None:
    (tmp_path / "config.toml").write_text(CONFIG, "utf-8")
    library(tmp_path / "lib", recordings)
    runner = CliRunner()
    config = ["--config", str(tmp_path / "config.toml")]
    scanned = runner.invoke(cli, [*config, "library", "scan"])
    assert scanned.exit_code == 0, scanned.output
    lines = scanned.output.splitlines()
    assert "Bị từ chối 8 (rejected):" in lines
    assert (
        "  chi-so/văn bản.mp3: không phải tệp âm thanh: ffmpeg không nhận ra định dạng dù tên "
        "có đuôi .mp3; hãy thay bằng bản ghi âm thật hoặc xoá tệp (not an audio file: unknown "
        "format, although named .mp3; replace it with a real recording or remove it)"
    ) in lines
    assert any(line.startswith("  chi-so/cụt.m4a: " + CORRUPT) for line in lines), lines
    checked = runner.invoke(cli, [*config, "library", "check"])
    assert checked.exit_code == 1, checked.output
    mine = [line for line in checked.output.splitlines() if "chi-so/văn bản.mp3" in line]
    assert len(mine) == 1 and mine[0].startswith("lỗi (error): chi-so/văn bản.mp3: " + NOT_AUDIO)
    listed = runner.invoke(cli, [*config, "library", "list"])
    assert "chi-so/ảnh.mp3 — ảnh  (rejected: không phải tệp âm thanh: " in listed.output


def test_a_catalogue_from_before_is_judged_again_once(
    tmp_path: Path, recordings: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows an older loa stored as corrupt for a file of no known format are judged again at
    the next scan; a damaged recording judged now is not decoded again at every scan."""
    root = tmp_path / "lib"
    library(root, recordings)
    engine = open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    scan_library(engine, root, [TOPIC], max_spot_s=600.0, target_lufs=-16.0, workers=1)
    old = "hỏng: ffmpeg không giải mã được (corrupt: Error opening input: Invalid data found)"
    with engine.begin() as conn:  # as the older loa left them
        conn.execute(
            text("UPDATE spot SET problem = 'corrupt', reason = :r WHERE path LIKE '%văn bản%'"),
            {"r": old},
        )
    decoded: list[str] = []
    real = scan_module.analyse

    def counting(path: Path, **kw: object) -> object:
        decoded.append(path.name)
        return real(path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(scan_module, "analyse", counting)
    scan_library(engine, root, [TOPIC], max_spot_s=600.0, target_lufs=-16.0, workers=1)
    assert decoded == ["văn bản.mp3"]
    status, problem, reason = problems(engine, root)["văn bản.mp3"]
    assert (status, problem) == ("rejected", "not_audio") and reason.startswith(NOT_AUDIO)  # type: ignore[union-attr]
    decoded.clear()
    scan_library(engine, root, [TOPIC], max_spot_s=600.0, target_lufs=-16.0, workers=1)
    assert decoded == []


@pytest.mark.parametrize(
    ("head", "container"),
    [
        (b"ID3\x04\x00", "mp3"),
        (b"\xff\xfb\x90\x00", "mpeg"),
        (b"RIFF\x00\x00\x00\x00WAVE", "wav"),
        (b"RIFF\x00\x00\x00\x00AVI ", None),
        (b"\x00\x00\x00\x20ftypM4A ", "mp4"),
        (b"fLaC\x00", "flac"),
        (b"OggS\x00", "ogg"),
        (b"\x89PNG\r\n\x1a\n", None),
        (b"Lich phat", None),
        (b"", None),
    ],
)
def test_the_first_bytes_of_a_recording(head: bytes, container: str | None) -> None:
    assert container_of(head) == container

"""`loa library scan | list | check | approve | set` through the real CLI and a real database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from loa.cli import cli
from tests.library_audio import make_audio

CONFIG = """
[station]
id = "xa-thu"
name = "Đài xã Thử"

[library]
root = "lib"
require_approval = {approval}

[database]
url = "sqlite:///loa.db"

[[topics]]
id = "dich-vu-cong"
name = "Dịch vụ công"

[[topics]]
id = "chi-so"
name = "Chỉ số"

[[slots]]
name = "sang"
start = "06:00"
length = "10s"
"""


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("cli-tones")
    return [make_audio(folder / f"t{f}.ogg", freq=f) for f in (300, 400, 500)]


@pytest.fixture
def station(tmp_path: Path, tones: list[Path]) -> Path:
    (tmp_path / "config.toml").write_text(CONFIG.format(approval="false"), "utf-8")
    for rel, src in (
        ("lib/dich-vu-cong/Hướng dẫn nộp hồ sơ.ogg", tones[0]),
        ("lib/chi-so/Chỉ số SIPAS.ogg", tones[1]),
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, tmp_path / rel)
    return tmp_path


def run(station: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(station / "config.toml"), "library", *args])
    return result.exit_code, result.output


def test_scan_json_then_list_json(station: Path) -> None:
    (station / "lib/chi-so/rỗng.mp3").write_bytes(b"")
    code, out = run(station, "scan", "--json")
    assert code == 0, out
    assert json.loads(out) == {
        "added": 3,
        "updated": 0,
        "unchanged": 0,
        "removed": 0,
        "rejected": [{"path": "chi-so/rỗng.mp3", "reason": "rỗng: tệp 0 byte (empty)"}],
    }
    code, out = run(station, "list", "--format", "json")
    rows = json.loads(out)
    assert [r["path"] for r in rows] == [
        "chi-so/Chỉ số SIPAS.ogg",
        "chi-so/rỗng.mp3",
        "dich-vu-cong/Hướng dẫn nộp hồ sơ.ogg",
    ]
    assert set(rows[0]) == {
        "id",
        "topic",
        "path",
        "title",
        "duration_s",
        "loudness_lufs",
        "status",
        "reason",
    }
    assert rows[0]["status"] == "ok" and rows[0]["reason"] is None
    assert rows[0]["duration_s"] == pytest.approx(3.0, abs=0.1)
    assert rows[1]["status"] == "rejected"
    code, out = run(station, "list", "--topic", "dich-vu-cong", "--format", "csv")
    lines = out.splitlines()
    assert lines[0].startswith("id,topic,path,title,duration_s,loudness_lufs,status,reason")
    assert len(lines) == 2 and "Hướng dẫn nộp hồ sơ" in lines[1]
    code, out = run(station, "scan")
    assert code == 0
    assert out.splitlines() == [
        "Thêm 0, cập nhật 0, không đổi 3, đã xoá 0 (added, updated, unchanged, removed)",
        "Bị từ chối 1 (rejected):",
        "  chi-so/rỗng.mp3: rỗng: tệp 0 byte (empty)",
    ]


def test_list_of_an_unknown_topic_names_the_ids(station: Path) -> None:
    code, out = run(station, "list", "--topic", "chi_so")
    assert code == 1
    assert out.strip() == (
        '--topic: không có chủ đề "chi_so" (no such topic); các mã (ids): dich-vu-cong, chi-so'
    )


def test_a_missing_library_folder_is_a_clear_error(station: Path) -> None:
    shutil.rmtree(station / "lib")
    code, out = run(station, "scan")
    assert code == 1
    assert out.startswith(f"library.root: không có thư mục {station / 'lib'}")
    assert "Traceback" not in out


def test_check_reports_problems_and_exits_non_zero(station: Path, tones: list[Path]) -> None:
    code, out = run(station, "check")
    assert code == 1  # nothing catalogued yet
    assert "chưa có trong danh mục (not catalogued)" in out
    run(station, "scan")
    code, out = run(station, "check", "--date", "2021-03-01")
    assert (code, out.splitlines()[-1]) == (0, "0 lỗi, 0 lưu ý (0 errors, 0 notices)")
    (station / "lib/chi-so/Chỉ số SIPAS.ogg").unlink()
    shutil.copy(tones[2], station / "lib/chi-so/mới.ogg")
    (station / "lib/tin-cu").mkdir()
    code, out = run(station, "check", "--date", "2021-03-01", "--json")
    assert code == 1
    findings = json.loads(out)
    assert {(f["level"], f["path"]) for f in findings} == {
        ("error", "tin-cu/"),
        ("error", "chi-so/mới.ogg"),
        ("error", "chi-so/Chỉ số SIPAS.ogg"),
    }
    run(station, "scan")  # the new file replaces the old one: the topic has a spot again
    code, out = run(station, "check", "--date", "2021-03-01")
    assert out.splitlines()[0].startswith("lỗi (error): tin-cu/: thư mục không phải chủ đề")


def test_approval_and_validity_from_the_command_line(station: Path) -> None:
    (station / "config.toml").write_text(CONFIG.format(approval="true"), "utf-8")
    run(station, "scan")
    code, out = run(station, "check", "--date", "2021-03-01")
    assert code == 1
    assert "lưu ý (notice): chi-so/Chỉ số SIPAS.ogg: chưa được duyệt, sẽ không phát" in out
    assert "lỗi (error): chi-so: chủ đề không có tin bài nào được phát ngày 2021-03-01" in out
    code, out = run(
        station, "approve", str(station / "lib/chi-so/Chỉ số SIPAS.ogg"), "--by", "Ban biên tập"
    )
    assert code == 0, out
    spot_id = out.split()[0]
    code, out = run(station, "approve", "dich-vu-cong/Hướng dẫn nộp hồ sơ.ogg")
    assert code == 0, out
    code, out = run(station, "set", spot_id[:8], "--from", "2021-03-01", "--until", "2021-03-05")
    assert code == 0, out
    assert out.strip() == (
        f"{spot_id}: phát từ 2021-03-01 đến 2021-03-05 (valid from..until): {spot_id[:8]}"
    )
    code, out = run(station, "check", "--date", "2021-03-01")
    assert code == 0, out
    assert "sắp hết hạn (expires soon): đến 2021-03-05" in out
    code, out = run(station, "check", "--date", "2021-03-06")
    assert code == 1
    assert "đã hết hạn (expired): đến 2021-03-05" in out
    code, out = run(station, "set", spot_id, "--until", "-")
    assert "phát từ 2021-03-01 đến …" in out
    code, out = run(station, "approve", spot_id, "--revoke")
    assert out.strip() == f"{spot_id} bỏ duyệt (revoked): {spot_id}"


def test_operator_mistakes_are_clear_messages(station: Path) -> None:
    run(station, "scan")
    code, out = run(station, "approve", "chi-so/không có.ogg")
    assert code == 1
    assert out.strip() == (
        "chi-so/không có.ogg: không có tin bài nào như vậy; dùng mã (id) hoặc đường dẫn như "
        "`loa library list` in ra (no such spot: give an id or a path as listed)"
    )
    code, out = run(station, "set", "chi-so/Chỉ số SIPAS.ogg", "--from", "01/03/2021")
    assert code == 2
    assert '"01/03/2021" is not a date: write YYYY-MM-DD, e.g. 2021-03-01' in out
    code, out = run(
        station, "set", "chi-so/Chỉ số SIPAS.ogg", "--from", "2021-03-05", "--until", "2021-03-01"
    )
    assert code == 1
    assert "ngày hết hạn 2021-03-01 trước ngày bắt đầu 2021-03-05 (--until is before --from)" in out


def test_a_spot_longer_than_every_slot_is_refused(station: Path, tmp_path: Path) -> None:
    make_audio(station / "lib/chi-so/Dài quá.flac", seconds=12.0)
    code, out = run(station, "scan", "--json")
    assert code == 0, out
    rejected = json.loads(out)["rejected"]
    assert rejected == [
        {
            "path": "chi-so/Dài quá.flac",
            "reason": "quá dài: 12s, dài hơn mọi buổi phát (tối đa 10s) (longer than every slot)",
        }
    ]

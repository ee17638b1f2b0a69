"""`loa play-now --file` with a file name that is not UTF-8: refused before airing, as the
library refuses it (it aired, and its airtime rows failed to be written: airtime unlogged);
a missing file and a symlink loop: the same refusal with the reason, not click's English."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from loa.cli import cli
from tests.test_config import with_slot


def station(tmp_path: Path) -> Path:
    (tmp_path / "thu-vien").mkdir()
    config = tmp_path / "config.toml"
    text = with_slot(name='"chieu"', start='"17:00"', length='"5m"')
    config.write_text(
        text + '\n[library]\nroot = "thu-vien"\n[output]\nbackend = "null"\n', "utf-8"
    )
    return config


def test_play_now_refuses_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    config = station(tmp_path)
    name = tmp_path / os.fsdecode(b"b\xe0i.mp3")  # "bài" in Windows-1258
    name.write_bytes(b"ID3 not really audio")
    result = CliRunner().invoke(cli, ["--config", str(config), "play-now", "--file", str(name)])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"--file: {tmp_path}/b\ufffdi.mp3: tên tệp không phải UTF-8: đổi tên tệp (file name is "
        "not UTF-8); chọn một tệp âm thanh (give an audio file)\n"
    )


def test_play_now_names_a_missing_file_and_a_symlink_loop(tmp_path: Path) -> None:
    config = station(tmp_path)
    loop = tmp_path / "vong.mp3"
    loop.symlink_to(loop)
    for path, reason in (
        (tmp_path / "khong-co.mp3", "No such file or directory"),
        (loop, "Too many levels of symbolic links"),
    ):
        result = CliRunner().invoke(cli, ["--config", str(config), "play-now", "--file", str(path)])
        assert result.exit_code == 1, result.output
        assert result.stderr == (
            f"--file: {path}: không đọc được tệp (cannot read the file): {reason}; chọn một "
            "tệp âm thanh (give an audio file)\n"
        )

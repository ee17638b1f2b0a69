"""`loa play-now --file` with a file name that is not UTF-8: refused before airing, as the
library refuses it (it aired, and its airtime rows failed to be written: airtime unlogged)."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from loa.cli import cli
from tests.test_config import with_slot


def test_play_now_refuses_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "thu-vien").mkdir()
    config = tmp_path / "config.toml"
    text = with_slot(name='"chieu"', start='"17:00"', length='"5m"')
    config.write_text(
        text + '\n[library]\nroot = "thu-vien"\n[output]\nbackend = "null"\n', "utf-8"
    )
    name = tmp_path / os.fsdecode(b"b\xe0i.mp3")  # "bài" in Windows-1258
    name.write_bytes(b"ID3 not really audio")
    result = CliRunner().invoke(cli, ["--config", str(config), "play-now", "--file", str(name)])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"--file: {tmp_path}/b\ufffdi.mp3: tên tệp không phải UTF-8: đổi tên tệp (file name is "
        "not UTF-8); chọn một tệp âm thanh (give an audio file)\n"
    )

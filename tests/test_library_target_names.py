"""`loa library approve/set TARGET` with a file name that is not UTF-8 (a USB stick written by
an old Windows): refused with the library's advice, not an internal error from the database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from audio_library.catalog import CatalogError, resolve
from loa.db import open_database


def test_a_target_whose_name_is_not_utf8_is_refused_with_the_fix(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    root = tmp_path / "thu-vien"
    (root / "chi-so").mkdir(parents=True)
    name = os.fsdecode(b"chi-so/b\xe0i.mp3")  # "bài" in Windows-1258: a surrogate escape
    (root / "chi-so" / os.fsdecode(b"b\xe0i.mp3")).write_bytes(b"ID3")
    with pytest.raises(CatalogError) as info:
        resolve(engine, root, str(root / name))
    assert str(info.value) == (
        f"{root}/chi-so/b\ufffdi.mp3: tên tệp không phải UTF-8: đổi tên tệp rồi chạy "
        "`loa library scan` (the file name is not UTF-8: rename the file, then scan)"
    )

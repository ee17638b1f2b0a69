"""The library folder missing under a running daemon (a USB stick not mounted, a typo in
`library.root`): one plain line in the log and one event, no traceback, the last list airs."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from loa.compose import LibrarySource
from loa.config import load_config
from loa.db import open_database, station_db
from tests.library_audio import make_audio
from tests.test_config import BASE

WHAT_TO_DO = (
    "(the library folder does not exist): tạo thư mục đó, mỗi chủ đề một thư mục con mang mã "
    "chủ đề, hoặc sửa [library] root"
)


def test_a_missing_library_folder_is_one_line_not_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lib = tmp_path / "thư viện"
    make_audio(lib / "chi-so" / "tin.mp3")
    (tmp_path / "config.toml").write_text(BASE + f'\n[library]\nroot = "{lib.name}"\n', "utf-8")
    config = load_config(tmp_path / "config.toml")
    events: list[tuple[str, ...]] = []
    db = station_db(open_database(config.database.url))
    source = LibrarySource(config, db, lambda *e: events.append(e))
    assert [s.path for s in source.refresh()] == ["chi-so/tin.mp3"]
    shutil.move(lib, tmp_path / "elsewhere")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert [s.path for s in source.refresh()] == ["chi-so/tin.mp3"]  # the last good list
        source.refresh()  # said once, not at every rescan
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and errors[0].exc_info is None, caplog.text
    assert "Traceback" not in caplog.text
    message = f"library.root: không có thư mục {lib} {WHAT_TO_DO}"
    assert message in errors[0].getMessage()
    assert events == [("error", "library", f"rescan failed: {message}")]

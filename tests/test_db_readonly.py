"""A station database the user running loa may not write (a read-only folder after a restore,
a file copied as root) is named with what to do, not "check that the file is a loa database"."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loa.db import open_database

ROOT = Path(__file__).resolve().parent.parent


def _as_unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:  # util-linux is in every Debian; without it root ignores the modes
        pytest.fail("running as root without setpriv: apt-get install util-linux")
    return [setpriv, "--inh-caps=-all", "--bounding-set=-all", "--"]  # root without DAC bypass


def test_a_read_only_database_folder_says_to_grant_write_permission(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'loa.db'}"
    open_database(url).dispose()
    (data / "loa.db").chmod(0o444)
    data.chmod(0o555)
    try:
        code = f"from loa.db import open_database\nopen_database({url!r})"
        done = subprocess.run(
            [*_as_unprivileged(), sys.executable, "-c", code],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        data.chmod(0o755)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.endswith(
        f"database.url: cannot open {url}: attempt to write a readonly database; give the user "
        "running loa write permission on the file and its folder (SQLite writes its journal "
        "beside the file)"
    ), done.stderr

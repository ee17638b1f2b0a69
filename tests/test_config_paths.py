"""Path keys of config.toml that loa cannot use: refused by `loa config check`.

`daemon.socket = ""` used to pass the check and stop `loa run` with an internal error (the
socket path was the config's own folder); `library.root = ""` scanned the station's own folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_config import BASE, problems_of


@pytest.mark.parametrize(
    ("section", "key"),
    [("library", "root"), ("daemon", "socket"), ("output", "path")],
)
def test_an_empty_path_is_refused(tmp_path: Path, section: str, key: str) -> None:
    problems = problems_of(tmp_path, BASE + f'\n[{section}]\n{key} = ""\n')
    assert problems == [
        f"{section}.{key}: must not be empty: write a path (relative to the folder of config.toml)"
    ]


def test_a_path_that_is_not_text_says_so(tmp_path: Path) -> None:
    assert problems_of(tmp_path, BASE + "\n[library]\nroot = 3\n") == [
        "library.root: 3 is not a path: write it as text in quotes"
    ]

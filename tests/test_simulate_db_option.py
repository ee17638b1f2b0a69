"""`loa simulate --db URL` that cannot be opened: the message blames `--db`, what was typed."""

from __future__ import annotations

from pathlib import Path

from loa.errors import EXIT_DATABASE
from tests.test_station_cli import invoke, station  # noqa: F401 (the fixture)


def test_a_db_option_that_cannot_be_opened_is_blamed_by_its_name(
    station: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    folder = tmp_path / "thư mục"
    folder.mkdir()
    code, _, err = invoke(station, "simulate", "--from", "2021-03-01", "--days", "1",
                          "--db", f"sqlite:///{folder}")  # fmt: skip
    assert code == EXIT_DATABASE, err
    assert err.startswith(f"--db: cannot open sqlite:///{folder}: ")
    assert "database.url" not in err and "config.toml" not in err
    code, _, err = invoke(station, "simulate", "--from", "2021-03-01", "--days", "1",
                          "--db", "mysql://u:bí-mật@h/x")  # fmt: skip
    assert code == EXIT_DATABASE, err
    assert err.startswith("--db: cannot use 'mysql://u:***@h/x'") and "bí-mật" not in err

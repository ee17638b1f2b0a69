"""`[central]` in config.toml: optional, checked by `loa config check`, no PostgreSQL needed;
and the pure parts of the push: the retry delays and the chain link check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from airtime.chain import FIELDS, ChainRow, link
from central.ingest import Head, check_links
from loa.cli import cli
from loa.config import load_config
from scheduler.pusher import retry_delay

BASE = """
[station]
id = "xa-thu"
name = "Xã Thử"
[[topics]]
id = "a"
name = "A"
"""


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE + extra, encoding="utf-8")
    return path


def test_central_is_optional_and_parsed(tmp_path: Path) -> None:
    assert load_config(_config(tmp_path, "")).central.url is None
    config = load_config(
        _config(tmp_path, '[central]\nurl = "postgresql+psycopg://u:p@h/loa"\npush_every = "5m"\n')
    )
    assert config.central.push_every == 300.0
    assert config.central.url == "postgresql+psycopg://u:p@h/loa"


def test_a_wrong_central_url_is_named_by_config_check(tmp_path: Path) -> None:
    path = _config(tmp_path, '[central]\nurl = "mysql://u:secret@h/x"\npush_every = "soon"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == 3
    assert "central.url: " in result.stderr and "not a PostgreSQL URL" in result.stderr
    assert "central.push_every: " in result.stderr
    assert "secret" not in result.stderr


@pytest.mark.parametrize(
    ("failures", "delay"), [(0, 900.0), (1, 10.0), (2, 20.0), (3, 40.0), (7, 640.0), (8, 900.0),
                            (500, 900.0)],
)  # fmt: skip
def test_retry_delays_double_up_to_the_push_interval(failures: int, delay: float) -> None:
    assert retry_delay(failures, 900.0) == delay


def _rows(n: int, prev: str = "") -> list[ChainRow]:
    out = []
    for i in range(1, n + 1):
        values = tuple(
            {"id": f"r{i}", "station": "s", "kind": "scheduled", "title": "t", "path": "p",
             "played_s": 1.0, "status": "completed",
             "started_at": datetime(2021, 1, 1, tzinfo=UTC)}.get(f)
            for f in FIELDS
        )  # fmt: skip
        prev = link(prev, values)
        out.append(ChainRow(i, i, prev, values))
    return out


def test_check_links_names_the_first_row_that_does_not_extend_the_head() -> None:
    rows = _rows(5)
    assert check_links(Head(), rows) is None
    assert check_links(Head(2, rows[1].hash or ""), rows[2:]) is None
    fork = check_links(Head(2, "0" * 64), rows[2:])
    assert fork is not None and fork.row.chain_seq == 3 and "fork" in fork.reason
    gap = check_links(Head(1, rows[0].hash or ""), rows[2:])
    assert gap is not None and "position 3 where 2 was expected" in gap.reason
    edited = list(rows)
    edited[3] = ChainRow(4, 4, rows[3].hash, (*rows[3].values[:6], "sửa", *rows[3].values[7:]))
    broken = check_links(Head(), edited)
    assert broken is not None and broken.row.chain_seq == 4


@pytest.mark.parametrize("before", [True, False])
def test_url_is_taken_before_or_after_the_command_name(tmp_path: Path, before: bool) -> None:
    """`loa central --url U init` and `loa central init --url U` mean the same; the password
    of a URL that cannot be reached is never printed."""
    config = _config(tmp_path, "")
    url = "postgresql+psycopg://admin:s3cret-pw@127.0.0.1:1/loa"
    words = ["--url", url, "init"] if before else ["init", "--url", url]
    result = CliRunner().invoke(cli, ["--config", str(config), "central", *words])
    assert result.exit_code != 0
    assert "No such option" not in result.output
    assert "127.0.0.1" in result.output
    assert "s3cret-pw" not in result.output

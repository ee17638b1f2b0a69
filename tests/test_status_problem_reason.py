"""`loa status` shows the reason of a multi-line problem (the refused edit's `key.path:
message` lines under its heading), not only the heading that ends in a colon."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from loa.cli import cli
from tests.test_config import with_slot


def test_status_shows_the_lines_under_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    (tmp_path / "thu-vien").mkdir()
    text = with_slot(name='"chieu"', start='"17:00"', length='"5m"')
    path.write_text(text + '\n[library]\nroot = "thu-vien"\n', "utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(path), "airtime", "log"]).exit_code == 0
    reasons = [
        f'slots[{i}].start: "25:00" is not a time of day (HH:MM or HH:MM:SS)' for i in range(7)
    ]
    message = "sửa đổi config.toml bị từ chối (edit refused):\n" + "\n".join(reasons)
    with sqlite3.connect(tmp_path / "data" / "loa.db") as db:
        db.execute(
            "insert into event (at, level, source, message) values (?, 'error', 'config', ?)",
            (datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), message),
        )
    result = runner.invoke(cli, ["--config", str(path), "status"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if "edit refused" in line)
    assert lines[head].endswith("error config: sửa đổi config.toml bị từ chối (edit refused):")
    assert lines[head + 1 : head + 7] == [f"      {r}" for r in reasons[:5]] + ["      … (+2)"]


def test_a_station_that_never_pushed_says_never_whole() -> None:
    from loa.commands.status import central_lines

    central = {"pushed_at": None, "waiting": 4, "error": None, "failures": 0}
    assert central_lines(central) == [
        "Gửi trung tâm (central push): lần cuối chưa lần nào (never), 4 bản ghi chờ gửi"
    ]
    central["pushed_at"] = "2026-12-01T22:05:35.634+07:00"
    assert central_lines(central)[0].startswith(
        "Gửi trung tâm (central push): lần cuối 2026-12-01 22:05:35,"
    )

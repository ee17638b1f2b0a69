"""The shipped demo station: its library scans clean, and a simulated month of it airs every
topic at its weight share (the demo's `make run` and `loa simulate` are what a new user sees)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from loa.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def demo_config(tmp_path: Path) -> Path:
    text = (ROOT / "config.toml").read_text("utf-8")
    text = text.replace(
        'root = "audio_library/demo"', f'root = "{ROOT / "audio_library" / "demo"}"'
    )
    config = tmp_path / "config.toml"
    config.write_text(text, "utf-8")  # its database and socket go to tmp_path/data
    return config


def test_the_demo_library_scans_clean_and_the_demo_month_is_fair(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    runner = CliRunner()
    scan = runner.invoke(cli, ["--config", str(config), "library", "scan", "--json"])
    assert scan.exit_code == 0, scan.output
    report = json.loads(scan.stdout)
    assert report["rejected"] == [] and report["added"] == 24
    listed = json.loads(
        runner.invoke(cli, ["--config", str(config), "library", "list", "--format", "json"]).stdout
    )
    per_topic = Counter(s["topic"] for s in listed if s["status"] == "ok")
    assert len(per_topic) == 11 and min(per_topic.values()) >= 2
    assert per_topic["dich-vu-cong"] == 4  # it weighs twice as much
    sim = runner.invoke(
        cli, ["--config", str(config), "simulate", "--from", "2021-03-01", "--days", "30"]
    )
    assert sim.exit_code == 0, sim.output
    assert "off their weight share" not in sim.stdout  # no topic flagged "!"
    share = {
        line.split()[0]: float(line.split()[3].rstrip("%"))
        for line in sim.stdout.splitlines()[2:]
        if line and not line.startswith("!")
    }
    assert abs(share["dich-vu-cong"] - 100 * 2 / 12) < 2
    assert all(abs(v - 100 / 12) < 2 for k, v in share.items() if k != "dich-vu-cong")

"""The playback gain never clips (issue 10, part 4): the rule, the scan, the list, the probes.

The rule is a pure function (`verdict.playback_gain`), checked on a table of cases; the rest is
real files measured by real ffmpeg, and the effect of the gain is measured the same way: the file
with the gain applied (ffmpeg's `volume`) is measured again by `ebur128` with `peak=true`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

import audio_library.scan as scan_module
from audio_library.analysis import ffmpeg_exe
from audio_library.catalog import list_spots, probe
from audio_library.scan import scan_library
from audio_library.verdict import TRUE_PEAK_CEILING_DBTP, Gain, playback_gain, shortfall_reason
from loa.cli import cli
from loa.config import check_config
from loa.db import open_database, station_db
from tests.library_audio import make_audio

ROOT = Path(__file__).resolve().parent.parent
# The shipped demo spot the issue found clipping on air: -18.8 LUFS, true peak +0.2 dBTP.
DEMO = ROOT / "audio_library/demo/chi-so/Chỉ số PAPI và PCI - số 2.ogg"


@pytest.mark.parametrize(
    ("loudness", "peak", "target", "boost", "expected"),
    [
        (-20.0, -10.0, -16.0, 12.0, Gain(4.0, 4.0, None)),  # room enough: the target
        (-10.0, -0.5, -16.0, 12.0, Gain(-6.0, -6.0, None)),  # louder than the target: cut
        (-18.8, 0.2, -16.0, 12.0, Gain(-1.2, 2.8, "peak")),  # the demo spot: peak-limited
        (-46.0, -30.0, -16.0, 12.0, Gain(12.0, 30.0, "max_boost")),  # the -46 LUFS spot
        (-46.0, -8.0, -16.0, 12.0, Gain(7.0, 30.0, "peak")),  # both caps: the lower wins
        (-30.0, -20.0, -16.0, 0.0, Gain(0.0, 14.0, "max_boost")),  # boosting switched off
        (-20.0, None, -16.0, 12.0, Gain(0.0, 4.0, "no_peak")),  # peak unknown: no boost
        (-12.0, None, -16.0, 12.0, Gain(-4.0, -4.0, None)),  # ... but a cut is safe
        (-16.0, -1.0, -16.0, 12.0, Gain(0.0, 0.0, None)),  # exactly at both
        (None, None, -16.0, 12.0, Gain(None, None, None)),  # unmeasured
        (-70.0, -80.0, -16.0, 12.0, Gain(None, None, None)),  # silence (gated)
    ],
)
def test_the_gain_rule(
    loudness: float | None, peak: float | None, target: float, boost: float, expected: Gain
) -> None:
    gain = playback_gain(loudness, peak, target, boost)
    assert gain == expected
    if gain.gain_db is not None and peak is not None:
        assert peak + gain.gain_db <= TRUE_PEAK_CEILING_DBTP + 1e-9
    if gain.gain_db is not None:
        assert gain.gain_db <= boost


def test_the_reasons_a_spot_airs_below_the_target() -> None:
    assert shortfall_reason(playback_gain(-20.0, -10.0, -16.0, 12.0), -10.0, 12.0) is None
    assert shortfall_reason(playback_gain(-18.8, 0.2, -16.0, 12.0), 0.2, 12.0) == (
        "thấp hơn mục tiêu 4.0 dB: đỉnh thật +0.2 dBTP, tăng thêm sẽ vượt -1 dBTP "
        "(below target: true-peak limit)"
    )
    assert shortfall_reason(playback_gain(-46.0, -30.0, -16.0, 12.0), -30.0, 12.0) == (
        "thấp hơn mục tiêu 18.0 dB: đã tăng tối đa 12 dB (below target: library.max_boost)"
    )
    assert shortfall_reason(playback_gain(-20.0, None, -16.0, 12.0), None, 12.0) == (
        "thấp hơn mục tiêu 4.0 dB: chưa đo đỉnh thật, chạy loa library scan "
        "(peak not measured: run a scan)"
    )


def true_peak_with_gain(path: Path, gain_db: float) -> float:
    """The true peak of `path` played with `gain_db`, measured by ffmpeg (the yardstick)."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path),
         "-af", f"volume={gain_db}dB,ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    match = re.search(r"Peak:\s+(-?[\d.]+) dBFS", proc.stderr[proc.stderr.rindex("Summary:") :])
    assert match, proc.stderr[-500:]
    return float(match[1])


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "lib" / "chi-so"
    folder.mkdir(parents=True)
    shutil.copy(DEMO, folder / "demo.ogg")
    make_audio(folder / "nhỏ.flac", volume_db=-26.0)  # about -47 LUFS, peak -44 dBTP
    make_audio(folder / "vừa.flac", volume_db=0.0)  # about -20 LUFS, peak -18 dBTP
    return tmp_path / "lib"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_database(f"sqlite:///{tmp_path}/loa.db")


def scan(engine: Engine, root: Path, **kw: object):  # type: ignore[no-untyped-def]
    options: dict = {"max_spot_s": 600.0, "target_lufs": -16.0, "workers": 1, **kw}
    return scan_library(engine, root, ["chi-so"], **options)


def test_the_scan_caps_the_gain_below_clipping_and_at_the_max_boost(
    engine: Engine, library: Path
) -> None:
    scan(engine, library)
    spots = {s.path.split("/")[1]: s for s in list_spots(engine, library)}
    demo, quiet, mid = spots["demo.ogg"], spots["nhỏ.flac"], spots["vừa.flac"]
    assert demo.loudness_lufs == pytest.approx(-18.8, abs=0.2)
    assert demo.peak_dbtp is not None and demo.peak_dbtp >= -0.1  # mastered to full scale
    assert demo.gain_db == pytest.approx(TRUE_PEAK_CEILING_DBTP - demo.peak_dbtp, abs=0.01)
    assert true_peak_with_gain(library / "chi-so/demo.ogg", demo.gain_db) <= -1.0 + 0.1
    assert quiet.gain_db == 12.0  # not the +30 dB the target alone would want
    assert mid.gain_db == pytest.approx(-16.0 - mid.loudness_lufs, abs=0.01)  # room: the target
    # a lower max_boost in config.toml applies without decoding again
    scan(engine, library, max_boost_db=6.0)
    spots = {s.path.split("/")[1]: s for s in list_spots(engine, library)}
    assert spots["nhỏ.flac"].gain_db == 6.0


def test_a_catalogue_from_before_peaks_gets_them_on_the_next_scan(
    engine: Engine, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan(engine, library)
    with engine.begin() as conn:  # as migration 5 leaves a catalogue made by an older loa
        conn.exec_driver_sql("update spot set peak_dbtp = NULL, gain_db = NULL")
    from loa.compose import library_spots
    from loa.config import Config

    config = Config.model_validate(
        {
            "station": {"id": "xa-thu", "name": "Xã"},
            "library": {"root": str(library)},
            "topics": [{"id": "chi-so", "name": "Chỉ số"}],
            "slots": [{"name": "sang", "start": "06:00", "length": "10m"}],
        }
    )
    gains = {s.path.split("/")[1]: s.gain_db for s in library_spots(config, station_db(engine))}
    assert gains["demo.ogg"] == 0.0  # peak unknown: no boost, never a clip
    assert gains["nhỏ.flac"] == 0.0
    decoded: list[Path] = []
    real = scan_module.analyse

    def spy(path: Path, **kw: object):  # type: ignore[no-untyped-def]
        decoded.append(path)
        return real(path, **kw)

    monkeypatch.setattr(scan_module, "analyse", spy)
    report = scan(engine, library)
    assert (report.added, report.updated, report.unchanged) == (0, 0, 3)
    assert len(decoded) == 3  # each measured once more, for its peak
    spots = {s.path.split("/")[1]: s for s in list_spots(engine, library)}
    assert spots["demo.ogg"].peak_dbtp is not None
    assert spots["demo.ogg"].gain_db == pytest.approx(-1.0 - spots["demo.ogg"].peak_dbtp, abs=0.01)
    scan(engine, library)
    assert len(decoded) == 3  # and never again


def test_jingles_and_play_now_files_get_the_same_cap(tmp_path: Path) -> None:
    info = probe(DEMO, target_lufs=-16.0, max_boost_db=12.0)
    assert info.gain_db < -1.0  # peak +0.2 dBTP: cut, not the +2.8 dB the target wants
    assert true_peak_with_gain(DEMO, info.gain_db) <= -1.0 + 0.1
    quiet = make_audio(tmp_path / "nhỏ.wav", volume_db=-26.0)
    assert probe(quiet, target_lufs=-16.0, max_boost_db=12.0).gain_db == 12.0


CONFIG = """
[station]
id = "xa-thu"
name = "Đài xã Thử"
[library]
root = "lib"
{extra}
[database]
url = "sqlite:///loa.db"
[[topics]]
id = "chi-so"
name = "Chỉ số"
[[slots]]
name = "sang"
start = "06:00"
length = "10m"
"""


def test_list_shows_the_gain_and_flags_what_cannot_reach_the_target(library: Path) -> None:
    config = library.parent / "config.toml"
    config.write_text(CONFIG.format(extra=""), "utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "library", "scan"]).exit_code == 0
    out = runner.invoke(cli, ["--config", str(config), "library", "list"]).output
    lines = {line.split("  chi-so/")[1].split(" — ")[0]: line for line in out.splitlines()}
    assert " -1.2 dB  " in lines["demo.ogg"] or " -1.1 dB  " in lines["demo.ogg"]
    assert "⚠ thấp hơn mục tiêu 4." in lines["demo.ogg"]
    assert lines["demo.ogg"].endswith("(below target: true-peak limit)")
    assert " +12.0 dB  " in lines["nhỏ.flac"]
    assert lines["nhỏ.flac"].endswith("đã tăng tối đa 12 dB (below target: library.max_boost)")
    assert "⚠" not in lines["vừa.flac"]
    csv = runner.invoke(cli, ["--config", str(config), "library", "list", "--format", "csv"])
    header, *rows = csv.output.splitlines()
    assert header.endswith(
        ",playable_s,gain_db,valid_from,valid_until,approved,peak_dbtp,below_target"
    )
    quiet = next(r for r in rows if "nhỏ.flac" in r)
    assert ",12.0," in quiet and quiet.endswith("(below target: library.max_boost)")
    listed = json.loads(
        runner.invoke(cli, ["--config", str(config), "library", "list", "--format", "json"]).output
    )
    assert {r["status"] for r in listed} == {"ok"}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("nan", "library.max_boost: "),
        ("inf", "library.max_boost: "),
        ("1e999", "library.max_boost: "),
        ("-1", "library.max_boost: "),
        ("31", "library.max_boost: "),
        ('"to"', "library.max_boost: "),
    ],
)
def test_max_boost_is_a_finite_number_in_range(tmp_path: Path, value: str, problem: str) -> None:
    path = tmp_path / "config.toml"
    (tmp_path / "lib").mkdir()
    path.write_text(CONFIG.format(extra=f"max_boost = {value}"), "utf-8")
    config, problems = check_config(path)
    assert config is None
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_max_boost_defaults_to_12_and_zero_switches_boosting_off(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(extra=""), "utf-8")
    config, _ = check_config(path)
    assert config is not None and config.library.max_boost == 12.0
    path.write_text(CONFIG.format(extra="max_boost = 0"), "utf-8")
    config, _ = check_config(path)
    assert config is not None and config.library.max_boost == 0.0

"""config.toml values that once passed `config check` and broke the running daemon (issue #10,
part 1): each is refused with its exact message; the file's encoding is named with the fix."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from click.testing import CliRunner

from loa.cli import cli
from loa.config import check_config
from loa.errors import EXIT_CONFIG
from tests.test_config import BASE, problems_of

SLOT = 'length = "10m"'


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("weight = 2", "weight = inf", "topics[0].weight: inf is not a finite number"),
        ("weight = 2", "weight = nan", "topics[0].weight: nan is not a finite number"),
        ("weight = 2", "weight = 1e999", "topics[0].weight: inf is not a finite number"),
        ("weight = 2", 'weight = "nan"', 'topics[0].weight: "nan" is not a finite number'),
        ("weight = 2", "weight = true", "topics[0].weight: true is not a number"),
        (
            "weight = 2",
            "weight = 1e6",
            "topics[0].weight: 1000000.0 is out of range: write a number from 0.01 to 1000",
        ),
        (
            "weight = 2",
            "weight = 1" + "0" * 40,
            "topics[0].weight: a number of more than 30 digits is out of range",
        ),
        (
            SLOT,
            'length = "nan"',
            'slots[0].length: "nan" is not a duration ("90s", "10m", "1h30m" or a number of '
            "seconds)",
        ),
        (
            SLOT,
            "length = inf",
            "slots[0].length: inf is too long: a duration here is at most 8784h",
        ),
        (
            SLOT,
            "length = 1e999",
            "slots[0].length: inf is too long: a duration here is at most 8784h",
        ),
        (
            SLOT,
            'length = "25h"',
            'slots[0].length: "25h" is out of range: write a duration from 1s to 24h',
        ),
        (
            SLOT,
            'length = "١٠m"',  # Arabic-Indic digits are not ASCII digits
            'slots[0].length: "١٠m" is not a duration ("90s", "10m", "1h30m" or a number of '
            "seconds)",
        ),
        (
            SLOT,
            SLOT + '\npause = "nan"',
            'slots[0].pause: "nan" is not a duration ("90s", "10m", "1h30m" or a number of '
            "seconds)",
        ),
        (
            SLOT,
            SLOT + "\npause = true",
            'slots[0].pause: true is not a duration ("90s", "10m", "1h30m" or a number of seconds)',
        ),
        (
            SLOT,
            SLOT + "\npause = 3600",
            "slots[0].pause: 3600 is out of range: write a duration from 0 to 10m",
        ),
        (
            'id = "xa-thu"',
            'id = "xa-thu\\n"',
            'station.id: "xa-thu\\n" is not an id: use lower-case ASCII letters, digits and '
            "'-' (at most 64), e.g. \"dich-vu-cong\"",
        ),
        (
            'id = "dich-vu-cong"',
            'id = "dich-vu-cong\\n"',
            'topics[0].id: "dich-vu-cong\\n" is not an id: use lower-case ASCII letters, digits '
            "and '-' (at most 64), e.g. \"dich-vu-cong\"",
        ),
        (
            'timezone = "Asia/Ho_Chi_Minh"',
            'timezone = "' + "Asia/Ho_Chi_Minh" * 1000 + '"',
            'station.timezone: "Asia/Ho_Chi_MinhAsia/Ho_Chi_MinhAsia/Ho_…" is not an IANA '
            'time zone; e.g. "Asia/Ho_Chi_Minh"',
        ),
        (
            'timezone = "Asia/Ho_Chi_Minh"',
            'timezone = "Asia"',  # a folder of the zone database
            'station.timezone: "Asia" is not an IANA time zone; did you mean "Asia/Oral"?',
        ),
        (
            'name = "Đài xã Thử"',
            'name = "Đài xã\\u0007 Thử"',
            'station.name: "Đài xã\\u0007 Thử" contains the control character U+0007; remove it',
        ),
        (
            'name = "Đài xã Thử"',
            'name = "' + "x" * 201 + '"',
            'station.name: "' + "x" * 40 + '…" is too long: at most 200 characters',
        ),
    ],
)
def test_value_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in BASE
    assert problems_of(tmp_path, BASE.replace(old, new, 1)) == [message]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "[daemon]\nheartbeat = 0.001",
            "daemon.heartbeat: 0.001 is out of range: write a duration from 1s to 1m",
        ),
        (
            '[daemon]\nheartbeat = "2m"',
            'daemon.heartbeat: "2m" is out of range: write a duration from 1s to 1m',
        ),
        (
            '[library]\nrescan = "0.5s"',
            'library.rescan: "0.5s" is out of range: write a duration from 1s to 24h',
        ),
        (
            "[library]\ntarget_loudness = -inf",
            "library.target_loudness: -inf is not a finite number",
        ),
        (
            '[amplifier]\npre_roll = "5m"',
            'amplifier.pre_roll: "5m" is out of range: write a duration from 0 to 2m',
        ),
        (
            "[amplifier]\ntimeout = 0.01",
            "amplifier.timeout: 0.01 is out of range: write a duration from 1s to 2m",
        ),
        (
            '[library]\nroot = "a\\u0000b"',
            'library.root: "a\\u0000b" contains a NUL character; remove it',
        ),
        (
            '[library]\nroot = "' + "a" * 300 + '"',
            'library.root: "' + "a" * 40 + '…" is too long for a path (at most 255 bytes a '
            "name, 4000 in all)",
        ),
    ],
)
def test_section_value_refused(tmp_path: Path, section: str, message: str) -> None:
    assert problems_of(tmp_path, BASE + "\n" + section + "\n") == [message]


def test_a_socket_path_too_long_for_unix_is_refused(tmp_path: Path) -> None:
    # a unix socket's path is at most 107 bytes (sun_path); `loa run` could not bind it
    deep = tmp_path / ("d" * 120)
    assert problems_of(tmp_path, BASE + f'\n[daemon]\nsocket = "{deep}/loa.sock"\n') == [
        f'daemon.socket: "{deep}/loa.sock" is {len(str(deep)) + 9} bytes long, a control '
        'socket\'s path is at most 107: choose a shorter one, e.g. "/run/loa/loa.sock"'
    ]
    assert problems_of(tmp_path, BASE + '\n[daemon]\nsocket = "/run/loa/loa.sock"\n') == []


def test_the_edges_of_each_range_are_accepted(tmp_path: Path) -> None:
    text = BASE.replace("weight = 2", "weight = 0.01") + (
        '\n[library]\nrescan = "1s"\ntarget_loudness = -40\n'
        '[daemon]\nheartbeat = "1s"\n[amplifier]\npre_roll = 0\ntimeout = "2m"\n'
    )
    assert problems_of(tmp_path, text) == []


def test_a_deeply_nested_array_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BASE + "\n[report]\nplace = " + "[" * 5000 + "]" * 5000 + "\n", "utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == EXIT_CONFIG
    assert "lists or tables are nested too deeply" in result.output
    assert "internal error" not in result.output


def test_an_integer_of_thousands_of_digits_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BASE.replace("weight = 2", "weight = 1" + "0" * 5000), "utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == EXIT_CONFIG
    assert "TOML value out of range" in result.output


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(codecs.BOM_UTF8 + BASE.encode("utf-8"))
    config, problems = check_config(path)
    assert problems == []
    assert config is not None and config.station.name == "Đài xã Thử"


SAVE = (
    "lưu lại tệp với bảng mã UTF-8 (save the file as UTF-8: in Notepad, Save As, Encoding: UTF-8)"
)


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("utf-16", f"tệp ở bảng mã UTF-16, không phải UTF-8 (the file is UTF-16); {SAVE}"),
        ("utf-16-le", f"tệp ở bảng mã UTF-16, không phải UTF-8 (the file is UTF-16); {SAVE}"),
        (
            "cp1258",
            "line 4: tệp không phải UTF-8, có lẽ Windows-1258 hay TCVN3 (the file is not UTF-8, "
            f"byte 0xd0 is not UTF-8; perhaps Windows-1258/cp1258 or TCVN3); {SAVE}",
        ),
    ],
)
def test_another_encoding_is_named_with_the_fix(
    tmp_path: Path, encoding: str, message: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(BASE.encode(encoding, "replace"))
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == EXIT_CONFIG
    assert result.output.splitlines()[1:] == [message]


def test_a_huge_file_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(BASE.encode() + b"#" * 2_000_000)
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == EXIT_CONFIG
    assert result.output.splitlines()[1:] == ["the file is larger than 1000 kB: is it config.toml?"]

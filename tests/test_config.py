"""config.toml: the shipped file is valid; each class of error gives its exact message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from loa.config import check_config, load_config
from loa.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

BASE = """
[station]
id = "xa-thu"
name = "Đài xã Thử"
timezone = "Asia/Ho_Chi_Minh"
quiet_hours = "21:30-05:00"

[[topics]]
id = "dich-vu-cong"
name = "Dịch vụ công"
weight = 2

[[topics]]
id = "chi-so"
name = "Chỉ số"

[[slots]]
name = "sang"
start = "06:00"
length = "10m"
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    config, problems = check_config(path)
    assert (config is None) == bool(problems)
    return problems


def with_slot(**keys: str) -> str:
    lines = "\n".join(f"{k} = {v}" for k, v in keys.items())
    return BASE + "\n[[slots]]\n" + lines + "\n"


def test_shipped_config_is_valid() -> None:
    config = load_config(ROOT / "config.toml")
    assert len(config.topics) == 11
    assert [s.name for s in config.slots] == ["sang", "chieu"]
    assert config.station.quiet_hours is not None
    # relative paths resolve from the file's folder, not from the working directory
    assert config.library.root == ROOT / "audio_library" / "demo"
    assert config.database.url == f"sqlite:///{ROOT / 'data' / 'loa.db'}"


def test_shipped_topics_match_the_provincial_letter() -> None:
    import tomllib

    letter = tomllib.loads((ROOT / "tests" / "fixtures" / "topics-2021.toml").read_text("utf-8"))
    shipped = load_config(ROOT / "config.toml")
    if not letter:
        pytest.fail("shared/topics.toml is empty")
    assert [(t.id, t.name) for t in shipped.topics] == [
        (t["id"], t["name"]) for t in letter["topics"]
    ]


def test_base_is_valid(tmp_path: Path) -> None:
    assert problems_of(tmp_path, BASE) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"90s"', None),
        ('"10m"', None),
        ('"1h30m"', None),
        ("600", None),
        (
            '"10 phút"',
            'slots[1].length: "10 phút" is not a duration ("90s", "10m", "1h30m" or a number of seconds)',
        ),
        ('"0s"', 'slots[1].length: "0s" must be longer than 0 seconds'),
    ],
)
def test_durations(tmp_path: Path, value: str, message: str | None) -> None:
    text = with_slot(name='"chieu"', start='"17:00"', length=value)
    assert problems_of(tmp_path, text) == ([message] if message else [])


def test_duration_values_are_seconds(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(with_slot(name='"chieu"', start='"17:00"', length='"1h30m"'), "utf-8")
    assert load_config(path).slots[1].length == 5400


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"25:00"', 'slots[1].start: "25:00" is not a time of day (HH:MM or HH:MM:SS)'),
        ('"17h"', 'slots[1].start: "17h" is not a time of day (HH:MM or HH:MM:SS)'),
        (
            "1700",
            'slots[1].start: 1700 is not a time of day (HH:MM or HH:MM:SS); write it in quotes, e.g. "06:00"',
        ),
        (
            "17:00:00",  # TOML's own time of day, without quotes
            'slots[1].start: 17:00:00 is not a time of day (HH:MM or HH:MM:SS); write it in quotes, e.g. "06:00"',
        ),
    ],
)
def test_times_of_day(tmp_path: Path, value: str, message: str) -> None:
    assert problems_of(tmp_path, with_slot(name='"chieu"', start=value, length='"5m"')) == [message]


def test_day_of_week_expression(tmp_path: Path) -> None:
    text = with_slot(name='"chieu"', start='"17:00"', length='"5m"', days='"mon-thu7"')
    assert problems_of(tmp_path, text) == [
        'slots[1].days: "mon-thu7" is not a day-of-week expression such as "mon-sun", '
        '"mon-fri", "sat,sun" or "t2-t6" ("mon-thu7" is not a day or range)'
    ]


def test_vietnamese_day_names(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(with_slot(name='"chieu"', start='"17:00"', length='"5m"', days='"T2-T6"'))
    slot = load_config(path).slots[1]
    assert slot.days == "mon-fri"  # what APScheduler's CronTrigger is given
    assert slot.weekdays == frozenset({0, 1, 2, 3, 4})
    path.write_text(with_slot(name='"chieu"', start='"17:00"', length='"5m"', days='"t7, cn"'))
    assert load_config(path).slots[1].weekdays == frozenset({5, 6})


def test_numbered_days_are_refused(tmp_path: Path) -> None:
    # "thứ 2 đến thứ 6" written as numbers would mean Wednesday to Sunday to APScheduler
    text = with_slot(name='"chieu"', start='"17:00"', length='"5m"', days='"2-6"')
    assert problems_of(tmp_path, text) == [
        'slots[1].days: "2-6": numbered days are ambiguous (APScheduler counts 0 = Monday, '
        '"thứ 2" is Monday); write names, e.g. "mon-fri" or "t2-t6"'
    ]


def test_time_zone_with_suggestion(tmp_path: Path) -> None:
    text = BASE.replace('"Asia/Ho_Chi_Minh"', '"Asia/Ho_Chi_Mihn"')
    assert problems_of(tmp_path, text) == [
        'station.timezone: "Asia/Ho_Chi_Mihn" is not an IANA time zone; '
        'did you mean "Asia/Ho_Chi_Minh"?'
    ]


def test_quiet_hours_syntax(tmp_path: Path) -> None:
    text = BASE.replace('"21:30-05:00"', '"21:30 đến 05:00"')
    assert problems_of(tmp_path, text) == [
        'station.quiet_hours: "21:30 đến 05:00" is not a range of times of day '
        '"HH:MM-HH:MM", e.g. "21:30-05:00"'
    ]


def test_slot_inside_quiet_hours(tmp_path: Path) -> None:
    # the wrong-time-setting accident: a slot at 03:15 would wake the commune
    text = with_slot(name='"dem"', start='"03:15"', length='"10m"')
    assert problems_of(tmp_path, text) == [
        'slots[1].start: "dem" 03:15-03:25 falls inside quiet_hours 21:30-05:00; '
        "only emergencies air then: move the slot or change station.quiet_hours"
    ]


def test_slot_running_into_quiet_hours(tmp_path: Path) -> None:
    text = with_slot(name='"toi"', start='"21:25"', length='"10m"')
    assert problems_of(tmp_path, text) == [
        'slots[1].start: "toi" 21:25-21:35 falls inside quiet_hours 21:30-05:00; '
        "only emergencies air then: move the slot or change station.quiet_hours"
    ]


def test_overlapping_slots_on_some_days(tmp_path: Path) -> None:
    text = with_slot(name='"sang2"', start='"06:05"', length='"10m"', days='"sat,sun"')
    assert problems_of(tmp_path, text) == [
        'slots[1].start: "sang2" 06:05-06:15 overlaps slots[0] "sang" 06:00-06:10 on Sat, Sun'
    ]


def test_slots_on_different_days_do_not_overlap(tmp_path: Path) -> None:
    text = BASE.replace('length = "10m"', 'length = "10m"\ndays = "mon-fri"') + (
        '\n[[slots]]\nname = "cuoi-tuan"\nstart = "06:05"\nlength = "10m"\ndays = "sat,sun"\n'
    )
    assert problems_of(tmp_path, text) == []


def test_slot_crossing_midnight_overlaps_next_morning(tmp_path: Path) -> None:
    text = (
        BASE.replace('quiet_hours = "21:30-05:00"\n', "").replace(
            'start = "06:00"\nlength = "10m"', 'start = "00:05"\nlength = "10m"\ndays = "mon"'
        )
        + '\n[[slots]]\nname = "khuya"\nstart = "23:58"\nlength = "10m"\ndays = "sun"\n'
    )
    assert problems_of(tmp_path, text) == [
        'slots[1].start: "khuya" 23:58-00:08 overlaps slots[0] "sang" 00:05-00:15 on Sun'
    ]


def test_unknown_topic_in_slot(tmp_path: Path) -> None:
    text = with_slot(name='"chieu"', start='"17:00"', length='"5m"', topics='["dich-vu", "xyz"]')
    assert problems_of(tmp_path, text) == [
        'slots[1].topics[0]: no topic "dich-vu"; did you mean "dich-vu-cong"?',
        'slots[1].topics[1]: no topic "xyz"; see [[topics]] for the ids',
    ]


def test_weight_must_be_positive(tmp_path: Path) -> None:
    text = BASE.replace("weight = 2", "weight = 0")
    assert problems_of(tmp_path, text) == [
        "topics[0].weight: 0 is out of range: write a number from 0.01 to 1000"
    ]


def test_max_length_caps_the_slot(tmp_path: Path) -> None:
    text = with_slot(name='"chieu"', start='"17:00"', length='"20m"', max_length='"15m"')
    assert problems_of(tmp_path, text) == ["slots[1].length: 20m is longer than max_length 15m"]


def test_misspelt_keys_get_a_suggestion(tmp_path: Path) -> None:
    text = BASE.replace("quiet_hours", "quiet_hour").replace("weight = 2", "wieght = 2")
    text += '\n[[slot]]\nname = "x"\n'
    assert problems_of(tmp_path, text) == [
        'station.quiet_hour: unknown key; did you mean "quiet_hours"?',
        'topics[0].wieght: unknown key; did you mean "weight"?',
        'slot: unknown key; did you mean "slots"?',
    ]


def test_missing_keys(tmp_path: Path) -> None:
    text = BASE.replace('name = "Đài xã Thử"\n', "").replace('start = "06:00"\n', "")
    assert problems_of(tmp_path, text) == [
        "station.name: required key is missing",
        "slots[0].start: required key is missing",
    ]


def test_duplicate_ids(tmp_path: Path) -> None:
    text = BASE + '\n[[topics]]\nid = "chi-so"\nname = "Lặp"\n'
    assert problems_of(tmp_path, text) == ['topics[2].id: "chi-so" is already used by topics[1]']


def test_file_backend_needs_a_path(tmp_path: Path) -> None:
    text = BASE + '\n[output]\nbackend = "file"\n'
    assert problems_of(tmp_path, text) == [
        'output.path: required when output.backend = "file" (e.g. "data/air.wav")'
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        BASE.replace('"06:00"', '"6 giờ"').replace("weight = 2", "weight = -1")
        + '\n[[slots]]\nname = "chieu"\nstart = "17:00"\nlength = "5m"\ntopics = ["khong-co"]\n'
    )
    assert problems_of(tmp_path, text) == [
        "topics[0].weight: -1 is out of range: write a number from 0.01 to 1000",
        'slots[0].start: "6 giờ" is not a time of day (HH:MM or HH:MM:SS)',
        'slots[1].topics[0]: no topic "khong-co"; see [[topics]] for the ids',
    ]


def test_relative_paths_resolve_from_the_config_folder(tmp_path: Path) -> None:
    sub = tmp_path / "dai"
    sub.mkdir()
    (sub / "config.toml").write_text(
        BASE + '\n[library]\nroot = "thu-vien"\n[output]\nbackend = "file"\npath = "air.wav"\n',
        "utf-8",
    )
    config = load_config(sub / "config.toml")
    assert config.library.root == sub / "thu-vien"
    assert config.output.path == sub / "air.wav"
    assert config.database.url == f"sqlite:///{sub / 'data' / 'loa.db'}"


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[station]\nid = "x"\nname = Đài xã\n', "utf-8")
    with pytest.raises(ConfigError) as info:
        check_config(path)
    assert info.value.problems == [
        'line 3, column 8: TOML syntax error: Invalid value; text needs quotes, e.g. name = "Đài xã"',
        "    name = Đài xã",
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.problems == [
        "file not found: create it (copy the shipped config.toml) or pass --config"
    ]


def test_default_paths_resolve_from_the_config_folder_too(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(BASE, "utf-8")
    config = load_config(tmp_path / "config.toml")
    assert config.library.root == tmp_path / "audio_library" / "demo"
    assert config.daemon.socket == tmp_path / "data" / "loa.sock"
    assert config.database.url == f"sqlite:///{tmp_path / 'data' / 'loa.db'}"


def test_wrong_types_get_plain_messages(tmp_path: Path) -> None:
    text = BASE.replace('name = "Đài xã Thử"', 'name = ""') + (
        '\n[library]\ntarget_loudness = "to"\n[output]\nbackend = "loa"\n'
    )
    text = text.replace('length = "10m"', 'length = "10m"\ntopics = "*"')
    assert problems_of(tmp_path, text) == [
        "station.name: must not be empty",
        'library.target_loudness: "to" is not a number',
        "output.backend: \"loa\" must be one of 'device', 'file' or 'null'",
        'slots[0].topics: "*" must be a list in brackets, e.g. ["*"]',
    ]


RELAY = """
[[sources]]
id = "vov1"
name = "VOV1"
url = "http://127.0.0.1:8000/vov1"
"""


def test_relay_slot_and_source(tmp_path: Path) -> None:
    text = (
        with_slot(name='"thoi-su"', start='"18:00"', length='"30m"', relay='"vov1"')
        + 'fallback = "silence"\nsource_timeout = "5s"\n'
        + RELAY
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    slot = config.slots[1]
    assert (slot.relay, slot.fallback, slot.source_timeout) == ("vov1", "silence", 5.0)
    assert config.slots[0].relay is None and config.slots[0].source_timeout == 10.0
    assert config.sources[0].url == "http://127.0.0.1:8000/vov1"


def test_relay_slot_in_quiet_hours_is_refused_naming_slot_and_source(tmp_path: Path) -> None:
    # the December 2025 accident: a relay set to 03:15 after a repair woke the commune
    text = with_slot(name='"vov-dem"', start='"03:15"', length='"30m"', relay='"vov1"') + RELAY
    assert problems_of(tmp_path, text) == [
        'slots[1].relay: relay slot "vov-dem" (source "vov1") 03:15-03:45 touches quiet_hours '
        "21:30-05:00; only emergencies air then: move the slot or change station.quiet_hours"
    ]


def test_relay_slot_running_into_quiet_hours(tmp_path: Path) -> None:
    text = with_slot(name='"vov-toi"', start='"21:00"', length='"45m"', relay='"vov1"') + RELAY
    assert problems_of(tmp_path, text) == [
        'slots[1].relay: relay slot "vov-toi" (source "vov1") 21:00-21:45 touches quiet_hours '
        "21:30-05:00; only emergencies air then: move the slot or change station.quiet_hours"
    ]


def test_relay_of_unknown_source_suggests_the_close_one(tmp_path: Path) -> None:
    text = with_slot(name='"thoi-su"', start='"18:00"', length='"30m"', relay='"vov2"') + RELAY
    assert problems_of(tmp_path, text) == [
        'slots[1].relay: "thoi-su" relays no source "vov2"; did you mean "vov1"?'
    ]
    text = with_slot(name='"thoi-su"', start='"18:00"', length='"30m"', relay='"tinh"')
    assert problems_of(tmp_path, text) == [
        'slots[1].relay: "thoi-su" relays no source "tinh"; '
        "add it under [[sources]] (id, name, url)"
    ]


def test_source_checks(tmp_path: Path) -> None:
    text = (
        BASE
        + RELAY
        + RELAY.replace("VOV1", "again")
        + '\n[[sources]]\nid = "tinh"\nname = "Đài tỉnh"\nurl = "rtsp://x/y"\n'
        + '\n[[slots]]\nname = "a"\nstart = "18:00"\nlength = "5m"\nrelay = "vov1"\n'
        + 'fallback = "nhac"\nsource_timeout = "0.5s"\n'
    )
    assert problems_of(tmp_path, text) == [
        "slots[1].fallback: \"nhac\" must be one of 'spots' or 'silence'",
        'slots[1].source_timeout: "0.5s" is out of range: write a duration from 1s to 10m',
        'sources[2].url: "rtsp://x/y" is not an http(s) stream URL, e.g. '
        '"http://stream.example.vn:8000/vov1" or "https://.../playlist.m3u8"',
        'sources[1].id: "vov1" is already used by sources[0]',
    ]

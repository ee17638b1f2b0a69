"""The rule of issue #10: every config.toml that `loa config check` accepts can be planned
(`loa playlist preview` of a day), simulated (`loa simulate` of a day) and shown (`loa status`,
no daemon running), with no internal error.

Hypothesis writes configs from pools of good and hostile values (nan, inf, `true` for a number,
ids with a newline, huge or nested values, odd time zones and DST days), then mutates some of
them as text (a line dropped or doubled, a character put in, another encoding). Each goes
through what `loa config check` runs (`check_file`: a ConfigError is a refusal, any other
exception an internal error); each accepted one through preview, simulate and status, in-process
with click's CliRunner (the same group, error mapper and commands as the `loa` executable). The
library is real: short WAV files scanned once by the real scanner into one SQLite file that
every example reads (simulate writes its own database, the station's is only read).

Speed (the whole test stays within two minutes on the shared 2-core machine): the files live on
tmpfs when there is one, and each database URL gets one engine for the whole test (a memo
around `open_database`, so the migrations run and the SQL is compiled once); the simulation
database is emptied before each simulated day instead of being created anew.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import random
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loa.cli import cli
from loa.commands.config_cmd import check_file
from loa.compose import rescan
from loa.config import load_config
from loa.db import TABLES, open_database
from loa.errors import ConfigError
from tests.library_audio import make_audio

EXAMPLES = int(os.environ.get("LOA_FUZZ_EXAMPLES", "10000"))
TOPICS = ("dich-vu-cong", "chi-so", "mot-cua")
DAYS = (
    "2021-03-01",
    "2021-03-14",  # America/New_York springs forward
    "2021-03-28",  # Europe/Berlin springs forward: 02:30 does not exist
    "2021-10-31",  # Europe/Berlin falls back: 02:30 happens twice
    "2021-04-04",  # Australia/Lord_Howe: a half-hour step
    "2024-02-29",
    "2021-12-31",
)
COUNTS: Counter[str] = Counter()


@dataclass(frozen=True)
class Raw:
    """A TOML fragment written as is (`1e999`, deeply nested brackets)."""

    text: str


@dataclass(frozen=True)
class Station:
    dir: Path
    root: Path
    db_url: str
    jingle: Path
    sim_url: str = ""


ENGINES: dict[str, sa.Engine] = {}


def one_engine_per_url(url: str, *args: Any, **kwargs: Any) -> sa.Engine:
    if url not in ENGINES:
        ENGINES[url] = open_database(url, *args, **kwargs)
    return ENGINES[url]


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Any:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        with tempfile.TemporaryDirectory(dir=shm, prefix="loa-fuzz-") as tmp:
            yield from _station(Path(tmp))
    else:
        yield from _station(tmp_path_factory.mktemp("fuzz"))


def _station(base: Path) -> Any:
    root = base / "library"
    for n, topic in enumerate(TOPICS):
        for i in range(2):
            make_audio(root / topic / f"tin-{i}.wav", seconds=3.0 + i, freq=300 + 100 * n)
    jingle = make_audio(base / "jingle.wav", seconds=1.0, freq=880)
    db_url = f"sqlite:///{base / 'station.db'}"
    path = base / "config.toml"
    path.write_text(toml(config_dict(root, db_url)), "utf-8")
    config = load_config(path)
    engine = open_database(db_url)
    report = rescan(config, engine)
    assert report.added == 6, report
    engine.dispose()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("loa.app.open_database", one_engine_per_url)
        patch.setattr("loa.commands.simulate.open_database", one_engine_per_url)
        yield Station(base, root, db_url, jingle, f"sqlite:///{base / 'simulated.db'}")
    for engine in ENGINES.values():
        engine.dispose()
    ENGINES.clear()


# ---------------------------------------------------------------- TOML out of plain values


def value(v: Any) -> str:
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON escapes are TOML basic-string escapes
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def table(keys: dict[str, Any]) -> list[str]:
    return [f"{json.dumps(k, ensure_ascii=False)} = {value(v)}" for k, v in keys.items()]


def toml(config: dict[str, Any]) -> str:
    lines: list[str] = []
    tables = lambda v: isinstance(v, dict) or (bool(v) and all(isinstance(x, dict) for x in v))  # noqa: E731
    config = dict(sorted(config.items(), key=lambda kv: tables(kv[1])))  # keys before tables
    for section, keys in config.items():
        if isinstance(keys, list) and all(isinstance(k, dict) for k in keys) and keys:
            for item in keys:
                lines += [f"[[{section}]]", *table(item), ""]
        elif isinstance(keys, dict):
            lines += [f"[{section}]", *table(keys), ""]
        else:
            lines += [f"{section} = {value(keys)}"]
    return "\n".join(lines)


def config_dict(root: Path, db_url: str) -> dict[str, Any]:
    return {
        "station": {"id": "xa-thu", "name": "Đài xã Thử", "timezone": "Asia/Ho_Chi_Minh"},
        "library": {"root": str(root)},
        "database": {"url": db_url},
        "output": {"backend": "null"},
        "daemon": {"socket": "data/loa.sock"},
        "topics": [{"id": t, "name": t.upper()} for t in TOPICS],
        "slots": [{"name": "sang", "start": "06:00", "length": "1m"}],
    }


# ---------------------------------------------------------------- the pools

HOSTILE: list[Any] = [
    math.nan, math.inf, -math.inf, Raw("1e999"), Raw("-1e999"), True, False, 0, -1, 0.0, -0.0,
    1e-300, 10**18, Raw("1" + "0" * 40), Raw("1" + "0" * 5000), "", " ", "nan", "inf", "-inf",
    "1e999", "-1", "0", "0s", "1_000", "\n", "x\n", "\t", "\x00", "\x07", "a" * 300, "Ω" * 70,
    "١٠m", "10m\n", "∞", "99:99", "24:00", "-", "*", [], [[]], [1], ["*", 1], {}, {"a": 1},
    Raw("[" * 30 + "]" * 30), Raw("[" * 3000 + "]" * 3000), "x" * 100_000, 1.5, 3.999999999,
    Raw("1979-05-27T07:32:00Z"), Raw("07:32:00"), "../../etc/passwd", "/dev/null", "/",
]  # fmt: skip
ZONES = [
    "Asia/Ho_Chi_Minh", "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
    "Pacific/Chatham", "Asia/Kathmandu", "Pacific/Kiritimati", "America/St_Johns", "Etc/GMT+12",
    "Factory", "posixrules",
] * 8 + ["Asia", "asia/ho_chi_minh", "Asia/Ho_Chi_Minh\n", "A" * 5000]  # fmt: skip
TIMES = ["06:00", "00:00", "23:59:59", "12:30", "02:30", "01:30", "03:00", "6:05", "23:00"]
LENGTHS = ["1m", "10m", "1s", "90s", 1, 90, 30.25, "15m", "45m", "5m", "2m"] * 12 + [
    "24h", "23h59m59s", "1h30m", "25h", 0.5,
]  # fmt: skip
DAYS_EXPR = ["mon-sun", "t2-t6", "sat,sun", "*", "mon/2", "cn", "t7,cn", "fri"] * 6 + [
    "sun-mon", "*/7", "mon-", "2-6",
]  # fmt: skip
# Each key's own values: mostly inside its range, a few on or just past an edge.
RESCAN = ["1m", "10s", "24h", 60, 3600, "1h", "1s"] * 12 + ["0.9s", "25h", 0.5]
HEARTBEAT = ["5s", 1, "1m", 30, 2.5] * 12 + [0.5, "61s", "0.999s"]
PRE_ROLL = [0, "3s", "2m", 0.1, "0s", "0"] * 12 + ["121s", 0.05]
TIMEOUT = ["10s", 1, "2m", 30] * 12 + ["121s", 0.5]
PAUSE = ["1s", 0, "10m", 0.1, "0s", 2] * 12 + ["601s", 0.01]
WEIGHTS = [1, 2, 0.01, 1000, 0.5, 3, "2", 1.0] * 12 + [0.001, 1001, 0]


def pick(rnd: random.Random, good: list[Any], hostile: float = 0.025) -> Any:
    return rnd.choice(HOSTILE) if rnd.random() < hostile else rnd.choice(good)


def section(rnd: random.Random, keys: dict[str, list[Any]]) -> dict[str, Any]:
    out = {key: pick(rnd, good) for key, good in keys.items() if rnd.random() < 0.5}
    out = {key: v for key, v in out.items() if v is not None}
    if rnd.random() < 0.01:
        out[rnd.choice(["typo", "weigth", "timezon", ""])] = 1
    return out


def config(rnd: random.Random, station: Station) -> dict[str, Any]:
    jingle = str(station.jingle)
    cfg: dict[str, Any] = {
        "station": {
            "id": pick(rnd, ["xa-thu", "a", "x" * 64, "xa_thu"] * 20 + ["x" * 65, "Xa-thu"]),
            "name": pick(rnd, ["Đài xã Thử", "x", "x" * 200] * 20 + ["tab\there", "x" * 201]),
            **section(
                rnd,
                {
                    "timezone": ZONES,
                    "quiet_hours": ["21:30-05:00", "00:00-00:01", "23:59-00:00", "12:00-12:01"],
                },
            ),
        },
        "library": {
            "root": str(station.root) if rnd.random() < 0.95 else pick(rnd, ["nope", "."]),
            **section(
                rnd,
                {
                    "target_loudness": [-16, -40, -5, -23.5, -16.0],
                    "require_approval": [False, True],
                    "rescan": RESCAN,
                },
            ),
        },
        "database": {"url": station.db_url},
        "output": section(
            rnd,
            {
                "backend": ["null", "device"] * 12 + ["file"],
                "path": ["data/air.wav"],
                "device": ["x"],
            },
        ),
        "report": section(rnd, {"recipient": ["P"], "place": ["Đại Hải"], "signer": [""]}),
        "daemon": {
            "socket": "data/loa.sock",
            **section(rnd, {"catch_up": [True, False], "heartbeat": HEARTBEAT}),
        },
        "amplifier": section(
            rnd,
            {"on_air": ["", "true"], "off_air": [""], "pre_roll": PRE_ROLL, "timeout": TIMEOUT},
        ),
    }
    ids = [*TOPICS, "khong-thu-muc"]
    cfg["topics"] = [
        {"id": pick(rnd, [t]), "name": pick(rnd, [t.upper()]), **section(
            rnd, {"weight": WEIGHTS}
        )}
        for t in rnd.sample(ids, rnd.choice([0, 1, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4]))
    ]  # fmt: skip
    slots = []
    for n in range(rnd.choice([0, 1, 1, 1, 2, 2, 3, 4])):
        slot: dict[str, Any] = {
            "name": pick(rnd, [f"s{n}", f"s{n}", "sang"]),
            "start": pick(rnd, TIMES),
            "length": pick(rnd, LENGTHS),
        }
        slot |= section(
            rnd,
            {
                "days": DAYS_EXPR,
                "topics": [["*"]] * 6
                + [[TOPICS[0]], [TOPICS[1], TOPICS[2]], ["khong-co"], ["*", "*"]],
                "max_length": ["15m", "45m", "1s", "24h"],
                "intro": [None] * 20 + [jingle, "missing.wav"],  # a jingle is probed: ffmpeg
                "outro": [None] * 30 + [jingle],
                "pause": PAUSE,
            },
        )
        slots.append(slot)
    cfg["slots"] = slots
    return cfg


KEEP = re.compile(r"^\"?(url|socket)\"? = ")  # never mutated: the tests' files must stay in tmp


def mutate(rnd: random.Random, text: str) -> str:
    """One to three edits of the text, as a hurried operator makes them."""
    lines = text.split("\n")
    for _ in range(rnd.randint(1, 3)):
        i = rnd.randrange(len(lines))
        if KEEP.match(lines[i]):
            continue
        how = rnd.choice(["drop", "double", "insert", "cut"])
        if how == "drop":
            del lines[i]
        elif how == "double":
            lines.insert(i, lines[i])
        elif how == "insert":
            at = rnd.randint(0, len(lines[i]))
            char = rnd.choice([*'"[]=#.-:x0 \\', "\t", "''", "\u00a0"])
            lines[i] = lines[i][:at] + char + lines[i][at:]
        else:
            lines[i] = lines[i][: rnd.randint(0, len(lines[i]))]
        lines = lines or [""]
    return "\n".join(lines)


def case(rnd: random.Random, station: Station) -> tuple[bytes, str]:
    """(the file's bytes, the day to preview and simulate)."""
    text = toml(config(rnd, station))
    if rnd.random() < 0.6:  # most text edits make a file config check refuses: cheap cases
        text = mutate(rnd, text)
    encoding = rnd.choice(["utf-8"] * 20 + ["bom", "utf-16", "cp1258"])
    if encoding == "bom":
        data = codecs.BOM_UTF8 + text.encode("utf-8")
    else:
        data = text.encode(encoding, "replace")
    return data, rnd.choice(DAYS)


# ---------------------------------------------------------------- the rule


def run(path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(path), *args])


def assert_no_internal_error(result: Result, allowed: set[int], what: str) -> None:
    output = result.output
    assert "internal error" not in output, f"{what}: {output}"
    assert result.exit_code in allowed, f"{what}: exit {result.exit_code}: {output}"
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), f"{what}: {result.exception!r}"


# Exit 1 after an accepted config: only these operator-facing failures are expected.
EXPECTED_FAILURES = (
    "no playable spot",  # simulate with topics whose folders hold no spot
)


def check_one(station: Station, data: bytes, day: str) -> None:
    path = station.dir / "config.toml"
    path.write_bytes(data)
    try:  # what `loa config check` runs; anything but ConfigError would be an internal error
        check_file(path)
    except ConfigError:
        COUNTS["refused"] += 1
        return
    COUNTS["accepted"] += 1
    with one_engine_per_url(station.sim_url).begin() as conn:  # a fresh log for each day
        for t in reversed(TABLES):
            conn.execute(t.delete())
    for what, args in [
        ("preview", ["playlist", "preview", "--date", day, "--format", "json"]),
        ("simulate", ["simulate", "--from", day, "--days", "1", "--db", station.sim_url]),
        ("status", ["status", "--json"]),
    ]:
        result = run(path, *args)
        assert_no_internal_error(result, {0, 1}, f"{what} {day}\n{data.decode('utf-8', 'replace')}")
        if result.exit_code == 1:
            COUNTS[f"{what} failed"] += 1
            assert any(s in result.output for s in EXPECTED_FAILURES), f"{what}: {result.output}"
        else:
            COUNTS[f"{what} ok"] += 1


@pytest.mark.slow
def test_every_accepted_config_can_be_planned_simulated_and_shown(station: Station) -> None:
    COUNTS.clear()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.randoms(use_true_random=True))
    def fuzz(rnd: random.Random) -> None:
        check_one(station, *case(rnd, station))

    fuzz()
    print(dict(COUNTS))
    # The pools must reach both sides of the rule, or the test proves nothing.
    assert COUNTS["refused"] > EXAMPLES // 10
    assert COUNTS["accepted"] > EXAMPLES // 20
    assert COUNTS["simulate ok"] > EXAMPLES // 50


# ---------------------------------------------------------------- what the fuzzing found


@pytest.mark.parametrize(
    ("zone", "day", "at", "first"),
    [
        ("Pacific/Chatham", "2021-04-04", "03:00", "2021-04-04 03:00:00+13:45"),
        ("Europe/Berlin", "2021-10-31", "02:30", "2021-10-31 02:30:00+02:00"),
        ("America/New_York", "2021-11-07", "01:30", "2021-11-07 01:30:00-04:00"),
    ],
)
def test_a_slot_in_a_dst_fold_occurs_once(zone: str, day: str, at: str, first: str) -> None:
    """The wall clock shows the slot's time twice: APScheduler 3 then answered the second
    instant for ever, and `loa playlist preview` (and the daemon's current_occurrence) hung."""
    from datetime import date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from scheduler.slots import occurrences
    from scheduler.spec import SlotSpec, StationSpec

    tz = ZoneInfo(zone)
    station = StationSpec("x", "X", tz, {"a": 1.0}, (SlotSpec("s", time.fromisoformat(at), 60),))
    start = datetime.combine(date.fromisoformat(day), time(0), tzinfo=tz)
    found = [str(o.at) for o in occurrences(station, start, start + timedelta(days=2))]
    assert found[0] == first
    assert len(found) == 2  # the fold day once, the next day once

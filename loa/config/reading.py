"""Reading config.toml: bytes and encodings, TOML with line and column, validation of each part,
then the cross-key checks; `check_config`, `load_config` and the key list of the README table."""

from __future__ import annotations

import codecs
import contextlib
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
)

from audio_library.safeio import NotRegular, open_regular
from loa.config.checks import cross_check, relay_check
from loa.config.messages import inner_model, problem_lines
from loa.config.schema import MAX_FILE_BYTES, Config, Slot, Source, Topic
from loa.errors import ConfigError
from loa.units import (
    parse_time_range,
)


def _parts(raw: dict[str, Any], key: str, model: type[BaseModel], ctx: dict[str, Any]) -> list:
    items = raw.get(key)
    good = []
    if isinstance(items, list):
        for i, item in enumerate(items):
            with contextlib.suppress(ValidationError):
                good.append((i, model.model_validate(item, context=ctx)))
    return good


def validate(raw: dict[str, Any], base_dir: Path) -> tuple[Config | None, list[str]]:
    """Validate parsed TOML. Returns the config (None if invalid) and every problem found."""
    ctx = {"base_dir": base_dir}
    problems: list[str] = []
    config: Config | None = None
    try:
        config = Config.model_validate(raw, context=ctx)
    except ValidationError as exc:
        problems.extend(problem_lines(exc))
    station = raw.get("station") if isinstance(raw.get("station"), dict) else {}
    try:
        quiet = parse_time_range(station["quiet_hours"]) if "quiet_hours" in station else None
    except ValueError:
        quiet = None  # reported by the field check
    output = raw.get("output") if isinstance(raw.get("output"), dict) else {}
    if output.get("backend") == "file" and not output.get("path"):
        problems.append('output.path: required when output.backend = "file" (e.g. "data/air.wav")')
    problems.extend(
        cross_check(quiet, _parts(raw, "topics", Topic, ctx), _parts(raw, "slots", Slot, ctx))
    )
    problems.extend(
        relay_check(quiet, _parts(raw, "sources", Source, ctx), _parts(raw, "slots", Slot, ctx))
    )
    return (config if not problems else None), problems


_TOML_POS = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


SAVE_AS_UTF8 = (
    "lưu lại tệp với bảng mã UTF-8 (save the file as UTF-8: in Notepad, Save As, Encoding: UTF-8)"
)


def decode_config(data: bytes) -> str:
    """The text of config.toml: UTF-8, with or without the BOM Windows Notepad writes.
    Any other encoding is a ValueError that names it and says how to save the file."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:200]:
        raise ValueError(
            f"tệp ở bảng mã UTF-16, không phải UTF-8 (the file is UTF-16); {SAVE_AS_UTF8}"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"line {line}: tệp không phải UTF-8, có lẽ Windows-1258 hay TCVN3 (the file is not "
            f"UTF-8, byte 0x{data[exc.start]:02x} is not UTF-8; perhaps Windows-1258/cp1258 or "
            f"TCVN3); {SAVE_AS_UTF8}"
        ) from None


def _syntax_hint(message: str) -> str:
    """What to do about the commonest TOML mistakes of a hand-edited file."""
    if message == "Cannot overwrite a value" or message.startswith(
        ("Cannot declare", "Duplicate inline table key")
    ):
        return "; this key or table is written twice: keep one of them"
    if message == "Invalid value":
        return '; text needs quotes, e.g. name = "Đài xã"'
    return ""


def read_toml(path: Path) -> dict[str, Any]:
    """Parse the file; syntax errors become a ConfigError naming the line and column."""
    try:  # never opens a named pipe or a device for reading: that would wait for ever
        with open_regular(path) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            str(path), ["file not found: create it (copy the shipped config.toml) or pass --config"]
        ) from None
    except (NotRegular, IsADirectoryError):
        if path.is_dir():
            raise ConfigError(
                str(path),
                [f"the path is a folder, not a file: pass --config {path / 'config.toml'}"],
            ) from None
        raise ConfigError(
            str(path),
            [
                "not a regular file (a named pipe, a device or a socket): config.toml "
                "must be a text file"
            ],
        ) from None
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(
            str(path), [f"the file is larger than {MAX_FILE_BYTES // 1000} kB: is it config.toml?"]
        )
    try:
        text = decode_config(data)
    except ValueError as exc:
        raise ConfigError(str(path), [str(exc)]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POS.match(str(exc))
        if not match:
            raise ConfigError(str(path), [f"TOML syntax error: {exc}"]) from None
        line_no = int(match["line"])
        lines = text.splitlines()
        shown = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
        hint = _syntax_hint(match["msg"])
        raise ConfigError(
            str(path),
            [
                f"line {line_no}, column {match['col']}: TOML syntax error: {match['msg']}{hint}",
                f"    {shown[:200]}",
            ],
        ) from None
    except RecursionError:
        raise ConfigError(
            str(path), ["lists or tables are nested too deeply (more than a few levels)"]
        ) from None
    except ValueError as exc:  # tomllib: an integer of more than 4300 digits
        raise ConfigError(str(path), [f"TOML value out of range: {exc}"]) from None


def check_config(path: Path) -> tuple[Config | None, list[str]]:
    """(config or None, problems); never raises for a bad file, only for an unreadable one."""
    raw = read_toml(path)
    config, problems = validate(raw, path.resolve().parent)
    if config is not None:
        config._source = path.resolve()
    return config, problems


def load_config(path: Path) -> Config:
    config, problems = check_config(path)
    if config is None:
        raise ConfigError(str(path), problems)
    return config


def iter_keys(model: type[BaseModel] = Config, prefix: str = "") -> list[str]:
    """Every documented key as `section.key` (`topics[].weight`), for the reference in README."""
    keys: list[str] = []
    for name, field in model.model_fields.items():
        inner = inner_model(field.annotation)
        is_list = getattr(field.annotation, "__origin__", None) is list
        path = f"{prefix}{name}{'[]' if is_list and inner is not None else ''}"
        if inner is not None:
            keys.extend(iter_keys(inner, path + "."))
        else:
            keys.append(path)
    return keys

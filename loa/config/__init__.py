"""The config.toml schema (pydantic) and its checks.

`load_config(path)` returns a validated `Config` or raises `ConfigError` whose `problems` list
every problem at once, one `key.path: message` line each. Field-level rules live on the models;
rules that relate several keys (overlapping slots, slots in quiet hours, unknown topics) live in
`cross_check`, which runs on every part that validated on its own, so one bad slot does not hide
the problems of another.

The package, one job per module: `schema` (the models), `messages` (errors as `key.path:
message`), `checks` (cross-key rules), `reading` (the file, TOML, validation).
"""

from loa.config.checks import (
    cross_check,
    relay_check,
)
from loa.config.messages import (
    format_loc,
    inner_model,
    problem_lines,
)
from loa.config.reading import (
    SAVE_AS_UTF8,
    check_config,
    decode_config,
    iter_keys,
    load_config,
    read_toml,
    validate,
)
from loa.config.schema import (
    DAY_S,
    MAX_FILE_BYTES,
    SLUG,
    WEEKDAYS,
    Amplifier,
    Central,
    Command,
    Config,
    DaemonSection,
    Database,
    Duration,
    FilePath,
    HeartbeatInterval,
    HookTimeout,
    LibrarySection,
    Line,
    Loudness,
    Name,
    Number,
    OutputSection,
    Pause,
    PreRoll,
    ReportSection,
    RescanInterval,
    Section,
    Slot,
    SlotLength,
    SlotPause,
    Slug,
    Source,
    SourceTimeout,
    Station,
    TimeOfDay,
    TimeRange,
    TimeZoneName,
    Topic,
    Weight,
)
from loa.errors import ConfigError

__all__ = [
    "DAY_S",
    "MAX_FILE_BYTES",
    "SAVE_AS_UTF8",
    "SLUG",
    "WEEKDAYS",
    "Amplifier",
    "Central",
    "Command",
    "Config",
    "ConfigError",
    "DaemonSection",
    "Database",
    "Duration",
    "FilePath",
    "HeartbeatInterval",
    "HookTimeout",
    "LibrarySection",
    "Line",
    "Loudness",
    "Name",
    "Number",
    "OutputSection",
    "Pause",
    "PreRoll",
    "ReportSection",
    "RescanInterval",
    "Section",
    "Slot",
    "SlotLength",
    "SlotPause",
    "Slug",
    "Source",
    "SourceTimeout",
    "Station",
    "TimeOfDay",
    "TimeRange",
    "TimeZoneName",
    "Topic",
    "Weight",
    "check_config",
    "cross_check",
    "decode_config",
    "format_loc",
    "inner_model",
    "iter_keys",
    "load_config",
    "problem_lines",
    "read_toml",
    "relay_check",
    "validate",
]

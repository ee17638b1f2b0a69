"""The config.toml schema: pydantic models of every section, their field rules and limits."""

from __future__ import annotations

import difflib
import math
import os
import re
import unicodedata
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
)

from loa.units import (
    format_duration,
    normalize_days,
    parse_days,
    parse_duration,
    parse_time_of_day,
    parse_time_range,
    seconds_of_day,
    shown,
)

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# fullmatch, not match + "$": "$" also matches before a trailing newline ("dich-vu-cong\n").
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
DAY_S = 86400.0
MAX_FILE_BYTES = 1_000_000  # a config.toml is a few kB; a larger file is the wrong file
MAX_SOCKET_PATH = 107  # bytes of a unix socket path (sun_path is 108 with its NUL)


def _slug(value: object) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value):
        raise ValueError(
            f"{shown(value)} is not an id: use lower-case ASCII letters, digits and '-' "
            '(at most 64), e.g. "dich-vu-cong"'
        )
    return value


def _timezone(value: object) -> str:
    if isinstance(value, str) and 0 < len(value) <= 64:
        try:
            ZoneInfo(value)
            return value
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass  # OSError: "Asia" is a folder of the zone database, not a zone
    close = (
        difflib.get_close_matches(value, sorted(available_timezones()), n=1, cutoff=0.6)
        if isinstance(value, str) and len(value) <= 64
        else []
    )
    hint = f'did you mean "{close[0]}"?' if close else 'e.g. "Asia/Ho_Chi_Minh"'
    raise ValueError(f"{shown(value)} is not an IANA time zone; {hint}")


def _pause(value: object) -> float:
    if not isinstance(value, bool) and value in (0, "0", "0s", 0.0):
        return 0.0
    return parse_duration(value)


def _duration_in(lo: float, hi: float, *, zero: bool = False) -> Any:
    """A parser for a duration from `lo` to `hi` seconds (or 0 when `zero`)."""
    parse = _pause if zero else parse_duration

    def check(value: object) -> float:
        seconds = parse(value)
        if not (lo <= seconds <= hi or (zero and seconds == 0)):
            low = "0" if zero else format_duration(lo)
            raise ValueError(
                f"{shown(value)} is out of range: write a duration from {low} "
                f"to {format_duration(hi)}"
            )
        return seconds

    return BeforeValidator(check)


def _number(value: object) -> object:
    """A TOML number (or one in quotes); `true` is not 1 and "nan" is not a number."""
    if isinstance(value, bool):
        raise ValueError(f"{shown(value)} is not a number")
    if isinstance(value, int) and abs(value) > 10**30:
        raise ValueError(f"{shown(value)} is out of range")
    number = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"{shown(value)} is not a number") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"{shown(value)} is not a finite number")
    return number


def _number_in(lo: float, hi: float) -> Any:
    """A parser for a finite number from `lo` to `hi`."""

    def check(value: object) -> float:
        number = _number(value)
        if not isinstance(number, int | float):
            raise ValueError(f"{shown(value)} is not a number")
        if not lo <= number <= hi:
            raise ValueError(
                f"{shown(value)} is out of range: write a number from {lo:g} to {hi:g}"
            )
        return float(number)

    return BeforeValidator(check)


def _text(max_len: int, *, lines: bool = False) -> Any:
    """Text of at most `max_len` characters without control characters (tabs and newlines
    too when `lines`): a name with an invisible character prints wrong on every report."""
    allowed = "\t\n" if lines else ""

    def check(value: object) -> object:
        if not isinstance(value, str):
            return value  # pydantic says "must be text in quotes"
        if len(value) > max_len:
            raise ValueError(f"{shown(value)} is too long: at most {max_len} characters")
        bad = next((c for c in value if unicodedata.category(c) == "Cc" and c not in allowed), None)
        if bad is not None:
            raise ValueError(
                f"{shown(value)} contains the control character U+{ord(bad):04X}; remove it"
            )
        return value

    return BeforeValidator(check)


def _path_text(value: object) -> object:
    """A path the operating system can open: not empty, no NUL byte, no over-long name."""
    if not isinstance(value, str):
        if isinstance(value, Path):
            return value
        raise ValueError(f"{shown(value)} is not a path: write it as text in quotes")
    if not value.strip():
        raise ValueError("must not be empty: write a path (relative to the folder of config.toml)")
    if "\x00" in value:
        raise ValueError(f"{shown(value)} contains a NUL character; remove it")
    if len(value.encode("utf-8", "surrogateescape")) > 4000 or any(
        len(part.encode("utf-8", "surrogateescape")) > 255 for part in value.split("/")
    ):
        raise ValueError(
            f"{shown(value)} is too long for a path (at most 255 bytes a name, 4000 in all)"
        )
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
Pause = Annotated[float, BeforeValidator(_pause)]
Number = Annotated[float, BeforeValidator(_number)]
Weight = Annotated[float, _number_in(0.01, 1000)]
Loudness = Annotated[float, _number_in(-40, -5)]
FilePath = Annotated[Path, BeforeValidator(_path_text)]
Name = Annotated[str, _text(500)]
Line = Annotated[str, _text(200)]
Command = Annotated[str, _text(2000, lines=True)]
# The range of each duration key: below the floor the daemon would busy-loop, above the
# ceiling the value is a typo (both documented in README's configuration reference).
RescanInterval = Annotated[float, _duration_in(1, DAY_S)]
HeartbeatInterval = Annotated[float, _duration_in(1, 60)]
PreRoll = Annotated[float, _duration_in(0.1, 120, zero=True)]
HookTimeout = Annotated[float, _duration_in(1, 120)]
SlotLength = Annotated[float, _duration_in(1, DAY_S)]
SlotPause = Annotated[float, _duration_in(0.1, 600, zero=True)]
SourceTimeout = Annotated[float, _duration_in(1, 600)]
TimeOfDay = Annotated[time, BeforeValidator(parse_time_of_day)]
TimeRange = Annotated[tuple[time, time], BeforeValidator(parse_time_range)]
Slug = Annotated[str, BeforeValidator(_slug)]
TimeZoneName = Annotated[str, BeforeValidator(_timezone)]


def _resolve(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    value = value.expanduser()
    if base is not None and not value.is_absolute():
        value = Path(base) / value
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Station(Section):
    id: Slug = Field(description="Mã đài, ổn định (stable station code used in reports)")
    name: Line = Field(min_length=1, description="Tên đài (station name printed on reports)")
    timezone: TimeZoneName = Field(
        default="Asia/Ho_Chi_Minh", description="Múi giờ IANA (IANA time zone)"
    )
    quiet_hours: TimeRange | None = Field(
        default=None, description="Giờ yên tĩnh, chỉ phát tin khẩn cấp (only emergencies air)"
    )

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class LibrarySection(Section):
    root: FilePath = Field(
        default=Path("audio_library/demo"),
        validate_default=True,
        description="Thư mục thư viện, mỗi chủ đề một thư mục con (one folder per topic id)",
    )
    target_loudness: Loudness = Field(
        default=-16.0, description="Độ lớn mục tiêu, LUFS (target loudness)"
    )
    max_boost: float = Field(
        default=12.0,
        ge=0,
        le=30,
        allow_inf_nan=False,
        description="Tăng âm lượng tối đa, dB (most a quiet spot is boosted toward the target)",
    )
    require_approval: bool = Field(
        default=False, description="Chỉ phát tin đã duyệt (only approved spots air)"
    )
    rescan: RescanInterval = Field(
        default=60.0,
        description="Daemon quét lại thư viện sau mỗi khoảng này (rescan interval while running)",
    )

    _resolve_root = field_validator("root")(_resolve)


class Database(Section):
    url: Annotated[str, _text(2000)] = Field(
        default="sqlite:///data/loa.db",
        validate_default=True,
        description="SQLAlchemy URL; đường dẫn sqlite tương đối tính từ thư mục config",
    )

    @field_validator("url")
    @classmethod
    def _resolve_sqlite(cls, value: str, info: ValidationInfo) -> str:
        prefix = "sqlite:///"
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError(f'"{value}" is not a database URL ("sqlite:///data/loa.db")')
        if value.startswith(prefix) and not value.startswith(prefix + "/"):
            rel = value[len(prefix) :]
            if rel and rel != ":memory:":
                return prefix + str(_resolve(Path(rel), info))
        return value


class OutputSection(Section):
    backend: Literal["device", "file", "null"] = Field(
        default="device", description="device | file | null"
    )
    device: Line = Field(default="default", description="Tên thiết bị âm thanh (`loa output list`)")
    path: FilePath | None = Field(default=None, description="Tệp WAV cho backend file")

    _resolve_path = field_validator("path")(_resolve)


class ReportSection(Section):
    recipient: Line = Field(
        default="Phòng Văn hóa và Thông tin huyện",
        description="Nơi nhận báo cáo (recipient printed on the report)",
    )
    place: Line = Field(
        default="", description="Địa danh ở dòng ngày tháng (place of the date line)"
    )
    signer: Line = Field(default="", description="Người ký báo cáo (signer's name)")
    parent: str = Field(
        default="", description="Cơ quan chủ quản, e.g. UBND XÃ ... (parent body in the header)"
    )
    symbol: str = Field(
        default="", description='Chữ viết tắt sau "Số: .../BC-" (the number\'s symbol)'
    )
    authority: list[str] = Field(
        default=[], description='Thẩm quyền ký, e.g. ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"]'
    )
    title: str = Field(
        default="TRƯỞNG ĐÀI", description="Chức vụ người ký (signer's title, e.g. PHÓ CHỦ TỊCH)"
    )
    recipients: list[str] = Field(
        default=[], description='Danh sách "Nơi nhận" (list; empty = recipient, then "Lưu: VT")'
    )


class DaemonSection(Section):
    catch_up: bool = Field(
        default=True,
        description="Vào lại giữa buổi phát: phát phần còn vừa (back inside a slot: air what fits)",
    )
    socket: FilePath = Field(
        default=Path("data/loa.sock"),
        validate_default=True,
        description="Ổ điều khiển của daemon cho play-now và status (control socket)",
    )
    heartbeat: HeartbeatInterval = Field(
        default=5.0, description="Nhịp sống ghi vào CSDL (heartbeat interval)"
    )

    @field_validator("socket")
    @classmethod
    def _resolve_socket(cls, value: Path, info: ValidationInfo) -> Path:
        value = _resolve(value, info)
        size = len(os.fsencode(value))
        if size > MAX_SOCKET_PATH:  # `loa run` could not bind it
            raise ValueError(
                f'"{value}" is {size} bytes long, a control socket\'s path is at most '
                f'{MAX_SOCKET_PATH}: choose a shorter one, e.g. "/run/loa/loa.sock"'
            )
        return value


class Amplifier(Section):
    on_air: Command = Field(
        default="", description="Lệnh bật ampli trước buổi phát (relay on command)"
    )
    off_air: Command = Field(
        default="", description="Lệnh tắt ampli sau buổi phát (relay off command)"
    )
    pre_roll: PreRoll = Field(
        default=0.0, description="Bật ampli sớm bấy nhiêu trước tin đầu (pre-roll before the slot)"
    )
    timeout: HookTimeout = Field(
        default=10.0, description="Thời gian chờ tối đa của lệnh (hook timeout)"
    )


class Central(Section):
    url: str | None = Field(
        default=None,
        description="CSDL trung tâm của huyện/tỉnh (the URL `loa central add-station` printed)",
    )
    push_every: Duration = Field(
        default=900.0, description="Gửi nhật ký lên trung tâm sau mỗi khoảng này (push interval)"
    )

    @field_validator("url")
    @classmethod
    def _postgres(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql+psycopg://", "postgresql://")):
            scheme = value.split("://", 1)[0] if "://" in value else value[:12]
            raise ValueError(
                f'"{scheme}://…" is not a PostgreSQL URL: paste the one '
                "`loa central add-station` printed (postgresql+psycopg://…)"
            )
        return value


class Topic(Section):
    id: Slug = Field(description="Mã chủ đề = tên thư mục (topic id = library folder)")
    name: Name = Field(min_length=1, description="Tên chủ đề in trên báo cáo")
    weight: Weight = Field(default=1.0, description="Tỉ trọng thời lượng (airtime share)")


def _stream_url(value: object) -> object:
    """An http(s) stream URL (Icecast/HTTP in mp3, aac, ogg, opus; HLS .m3u8)."""
    if isinstance(value, str) and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ValueError(
            f"{shown(value)} is not an http(s) stream URL, e.g. "
            '"http://stream.example.vn:8000/vov1" or "https://.../playlist.m3u8"'
        )
    return value


class Source(Section):
    """A live programme a slot can relay (tiếp sóng): VOV, the provincial or district station."""

    id: Slug = Field(description="Mã nguồn tiếp sóng (source id a slot's relay names)")
    name: Line = Field(min_length=1, description="Tên nguồn in trên báo cáo (name on reports)")
    url: Annotated[str, _text(2000), BeforeValidator(_stream_url)] = Field(
        description="Địa chỉ luồng http(s): Icecast/HTTP mp3, aac, ogg, opus hoặc HLS .m3u8"
    )


class Slot(Section):
    name: Slug = Field(description="Tên buổi phát (slot name)")
    start: TimeOfDay = Field(description='Giờ bắt đầu "HH:MM" (local start time)')
    length: SlotLength = Field(description='Thời lượng "10m" (length to fill)')
    days: str = Field(
        default="mon-sun", description='Ngày trong tuần: "mon-fri" hoặc "t2-t6" (days)'
    )
    topics: list[Annotated[str, Field(max_length=64)]] = Field(
        default=["*"], min_length=1, max_length=100, description='Chủ đề; "*" = tất cả'
    )
    max_length: SlotLength | None = Field(
        default=None, description="Giới hạn thời lượng buổi phát (cap, e.g. 15m)"
    )
    intro: FilePath | None = Field(default=None, description="Nhạc hiệu mở đầu (intro jingle)")
    outro: FilePath | None = Field(default=None, description="Nhạc hiệu kết thúc (outro jingle)")
    pause: SlotPause = Field(default=0.0, description="Khoảng lặng giữa các tin (pause)")
    relay: Slug | None = Field(
        default=None, description="Tiếp sóng nguồn này thay cho tin/bài (relay a source's id)"
    )
    fallback: Literal["spots", "silence"] = Field(
        default="spots", description="Khi mất tín hiệu: spots | silence (when the stream dies)"
    )
    source_timeout: SourceTimeout = Field(
        default=10.0, description="Mất tín hiệu bấy lâu thì phát dự phòng (then the fallback)"
    )

    _resolve_jingles = field_validator("intro", "outro")(_resolve)

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        parse_days(value)
        return normalize_days(value)  # what APScheduler reads: "t2-t6" -> "mon-fri"

    @cached_property
    def weekdays(self) -> frozenset[int]:
        return parse_days(self.days)

    @property
    def start_s(self) -> int:
        return seconds_of_day(self.start)


class Config(Section):
    station: Station
    library: LibrarySection = Field(default_factory=dict, validate_default=True)  # type: ignore[arg-type]
    database: Database = Field(default_factory=dict, validate_default=True)  # type: ignore[arg-type]
    output: OutputSection = Field(default_factory=dict, validate_default=True)  # type: ignore[arg-type]
    report: ReportSection = Field(default_factory=dict, validate_default=True)  # type: ignore[arg-type]
    daemon: DaemonSection = Field(default_factory=dict, validate_default=True)  # type: ignore[arg-type]
    amplifier: Amplifier = Field(default_factory=dict, validate_default=True)  # type: ignore[arg-type]
    central: Central = Field(default_factory=dict, validate_default=True)  # type: ignore[arg-type]
    topics: list[Topic] = Field(min_length=1, max_length=100)
    slots: list[Slot] = Field(default=[], max_length=200)
    sources: list[Source] = Field(default=[], max_length=100)

    # Set by check_config: the file this config was read from (not a key of the file).
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        return self._source

    @property
    def tz(self) -> ZoneInfo:
        return self.station.tz

    @property
    def topic_ids(self) -> list[str]:
        return [t.id for t in self.topics]

    def slot_topics(self, slot: Slot) -> list[str]:
        return self.topic_ids if "*" in slot.topics else list(slot.topics)

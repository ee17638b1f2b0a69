"""Whether a file may air, and why not: pure functions of what tags and decoding found.

Refusal codes (stored in `spot.problem`, reasons shown to the operator in Vietnamese):

| code | when |
|---|---|
| `empty` | the file has 0 bytes |
| `not_audio` | ffmpeg finds no audio stream in it, or neither ffmpeg nor mutagen knows its format
  and its first bytes are no audio container's (a text, an image, a web page named `.mp3`) |
| `unsupported` | ffmpeg knows the container but has no decoder for its codec |
| `corrupt` | a recording (mutagen reads it, or its first bytes are an audio container's) that
  ffmpeg cannot open or decode, or that gives more than `MAX_DECODE_ERRORS` decoder errors |
| `truncated` | the decoded audio is shorter than the header declares (by > 0.5 s and > 2 %)
  and the decoder complained no more than a cut at the end makes it (else: `corrupt`) |
| `silent` | less than `MIN_AUDIBLE_S` of it is above `SILENCE_DB`, or its loudness is gated out |
| `too_long` | after trimming silence it is longer than the longest slot |
| `duplicate` | the same bytes are already catalogued, and may air, under another path (a copy of
  refused bytes is refused with their refusal: every copy says what is wrong with it) |
| `bad_name` | the file name is not valid UTF-8, or equals another one after NFC normalisation |
| `timed_out` | ffmpeg did not finish in its time limit (a hung mount); not stored, tried again |

Refusals found on disk before any content is read (`files.discover`), reported on every scan and
never stored: `not_regular` (a FIFO, a device, a socket), `unreadable` (a file or folder loa may
not read), `broken_link` (a symlink to nothing), `misplaced`.

The playback gain (`playback_gain`) brings a spot toward the target loudness, but never so far
that its true peak passes `TRUE_PEAK_CEILING_DBTP`, and never by more than `max_boost`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from audio_library.analysis import SILENCE_DB, Analysis

if TYPE_CHECKING:  # mutagen: only the scan reads tags (`loa status` needs playback_gain)
    from audio_library.tags import Tags

AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".wav", ".wave", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".flac"}
)
MAX_DECODE_ERRORS = 3  # a cut at the end logs up to 3 lines; damage inside logs more
MIN_AUDIBLE_S = 0.5
GATED_LUFS = -70.0  # what ebur128 reports when nothing passes the absolute gate
TRUNCATION_MIN_S = 0.5
TRUNCATION_RATIO = 0.02


@dataclass(frozen=True)
class Refusal:
    problem: str
    reason: str


def fmt_s(seconds: float) -> str:
    return f"{seconds:.1f} s"


def fmt_length(seconds: float) -> str:
    whole = round(seconds)
    m, s = divmod(whole, 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


def judge(size: int, extension: str, tags: Tags, analysis: Analysis | None) -> Refusal | None:
    """The refusal of a file from its size, extension, tags and decode; None when it is good."""
    if size == 0:
        return Refusal("empty", "rỗng: tệp 0 byte (empty)")
    assert analysis is not None
    if analysis.timed_out:
        return Refusal(
            "timed_out",
            f"quá thời gian giải mã (timed out: {analysis.open_error}): tệp nằm trên ổ mạng hoặc "
            "USB bị treo? loa sẽ thử lại ở lần quét sau (tried again at the next scan)",
        )
    # A recording, however damaged: mutagen reads it, or it starts as an audio container does.
    # The name's extension is no evidence: a text or a web page saved as .mp3 is not audio.
    recording = tags.error is None or tags.container is not None
    if analysis.no_decoder:
        codec = analysis.codec if analysis.codec not in (None, "none") else "codec lạ"
        return Refusal(
            "unsupported",
            f"codec không hỗ trợ: ffmpeg không có bộ giải mã cho {codec} (unsupported codec)",
        )
    if analysis.no_audio or (not analysis.ok and analysis.codec is None and not recording):
        return Refusal("not_audio", _not_audio(extension, analysis))
    if not analysis.ok or not analysis.decoded_s:
        detail = analysis.open_error or (analysis.errors[0] if analysis.errors else "no audio")
        return Refusal(
            "corrupt",
            f"hỏng: tệp âm thanh bị hỏng, ffmpeg không giải mã được; hãy chép lại từ bản gốc "
            f"(corrupt: {detail}; copy it again from the original)",
        )
    decoded = analysis.decoded_s
    short = tags.header_s is not None and decoded < tags.header_s - max(
        TRUNCATION_MIN_S, TRUNCATION_RATIO * tags.header_s
    )
    if short and analysis.error_count <= MAX_DECODE_ERRORS and tags.header_s is not None:
        return Refusal(
            "truncated",
            f"bị cắt cụt: giải mã {fmt_s(decoded)} / tiêu đề {fmt_s(tags.header_s)} (truncated)",
        )
    if analysis.error_count > MAX_DECODE_ERRORS:
        return Refusal(
            "corrupt",
            f"hỏng: {analysis.error_count} lỗi giải mã (corrupt: {analysis.errors[0]})",
        )
    silent_s = sum(
        (end if end is not None else decoded) - start for start, end in analysis.silences
    )
    loudness = analysis.loudness_lufs
    if decoded - silent_s < MIN_AUDIBLE_S or loudness is None or loudness <= GATED_LUFS:
        return Refusal(
            "silent",
            f"im lặng: không có âm thanh trên {SILENCE_DB:g} dBFS (silent)",
        )
    return None


def _not_audio(extension: str, analysis: Analysis) -> str:
    """Why a file is not audio at all, and what to do (the path is shown beside it)."""
    named = extension.lower() in AUDIO_EXTENSIONS
    vi_name = f" dù tên có đuôi {extension}" if named else ""
    en_name = f", although named {extension}" if named else ""
    if analysis.no_audio:
        fmt = analysis.input_format
        vi = (
            f"ffmpeg đọc được nó là {fmt} nhưng không có luồng âm thanh"
            if fmt
            else ("không có luồng âm thanh")
        )
        en = f"ffmpeg finds no audio stream{f' in this {fmt}' if fmt else ''}"
    else:
        vi, en = "ffmpeg không nhận ra định dạng", "unknown format"
    return (
        f"không phải tệp âm thanh: {vi}{vi_name}; hãy thay bằng bản ghi âm thật hoặc xoá tệp "
        f"(not an audio file: {en}{en_name}; replace it with a real recording or remove it)"
    )


def too_long(playable_s: float, max_spot_s: float | None) -> Refusal | None:
    """Refuse a spot that cannot fit in any slot (`max_spot_s` None: no slot, no limit)."""
    if max_spot_s is None or playable_s <= max_spot_s:
        return None
    return Refusal(
        "too_long",
        f"quá dài: {fmt_length(playable_s)}, dài hơn mọi buổi phát (tối đa "
        f"{fmt_length(max_spot_s)}) (longer than every slot)",
    )


def duplicate(original_path: str) -> Refusal:
    return Refusal("duplicate", f"trùng nội dung với {original_path} (duplicate)")


def gain_db(loudness_lufs: float | None, target_lufs: float) -> float | None:
    """The gain that brings a spot to the target loudness, in dB (None when unmeasured)."""
    if loudness_lufs is None or loudness_lufs <= GATED_LUFS:
        return None
    return round(target_lufs - loudness_lufs, 2)


TRUE_PEAK_CEILING_DBTP = -1.0  # the output's true peak stays at or below this (EBU R128: -1)
SHORT_OF_TARGET_DB = 0.05  # a gain this much below the wanted one is "cannot reach the target"


@dataclass(frozen=True)
class Gain:
    """The gain playback applies to a spot, and why it is less than the target needs."""

    gain_db: float | None  # None: the spot has no measured loudness
    wanted_db: float | None  # what reaching the target loudness alone would need
    limit: str | None = None  # None | "peak" | "max_boost" | "no_peak"

    @property
    def short_db(self) -> float:
        """How far below the target the spot airs, in dB (0.0 when it reaches it)."""
        if self.gain_db is None or self.wanted_db is None:
            return 0.0
        return round(max(0.0, self.wanted_db - self.gain_db), 2)

    @property
    def reaches_target(self) -> bool:
        return self.short_db < SHORT_OF_TARGET_DB


def playback_gain(
    loudness_lufs: float | None,
    peak_dbtp: float | None,
    target_lufs: float,
    max_boost_db: float,
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
) -> Gain:
    """The gain toward `target_lufs`, capped so the true peak after it stays at or below
    `ceiling_dbtp` and so it boosts by at most `max_boost_db`; pure. An unmeasured peak (a
    catalogue from before peaks were measured) allows no boost at all: 0 dB is the only gain
    known not to clip a file that does not clip already."""
    if loudness_lufs is None or loudness_lufs <= GATED_LUFS:
        return Gain(None, None)
    wanted = target_lufs - loudness_lufs
    gain, limit = wanted, None
    if gain > max_boost_db:
        gain, limit = max_boost_db, "max_boost"
    headroom = ceiling_dbtp - peak_dbtp if peak_dbtp is not None else 0.0
    if gain > headroom:
        gain, limit = headroom, "peak" if peak_dbtp is not None else "no_peak"
    return Gain(round(gain, 2), round(wanted, 2), limit)


def shortfall_reason(gain: Gain, peak_dbtp: float | None, max_boost_db: float) -> str | None:
    """Why a spot airs below the target loudness, for `loa library list`; None when it
    reaches it."""
    if gain.reaches_target or gain.limit is None:
        return None
    short = f"thấp hơn mục tiêu {gain.short_db:.1f} dB"
    if gain.limit == "peak":
        return (
            f"{short}: đỉnh thật {peak_dbtp:+.1f} dBTP, tăng thêm sẽ vượt "
            f"{TRUE_PEAK_CEILING_DBTP:g} dBTP (below target: true-peak limit)"
        )
    if gain.limit == "max_boost":
        return f"{short}: đã tăng tối đa {max_boost_db:g} dB (below target: library.max_boost)"
    return f"{short}: chưa đo đỉnh thật, chạy loa library scan (peak not measured: run a scan)"


def title_from_name(stem: str) -> str:
    """A readable title from a file name: '_' as spaces, runs of spaces collapsed."""
    text = " ".join(stem.replace("_", " ").split())
    return text or stem

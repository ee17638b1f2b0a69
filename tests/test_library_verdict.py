"""Pure parts of the library: reading ffmpeg's report, silence at the ends, verdicts, gain."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audio_library.analysis import Analysis, leading_trailing_silence, parse
from audio_library.tags import Tags
from audio_library.verdict import gain_db, judge, title_from_name, too_long

STDERR = """\
[info] Input #0, mp3, from 'tin.mp3':
[info]   Duration: 00:01:00.03, start: 0.025057, bitrate: 96 kb/s
[info]   Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 96 kb/s
[info] Stream mapping:
[silencedetect @ 0x1] [info] silence_start: -0.0250567
[silencedetect @ 0x1] [info] silence_end: 1.2 | silence_duration: 1.22
[silencedetect @ 0x1] [info] silence_start: 30
[silencedetect @ 0x1] [info] silence_end: 31 | silence_duration: 1
[silencedetect @ 0x1] [info] silence_start: 58.5
[Parsed_ebur128_0 @ 0x2] [info] Summary:

  Integrated loudness:
    I:         -19.4 LUFS
    Threshold: -29.6 LUFS

  Loudness range:
    LRA:         2.1 LU
[silencedetect @ 0x1] [info] silence_end: 60 | silence_duration: 1.5
[out#0/null @ 0x3] [info] video:0KiB audio:10336KiB subtitle:0KiB other streams:0KiB
[info] size=N/A time=00:01:00.00 bitrate=N/A speed= 254x
"""


def test_parse_reads_length_loudness_and_silences() -> None:
    result = parse(STDERR.splitlines(keepends=True))
    assert result.decoded_s == 60.0
    assert result.loudness_lufs == -19.4
    assert result.codec == "mp3"
    assert result.silences == [(0.0, 1.2), (30.0, 31.0), (58.5, 60.0)]
    assert result.trim(60.0) == (1.2, 1.5)
    assert result.error_count == 0


def test_parse_counts_decoder_errors_and_spots_missing_decoders() -> None:
    broken = parse(
        [
            "[mp3float @ 0x1] [error] Header missing\n",
            "[error] Error submitting packet to decoder: Invalid data found when processing input\n",
            "[mp3float @ 0x1] [error] Header missing\n",
            "[info] size=N/A time=00:00:05.93 bitrate=N/A speed= 254x\n",
        ]
    )
    assert broken.error_count == 3 and broken.errors[0] == "Header missing"
    assert broken.decoded_s == 5.93
    nodec = parse(["[error] Decoding requested, but no decoder found for: none\n"])
    assert nodec.no_decoder
    noaudio = parse(["[error] Stream map '0:a:0' matches no streams.\n"])
    assert noaudio.no_audio


def test_silence_only_in_the_middle_trims_nothing() -> None:
    assert leading_trailing_silence([(10.0, 11.0)], 60.0) == (0.0, 0.0)
    assert leading_trailing_silence([], 60.0) == (0.0, 0.0)
    assert leading_trailing_silence([(0.0, None)], 5.0) == (5.0, 0.0)  # all silent


@given(
    st.floats(0, 10), st.floats(0, 10), st.floats(20, 100), st.lists(st.floats(11, 19), max_size=4)
)
def test_trim_never_exceeds_the_file(lead: float, trail: float, length: float, mids: list) -> None:
    silences: list[tuple[float, float | None]] = []
    if lead:
        silences.append((0.0, lead))
    silences += [(m, m + 0.5) for m in sorted(mids)]
    if trail:
        silences.append((length - trail, None))
    a, b = leading_trailing_silence(silences, length)
    assert a >= 0 and b >= 0 and a + b <= length + 1e-9
    assert a == pytest.approx(lead)
    assert b == pytest.approx(trail)


def good(decoded: float = 60.0, **kw: object) -> Analysis:
    return Analysis(decoded_s=decoded, loudness_lufs=-20.0, codec="mp3", **kw)  # type: ignore[arg-type]


TAGS = Tags("mp3", None, 60.03)


def test_verdicts_in_order() -> None:
    assert judge(1000, ".mp3", TAGS, good()) is None
    assert judge(0, ".mp3", TAGS, None).problem == "empty"  # type: ignore[union-attr]
    assert judge(10, ".mp3", TAGS, Analysis(no_decoder=True)).problem == "unsupported"  # type: ignore[union-attr]
    assert (
        judge(10, ".pdf", Tags(None, None, None, "x"), Analysis(returncode=1)).problem
        == "not_audio"
    )  # type: ignore[union-attr]
    # named .mp3 but of no known format and not starting as a recording: not audio
    assert (
        judge(10, ".mp3", Tags(None, None, None, "x"), Analysis(returncode=1)).problem
        == "not_audio"
    )  # type: ignore[union-attr]
    # a recording's first bytes that nothing can read any further: a damaged recording
    assert (
        judge(10, ".mp3", Tags(None, None, None, "x", "mp3"), Analysis(returncode=1)).problem
        == "corrupt"
    )  # type: ignore[union-attr]
    assert judge(10, ".mp3", Tags("mp3", None, 6.0), Analysis(returncode=1)).problem == "corrupt"  # type: ignore[union-attr]
    cut = judge(10, ".mp3", TAGS, good(30.0, error_count=1, errors=["x"]))
    assert (
        cut is not None and cut.reason == "bị cắt cụt: giải mã 30.0 s / tiêu đề 60.0 s (truncated)"
    )
    # short AND many decoder errors: damage inside (Ogg lengths come from the last page)
    assert (
        judge(10, ".ogg", TAGS, good(30.0, error_count=9, errors=["CRC mismatch!"])).problem
        == "corrupt"
    )  # type: ignore[union-attr]
    assert (
        judge(10, ".mp3", TAGS, good(59.9, error_count=4, errors=["Header missing"])).problem
        == "corrupt"
    )  # type: ignore[union-attr]
    assert judge(10, ".mp3", TAGS, good(59.9, error_count=2, errors=["x"])) is None
    assert judge(10, ".mp3", TAGS, good(silences=[(0.0, 59.8)])).problem == "silent"  # type: ignore[union-attr]
    assert (
        judge(10, ".mp3", TAGS, Analysis(decoded_s=60.0, loudness_lufs=-70.0)).problem == "silent"
    )  # type: ignore[union-attr]
    # a file mutagen cannot read but ffmpeg decodes whole is good (no header to compare)
    assert judge(10, ".aac", Tags(None, None, None, "x"), good()) is None


def test_too_long_gain_and_titles() -> None:
    assert too_long(600.0, 600.0) is None
    assert too_long(601.0, None) is None
    refusal = too_long(750.0, 600.0)
    assert refusal is not None
    assert (
        refusal.reason
        == "quá dài: 12m30s, dài hơn mọi buổi phát (tối đa 10m00s) (longer than every slot)"
    )
    assert gain_db(-23.0, -16.0) == 7.0
    assert gain_db(-10.5, -16.0) == -5.5
    assert gain_db(None, -16.0) is None
    assert title_from_name("Tin__số  1_") == "Tin số 1"

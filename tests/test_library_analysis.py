"""Tags and the one-pass ffmpeg analysis on real files of every format the stations receive."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio_library.analysis import analyse
from audio_library.tags import read_tags
from audio_library.verdict import judge
from tests.library_audio import CODECS, make_audio, reference_loudness

FORMATS = sorted(CODECS)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    made = {}
    for ext in FORMATS:
        made[ext] = make_audio(
            folder / f"tone.{ext}", seconds=3.0, lead=1.0, trail=1.5, title="Tin thử nghiệm"
        )
    return made


@pytest.mark.parametrize("ext", FORMATS)
def test_every_format_decodes_with_duration_loudness_and_silence(
    sources: dict[str, Path], ext: str
) -> None:
    path = sources[ext]
    result = analyse(path)
    assert result.ok, result.errors
    assert result.decoded_s == pytest.approx(5.5, abs=0.1)
    assert result.loudness_lufs == pytest.approx(reference_loudness(path), abs=1.0)
    lead, trail = result.trim(result.decoded_s)
    assert lead == pytest.approx(1.0, abs=0.1)
    assert trail == pytest.approx(1.5, abs=0.1)
    assert judge(path.stat().st_size, path.suffix, read_tags(path), result) is None


@pytest.mark.parametrize("ext", ["mp3", "ogg", "opus", "m4a", "flac"])
def test_tags_give_title_and_header_duration(sources: dict[str, Path], ext: str) -> None:
    tags = read_tags(sources[ext])
    assert tags.error is None
    assert tags.title == "Tin thử nghiệm"
    assert tags.header_s == pytest.approx(5.5, abs=0.1)


def test_loudness_follows_the_level(tmp_path: Path) -> None:
    quiet = analyse(make_audio(tmp_path / "quiet.flac", volume_db=-30.0))
    loud = analyse(make_audio(tmp_path / "loud.flac", volume_db=-10.0))
    assert loud.loudness_lufs is not None and quiet.loudness_lufs is not None
    assert loud.loudness_lufs - quiet.loudness_lufs == pytest.approx(20.0, abs=0.5)


def test_a_long_file_is_measured_to_its_end(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "long.ogg", seconds=95.0, trail=2.0)
    result = analyse(path)
    assert result.decoded_s == pytest.approx(97.0, abs=0.1)
    assert result.trim(result.decoded_s)[1] == pytest.approx(2.0, abs=0.1)


def test_a_file_that_is_no_audio_is_told_apart(tmp_path: Path) -> None:
    text = tmp_path / "ghi chú.txt"
    text.write_text("Không phải âm thanh", "utf-8")
    result = analyse(text)
    assert not result.ok
    assert read_tags(text).error is not None

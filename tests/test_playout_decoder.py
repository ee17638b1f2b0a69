"""The streaming decoder, with the real ffmpeg binary."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from scheduler.output.decoder import CHUNK_FRAMES, StreamDecoder
from tests.audio_media import decode, ffmpeg, tone


def read_all(dec: StreamDecoder, timeout: float = 30.0) -> np.ndarray:
    parts = []
    end = time.monotonic() + timeout
    while not dec.finished:
        chunk = dec.read(10_000)
        if len(chunk):
            parts.append(np.array(chunk, np.float32))  # a memoryview of float32: copied
        else:
            assert time.monotonic() < end, "decoder stalled"
            time.sleep(0.001)
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


@pytest.mark.parametrize(
    ("suffix", "rate"),
    [(".wav", 22050), (".flac", 44100), (".mp3", 44100), (".ogg", 32000), (".opus", 48000)],
)
def test_any_format_and_rate_comes_out_at_the_output_rate(
    tmp_path: Path, suffix: str, rate: int
) -> None:
    src = tone(tmp_path / f"t{suffix}", 440, 1.0, rate=rate)
    dec = StreamDecoder(src, 48000)
    pcm = read_all(dec)
    assert dec.error is None
    assert abs(len(pcm) - 48000) < 48000 * 0.01  # 1 s, give or take codec padding
    spectrum = np.abs(np.fft.rfft(pcm[2400:45600]))
    assert abs(np.argmax(spectrum) * 48000 / 43200 - 440) < 3
    dec.close()


def test_gain_is_applied_and_stereo_is_folded_to_mono(tmp_path: Path) -> None:
    src = tone(tmp_path / "st.wav", 1000, 0.5, ch=2)
    ref = decode(src)
    pcm = read_all(StreamDecoder(src, 48000, gain_db=-6.0))
    assert len(pcm) == len(ref)
    np.testing.assert_allclose(pcm, ref * 10 ** (-6 / 20), atol=1e-6)


def test_missing_and_broken_files_fail_with_the_path(tmp_path: Path) -> None:
    missing = StreamDecoder(tmp_path / "nope.mp3", 48000)
    assert len(read_all(missing)) == 0
    assert missing.error == f"file not found: {tmp_path / 'nope.mp3'}"
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"this is not audio" * 100)
    bad = StreamDecoder(junk, 48000)
    assert len(read_all(bad)) == 0
    assert bad.error is not None and str(junk) in bad.error


def test_memory_is_bounded_whatever_the_length(tmp_path: Path) -> None:
    """A 20-minute file: unread, the decoder holds at most its buffer and ffmpeg waits."""
    src = tmp_path / "long.flac"
    ffmpeg("-f", "lavfi", "-i", "sine=f=300:d=1200:sample_rate=8000", "-c:a", "flac", str(src))
    dec = StreamDecoder(src, 48000, max_buffer_s=1.0)
    cap_frames = dec.max_chunks * CHUNK_FRAMES
    time.sleep(1.5)  # ample time to decode far more than the buffer if nothing held it back
    assert dec._proc is not None and dec._proc.poll() is None  # ffmpeg blocked, not done
    held = dec.buffered_frames
    assert 0 < held <= cap_frames + CHUNK_FRAMES  # the queue plus the chunk being handed over
    assert cap_frames * 4 < 1.1 * 4 * 48000  # i.e. about one second of audio, not 20 minutes
    got = 0
    for _ in range(200):  # consume ~4 s; the buffer refills but never exceeds its bound
        got += len(dec.read(CHUNK_FRAMES))
        assert dec.buffered_frames <= cap_frames + CHUNK_FRAMES
        time.sleep(0.0005)
    assert got > 0
    dec.close()
    assert dec._proc.poll() is not None  # closing stops ffmpeg


def test_the_silence_trim_is_skipped_sample_exactly(tmp_path: Path) -> None:
    """The library's trim: start after the leading silence, stop before the trailing one."""
    src = tmp_path / "padded.wav"
    ffmpeg(
        "-f", "lavfi", "-i", "aevalsrc=0.5*sin(2*PI*800*t)*between(t\\,1\\,2):s=48000:d=3",
        "-c:a", "pcm_s16le", str(src),
    )  # fmt: skip
    whole = decode(src)
    pcm = read_all(StreamDecoder(src, 48000, start_s=1.0, length_s=1.0))
    assert len(pcm) == 48000
    np.testing.assert_allclose(pcm, whole[48000:96000], atol=1e-4)
    assert np.abs(pcm[:480]).max() > 0.1  # sound from the first 10 ms: the silence is gone


def test_a_file_shorter_than_its_measured_length_fails(tmp_path: Path) -> None:
    """A file replaced or cut short after its scan: the item failed, naming both lengths."""
    src = tone(tmp_path / "short.wav", 440.0, 2.0)
    dec = StreamDecoder(src, 48000, length_s=5.0)
    pcm = read_all(dec)
    assert len(pcm) == 2 * 48000  # what there was is still played
    assert dec.error is not None
    assert "2.0 s of the 5.0 s" in dec.error and "loa library scan" in dec.error
    whole = StreamDecoder(src, 48000, length_s=2.0)
    read_all(whole)
    assert whole.error is None


def _rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))


@pytest.mark.parametrize(
    ("ch", "rate", "out"), [(2, 44100, 44100), (2, 44100, 48000), (1, 22050, 48000)]
)
def test_mpeg_audio_is_decoded_by_mpg123_as_ffmpeg_decodes_it(
    tmp_path: Path, ch: int, rate: int, out: int
) -> None:
    """mp3 goes to mpg123 (a 3 MB process, not ffmpeg's 33 MB): the same length to the sample
    and the same level as ffmpeg's own decode, stereo folded to mono at ffmpeg's level."""
    src = tone(tmp_path / "t.mp3", 1000, 3.0, rate=rate, amp=0.25, ch=ch)
    ref = decode(src, out)
    dec = StreamDecoder(src, out, gain_db=-6.0)
    assert dec.command.name == "mpg123"
    pcm = read_all(dec)
    assert dec.error is None
    assert len(pcm) == len(ref)
    body = slice(out // 2, len(ref) - out // 2)
    assert abs(_rms_db(pcm[body]) - (_rms_db(ref[body]) - 6.0)) < 0.05
    spectrum = np.abs(np.fft.rfft(pcm[body]))
    assert abs(np.argmax(spectrum) * out / len(pcm[body]) - 1000) < 2


def test_mpg123_skips_the_leading_silence_and_caps_the_length_sample_exactly(
    tmp_path: Path,
) -> None:
    src = tmp_path / "padded.mp3"
    ffmpeg(
        "-f", "lavfi", "-i", "aevalsrc=0.5*sin(2*PI*800*t)*between(t\\,1\\,2):s=44100:d=3",
        "-c:a", "libmp3lame", "-b:a", "128k", str(src),
    )  # fmt: skip
    whole = read_all(StreamDecoder(src, 44100))
    dec = StreamDecoder(src, 44100, start_s=1.0, length_s=1.0)
    assert dec.command.name == "mpg123"
    pcm = read_all(dec)
    assert dec.error is None  # the decoder stopped at the cap is no failure
    assert len(pcm) == 44100
    np.testing.assert_array_equal(pcm, whole[44100:88200])
    assert np.abs(pcm[:441]).max() > 0.1  # sound from the first 10 ms: the silence is gone
    assert dec._proc is not None and dec._proc.poll() is not None  # mpg123 is gone
    assert abs(_rms_db(pcm[2000:-2000]) - _rms_db(decode(src, 44100)[46100:86200])) < 0.05


def test_mpg123_gain_does_not_clip(tmp_path: Path) -> None:
    src = tone(tmp_path / "loud.mp3", 500, 1.0, rate=44100, amp=0.5)
    pcm = read_all(StreamDecoder(src, 44100, gain_db=12.0))
    assert pcm.max() > 1.5  # 0.5 * 4: float all the way, the device's limiter is later


def test_the_content_not_the_name_chooses_the_decoder(tmp_path: Path) -> None:
    """A WAV or an Ogg named .mp3 is decoded by ffmpeg; an mp3 named .wav by mpg123."""
    wav = tone(tmp_path / "w.wav", 440, 1.0)
    ogg = tone(tmp_path / "o.ogg", 440, 1.0)
    mp3 = tone(tmp_path / "m.mp3", 440, 1.0)
    for real, name, decoder in [
        (wav, "w.mp3", "ffmpeg"),
        (ogg, "o.mp3", "ffmpeg"),
        (mp3, "m.wav", "mpg123"),
    ]:
        renamed = real.rename(tmp_path / name)
        dec = StreamDecoder(renamed, 48000)
        assert decoder in dec.command.name
        pcm = read_all(dec)
        assert dec.error is None and abs(len(pcm) - 48000) < 480


def test_without_mpg123_ffmpeg_decodes_mp3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scheduler.output import decoder

    monkeypatch.setattr(decoder, "mpg123_exe", lambda: None)  # as on a machine without it
    src = tone(tmp_path / "t.mp3", 440, 1.0, rate=44100)
    dec = StreamDecoder(src, 44100)
    assert "ffmpeg" in dec.command.name
    assert len(read_all(dec)) == len(decode(src, 44100))


def test_a_cut_short_mp3_fails_with_both_lengths(tmp_path: Path) -> None:
    src = tone(tmp_path / "whole.mp3", 440, 4.0, rate=44100)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    dec = StreamDecoder(cut, 44100, length_s=4.0)
    assert dec.command.name == "mpg123"
    pcm = read_all(dec)
    assert 1.5 * 44100 < len(pcm) < 2.5 * 44100  # what there was is still played
    assert dec.error is not None and "of the 4.0 s" in dec.error

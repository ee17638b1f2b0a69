"""The file backend: what would have aired, sample-exact, in a WAV file."""

from __future__ import annotations

import os
import threading
import time
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from scheduler.output import ItemEnded, ItemStarted, OutputError, PlayItem, open_output
from scheduler.output.decoder import StreamDecoder
from tests.audio_media import decode, tone

RATE = 48000


def read_wav(path: Path) -> tuple[np.ndarray, int, int]:
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
        return x.reshape(-1, w.getnchannels()), w.getframerate(), w.getnchannels()


def decoded(path: Path, gain_db: float = 0.0) -> np.ndarray:
    """What the playout's own decoder gives for `path` at `RATE`."""
    dec = StreamDecoder(path, RATE, gain_db=gain_db)
    parts = []
    while not dec.finished:
        chunk = dec.read(RATE)
        if len(chunk):
            parts.append(np.array(chunk, np.float32))
        else:
            time.sleep(0.001)
    assert dec.error is None, dec.error
    return np.concatenate(parts)


def frame(at: datetime, t: datetime) -> int:
    return round((t - at).total_seconds() * RATE)


def test_file_holds_exactly_what_airs_at_the_planned_frames(tmp_path: Path) -> None:
    a = tone(tmp_path / "a.flac", 1000, 0.5, rate=44100)
    b = tone(tmp_path / "b.mp3", 2000, 0.4, rate=22050)
    c = tone(tmp_path / "c.ogg", 500, 0.3, rate=32000)
    items = [
        PlayItem(a, key="a"),
        PlayItem(b, gain_db=-6.0, key="b"),
        PlayItem(c, offset_s=1.5, key="c"),  # a pause of ~0.6 s before it
    ]
    at = datetime(2021, 3, 1, 6, 0, tzinfo=UTC)
    events: list[object] = []
    out = open_output("file", path=tmp_path / "air.wav")
    handle = out.play(items, at, events.append)
    assert handle.wait(20)
    out.close()
    x, rate, ch = read_wav(tmp_path / "air.wav")
    assert (rate, ch) == (RATE, 2)
    assert np.array_equal(x[:, 0], x[:, 1])
    starts = [e for e in events if isinstance(e, ItemStarted)]
    ends = [e for e in events if isinstance(e, ItemEnded)]
    assert [e.status for e in ends] == ["completed"] * 3
    # the mp3 is decoded by mpg123, whose resampler differs from ffmpeg's (tests of
    # test_playout_decoder.py compare the two): the reference is the decoder's own output
    refs = [decode(a), decoded(b, gain_db=-6.0), decode(c)]
    # item 0 at the plan's instant, item 1 right after it, item 2 at its offset
    assert starts[0].started_at == at
    assert starts[1].started_at == ends[0].ended_at
    assert starts[2].started_at == at + timedelta(seconds=1.5)
    pos = 0
    for s, e, ref in zip(starts, ends, refs, strict=True):
        f0, f1 = frame(at, s.started_at), frame(at, e.ended_at)
        assert f1 - f0 == len(ref) and e.played_s == len(ref) / RATE
        assert np.all(x[pos:f0] == 0)  # silence before (only in the pause)
        np.testing.assert_allclose(x[f0:f1, 0], ref, atol=1.5 / 32768)
        pos = f1
    assert frame(at, starts[1].started_at) == len(refs[0])  # gapless, to the sample


def test_missing_file_fails_and_the_plan_goes_on(tmp_path: Path) -> None:
    ok = tone(tmp_path / "ok.wav", 1000, 0.2)
    at = datetime(2021, 3, 1, 6, 0, tzinfo=UTC)
    with open_output("file", path=tmp_path / "air.wav") as out:
        h = out.play([PlayItem(tmp_path / "gone.mp3", key="x"), PlayItem(ok, key="y")], at)
        assert h.wait(10)
    first, second = h.results()
    assert first.status == "failed" and "gone.mp3" in (first.error or "")
    assert h.started[0] is None  # nothing aired for it
    assert second.status == "completed" and h.started[1] is not None
    assert h.started[1].started_at == at


def test_plans_follow_each_other_on_one_timeline(tmp_path: Path) -> None:
    t = tone(tmp_path / "t.wav", 1000, 0.25)
    at = datetime(2021, 3, 1, 6, 0, tzinfo=UTC)
    with open_output("file", path=tmp_path / "air.wav") as out:
        h1 = out.play([PlayItem(t)], at)
        h2 = out.play([PlayItem(t)], at + timedelta(seconds=1))
        assert h1.wait(10) and h2.wait(10)
    x, _, _ = read_wav(tmp_path / "air.wav")
    s2 = h2.started[0]
    assert s2 is not None and s2.started_at == at + timedelta(seconds=1)
    assert np.all(x[int(0.25 * RATE) : RATE] == 0)
    assert np.abs(x[RATE : RATE + int(0.25 * RATE)]).max() > 0.4


def test_realtime_file_cut_fades_and_skips(tmp_path: Path) -> None:
    long = tone(tmp_path / "long.wav", 1000, 5.0)
    out = open_output("file", path=tmp_path / "air.wav", realtime=True)
    at = datetime.now(UTC) + timedelta(seconds=0.1)
    h = out.play([PlayItem(long, key="l"), PlayItem(long, key="m")], at)
    time.sleep(0.5)
    h.cut(fade_ms=50)
    assert h.wait(3)
    out.close()
    first, second = h.results()
    assert first.status == "interrupted" and 0.2 < first.played_s < 1.0
    assert second.status == "skipped" and second.played_s == 0
    x, _, _ = read_wav(tmp_path / "air.wav")
    start = h.started[0]
    assert start is not None
    f_end = round((first.ended_at - start.started_at).total_seconds() * RATE)
    f0 = np.flatnonzero(np.abs(x[:, 0]) > 0.02)[0]
    seg = x[f0 : f0 + f_end, 0]
    assert np.abs(seg[: -int(0.06 * RATE)]).max() > 0.45  # full level until the fade
    assert np.abs(seg[-int(0.005 * RATE) :]).max() < 0.05  # faded to nothing, no click
    assert np.all(x[f0 + f_end :, 0] == 0)


def test_file_backend_needs_a_path() -> None:
    with pytest.raises(OutputError, match=r"output\.path"):
        open_output("file", path=None)
    with pytest.raises(OutputError, match="unknown backend 'radio'"):
        open_output("radio")


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    with open_output("file", path=tmp_path / "air.wav") as out, pytest.raises(ValueError):
        out.play([PlayItem(tmp_path / "x.wav")], datetime(2021, 3, 1, 6, 0))


def decoder_children() -> set[int]:
    """Live decoder processes (ffmpeg, mpg123) whose parent is this test process (decoders run
    in their own session, but are still its children). A zombie is not counted: it has exited,
    and an earlier test's decoder may wait as one until its Popen is collected."""
    found = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1]
            state, ppid = rest.split()[:2]
            decoder = comm.startswith(("ffmpeg", "mpg123"))
            if decoder and state != "Z" and int(ppid) == os.getpid():
                found.add(int(d))
    return found


def test_a_slot_of_many_spots_runs_one_decoder_at_a_time(tmp_path: Path) -> None:
    # an ffmpeg decoder costs ~33 MB of RSS, an mpg123 one 3 MB: the next one starts when the
    # one before has decoded its file, and the spots still follow each other without a gap
    spots = [
        tone(tmp_path / f"s{i}{'.mp3' if i % 2 else '.ogg'}", 400 + 100 * i, 3.0, rate=44100)
        for i in range(4)
    ]
    at = datetime(2021, 3, 1, 6, 0, tzinfo=UTC)
    events: list[object] = []
    seen: list[int] = []
    stop = threading.Event()

    earlier = decoder_children()  # still running from an earlier test: not this slot's

    def sample() -> None:
        while not stop.is_set():
            seen.append(len(decoder_children() - earlier))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out = open_output("file", path=tmp_path / "air.wav", realtime=True)
    try:
        items = [PlayItem(p, duration_s=3.0, key=p.name) for p in spots]  # as the runner does
        handle = out.play(items, at, events.append)
        assert handle.wait(60)
    finally:
        out.close()
        stop.set()
        sampler.join()
    starts = [e for e in events if isinstance(e, ItemStarted)]
    ends = [e for e in events if isinstance(e, ItemEnded)]
    assert [e.status for e in ends] == ["completed"] * 4
    for prev, nxt in zip(ends, starts[1:], strict=False):
        assert nxt.started_at == prev.ended_at  # no gap between spots
    assert max(seen) == 1, f"decoder processes at once: {sorted(set(seen))}"
    assert len(seen) > 100  # the sampler ran while the slot played

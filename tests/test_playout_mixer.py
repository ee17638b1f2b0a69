"""The playout timeline, pure: blocks in, samples and sample-exact events out.

Sources here are in-memory arrays (FakeSource) so every expected frame can be computed; the
real decoder is tested in test_playout_decoder.py and end to end in the file/device tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scheduler.output.base import PlayHandle, PlayItem
from scheduler.output.mixer import Mixer, MixItem, MixPlan, RawStart

RATE = 1000  # one frame per millisecond keeps the arithmetic readable


class FakeSource:
    """An in-memory decoder; `ready` frames are available, the rest arrive when raised."""

    def __init__(self, data: np.ndarray, error: str | None = None) -> None:
        self.data = data.astype(np.float32)
        self.pos = 0
        self.ready = len(data)
        self.finished = False
        self.error: str | None = None
        self._error = error
        self.closed = False

    def read(self, n: int) -> np.ndarray:
        if self.pos >= len(self.data) or (self.pos >= self.ready and self._error):
            if self.pos >= self.ready:
                self.finished = self.pos >= len(self.data) or self._error is not None
                self.error = self._error
            return np.zeros(0, np.float32)
        end = min(self.pos + n, self.ready)
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def close(self) -> None:
        self.closed = True


def plan(engine: Mixer, start: float, specs: list[tuple[np.ndarray, float]]) -> MixPlan:
    items = [PlayItem(Path(f"s{i}.wav"), offset_s=off) for i, (_d, off) in enumerate(specs)]
    p = MixPlan(PlayHandle(items, None), start, [MixItem(i, it) for i, it in enumerate(items)])
    for it, (data, _off) in zip(p.items, specs, strict=True):
        it.source = FakeSource(data)
    engine.submit(p)
    return p


def run(engine: Mixer, t0: float, seconds: float, block: int = 64) -> np.ndarray:
    out = []
    n_blocks = int(np.ceil(seconds * RATE / block))
    for b in range(n_blocks):
        buf = np.ones((block, 2), np.float32)  # render must overwrite everything
        n = engine.render(buf, t0 + b * block / RATE)
        assert n == block
        out.append(buf)
    return np.concatenate(out)


def events(engine: Mixer) -> list[tuple]:
    res = []
    for e in engine.events:
        if isinstance(e, RawStart):
            res.append(("start", e.index, round(e.t * RATE)))
        else:
            res.append(("end", e.index, round(e.t * RATE), e.frames, e.status, e.error))
    return res


def test_items_start_at_their_instant_and_follow_each_other_without_gap() -> None:
    eng = Mixer(RATE)
    a, b = np.full(100, 0.5), np.full(50, -0.25)
    plan(eng, 10.0137, [(a, 0.0), (b, 0.0)])  # starts between two frames of a block
    out = run(eng, 10.0, 0.3)
    start = 14  # 13.7 ms rounds to frame 14
    assert np.all(out[:start] == 0)
    assert np.all(out[start : start + 100] == 0.5)
    assert np.all(out[start + 100 : start + 150] == -0.25)
    assert np.all(out[start + 150 :] == 0)
    assert np.array_equal(out[:, 0], out[:, 1])  # mono on both channels
    base = 10_000 + start
    assert events(eng) == [
        ("start", 0, base),
        ("end", 0, base + 100, 100, "completed", None),
        ("start", 1, base + 100),
        ("end", 1, base + 150, 50, "completed", None),
    ]


def test_offsets_make_pauses_but_never_overlap() -> None:
    eng = Mixer(RATE)
    plan(eng, 0.0, [(np.ones(100), 0.0), (np.ones(30), 0.150), (np.ones(30), 0.160)])
    run(eng, 0.0, 0.4)
    starts = [e[2] for e in events(eng) if e[0] == "start"]
    assert starts == [0, 150, 180]  # pause of 50 ms, then right after the previous item


def test_late_plan_starts_at_once_and_reports_when() -> None:
    eng = Mixer(RATE)
    plan(eng, 5.0, [(np.ones(10), 0.0)])
    run(eng, 5.5, 0.1)
    assert events(eng)[0] == ("start", 0, 5500)


def test_plans_queue_behind_each_other() -> None:
    eng = Mixer(RATE)
    plan(eng, 0.0, [(np.ones(200), 0.0)])
    plan(eng, 0.1, [(np.ones(10), 0.0)])  # wants to start while the first still plays
    run(eng, 0.0, 0.3)
    assert [e[2] for e in events(eng) if e[0] == "start"] == [0, 200]


def test_cut_fades_linearly_then_skips_the_rest() -> None:
    eng = Mixer(RATE)
    p = plan(eng, 0.0, [(np.ones(1000), 0.0), (np.ones(100), 0.0)])
    first = run(eng, 0.0, 0.128)  # two blocks of 64
    p.cut_request = 50.0  # 50 frames at 1 kHz
    rest = run(eng, 0.128, 0.2)
    assert np.all(first == 1.0)
    fade = rest[:50, 0]
    assert np.all(np.diff(fade) < 0) and fade[0] > 0.97 and fade[-1] == 0.0
    assert np.all(rest[50:] == 0)
    assert events(eng)[-2:] == [
        ("end", 0, 178, 178, "interrupted", None),
        ("end", 1, 178, 0, "skipped", None),
    ]
    assert eng.plan is None and not eng.busy


def test_cut_before_start_skips_everything_without_sound() -> None:
    eng = Mixer(RATE)
    p = plan(eng, 1.0, [(np.ones(10), 0.0), (np.ones(10), 0.0)])
    run(eng, 0.0, 0.1)
    p.cut_request = 50.0
    out = run(eng, 0.1, 1.5)
    assert np.all(out == 0)
    assert [e[4] for e in events(eng)] == ["skipped", "skipped"]


def test_cut_of_a_queued_plan_leaves_the_playing_one_alone() -> None:
    eng = Mixer(RATE)
    plan(eng, 0.0, [(np.ones(300), 0.0)])
    q = plan(eng, 0.0, [(np.ones(10), 0.0)])
    run(eng, 0.0, 0.064)
    q.cut_request = 50.0
    run(eng, 0.064, 0.4)
    ev = events(eng)
    assert ("end", 0, 64, 0, "skipped", None) in ev  # the queued plan, at once
    assert ("end", 0, 300, 300, "completed", None) in ev


def test_a_source_not_ready_stops_the_block_where_data_ends() -> None:
    eng = Mixer(RATE)
    p = plan(eng, 0.0, [(np.ones(100), 0.0)])
    src = p.items[0].source
    assert isinstance(src, FakeSource)
    src.ready = 40
    buf = np.zeros((64, 2), np.float32)
    assert eng.render(buf, 0.0) == 40
    assert eng.starved == 1
    src.ready = 100
    assert eng.render(buf, 0.040) == 64  # a file writer resumes exactly where it stopped


def test_failures_are_reported_and_the_plan_goes_on() -> None:
    eng = Mixer(RATE)
    p = plan(eng, 0.0, [(np.ones(30), 0.0), (np.ones(30), 0.0), (np.ones(20), 0.0)])
    p.items[0].source = FakeSource(np.zeros(0), error="cannot decode s0.wav")
    broken = FakeSource(np.ones(30), error="stream broke")
    broken.ready = 10
    p.items[1].source = broken
    run(eng, 0.0, 0.1)
    assert events(eng) == [
        ("end", 0, 0, 0, "failed", "cannot decode s0.wav"),
        ("start", 1, 0),
        ("end", 1, 10, 10, "failed", "stream broke"),
        ("start", 2, 10),
        ("end", 2, 30, 20, "completed", None),
    ]


def test_abort_fails_what_is_left_keeping_what_aired() -> None:
    eng = Mixer(RATE)
    plan(eng, 0.0, [(np.ones(300), 0.0), (np.ones(10), 0.0)])
    plan(eng, 5.0, [(np.ones(10), 0.0)])
    run(eng, 0.0, 0.128)
    eng.fail_due(0.128, "device gone")
    ev = events(eng)
    assert ev[-2:] == [
        ("end", 0, 128, 128, "failed", "device gone"),
        ("end", 1, 128, 0, "failed", "device gone"),
    ]
    assert len(eng.queue) == 1  # the later plan waits for the device to come back
    eng.abort(0.2, "output closed")
    assert events(eng)[-1] == ("end", 0, 200, 0, "failed", "output closed")


@pytest.mark.parametrize("fade_ms", [0.0, 10.0])
def test_cut_with_zero_or_short_fade(fade_ms: float) -> None:
    eng = Mixer(RATE)
    p = plan(eng, 0.0, [(np.ones(500), 0.0)])
    run(eng, 0.0, 0.064)
    p.cut_request = fade_ms
    out = run(eng, 0.064, 0.128)
    n = round(fade_ms)
    assert np.all(out[n:] == 0)
    assert events(eng)[-1] == ("end", 0, 64 + n, 64 + n, "interrupted", None)

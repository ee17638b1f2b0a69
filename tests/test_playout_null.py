"""The null backend: nothing plays, the timing is reported (virtual clock or wall clock)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.output import ItemEnded, ItemStarted, NullOutput, PlayItem, open_output
from tests.audio_media import tone


class FakeClock:
    """A virtual clock as `loa simulate` has one: it only moves when told."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


T0 = datetime(2021, 3, 1, 6, 0, tzinfo=UTC)


def test_virtual_clock_reports_planned_times_synchronously() -> None:
    out = open_output("null", clock=FakeClock(T0))
    events: list[object] = []
    items = [
        PlayItem(Path("a.mp3"), duration_s=90.0, key="a"),
        PlayItem(Path("b.mp3"), duration_s=30.5, key="b"),
        PlayItem(Path("c.mp3"), duration_s=10.0, offset_s=300.0, key="c"),
    ]
    started = time.monotonic()
    h = out.play(items, T0, events.append)
    assert time.monotonic() - started < 0.5  # no sleeping through 5 minutes
    assert h.done
    assert events == [
        ItemStarted(0, "a", T0, measured=False),
        ItemEnded(0, "a", T0 + timedelta(seconds=90), 90.0, "completed"),
        ItemStarted(1, "b", T0 + timedelta(seconds=90), measured=False),
        ItemEnded(1, "b", T0 + timedelta(seconds=120.5), 30.5, "completed"),
        ItemStarted(2, "c", T0 + timedelta(seconds=300), measured=False),
        ItemEnded(2, "c", T0 + timedelta(seconds=310), 10.0, "completed"),
    ]
    # a plan given while the previous one "plays" starts after it
    h2 = out.play([PlayItem(Path("d.mp3"), duration_s=5.0)], T0 + timedelta(seconds=305))
    assert h2.started[0] is not None
    assert h2.started[0].started_at == T0 + timedelta(seconds=310)


def test_length_from_the_file_or_failed(tmp_path: Path) -> None:
    t = tone(tmp_path / "t.flac", 1000, 1.25)
    out = NullOutput(FakeClock(T0))
    h = out.play([PlayItem(t, key="t"), PlayItem(tmp_path / "gone.mp3", key="g")], T0)
    ok, bad = h.results()
    assert ok.status == "completed" and abs(ok.played_s - 1.25) < 0.01
    assert bad.status == "failed" and "gone.mp3" in (bad.error or "")


def test_wall_clock_null_follows_time_and_can_be_cut() -> None:
    out = open_output("null")
    at = datetime.now(UTC) + timedelta(seconds=0.1)
    h = out.play(
        [PlayItem(Path("a"), duration_s=0.2), PlayItem(Path("b"), duration_s=5.0),
         PlayItem(Path("c"), duration_s=1.0)],
        at,
    )  # fmt: skip
    assert not h.done
    time.sleep(0.5)
    h.cut()
    assert h.wait(2)
    a, b, c = h.results()
    assert a.status == "completed" and a.ended_at == at + timedelta(seconds=0.2)
    assert b.status == "interrupted" and 0.15 < b.played_s < 1.0
    assert c.status == "skipped"
    assert datetime.now(UTC) >= b.ended_at  # reported when it happened, not before
    out.close()

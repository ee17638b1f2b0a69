"""A withdrawal on the real `loa run` daemon (null output on the wall clock) and a real central
PostgreSQL: a khan-cap bulletin on the air when the district withdraws it is cut within
seconds (the fetcher is told by NOTIFY, or polls), its row says it was withdrawn, it is not tried again,
and the district sees the interrupted airing after the next push."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.bulletin_guard import WITHDRAWN
from tests.audio_media import tone
from tests.central_support import loa
from tests.test_bulletins_daemon import district, rows, run_loa, sent, station, until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
__all__ = ["district", "run_loa"]  # the fixtures, shared with the other daemon tests


def test_a_khan_cap_bulletin_withdrawn_on_air_is_cut(
    tmp_path: Path, district: dict[str, str], run_loa: Callable[[Path], subprocess.Popen[str]]
) -> None:
    late = (datetime.now(UTC) + timedelta(hours=6)).replace(microsecond=0)
    config = station(tmp_path, district["xa-thu"], [("xa", late, 60)])
    run_loa(config)
    tone(tmp_path / "dai.wav", 1000.0, 30.0, amp=0.3)
    time.sleep(3)  # the daemon up, its fetcher listening
    bid = sent(district["h-thu"], tmp_path / "dai.wav", "khan-cap")
    until(lambda: [r for r in rows(tmp_path) if r["bulletin"] and r["status"] == "playing"], 30)
    code, _, err = loa("central", "--url", district["h-thu"], "withdraw", str(bid))
    assert code == 0, err
    t_withdrawn = time.monotonic()
    (row,) = until(  # type: ignore[misc]
        lambda: [r for r in rows(tmp_path) if r["bulletin"] and r["status"] != "playing"], 15
    )
    assert time.monotonic() - t_withdrawn < 10  # not the 30 s tone
    assert row["status"] == "interrupted" and row["error"] == WITHDRAWN
    assert 0 < row["played_s"] < 20  # type: ignore[operator]
    time.sleep(3)
    assert len([r for r in rows(tmp_path) if r["bulletin"]]) == 1  # not tried again

    def central_airing() -> list[dict[str, object]]:
        code, out, _ = loa("central", "--url", district["h-thu"], "bulletin", str(bid), "--json")
        return json.loads(out)["stations"][0]["airings"] if code == 0 else []

    (airing,) = until(central_airing, 30)  # type: ignore[misc]
    assert airing["status"] == "interrupted"
    code, out, _ = loa("central", "--url", district["h-thu"], "bulletin", str(bid))
    assert code == 0 and "withdrawn: cut off the air after" in out

"""Relayed airtime (tiếp sóng) in the report: minutes per source, apart from the topics.

Pure, over the same `Group`s the report is built from: a relay row's `item` is its source id
(the row's `spot`). A stretch that went out counts with its measured seconds whether it ended
at the frame's end (`completed`) or at a drop (`interrupted`); a drop is a `failed` relay row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from airtime.document import Column, Table, Value, hours_minutes

RELAY = "relay"
AIRED = ("completed", "interrupted")


@dataclass
class RelayLine:
    source: str
    name: str
    stretches: int = 0  # continuous stretches that went out
    seconds: float = 0.0  # measured relayed airtime
    drops: int = 0  # the stream died (no data, or silence past source_timeout)


def relay_lines(groups: Iterable[object], sources: Sequence[tuple[str, str]]) -> list[RelayLine]:
    """One line per configured source (zeros when it was not relayed), then any source found in
    the log but no longer configured."""
    names = dict(sources)
    lines = {sid: RelayLine(sid, name) for sid, name in sources}
    for g in groups:
        if getattr(g, "kind", None) != RELAY:
            continue
        sid = str(getattr(g, "item", None) or "?")
        line = lines.setdefault(sid, RelayLine(sid, f"{sid} (không còn trong cấu hình)"))
        status, count = getattr(g, "status", ""), int(getattr(g, "count", 0))
        if status in AIRED:
            line.stretches += count
            line.seconds += float(getattr(g, "seconds", 0.0))
        elif status == "failed":
            line.drops += count
    for line in lines.values():
        line.seconds = round(line.seconds, 3)
    known = [lines[sid] for sid in names]
    return known + [line for sid, line in lines.items() if sid not in names]


def relay_table(lines: Sequence[RelayLine]) -> Table:
    rows: list[list[Value]] = [
        [i, line.name, line.stretches, round(line.seconds / 60, 2), hours_minutes(line.seconds),
         line.drops]
        for i, line in enumerate(lines, 1)
    ]  # fmt: skip
    total = sum(line.seconds for line in lines)
    return Table(
        "Bảng 5b. Tiếp sóng (thời lượng theo nguồn, ngoài các chủ đề)",
        [
            Column("TT", "count", 1.0),
            Column("Nguồn tiếp sóng", width_cm=6.0),
            Column("Đoạn phát", "count", 2.0),
            Column("Thời lượng (phút)", "minutes", 2.8),
            Column("Giờ, phút", width_cm=2.4),
            Column("Mất tín hiệu (lần)", "count", 2.4),
        ],
        rows,
        sheet="Tiếp sóng",
        total=[
            "",
            "Cộng",
            sum(line.stretches for line in lines),
            round(total / 60, 2),
            hours_minutes(total),
            sum(line.drops for line in lines),
        ],
    )

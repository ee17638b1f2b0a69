"""A catalogued spot as the rest of loa sees it (`SpotRecord`), made from a spot row and its
operator metadata. No database library: the SQLAlchemy catalogue (`catalog.list_spots`) and
the plain-sqlite3 reader of the daemon's and `loa status`'s path (`scheduler.sqlite_read`)
both build their records here, so both give the same values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SpotRecord:
    id: str
    topic: str
    path: str  # relative to the library root, NFC, "/" separators
    abs_path: Path  # the file as on disk
    title: str
    duration_s: float | None  # decoded length
    playable_s: float  # after trimming the leading and trailing silence
    trim_start_s: float  # start playback here
    trim_end_s: float  # stop this long before the end
    gain_db: float  # apply at playback to reach [library] target_loudness (0.0 if unmeasured)
    loudness_lufs: float | None
    peak_dbtp: float | None  # true peak of the file, dBTP (None: not measured)
    valid_from: date | None
    valid_until: date | None  # inclusive
    approved: bool
    approved_by: str | None
    status: str  # ok | rejected | removed
    problem: str | None
    reason: str | None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "topic": self.topic,
            "path": self.path,
            "title": self.title,
            "duration_s": None if self.duration_s is None else round(self.duration_s, 3),
            "loudness_lufs": self.loudness_lufs,
            "status": self.status,
            "reason": self.reason,
        }


def spot_record(root: Path, spot: Any, meta: Any | None) -> SpotRecord:
    """`spot`: a row of table spot, `meta`: its spot_meta row or None (objects with the
    columns as attributes: the SQLModel classes or the sqlite3 reader's rows)."""
    duration = spot.duration_s
    playable = max(0.0, (duration or 0.0) - spot.trim_start_s - spot.trim_end_s)
    return SpotRecord(
        id=spot.id,
        topic=spot.topic,
        path=spot.path,
        abs_path=root / spot.disk_path,
        title=spot.title,
        duration_s=duration,
        playable_s=round(playable, 3),
        trim_start_s=spot.trim_start_s,
        trim_end_s=spot.trim_end_s,
        gain_db=spot.gain_db or 0.0,
        loudness_lufs=spot.loudness_lufs,
        peak_dbtp=spot.peak_dbtp,
        valid_from=meta.valid_from if meta else None,
        valid_until=meta.valid_until if meta else None,
        approved=bool(meta and meta.approved),
        approved_by=meta.approved_by if meta else None,
        status=spot.status,
        problem=spot.problem,
        reason=spot.reason,
    )

"""The spot table (one row per catalogued file) and the operator's notes on a spot's content.

A spot's `id` follows its content: the first 16 hex digits of the sha256 of the file's bytes.
`path` is relative to the library root, NFC-normalised, with `/` separators; `disk_path` is the
same path as the file system spells it (a name copied from macOS arrives in NFD).

Rows are never deleted: a file that disappears becomes `removed` (the airtime log keeps referring
to its id). A copy of content already catalogued is its own row, `rejected` as a duplicate (or,
when that content is refused, with the original's refusal), with the same id as the original.
Operator metadata (validity window, approval) is keyed by the id in `spot_meta`, so it follows
the content through renames and moves and is lost when the content changes (a new content must
be approved again).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

STATUS_OK = "ok"
STATUS_REJECTED = "rejected"
STATUS_REMOVED = "removed"


# A catalogue row (table `spot`); `playlists.types.Spot` is what the planner draws from.
class SpotRow(SQLModel, table=True):
    __tablename__ = "spot"
    __table_args__ = (
        sa.Index("ix_spot_id", "id"),
        sa.Index("ix_spot_path", "path"),
        sa.Index("ix_spot_topic_status", "topic", "status"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(max_length=16)
    topic: str = Field(max_length=64)
    path: str
    disk_path: str
    title: str = Field(default="")
    status: str = Field(default=STATUS_OK, max_length=16)  # ok | rejected | removed
    problem: str | None = Field(default=None, max_length=16)  # machine code of a refusal
    reason: str | None = Field(default=None)  # the operator-facing reason
    sha256: str = Field(max_length=64)
    size: int = Field(sa_type=sa.BigInteger)
    mtime_ns: int = Field(sa_type=sa.BigInteger)
    format: str | None = Field(default=None, max_length=32)
    header_s: float | None = Field(default=None)  # duration from the file's header (mutagen)
    duration_s: float | None = Field(default=None)  # decoded duration (ffmpeg)
    loudness_lufs: float | None = Field(default=None)  # integrated, EBU R128
    trim_start_s: float = Field(default=0.0)  # leading silence
    trim_end_s: float = Field(default=0.0)  # trailing silence
    gain_db: float | None = Field(default=None)  # to reach [library] target_loudness
    added_at: datetime  # UTC
    removed_at: datetime | None = Field(default=None)  # UTC
    peak_dbtp: float | None = Field(default=None)  # true peak (ebur128, 4x oversampled)


class SpotMeta(SQLModel, table=True):
    """Operator metadata of one content (spot id): validity window and editorial approval."""

    __tablename__ = "spot_meta"

    id: str = Field(primary_key=True, max_length=16)
    valid_from: date | None = Field(default=None)
    valid_until: date | None = Field(default=None)  # inclusive
    approved: bool = Field(default=False)
    approved_by: str | None = Field(default=None)
    approved_at: datetime | None = Field(default=None)  # UTC
    note: str | None = Field(default=None)

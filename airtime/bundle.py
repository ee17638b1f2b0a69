"""Offline bundles: a stretch of the station's chain in one file, for a USB stick.

A bundle is gzip-compressed JSON lines. Line 1 is the manifest:
`{"loa_bundle": 1, "station", "period", "first": {"chain_seq", "prev_hash"},
"last": {"chain_seq", "hash"}, "rows", "sha256", "created_at"}`; every other line is one row,
`[chain_seq, hash, id, station, slot, ...]` (airtime.chain.FIELDS after the two, times as UTC
`YYYY-MM-DD HH:MM:SS.ffffff`). `sha256` is the hash of the row lines' bytes, newline included.

A period's bundle is the contiguous piece of the chain from the first to the last closed row
placed in the period (by start, or schedule for rows that never started), so it links to what
came before it (`prev_hash`) and can be checked like a push. Reading (`read_rows`) streams.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from airtime import push as local
from airtime.chain import BASE, FIELDS, ChainRow, canonical_time
from airtime.periods import Period
from airtime.store import T

FORMAT = 1
TIMES = frozenset({"scheduled_at", "started_at", "ended_at"})
# The longest line a reader takes: a manifest is a few hundred bytes and a row a few hundred
# (its title, path and error are a spot's and a message's). A line is read at most this far,
# so a small damaged or hostile file that inflates to gigabytes without a newline (a gzip
# bomb: 2 MB to 2 GB of one "line") is refused at once instead of held whole in memory.
MAX_MANIFEST = 64 * 1024
MAX_ROW = 1024 * 1024


class BundleError(ValueError):
    """A bundle that cannot be read, or whose content does not match its manifest."""


@dataclass(frozen=True)
class Written:
    path: Path
    rows: int
    first: int
    last: int
    sha256: str


def chain_range(conn: Connection, station: str, period: Period, tz: ZoneInfo) -> tuple[int, int]:
    """(first, last) chain positions of the closed rows placed in `period`; (0, 0) if none."""
    lo, hi = period.bounds(tz)
    at = sa.func.coalesce(T.c.started_at, T.c.scheduled_at)
    found = conn.execute(
        sa.select(sa.func.min(T.c.chain_seq), sa.func.max(T.c.chain_seq)).where(
            T.c.station == station, T.c.chain_seq.is_not(None), at >= lo, at < hi
        )
    ).first()
    if found is None or found[0] is None:
        return 0, 0
    return int(found[0]), int(found[1])


def _line(row: ChainRow) -> bytes:
    values = [
        canonical_time(v) if name in TIMES else v
        for name, v in zip(FIELDS, row.values, strict=True)
    ]
    return (
        json.dumps([row.chain_seq, row.hash, *values], ensure_ascii=False, separators=(",", ":"))
        + "\n"
    ).encode("utf-8")


def write_bundle(
    conn: Connection, station: str, period: Period, tz: ZoneInfo, out: IO[bytes], path: Path
) -> Written:
    """Write the bundle of `period` to `out` (a binary file); what was written.

    The rows are compressed into a spooled temporary file while their digest is computed,
    then the manifest (a gzip member of its own) and the rows' member are written: gzip
    readers see one stream, and memory holds one page of rows at a time."""
    first, last = chain_range(conn, station, period, tz)
    if first == 0:
        raise BundleError(f"{station}: no closed rows in {period.label}: nothing to export")
    before = local.row_at(conn, station, first - 1) if first > 1 else None
    digest, count, tail = hashlib.sha256(), 0, None
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
        with gzip.GzipFile(fileobj=spool, mode="wb", mtime=0) as body:
            for page in local.pages_after(conn, station, first - 1, upto=last):
                for row in page:
                    line = _line(row)
                    digest.update(line)
                    body.write(line)
                    count += 1
                tail = page[-1]
        manifest = {
            "loa_bundle": FORMAT,
            "station": station,
            "period": period.label,
            "first": {"chain_seq": first, "prev_hash": before.hash if before else ""},
            "last": {"chain_seq": last, "hash": tail.hash if tail else ""},
            "rows": count,
            "sha256": digest.hexdigest(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        out.write(
            gzip.compress((json.dumps(manifest, ensure_ascii=False) + "\n").encode(), mtime=0)
        )
        spool.seek(0)
        shutil.copyfileobj(spool, out)
    return Written(path, count, first, last, digest.hexdigest())


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def read_manifest(stream: IO[bytes], name: str) -> dict[str, Any]:
    try:
        first = stream.readline(MAX_MANIFEST + 1)
        if len(first) > MAX_MANIFEST:
            raise BundleError(
                f"{name}: not a loa bundle: its first line (the manifest) is longer than "
                f"{MAX_MANIFEST // 1024} KiB (damaged, or not a bundle)"
            )
        manifest = json.loads(first.decode("utf-8"))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError(f"{name}: not a loa bundle (gzip JSON lines): {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("loa_bundle") != FORMAT:
        raise BundleError(f"{name}: not a loa bundle of format {FORMAT} (first line: manifest)")
    try:
        for key in ("station", "rows", "sha256"):
            manifest[key]
        int(manifest["first"]["chain_seq"]), str(manifest["first"]["prev_hash"])
        int(manifest["last"]["chain_seq"]), str(manifest["last"]["hash"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{name}: the manifest lacks {exc}") from None
    return manifest


def read_rows(stream: IO[bytes], name: str, digest: Any) -> Iterator[ChainRow]:
    """The rows after the manifest, feeding `digest` with their bytes as they are read."""
    number = 1
    try:
        while line := stream.readline(MAX_ROW + 1):
            number += 1
            if len(line) > MAX_ROW:
                raise BundleError(
                    f"{name}: line {number} is longer than {MAX_ROW // 1024 // 1024} MiB: not a "
                    "row of a loa bundle (damaged, or not a bundle)"
                )
            digest.update(line)
            data = json.loads(line.decode("utf-8"))
            # a bundle of a loa from before the bulletin fields (migration 7) has BASE only
            if not isinstance(data, list) or len(data) not in (2 + len(FIELDS), 2 + len(BASE)):
                raise BundleError(f"{name}: line {number}: not a row of {len(FIELDS) + 2} values")
            given = FIELDS[: len(data) - 2]
            values = tuple(
                _time(v) if f in TIMES else v for f, v in zip(given, data[2:], strict=True)
            ) + (None,) * (len(FIELDS) - len(given))
            yield ChainRow(int(data[0]), int(data[0]), str(data[1]), values)
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a flipped bit in the stream
        raise BundleError(f"{name}: truncated or damaged after line {number}: {exc}") from None
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        if isinstance(exc, BundleError):
            raise
        raise BundleError(f"{name}: line {number}: {exc}") from None


def open_bundle(path: Path) -> IO[bytes]:
    try:
        return gzip.open(path, "rb")
    except OSError as exc:
        raise BundleError(f"{path}: cannot open: {exc.strerror or exc}") from None

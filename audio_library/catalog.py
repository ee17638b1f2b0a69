"""Reading the catalogue and writing the operator's metadata: the API of the audio library.

Plain values in, plain values out; no import of loa. The composition root reads the spots
the planner may pick from with `list_spots` (`loa.compose.library_spots`: the planner judges
validity windows and approval on each slot's own date); the CLI calls the rest.
"""

from __future__ import annotations

import os
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from audio_library.files import hash_file, spot_id
from audio_library.models import STATUS_REMOVED, SpotMeta, SpotRow
from audio_library.probe import Probe, probe  # noqa: F401 - moved there, still named here
from audio_library.records import SpotRecord, spot_record


class CatalogError(Exception):
    """An operator's mistake in naming a spot; the message says what to do."""


def list_spots(
    engine: Engine, root: Path, *, topic: str | None = None, include_removed: bool = True
) -> list[SpotRecord]:
    """The catalogue, by topic then path (removed rows after the present ones)."""
    query = select(SpotRow, SpotMeta).join(SpotMeta, SpotMeta.id == SpotRow.id, isouter=True)  # type: ignore[arg-type]
    if topic is not None:
        query = query.where(SpotRow.topic == topic)
    if not include_removed:
        query = query.where(SpotRow.status != STATUS_REMOVED)
    removed_last = sa.case((SpotRow.status == STATUS_REMOVED, 1), else_=0)
    query = query.order_by(SpotRow.topic, removed_last, SpotRow.path, SpotRow.seq)  # type: ignore[arg-type]
    with Session(engine) as session:
        return [spot_record(root, s, m) for s, m in session.exec(query).all()]


def resolve(engine: Engine, root: Path, target: str) -> str:
    """The spot id an operator means by `target`: an id (or a prefix of >= 6 hex digits), a path
    relative to the library root, or a file's path; an uncatalogued file is identified by its
    content, so it can be approved before the scan."""
    try:
        target.encode("utf-8")
    except UnicodeEncodeError:  # a name of undecodable bytes (surrogate escapes): never catalogued
        shown = target.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise CatalogError(
            f"{shown}: tên tệp không phải UTF-8: đổi tên tệp rồi chạy `loa library scan` "
            "(the file name is not UTF-8: rename the file, then scan)"
        ) from None
    text = unicodedata.normalize("NFC", target.strip())
    with Session(engine) as session:
        if 6 <= len(text) <= 16 and all(c in "0123456789abcdef" for c in text):
            ids = session.exec(
                select(SpotRow.id).where(SpotRow.id.startswith(text)).distinct()  # type: ignore[attr-defined]
            ).all()
            if len(ids) == 1:
                return ids[0]
            if len(ids) > 1:
                raise CatalogError(
                    f"{target}: nhiều tin bài có mã bắt đầu như vậy ({', '.join(ids[:5])}); "
                    "ghi thêm ký tự (ambiguous id prefix: give more digits)"
                )
        relative = _relative(root, text)
        if relative is not None:
            row = session.exec(
                select(SpotRow)
                .where(SpotRow.path == relative)
                .order_by(
                    sa.case((SpotRow.status == STATUS_REMOVED, 1), else_=0), SpotRow.seq.desc()
                )  # type: ignore[union-attr]
            ).first()
            if row is not None:
                return row.id
    for candidate in (Path(target).expanduser(), root / text):
        if _is_file(candidate):
            if _relative(root, os.path.abspath(candidate)) is None:
                raise CatalogError(
                    f"{target}: tệp nằm ngoài thư viện {root} (the file is outside library.root): "
                    "chép tệp vào thư mục của chủ đề rồi chạy `loa library scan` (copy it into its "
                    "topic folder, then run a scan)"
                )
            try:
                return spot_id(hash_file(candidate))
            except OSError as exc:
                raise CatalogError(f"{candidate}: không đọc được ({exc.strerror})") from None
    raise CatalogError(
        f"{target}: không có tin bài nào như vậy; dùng mã (id) hoặc đường dẫn như "
        "`loa library list` in ra (no such spot: give an id or a path as listed)"
    )


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long, a folder that cannot be entered
        return False


def _relative(root: Path, text: str) -> str | None:
    path = Path(text)
    if path.is_absolute():
        try:
            path = Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
        except ValueError:
            return None
    return unicodedata.normalize("NFC", path.as_posix())


UNSET = object()


def set_meta(
    engine: Engine,
    spot: str,
    *,
    valid_from: date | object | None = UNSET,
    valid_until: date | object | None = UNSET,
    approved: bool | None = None,
    approved_by: str | None = None,
    note: str | object | None = UNSET,
) -> SpotMeta:
    """Write the operator metadata of spot id `spot`; arguments left UNSET keep their value."""
    with Session(engine, expire_on_commit=False) as session:
        meta = session.get(SpotMeta, spot) or SpotMeta(id=spot)
        if valid_from is not UNSET:
            meta.valid_from = valid_from  # type: ignore[assignment]
        if valid_until is not UNSET:
            meta.valid_until = valid_until  # type: ignore[assignment]
        if meta.valid_from and meta.valid_until and meta.valid_until < meta.valid_from:
            raise CatalogError(
                f"{spot}: ngày hết hạn {meta.valid_until} trước ngày bắt đầu {meta.valid_from} "
                "(--until is before --from)"
            )
        if approved is not None:
            meta.approved = approved
            meta.approved_by = approved_by if approved else None
            meta.approved_at = datetime.now(UTC) if approved else None
        if note is not UNSET:
            meta.note = note  # type: ignore[assignment]
        session.add(meta)
        session.commit()
        return meta


def get_meta(engine: Engine, spot: str) -> SpotMeta | None:
    with Session(engine) as session:
        return session.get(SpotMeta, spot)


def known_files(engine: Engine) -> dict[str, tuple[int, int, str]]:
    """path -> (size, mtime_ns, status) of every present row, for `check`."""
    with Session(engine) as session:
        rows = session.exec(
            select(SpotRow.path, SpotRow.size, SpotRow.mtime_ns, SpotRow.status).where(
                SpotRow.status != STATUS_REMOVED
            )
        ).all()
    return {path: (size, mtime, status) for path, size, mtime, status in rows}

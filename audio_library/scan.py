"""`scan_library`: bring the spot table in step with the files, as a small pipeline.

discover (stat only) → hash what changed → decide (unchanged / moved / duplicate / new) →
analyse the new content (tags + one ffmpeg decode; in a thread pool, ffmpeg runs in its own
process) → store. An unchanged file (same path, size and mtime) is neither hashed nor decoded.
A file whose bytes are already catalogued is never decoded again: a rename or a move keeps the
row, its id and its operator metadata. Nothing is deleted: a vanished file becomes `removed`.

Nothing here can hang: only regular files are opened, each hash, tag read and decode has a time
limit (`safeio`), and `cancel` (set when the daemon stops) ends the scan at once. A file that
cannot be read (permissions, a broken link, not a regular file, a step that timed out) is
reported with its reason on every scan and is not catalogued; a catalogued row whose file became
unreadable is `removed` with that reason, and comes back (same id) once the file can be read;
refused content that comes back is judged again, so it is refused for what is wrong with it. A
copy of refused content is refused with the original's refusal, not as a duplicate.
The true peak is measured with the loudness; rows catalogued before peaks were measured are
decoded once more, on the first scan that finds them without one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from audio_library.analysis import Analysis, analyse
from audio_library.files import Found, discover, hash_file, spot_id
from audio_library.models import STATUS_OK, STATUS_REJECTED, STATUS_REMOVED, SpotRow
from audio_library.safeio import HASH_TIMEOUT_S, Abandoned, with_deadline
from audio_library.tags import Tags, read_tags
from audio_library.verdict import (
    GATED_LUFS,
    Refusal,
    duplicate,
    judge,
    playback_gain,
    title_from_name,
    too_long,
)

COMMIT_EVERY = 50
GONE = "tệp không còn trong thư viện (file gone)"
REPLACED = "đã thay bằng nội dung khác (replaced)"
MERGED = "(merged into the original's record)"
# the reason of a file ffmpeg could not decode, before not-audio files were told apart
OLD_CORRUPT = "hỏng: ffmpeg không giải mã được (corrupt: "
RECHECKED = (None, "too_long")  # problems that depend on the config, not on the file


@dataclass
class ScanReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "rejected": self.rejected,
        }


@dataclass(frozen=True)
class Measured:
    """Everything learnt about one new content, off the main thread."""

    found: Found
    sha256: str
    tags: Tags
    analysis: Analysis | None
    vanished: bool = False  # gone before it could be read (renamed, moved, deleted meanwhile)


Progress = Callable[[int], None]


def _now() -> datetime:
    return datetime.now(UTC)


def measure(
    root: Path, found: Found, sha256: str, cancel: threading.Event | None = None
) -> Measured:
    path = root / found.disk_path
    if found.size == 0:
        return Measured(found, sha256, Tags(None, None, None, "empty"), None)
    tags, analysis = read_tags(path, cancel=cancel), analyse(path, cancel=cancel)
    if not analysis.ok and not (path.exists() or path.is_symlink()):
        # ffmpeg could not open what was hashed a moment ago: the file went away (renamed or
        # moved while the scan ran), which says nothing about its content; the next scan sees
        # it where it is now
        return Measured(found, sha256, tags, analysis, vanished=True)
    return Measured(found, sha256, tags, analysis)


def _hash(
    root: Path, found: Found, cancel: threading.Event | None = None
) -> tuple[Found, str | None, str | None]:
    """(found, sha256, None), or (found, None, why) when the file cannot be read in time;
    (found, None, None) when it vanished."""
    path = root / found.disk_path
    try:
        digest = with_deadline(
            lambda: hash_file(path), HASH_TIMEOUT_S, "sha256", key=f"hash:{path}", cancel=cancel
        )
        return found, digest, None
    except Abandoned:
        raise
    except FileNotFoundError:
        return found, None, None  # vanished while scanning: the next scan sees it gone
    except OSError as exc:
        return found, None, f"không đọc được tệp (unreadable file): {exc.strerror or exc}"


def scan_library(
    engine: Engine,
    root: Path,
    topic_ids: list[str],
    *,
    max_spot_s: float | None,
    target_lufs: float,
    max_boost_db: float = 12.0,
    workers: int = 2,
    on_total: Callable[[int], None] | None = None,
    on_done: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ScanReport:
    """Scan `root` into the spot table of `engine`; returns the counts and the refusals.

    `max_spot_s`: the longest slot, in seconds (None: no limit). `max_boost_db`: the most the
    playback gain may raise a quiet spot. `on_total(n)` is called once with the number of files
    that need work, `on_done(k)` after each k of them. Once `cancel` is set, the scan stops
    (Abandoned) and writes nothing more."""
    found, misplaced = discover(root, topic_ids, cancel=cancel)
    report = ScanReport()
    with Session(engine, expire_on_commit=False) as session:
        scan = _Scan(session, root, max_spot_s, target_lufs, max_boost_db, report)
        scan.trouble.update({m.path: m.reason for m in misplaced if m.problem != "misplaced"})
        todo = scan.unchanged(found)
        if on_total:
            on_total(len(todo))
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            hashed = list(pool.map(lambda f: _hash(root, f, cancel), todo))
            new = scan.decide(hashed, on_done)
            for n, measured in enumerate(_ordered(pool, workers, root, new, cancel), 1):
                scan.store_new(measured)
                if on_done:
                    on_done(1)
                if n % COMMIT_EVERY == 0:
                    session.commit()
            again = [(f, row.sha256) for f, row in scan.without_peak]
            for measured in _ordered(pool, workers, root, again, cancel):
                scan.store_peak(measured)
            scan.judge_returned(_ordered(pool, workers, root, scan.take_returned(), cancel))
            scan.settle_copies()
            scan.mark_removed()
            scan.promote_duplicates()
            scan.judge_returned(_ordered(pool, workers, root, scan.take_returned(), cancel))
        scan.recheck()
        session.commit()
        on_disk = {m.path for m in misplaced}
        report.rejected = (
            [{"path": m.path, "reason": m.reason} for m in misplaced]
            + [
                {"path": path, "reason": reason}
                for path, reason in sorted(scan.trouble.items())
                if path not in on_disk
            ]
            + scan.rejected_rows()
        )
    return report


def _ordered(
    pool: ThreadPoolExecutor,
    workers: int,
    root: Path,
    new: list[tuple[Found, str]],
    cancel: threading.Event | None = None,
) -> Iterator[Measured]:
    # Keep at most 2 x workers analyses in flight so memory does not grow with the library.
    window = 2 * max(1, workers)
    futures = []
    for found, sha in new:
        futures.append(pool.submit(measure, root, found, sha, cancel))
        if len(futures) >= window:
            yield futures.pop(0).result()
    for future in futures:
        yield future.result()


class _Scan:
    def __init__(
        self,
        session: Session,
        root: Path,
        max_spot_s: float | None,
        target_lufs: float,
        max_boost_db: float,
        report: ScanReport,
    ) -> None:
        self.session = session
        self.root = root
        self.max_spot_s = max_spot_s
        self.target = target_lufs
        self.max_boost = max_boost_db
        self.report = report
        self.trouble: dict[str, str] = {}  # path -> why it cannot be read (not catalogued)
        self.without_peak: list[tuple[Found, SpotRow]] = []  # measured before peaks were
        rows = session.exec(select(SpotRow).order_by(SpotRow.seq)).all()  # type: ignore[arg-type]
        self.live: dict[str, SpotRow] = {r.path: r for r in rows if r.status != STATUS_REMOVED}
        # One primary row per content (the original, not a copy); the latest wins.
        self.primary: dict[str, SpotRow] = {r.id: r for r in rows if r.problem != "duplicate"}
        self.present: set[str] = set()  # paths whose catalogued content is confirmed on disk
        self.seen: set[str] = set()  # every path found on disk with content that was decided
        self.new_ids: dict[str, str] = {}  # id -> path, of content first seen in this scan
        self.replaced: set[str] = set()  # paths whose catalogued content was replaced
        # refused content whose file came back after it was removed: judged again (its stored
        # reason says why it was removed, not what is wrong with it)
        self.returned: list[tuple[Found, SpotRow]] = []

    # ---- stage 1: what did not change
    def unchanged(self, found: list[Found]) -> list[Found]:
        todo = []
        for f in found:
            row = self.live.get(f.path)
            if row is not None and row.size == f.size and row.mtime_ns == f.mtime_ns:
                if row.disk_path != f.disk_path:
                    row.disk_path = f.disk_path
                    self.session.add(row)
                if _needs_peak(row):
                    self.without_peak.append((f, row))
                if _lost_its_reason(row):
                    self.returned.append((f, row))
                self.present.add(f.path)
                self.seen.add(f.path)
                self.report.unchanged += 1
            else:
                todo.append(f)
        return todo

    # ---- stage 2: decide from the hash
    def decide(
        self, hashed: list[tuple[Found, str | None, str | None]], on_done: Progress | None
    ) -> list:
        new: list[tuple[Found, str]] = []
        later: list[tuple[Found, str]] = []
        for f, sha, trouble in hashed:  # first: the same content at the same path (touched)
            if sha is None:
                if trouble is not None:
                    self.trouble[f.path] = trouble
                continue
            row = self.live.get(f.path)
            if row is not None and row.sha256 == sha:
                self._refresh(row, f)
                if _needs_peak(row):
                    self.without_peak.append((f, row))
                self.present.add(f.path)
                self.seen.add(f.path)
                self.report.unchanged += 1
                if on_done:
                    on_done(1)
            else:
                later.append((f, sha))
        for f, sha in later:
            self.seen.add(f.path)
            sid = spot_id(sha)
            old = self.live.get(f.path)
            original = self.primary.get(sid)
            if old is not None:  # other content now lives at this path
                self._remove(old, REPLACED)
                self.replaced.add(f.path)
            if (
                original is not None
                and original.status != STATUS_REMOVED
                and (original.path in self.present)
            ):
                self._duplicate(f, sha, original.path)
            elif original is not None:
                self._move(original, f)
            elif sid in self.new_ids:
                self._duplicate(f, sha, self.new_ids[sid])
            else:
                self.new_ids[sid] = f.path
                new.append((f, sha))
                continue
            if on_done:
                on_done(1)
        return new

    def _refresh(self, row: SpotRow, f: Found) -> None:
        row.size, row.mtime_ns, row.disk_path = f.size, f.mtime_ns, f.disk_path
        self.session.add(row)

    def _remove(self, row: SpotRow, reason: str) -> None:
        self.live.pop(row.path, None)
        row.status = STATUS_REMOVED
        row.reason = reason
        row.removed_at = _now()
        self.session.add(row)

    def _move(self, row: SpotRow, f: Found) -> None:
        if self.live.get(row.path) is row:
            del self.live[row.path]
        if row.status == STATUS_REMOVED and _refused_content(row.problem):
            self.returned.append((f, row))
        row.topic, row.path = f.topic, f.path
        self._refresh(row, f)
        row.removed_at = None
        row.status = STATUS_OK if row.problem is None else STATUS_REJECTED
        if row.reason and row.problem is None:
            row.reason = None
        self.live[f.path] = row
        self.present.add(f.path)
        self.report.updated += 1

    def _duplicate(self, f: Found, sha: str, original_path: str) -> None:
        refusal = duplicate(original_path)
        row = SpotRow(
            id=spot_id(sha),
            topic=f.topic,
            path=f.path,
            disk_path=f.disk_path,
            title=title_from_name(f.stem),
            status=STATUS_REJECTED,
            problem=refusal.problem,
            reason=refusal.reason,
            sha256=sha,
            size=f.size,
            mtime_ns=f.mtime_ns,
            added_at=_now(),
        )
        self.session.add(row)
        self.live[f.path] = row
        self.present.add(f.path)
        self._count_new(f.path)

    def _count_new(self, path: str) -> None:
        if path in self.replaced:
            self.report.updated += 1
        else:
            self.report.added += 1

    # ---- stage 3: store what was measured
    def store_new(self, m: Measured) -> None:
        f = m.found
        if m.vanished:
            self.new_ids.pop(spot_id(m.sha256), None)
            return
        refusal = judge(f.size, f.extension, m.tags, m.analysis)
        if refusal is not None and refusal.problem == "timed_out":
            self.trouble[f.path] = refusal.reason  # says nothing about the content: not stored
            self.new_ids.pop(spot_id(m.sha256), None)
            return
        a = m.analysis
        row = SpotRow(
            id=spot_id(m.sha256),
            topic=f.topic,
            path=f.path,
            disk_path=f.disk_path,
            title=m.tags.title or title_from_name(f.stem),
            **_verdict(refusal),
            sha256=m.sha256,
            size=f.size,
            mtime_ns=f.mtime_ns,
            format=m.tags.format or (a.codec if a else None),
            header_s=m.tags.header_s,
            **_measures(a),
            added_at=_now(),
        )
        self.session.add(row)
        self.live[f.path] = row
        self.primary[row.id] = row
        self.present.add(f.path)
        self._count_new(f.path)

    def take_returned(self) -> list[tuple[Found, str]]:
        pending = [(f, row.sha256) for f, row in self.returned]
        self.returned = []
        return pending

    def judge_returned(self, measured: Iterator[Measured]) -> None:
        """The verdict of refused content that came back, from its content measured again."""
        for m in measured:
            row = self.live.get(m.found.path)
            refusal = judge(m.found.size, m.found.extension, m.tags, m.analysis)
            if (
                row is None
                or m.vanished
                or (refusal is not None and refusal.problem == "timed_out")
            ):
                continue  # judged again at the next scan that reads it in time
            a = m.analysis
            fields = _verdict(refusal)
            if a is not None and a.ok and a.decoded_s:  # else the measures stored stay
                fields |= _measures(a)
            for name, value in fields.items():
                setattr(row, name, value)
            self.session.add(row)

    def settle_copies(self) -> None:
        """A copy of refused content is refused for what is wrong with that content, as the
        original is (the same bytes, the same verdict), not as a duplicate: a duplicate is
        content that airs under another path."""
        for row in self.live.values():
            if row.problem != "duplicate":
                continue
            original = self.primary.get(row.id)
            if (
                original is None
                or original is row
                or original.status != STATUS_REJECTED
                or not _refused_content(original.problem)
            ):
                continue
            row.problem, row.reason = original.problem, original.reason
            row.format, row.header_s = original.format, original.header_s
            row.duration_s, row.loudness_lufs = original.duration_s, original.loudness_lufs
            self.session.add(row)

    def store_peak(self, m: Measured) -> None:
        """A row measured before true peaks were: its peak (and loudness, same pass)."""
        row = self.live.get(m.found.path)
        a = m.analysis
        if row is None or a is None or not a.ok or a.peak_dbtp is None:
            return  # left without a peak: no boost until a scan measures it
        row.peak_dbtp = a.peak_dbtp
        row.loudness_lufs = a.loudness_lufs
        self.session.add(row)

    # ---- stage 4: the rest of the catalogue
    def mark_removed(self) -> None:
        for path, row in list(self.live.items()):
            if path not in self.seen:
                self._remove(row, self.trouble.get(path, GONE))
                self.report.removed += 1

    def promote_duplicates(self) -> None:
        """A copy whose original is gone takes over the original's row (id, metadata)."""
        for row in list(self.live.values()):
            if row.problem != "duplicate":
                continue
            original = self.primary.get(row.id)
            if original is None or original.status != STATUS_REMOVED:
                continue
            path, topic, disk_path = row.path, row.topic, row.disk_path
            self._remove(row, f"thay bằng {original.path} {MERGED}")
            fake = Found(topic, path, disk_path, row.size, row.mtime_ns)
            self._move(original, fake)
            self.report.updated -= 1  # a copy taking over is not an operator's change

    def recheck(self) -> None:
        """Re-apply what depends on config.toml (slot lengths, target loudness) to every row."""
        for row in self.live.values():
            if row.problem not in RECHECKED or row.duration_s is None:
                continue
            playable = max(0.0, row.duration_s - row.trim_start_s - row.trim_end_s)
            refusal = too_long(playable, self.max_spot_s)
            status = STATUS_OK if refusal is None else STATUS_REJECTED
            problem = refusal.problem if refusal else None
            reason = refusal.reason if refusal else None
            gain = playback_gain(
                row.loudness_lufs, row.peak_dbtp, self.target, self.max_boost
            ).gain_db
            if (row.status, row.problem, row.reason, row.gain_db) != (
                status,
                problem,
                reason,
                gain,
            ):
                row.status, row.problem, row.reason, row.gain_db = status, problem, reason, gain
                self.session.add(row)

    def rejected_rows(self) -> list[dict[str, str]]:
        rows = sorted(
            (r for r in self.live.values() if r.status == STATUS_REJECTED), key=lambda r: r.path
        )
        return [{"path": r.path, "reason": r.reason or ""} for r in rows]


def _verdict(refusal: Refusal | None) -> dict[str, Any]:
    """A row's status, problem and reason for the verdict on its content."""
    return {
        "status": STATUS_OK if refusal is None else STATUS_REJECTED,
        "problem": refusal.problem if refusal else None,
        "reason": refusal.reason if refusal else None,
    }


def _measures(a: Analysis | None) -> dict[str, Any]:
    """A row's measured fields from its decode: length, loudness, true peak, silence trims."""
    duration = a.decoded_s if a is not None and a.ok else None
    lead, trail = a.trim(duration) if a is not None and duration else (0.0, 0.0)
    return {
        "duration_s": duration,
        "loudness_lufs": a.loudness_lufs if a is not None and duration else None,
        "peak_dbtp": a.peak_dbtp if a is not None and duration else None,
        "trim_start_s": round(lead, 3),
        "trim_end_s": round(trail, 3),
    }


def _refused_content(problem: str | None) -> bool:
    """A refusal that follows from the file's bytes alone (empty, not audio, corrupt, ...), so
    every copy of those bytes has it; not one that depends on config.toml, not a duplicate."""
    return problem is not None and problem not in RECHECKED and problem != "duplicate"


def _lost_its_reason(row: SpotRow) -> bool:
    """A refused row that says why it was once removed instead of what is wrong with it (left
    so by loa before refused content that came back was judged again), or a file of no known
    format called corrupt (left so by loa before a text or an image named .mp3 was told apart
    from a damaged recording: `OLD_CORRUPT`): judged again, once."""
    reason = row.reason or ""
    return (
        row.status == STATUS_REJECTED
        and _refused_content(row.problem)
        and (
            reason in (GONE, REPLACED)
            or reason.endswith(MERGED)
            or (row.problem == "corrupt" and row.format is None and reason.startswith(OLD_CORRUPT))
        )
    )


def _needs_peak(row: SpotRow) -> bool:
    """A row that airs (or could) whose true peak was never measured."""
    return (
        row.peak_dbtp is None
        and row.duration_s is not None
        and row.loudness_lufs is not None
        and row.loudness_lufs > GATED_LUFS
        and row.problem in RECHECKED
    )

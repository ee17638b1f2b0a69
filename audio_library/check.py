"""`check_library`: compare the catalogue with the files and the calendar, without writing.

Errors (the command exits non-zero): a catalogued file missing or changed since the last scan, a
file not yet catalogued, a refused file, a misplaced file or folder, a file that is not regular
or cannot be read, an unreadable folder, a broken symlink (each with its reason, as the scan
gives it), a topic with nothing that may air on the day. Notices: spots waiting for approval
(when it is required), spots whose validity window has not started, has ended or ends within
`soon_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from audio_library.catalog import known_files, list_spots
from audio_library.files import discover
from audio_library.models import STATUS_OK, STATUS_REJECTED

ERROR = "error"
NOTICE = "notice"


@dataclass(frozen=True)
class Finding:
    level: str  # error | notice
    path: str  # a path relative to the root, a topic id, or ""
    message: str

    def as_json(self) -> dict[str, str]:
        return {"level": self.level, "path": self.path, "message": self.message}


def check_library(
    engine: Engine,
    root: Path,
    topic_ids: list[str],
    *,
    on: date,
    require_approval: bool,
    soon_days: int = 7,
) -> list[Finding]:
    out: list[Finding] = []
    found, misplaced = discover(root, topic_ids)
    out += [Finding(ERROR, m.path, m.reason) for m in misplaced]
    known = known_files(engine)
    on_disk = {f.path: f for f in found}
    rescan = "chạy loa library scan (run a scan)"
    for f in found:
        entry = known.get(f.path)
        if entry is None:
            out.append(Finding(ERROR, f.path, f"chưa có trong danh mục (not catalogued): {rescan}"))
        elif (entry[0], entry[1]) != (f.size, f.mtime_ns):
            out.append(Finding(ERROR, f.path, f"tệp đã thay đổi (file changed): {rescan}"))
    refused_on_disk = {m.path for m in misplaced}  # already told, with the real reason
    for path in sorted(set(known) - set(on_disk) - refused_on_disk):
        out.append(Finding(ERROR, path, f"tệp không còn (file missing): {rescan}"))
    spots = list_spots(engine, root, include_removed=False)
    airs: dict[str, int] = dict.fromkeys(topic_ids, 0)
    for s in spots:
        if s.status == STATUS_REJECTED:
            out.append(Finding(ERROR, s.path, s.reason or s.problem or "rejected"))
            continue
        if s.status != STATUS_OK:
            continue
        window_ok = s.valid_on(on)
        if s.valid_from is not None and on < s.valid_from:
            out.append(
                Finding(NOTICE, s.path, f"chưa đến ngày phát (not yet valid): từ {s.valid_from}")
            )
        elif s.valid_until is not None and s.valid_until < on:
            out.append(Finding(NOTICE, s.path, f"đã hết hạn (expired): đến {s.valid_until}"))
        elif s.valid_until is not None and s.valid_until <= on + timedelta(days=soon_days):
            out.append(Finding(NOTICE, s.path, f"sắp hết hạn (expires soon): đến {s.valid_until}"))
        if require_approval and not s.approved:
            out.append(
                Finding(
                    NOTICE,
                    s.path,
                    f"chưa được duyệt, sẽ không phát (not approved): loa library approve {s.id}",
                )
            )
            continue
        if window_ok and s.topic in airs:
            airs[s.topic] += 1
    for topic, count in airs.items():
        if count == 0:
            out.append(
                Finding(
                    ERROR,
                    topic,
                    f"chủ đề không có tin bài nào được phát ngày {on} (no playable spot)",
                )
            )
    return out

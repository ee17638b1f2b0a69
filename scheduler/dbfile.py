"""The station's SQLite file, watched from the heartbeat: deleted or replaced under the daemon.

SQLite keeps working on an open file that was deleted from its folder: the daemon would go on
writing the airtime log into an inode nobody can reach, and lose all of it at the next restart.
Every heartbeat (`scheduler.airlog.AirLog.beat`) compares the file at the path with the one
the daemon opened (st_dev, st_ino: one stat, nothing else while all is well):

- gone: the database is written back to its path from an open connection with
  `VACUUM INTO` (a consistent snapshot of everything committed, what is only in the WAL too),
  into a temporary file beside it that is then linked to the path (never over a file that
  appeared meanwhile); then the connection moves to the restored file (`StationDB.reopen`).
- another file at the path (someone copied one there, or a command created a new empty one):
  it is not overwritten. loa keeps writing to the file it opened, saves a copy of it as of now
  beside the path, and says what to do: move the other file away, and the next heartbeat puts
  loa's own database back at the path (the "gone" case).

Each finding is one message (for one log line and one event), once; nothing here raises.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from scheduler.station_db import StationDB

FileId = tuple[int, int]  # (st_dev, st_ino)


def _identity(path: Path) -> FileId | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _fsync(path: Path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DatabaseFile:
    """The file the daemon opened, and what became of it. Not thread-safe: the caller
    (AirLog.beat) holds the lock its writes take, so no airtime write runs during a restore."""

    def __init__(self, db: StationDB) -> None:
        self.db = db
        self.path: Path | None = db.path
        self.opened = _identity(db.path)
        self._reported: FileId | None = None  # the replacing file already reported
        self._failed: str | None = None  # a failed restore already reported (retried quietly)

    def check(self) -> tuple[str, str] | None:
        """(level, message) when something is newly found, else None. One stat when well."""
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return self._restore() if self.opened is not None else None
        except OSError:  # cannot look (a folder made unreadable): nothing sure to say
            return None
        now = (st.st_dev, st.st_ino)
        if self.opened is None:  # the engine had not created it yet when we were made
            self.opened = now
        if now == self.opened or now == self._reported:
            return None
        self._reported = now
        return self._replaced()

    # ------------------------------------------------------------------ gone: restore it
    def _copy_to(self, target: Path) -> None:
        """A VACUUM INTO copy of the open database at `target`, which must not exist: written
        beside it, synced, then linked (FileExistsError if `target` appeared meanwhile)."""
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        try:
            with self.db.connection() as conn:
                conn.execute("VACUUM INTO ?", (str(tmp),))
            _fsync(tmp)
            os.link(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the new name survives a power cut
            _fsync(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))

    def _restore(self) -> tuple[str, str] | None:
        assert self.path is not None
        path = self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._copy_to(path)
        except FileExistsError:  # another file took the path while we copied
            return self.check()
        except (OSError, sqlite3.Error) as exc:
            reason = str(exc).strip()
            if self._failed is not None:
                return None
            self._failed = reason
            return (
                "error",
                f"tệp cơ sở dữ liệu {path} bị xoá khi loa đang chạy và không khôi phục được "
                f"(the database file was deleted while loa runs and cannot be restored): "
                f"{reason}; loa vẫn ghi vào tệp đang mở và thử lại mỗi nhịp tim, đừng khởi "
                "động lại loa (loa keeps writing to the open file and retries every "
                "heartbeat; do not restart loa): hãy giải phóng chỗ trống trên đĩa và cho "
                "phép ghi vào thư mục (free disk space and allow writing in the folder)",
            )
        with contextlib.suppress(sqlite3.Error):  # else the open connection goes on meanwhile
            self.db.reopen()  # from now on the restored file is written
        self.opened = _identity(path)
        self._reported = None
        self._failed = None
        return (
            "error",
            f"tệp cơ sở dữ liệu {path} bị xoá khi loa đang chạy, đã khôi phục từ kết nối "
            "đang mở, đủ mọi dòng đã ghi (the database file was deleted while loa was "
            "running; restored from the open connection with every committed row): "
            "kiểm tra ai hoặc chương trình nào đã xoá nó (find out who or what deleted it)",
        )

    # ------------------------------------------------------------------ replaced: keep ours
    def _replaced(self) -> tuple[str, str]:
        assert self.path is not None
        path = self.path
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        copy = path.with_name(f"{path.name}.loa-{stamp}")
        try:
            self._copy_to(copy)
            saved = f"; bản sao đến lúc này (a copy as of now): {copy}"
        except (OSError, sqlite3.Error) as exc:
            reason = str(exc).strip()
            saved = f"; không lưu được bản sao (no copy could be saved): {reason}"
        return (
            "error",
            f"tệp cơ sở dữ liệu {path} đã bị thay bằng một tệp khác khi loa đang chạy; loa "
            "không ghi đè nó và vẫn ghi vào tệp đã mở, nay không còn trong thư mục (the "
            "database file was replaced by another file while loa runs; loa does not "
            f"overwrite it and keeps writing to the file it opened, no longer in the "
            f"folder){saved}; hãy đổi tên hoặc chuyển tệp kia đi, loa sẽ đặt lại cơ sở dữ "
            f"liệu của nó vào {path} ở nhịp tim sau; đừng khởi động lại loa trước đó (move or "
            f"rename the other file away and loa puts its own database back at {path} at "
            "the next heartbeat; do not restart loa before that, it would open the other file)",
        )

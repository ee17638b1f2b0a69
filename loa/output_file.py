"""Where a command writes its file (`loa airtime report --output`, `loa airtime export
--output`, the file backend's `output.path`): never over another file of the station, never
over a file of another kind.

`output.write_bytes(data)` replaced whatever the path named: `loa airtime report --format docx
--output config.toml` turned the station's config into a Word document, and a typo could do
the same to loa.db or a spot. Now the station's own files (config.toml, the database and its
journal, the control socket and the locks, anything inside the library) are refused, and an
existing file is replaced only when it is of the kind the command writes (an earlier report or
bundle): a zip for docx and xlsx, gzip for a bundle, RIFF/WAVE for the file backend's
recording, text for text, csv and json.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from loa.config import Config

ZIP_MAGIC = b"PK\x03\x04"  # docx and xlsx are zip files
GZIP_MAGIC = b"\x1f\x8b"  # a bundle (`loa airtime export`)
KINDS = {  # kind: (Vietnamese, English) names in the refusal
    "docx": ("docx", "docx"),
    "xlsx": ("xlsx", "xlsx"),
    "bundle": ("gói nhật ký .loa.gz", "a bundle, .loa.gz"),
    "wav": ("bản ghi WAV", "a WAV recording"),
}


def _station_files(config: Config, config_path: Path) -> dict[Path, str]:
    from scheduler.station_db import sqlite_file

    files = {config_path.resolve(): "tệp cấu hình của đài (the station's config)"}
    socket = config.daemon.socket
    files[socket.resolve()] = "ổ điều khiển của daemon (the control socket, daemon.socket)"
    files[socket.with_suffix(".lock").resolve()] = "khoá của daemon (the daemon's lock)"
    files[(socket.parent / "library.lock").resolve()] = "khoá của thư viện (the library's lock)"
    database = sqlite_file(config.database.url)
    if database is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            files[Path(f"{database}{suffix}").resolve()] = (
                "CSDL của đài (the station's database, database.url)"
            )
    return files


def _of_kind(head: bytes, kind: str) -> bool:
    if kind in ("docx", "xlsx"):
        return head.startswith(ZIP_MAGIC)
    if kind == "bundle":
        return head.startswith(GZIP_MAGIC)
    if kind == "wav":
        from scheduler.output.file import WAV_MAGIC  # the file backend's own test

        return (head[:4], head[8:12]) == WAV_MAGIC
    if b"\x00" in head:  # text, csv, json: a binary file (a database, a recording) is not one
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the end of the head is still text
        return exc.start >= len(head) - 3
    return True


def refusal(
    config: Config, config_path: Path, output: Path, kind: str, option: str = "--output"
) -> str | None:
    """Why the command must not write `output` (a message naming the file and what to do),
    else None. `kind`: the format written (text, csv, json, xlsx, docx), "bundle" or "wav";
    `option`: where the operator chose the file (an option or a config key)."""
    advice = f"chọn tên tệp khác cho {option} (choose another file name)"
    target = output.resolve()
    ours = _station_files(config, config_path).get(target)
    if ours is not None:
        return f"{output} là {ours}, loa sẽ ghi đè lên nó (loa would overwrite it): {advice}"
    if target.is_relative_to(config.library.root.resolve()):
        return (
            f"{output} nằm trong thư viện {config.library.root} (inside the library: it would be "
            f"scanned as a spot or overwrite one): {advice}"
        )
    return kind_refusal(output, kind, advice)


def kind_refusal(output: Path, kind: str, advice: str) -> str | None:
    """Why `output` must not be written because of what is there already (a file of another
    kind than `kind`, or one that cannot be looked at), else None. A missing file, a pipe or
    /dev/stdout are written as asked; an earlier file of the same kind is replaced."""
    try:
        st = os.stat(output)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{output}: không xem được tệp (cannot look at it: {exc.strerror}): {advice}"
    if not stat.S_ISREG(st.st_mode):
        return None  # /dev/stdout, a pipe: written as asked
    try:
        with open(output, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        return f"{output}: không đọc được tệp (cannot read it: {exc.strerror}): {advice}"
    if head and not _of_kind(head, kind):
        vi, en = KINDS.get(kind, (kind, f"{kind} text"))
        return (
            f"{output} là một tệp khác, không phải {vi}, loa sẽ ghi đè lên nó (a file that is "
            f"not {en}: loa would overwrite it): {advice}, hoặc chuyển tệp đó đi (or move it)"
        )
    return None

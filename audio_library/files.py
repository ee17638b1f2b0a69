"""Finding the files of a library and hashing them.

The library root holds one folder per topic id; a topic folder may have sub-folders. Names are
compared in NFC (files copied from macOS arrive in NFD): the catalogue's `path` is NFC with `/`
separators, while `disk_path` keeps the name as the file system spells it, for opening the file.
Dotfiles, dot-folders and the litter of file managers are ignored.

Only regular files become candidates; discovery only `stat`s and test-opens them without
blocking (`safeio`), so a FIFO, a device, a socket, a broken symlink, an unreadable file or
an unreadable folder is reported with its reason instead of hanging the scan or vanishing.
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import os
import stat as stat_mode
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from audio_library.safeio import WALK_TIMEOUT_S, not_regular_reason, open_regular, with_deadline

IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx"})
HASH_CHUNK = 1 << 20
BROKEN_LINK = "liên kết hỏng, không trỏ tới tệp nào (broken symlink): sửa hoặc xoá liên kết"
SYMLINK_LOOP = "liên kết vòng, trỏ về chính nó (symlink loop): sửa hoặc xoá liên kết"
LINKED_FOLDER = (
    "thư mục con là liên kết, không được quét (a symlinked sub-folder is not followed): chép "
    "tệp vào thư mục chủ đề, hoặc cho chính thư mục chủ đề là liên kết (copy the files in, or "
    "link the topic folder itself)"
)
CONTROL_IN_NAME = (
    "tên tệp có ký tự điều khiển, như xuống dòng hay tab (the name has a control character, "
    "a newline or a tab: it would break the log, the m3u and the report): đổi tên tệp (rename it)"
)
UNREADABLE = "không đọc được tệp (unreadable file)"
UNREADABLE_DIR = "không đọc được thư mục (unreadable folder)"
FIX_PERMISSIONS = "cấp quyền đọc cho người dùng chạy loa (give loa read permission)"


@dataclass(frozen=True)
class Found:
    topic: str
    path: str  # relative to the root, NFC, "/" separators
    disk_path: str  # relative to the root, as on disk
    size: int
    mtime_ns: int

    @property
    def extension(self) -> str:
        return os.path.splitext(self.path)[1].lower()

    @property
    def stem(self) -> str:
        return os.path.splitext(self.path.rsplit("/", 1)[-1])[0]


@dataclass(frozen=True)
class Misplaced:
    """Something in the library that cannot become a spot, reported on every scan."""

    path: str
    reason: str
    problem: str = "misplaced"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.lower() in IGNORED_NAMES


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes arrive as surrogate escapes
        return False
    return True


def unreadable(strerror: str | None, folder: bool = False) -> str:
    what = UNREADABLE_DIR if folder else UNREADABLE
    return f"{what}: {strerror or 'lỗi'}; {FIX_PERMISSIONS}"


def discover(
    root: Path,
    topic_ids: list[str],
    *,
    timeout_s: float = WALK_TIMEOUT_S,
    cancel: threading.Event | None = None,
) -> tuple[list[Found], list[Misplaced]]:
    """Every candidate file under the topic folders of `root`, sorted by path, and what is
    misplaced or unusable (folders that are no topic, files outside topic folders, unusable
    names, files that are not regular or cannot be read, unreadable folders). The walk runs
    under `timeout_s` (StepTimeout on a hung mount)."""
    return with_deadline(lambda: _discover(root, topic_ids), timeout_s, f"{root}", cancel=cancel)


def _discover(root: Path, topic_ids: list[str]) -> tuple[list[Found], list[Misplaced]]:
    found: list[Found] = []
    misplaced: list[Misplaced] = []
    topics = set(topic_ids)
    try:
        entries = sorted(os.scandir(root), key=lambda e: nfc(e.name))
    except OSError as exc:
        raise FileNotFoundError(f"{root}: {exc.strerror}") from None
    for entry in entries:
        if _ignored(entry.name):
            continue
        name = nfc(entry.name)
        if not entry.is_dir():
            misplaced.append(
                Misplaced(
                    name,
                    "nằm ngoài thư mục chủ đề (not in a topic folder): chuyển vào "
                    "thư mục mang mã chủ đề",
                )
            )
            continue
        if name not in topics:
            close = difflib.get_close_matches(name.lower(), sorted(topics), n=1, cutoff=0.6)
            hint = f'; có phải "{close[0]}"? (did you mean)' if close else ""
            misplaced.append(
                Misplaced(
                    name + "/",
                    "thư mục không phải chủ đề nào trong config.toml (not a configured topic)"
                    + hint,
                )
            )
            continue
        wraps = _wraps_the_library(root, entry)
        if wraps is not None:
            misplaced.append(Misplaced(name + "/", wraps))
            continue
        _walk(root, entry.name, name, found, misplaced)
    found.sort(key=lambda f: f.path)
    return found, misplaced


def _wraps_the_library(root: Path, entry: os.DirEntry[str]) -> str | None:
    """Why a topic folder that is a symlink to the library itself or to a folder holding it
    (`/`, `..`, `.`) is not walked: the walk would catalogue the whole disk, the station's
    database and config among it, and never end. None for any other topic folder."""
    if not entry.is_symlink():
        return None
    try:
        target = Path(os.path.realpath(entry.path, strict=True))
        inside = Path(os.path.realpath(root, strict=True)).is_relative_to(target)
    except OSError:
        return None  # the walk reports what is wrong with it
    if not inside:
        return None
    return (
        f"thư mục chủ đề là liên kết tới {target}, nơi chứa cả thư viện (the topic folder is a "
        "symlink to a folder that holds the whole library): sửa liên kết cho trỏ tới thư mục "
        "tin/bài của chủ đề (point it at the topic's own folder)"
    )


def _walk(root: Path, disk_dir: str, topic: str, found: list[Found], bad: list[Misplaced]) -> None:
    def folder_error(exc: OSError) -> None:
        where = Path(exc.filename or root / disk_dir).relative_to(root).as_posix()
        shown = nfc(where.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
        bad.append(Misplaced(shown + "/", unreadable(exc.strerror, folder=True), "unreadable"))

    for dirpath, dirnames, filenames in os.walk(root / disk_dir, onerror=folder_error):
        dirnames[:] = sorted(d for d in dirnames if not _ignored(d))
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        for d in dirnames:  # os.walk does not follow them (a loop, `/`): say so, not vanish
            if os.path.islink(os.path.join(dirpath, d)) and _utf8(d):
                bad.append(Misplaced(nfc(f"{rel_dir}/{d}/"), LINKED_FOLDER))
        groups: dict[str, list[str]] = {}
        for filename in sorted(filenames):
            if not _ignored(filename):
                groups.setdefault(nfc(filename), []).append(filename)
        for name, spellings in groups.items():
            # the NFC spelling wins a clash; the others are refused, not catalogued twice
            spellings.sort(key=lambda s: s != name)
            for other in spellings[1:]:
                bad.append(
                    Misplaced(
                        f"{rel_dir}/{other}",
                        f"trùng tên với {rel_dir}/{name} khi chuẩn hoá Unicode (dạng NFD): xoá "
                        "một trong hai (same name as another file in NFC)",
                        "bad_name",
                    )
                )
            filename = spellings[0]
            disk_rel = f"{rel_dir}/{filename}"
            if not _utf8(disk_rel):
                shown = disk_rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                bad.append(
                    Misplaced(
                        shown,
                        "tên tệp không phải UTF-8: đổi tên tệp (file name is not UTF-8)",
                        "bad_name",
                    )
                )
                continue
            path = nfc(disk_rel)
            if any(unicodedata.category(c) == "Cc" for c in path):
                shown = "".join("?" if unicodedata.category(c) == "Cc" else c for c in path)
                bad.append(Misplaced(shown, CONTROL_IN_NAME, "bad_name"))
                continue
            full = os.path.join(dirpath, filename)
            stat, refusal = _inspect(full)
            if refusal is not None:
                bad.append(Misplaced(path, *refusal))
            elif stat is not None:
                found.append(Found(topic, path, disk_rel, stat.st_size, stat.st_mtime_ns))


def _inspect(full: str) -> tuple[os.stat_result | None, tuple[str, str] | None]:
    """(stat, None) for a usable file; (None, (reason, problem)) for one that is refused;
    (None, None) for one that vanished while scanning (the next scan sees it gone)."""
    try:
        st = os.stat(full)
    except FileNotFoundError:
        try:
            if stat_mode.S_ISLNK(os.lstat(full).st_mode):
                return None, (BROKEN_LINK, "broken_link")
        except OSError:
            pass
        return None, None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # not a permission matter: the link is wrong
            return None, (SYMLINK_LOOP, "broken_link")
        return None, (unreadable(exc.strerror), "unreadable")
    reason = not_regular_reason(st.st_mode)
    if reason is not None:
        return None, (reason, "not_regular")
    try:
        open_regular(Path(full)).close()  # non-blocking: a test of permission, no read
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, (unreadable(exc.strerror), "unreadable")
    return st, None


def hash_file(path: Path) -> str:
    """sha256 of the file's bytes, hex. Only a regular file is opened (NotRegular otherwise);
    callers that must not hang run it under `safeio.with_deadline`."""
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def spot_id(sha256_hex: str) -> str:
    """A spot's id: the first 16 hex digits of its content hash."""
    return sha256_hex[:16]

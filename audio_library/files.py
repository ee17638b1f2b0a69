"""Finding the files of a library and hashing them.

The library root holds one folder per topic id; a topic folder may have sub-folders. Names are
compared in NFC (files copied from macOS arrive in NFD): the catalogue's `path` is NFC with `/`
separators, while `disk_path` keeps the name as the file system spells it, for opening the file.
Dotfiles, dot-folders and the litter of file managers are ignored.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx"})
HASH_CHUNK = 1 << 20


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


def discover(root: Path, topic_ids: list[str]) -> tuple[list[Found], list[Misplaced]]:
    """Every candidate file under the topic folders of `root`, sorted by path, and what is
    misplaced (folders that are no topic, files outside topic folders, unusable names)."""
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
        _walk(root, entry.name, name, found, misplaced)
    found.sort(key=lambda f: f.path)
    return found, misplaced


def _walk(root: Path, disk_dir: str, topic: str, found: list[Found], bad: list[Misplaced]) -> None:
    for dirpath, dirnames, filenames in os.walk(root / disk_dir):
        dirnames[:] = sorted(d for d in dirnames if not _ignored(d))
        rel_dir = Path(dirpath).relative_to(root).as_posix()
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
            try:
                stat = os.stat(os.path.join(dirpath, filename))
            except OSError:
                continue  # vanished while scanning: the next scan sees it gone
            found.append(Found(topic, path, disk_rel, stat.st_size, stat.st_mtime_ns))


def hash_file(path: Path) -> str:
    """sha256 of the file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def spot_id(sha256_hex: str) -> str:
    """A spot's id: the first 16 hex digits of its content hash."""
    return sha256_hex[:16]

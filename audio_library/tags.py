"""Tags and header durations: the only module that calls mutagen.

mutagen's exceptions never leave this module: a file it cannot read gives a `Tags` with `error`
set, and the caller decides (the full decode through ffmpeg has the last word).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import mutagen


@dataclass(frozen=True)
class Tags:
    format: str | None  # mutagen's file type, lower-case ("mp3", "oggvorbis", "mp4", ...)
    title: str | None  # from the tags, NFC, stripped; None when there is none
    header_s: float | None  # the duration the header declares
    error: str | None = None  # why mutagen could not read the file


def read_tags(path: Path) -> Tags:
    """Format, title and header duration of `path`; never raises for a bad file."""
    try:
        audio = mutagen.File(path, easy=True)
    except (mutagen.MutagenError, OSError, ValueError, EOFError, IndexError, KeyError) as exc:
        return Tags(None, None, None, error=f"{type(exc).__name__}: {exc}".strip())
    if audio is None:
        return Tags(None, None, None, error="not a known audio format")
    length = getattr(audio.info, "length", None)
    header_s = float(length) if length and length > 0 else None
    return Tags(type(audio).__name__.lower().removeprefix("easy"), _title(audio), header_s)


def _title(audio: mutagen.FileType) -> str | None:
    try:
        values = audio.get("title") if audio.tags is not None else None
    except (KeyError, ValueError):
        return None
    if not values:
        return None
    text = unicodedata.normalize("NFC", str(values[0])).strip()
    return text or None

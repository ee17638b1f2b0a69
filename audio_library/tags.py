"""Tags and header durations: the only module that calls mutagen.

mutagen's exceptions never leave this module: a file it cannot read gives a `Tags` with `error`
set, and the caller decides (the full decode through ffmpeg has the last word).

Only regular files are opened (`safeio.open_regular`), and mutagen runs under a time limit.

`header_s` is a length the file *declares*, never a guess: an MP3 without a Xing/Info or VBRI
frame count and an ADTS/ADIF AAC stream carry no length, and mutagen then estimates one from the
file size and the first frame's bitrate, which for a VBR file can be off by a factor of three.
Such an estimate would make a complete file look truncated, so it is dropped (None): the decode
length is the truth.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import mutagen
import mutagen.aac
import mutagen.mp3

from audio_library.safeio import TAGS_TIMEOUT_S, Abandoned, open_regular, with_deadline

# Where a VBR header says how many frames there are (Xing/Info: LAME, ffmpeg; VBRI: Fraunhofer).
VBR_MARKERS = (b"Xing", b"Info", b"VBRI")
FIRST_FRAME_BYTES = 192  # the markers sit within the first 4 + 32 + 4 bytes of the first frame


@dataclass(frozen=True)
class Tags:
    format: str | None  # mutagen's file type, lower-case ("mp3", "oggvorbis", "mp4", ...)
    title: str | None  # from the tags, NFC, stripped; None when there is none
    header_s: float | None  # the duration the header declares (None: it declares none)
    error: str | None = None  # why mutagen could not read the file
    # the audio container the first bytes announce ("mp3", "wav", "mp4", ...), even when mutagen
    # cannot read the rest: a damaged recording, not a text or an image named .mp3
    container: str | None = None
    channels: int | None = None  # what the header declares (None: mutagen could not read it)


# First bytes of the audio formats loa takes (and their kin): (offset, bytes, container).
SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"ID3", "mp3"),
    (0, b"RIFF", "riff"),  # WAVE checked below: an AVI is RIFF too
    (0, b"RF64", "wav"),
    (0, b"BW64", "wav"),
    (0, b"fLaC", "flac"),
    (0, b"OggS", "ogg"),
    (4, b"ftyp", "mp4"),
    (0, b"FORM", "aiff"),
    (0, b"ADIF", "aac"),
    (0, b"#!AMR", "amr"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "asf"),
)
HEAD_BYTES = 12


def container_of(head: bytes) -> str | None:
    """The audio container whose signature `head` (a file's first bytes) starts with; an MPEG
    audio or ADTS frame sync counts (an MP3 without ID3 tag); pure."""
    for offset, magic, name in SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            if name == "riff":
                return "wav" if head[8:12] == b"WAVE" else None
            if name == "aiff":
                return "aiff" if head[8:12] in (b"AIFF", b"AIFC") else None
            return name
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "mpeg"
    return None


def read_tags(
    path: Path, *, timeout_s: float = TAGS_TIMEOUT_S, cancel: threading.Event | None = None
) -> Tags:
    """Format, title and header duration of `path`; never raises for a bad file (a file that
    is not regular, cannot be opened or takes longer than `timeout_s` gives `error`)."""
    try:
        return with_deadline(
            lambda: _read(path), timeout_s, "mutagen", key=f"tags:{path}", cancel=cancel
        )
    except Abandoned:
        raise
    except OSError as exc:
        return Tags(None, None, None, error=f"{type(exc).__name__}: {exc.strerror or exc}")


def _read(path: Path) -> Tags:
    with open_regular(path) as fh:
        container = container_of(fh.read(HEAD_BYTES))
        fh.seek(0)
        try:
            audio = mutagen.File(fh, easy=True)
        except (mutagen.MutagenError, OSError, ValueError, EOFError, IndexError, KeyError) as exc:
            error = f"{type(exc).__name__}: {exc}".strip()
            return Tags(None, None, None, error=error, container=container)
        if audio is None:
            return Tags(None, None, None, error="not a known audio format", container=container)
        length = getattr(audio.info, "length", None)
        header_s = float(length) if length and length > 0 else None
        if header_s is not None and not _declared_length(audio, fh):
            header_s = None
        kind = type(audio).__name__.lower().removeprefix("easy")
        channels = getattr(audio.info, "channels", None)
        return Tags(kind, _title(audio), header_s, container=container, channels=channels or None)


def _declared_length(audio: mutagen.FileType, fh: IO[bytes]) -> bool:
    """Whether mutagen's length comes from the file's own header, not from its size."""
    if isinstance(audio, mutagen.aac.AAC):
        return False  # ADTS/ADIF: mutagen always estimates from the bitrate
    if isinstance(audio, mutagen.mp3.MP3):
        offset = getattr(audio.info, "frame_offset", None)
        if offset is None:
            return False
        fh.seek(offset)
        first = fh.read(FIRST_FRAME_BYTES)
        return any(marker in first for marker in VBR_MARKERS)
    return True


def _title(audio: mutagen.FileType) -> str | None:
    try:
        values = audio.get("title") if audio.tags is not None else None
    except (KeyError, ValueError):
        return None
    if not values:
        return None
    text = unicodedata.normalize("NFC", str(values[0])).strip()
    return text or None

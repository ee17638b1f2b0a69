"""Measuring one file outside the catalogue, as a scan would (`loa play-now --file`, jingles,
bulletins). Apart from `audio_library.catalog` so that its callers that only measure (`loa
central send`, the bulletin fetcher) do not load SQLAlchemy and SQLModel: 2 s of the send's
start on a loaded station PC (BENCHMARKS.md, bulletins)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from audio_library.files import hash_file, spot_id


@dataclass(frozen=True)
class Probe:
    """One file measured outside the catalogue (`loa play-now --file`, jingles)."""

    id: str
    title: str
    duration_s: float
    playable_s: float
    trim_start_s: float
    gain_db: float


def probe(path: Path, *, target_lufs: float, max_boost_db: float = 12.0) -> Probe:
    """Measure one file as a scan would (tags, full decode, loudness, true peak, silence)
    without storing it; its gain follows the same rule as a catalogued spot's (capped below
    clipping and by `max_boost_db`). ValueError with the reason when the file would be refused
    (not a regular file, unreadable, timed out, or any refusal of the scan)."""
    import os

    from audio_library.analysis import analyse
    from audio_library.safeio import HASH_TIMEOUT_S, not_regular_reason, with_deadline
    from audio_library.tags import read_tags
    from audio_library.verdict import Refusal, judge, playback_gain, title_from_name

    try:
        st = os.stat(path)
        refused = not_regular_reason(st.st_mode)
        if refused is not None:
            raise ValueError(refused)
        size = st.st_size
        digest = with_deadline(lambda: hash_file(path), HASH_TIMEOUT_S, "sha256")
    except OSError as exc:
        raise ValueError(
            f"không đọc được tệp (cannot read the file): {exc.strerror or exc}"
        ) from None
    tags = read_tags(path)
    analysis = analyse(path) if size else None
    refusal: Refusal | None = judge(size, path.suffix, tags, analysis)
    if refusal is not None:
        raise ValueError(refusal.reason)
    assert analysis is not None and analysis.decoded_s is not None
    lead, tail = analysis.trim(analysis.decoded_s)
    gain = playback_gain(analysis.loudness_lufs, analysis.peak_dbtp, target_lufs, max_boost_db)
    return Probe(
        id=spot_id(digest),
        title=tags.title or title_from_name(unicodedata.normalize("NFC", path.stem)),
        duration_s=analysis.decoded_s,
        playable_s=max(0.0, analysis.decoded_s - lead - tail),
        trim_start_s=lead,
        gain_db=gain.gain_db or 0.0,
    )

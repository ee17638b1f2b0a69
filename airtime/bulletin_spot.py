"""A bulletin's spot id in the airtime log and the plans: `bulletin-<central id>-<priority>`.

Standard library only: `loa status` and the plan previews read bulletin spots without loading
the bulletin store's SQLAlchemy models (issue 17)."""

from __future__ import annotations

PREFIX = "bulletin-"
PRIORITIES = ("thuong", "uu-tien", "khan-cap")  # Thông tư 39/2020: thông thường, ưu tiên, khẩn cấp


def spot_id(bulletin: int, priority: str) -> str:
    """The spot id a bulletin airs under: `bulletin-<id>-<priority>` (the log and rotation)."""
    return f"{PREFIX}{bulletin}-{priority}"


def parse_spot(spot: object) -> tuple[str, str] | None:
    """(bulletin id, priority) of a bulletin's spot id, None for any other spot."""
    if not isinstance(spot, str) or not spot.startswith(PREFIX):
        return None
    number, _, priority = spot.removeprefix(PREFIX).partition("-")
    if not number.isdigit() or priority not in PRIORITIES:
        return None
    return number, priority

"""The doubling retry delay of the daemon's background threads (the push to the central
database, the fetch of bulletins) while the network or the server is down. Pure."""

from __future__ import annotations


def doubling_delay(failures: int, first_s: float, cap_s: float) -> float:
    """Seconds until the next try after `failures` (>= 1) failed tries in a row: first_s, 2x,
    4x, ... capped at cap_s (the exponent bounded, so any count of failures is safe)."""
    return min(cap_s, first_s * 2 ** min(failures - 1, 30))

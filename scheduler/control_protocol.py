"""The control protocol: one JSON request of `loa play-now` or `loa status` in, one reply out
(the socket itself is `scheduler.control`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from scheduler.broadcasts import PRIORITIES, Broadcast
from scheduler.spec import Spot


class Station(Protocol):
    resolve_adhoc: Callable[[dict[str, Any]], list[Spot]]

    def status(self) -> dict[str, Any]: ...

    def enqueue_adhoc(self, spots: list[Spot], priority: str) -> Broadcast: ...


def handle_request(daemon: Station, request: dict[str, Any]) -> dict[str, Any]:
    cmd = request.get("cmd")
    if cmd == "ping":
        return {"ok": True}
    if cmd == "status":
        return {"ok": True, **daemon.status()}
    if cmd == "play":
        priority = str(request.get("priority", "normal"))
        if priority not in PRIORITIES:
            return {"ok": False, "error": f"priority {priority!r}: normal|priority|emergency"}
        try:
            spots = daemon.resolve_adhoc(request)
        except Exception as exc:
            return {"ok": False, "error": str(exc)}
        item = daemon.enqueue_adhoc(spots, priority)
        if request.get("wait"):
            item.done.wait(timeout=float(request.get("timeout", 3600)))
            outcome = item.outcome
            return {
                "ok": outcome is not None and outcome.status == "aired",
                "status": outcome.status if outcome else "pending",
                "error": outcome.message if outcome else None,
                "items": [
                    {"key": r.key, "status": r.status, "played_s": r.played_s}
                    for r in (outcome.results if outcome else [])
                ],
            }
        return {"ok": True, "queued": [s.title for s in spots], "priority": priority}
    return {"ok": False, "error": f"unknown command {cmd!r}"}

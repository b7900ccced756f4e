"""The figures ``chatfeedback sinks status`` prints and the Sinks page shows: per sink,
deliveries pending, delivered and dead, and which process delivers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..store import outbox as queue

if TYPE_CHECKING:
    from ..config import Settings
    from ..store import Store


def report(settings: Settings, store: Store) -> dict[str, Any]:
    """``sinks``: one dict per sink (configured ones first, then those only seen before):
    name, kind, since, pending (queued ones included), delivered, dead, oldest_pending,
    last_delivered, last_error, configured. ``worker``: holder (host:pid), until, active;
    None when no process ever delivered."""
    configured = {s.name: s for s in settings.sinks}
    rows = []
    for figures in queue.status(store, list(configured)):
        row = figures.as_json()
        row["configured"] = figures.name in configured
        if row["kind"] is None and figures.name in configured:
            row["kind"] = configured[figures.name].kind
        rows.append(row)
    lead = queue.holder(store)
    worker = None if lead is None else {"holder": lead[0], "until": lead[1].isoformat(),
                                        "active": lead[1] > datetime.now(UTC)}
    return {"sinks": rows, "worker": worker}


def delivering(report: dict[str, Any]) -> str:
    """One line: which process delivers."""
    worker = report["worker"]
    if worker and worker["active"]:
        return f"Delivering: {worker['holder']}"
    return ("Delivering: no process right now (chatfeedback run, sinks work or sinks "
            "deliver)")

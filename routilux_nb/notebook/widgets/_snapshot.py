"""Pick the parts of a monitor snapshot each view draws, as JSON-safe dicts.

Snapshots may omit any key; every function here returns an empty value for a
missing key and ignores malformed entries rather than failing a view update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import jsonable

__all__ = ["breakpoint_routines", "edge_counts_of", "jobs_of", "queues_of", "status_of"]

_STATUS_KEYS = ("status", "execution_count", "error_count", "active", "avg_duration")
_QUEUE_KEYS = ("unconsumed_count", "max_length", "usage_percentage", "pressure_level")


def status_of(snapshot: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-routine status from a snapshot; routines listed in ``paused`` show as paused."""
    routines = snapshot.get("routines") or {}
    status = {
        str(rid): {k: jsonable(info.get(k)) for k in _STATUS_KEYS if k in info}
        for rid, info in routines.items()
        if isinstance(info, Mapping)
    }
    for stop in snapshot.get("paused") or []:
        rid = str(stop.get("routine_id") or "")
        if rid and status.get(rid, {}).get("status") != "error":
            status[rid] = {**status.get(rid, {}), "status": "paused"}
    return status


def queues_of(snapshot: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per-routine, per-slot queue gauges from a snapshot."""
    return {
        str(rid): {
            str(slot): {k: jsonable(q.get(k)) for k in _QUEUE_KEYS if k in q}
            for slot, q in slots.items()
            if isinstance(q, Mapping)
        }
        for rid, slots in (snapshot.get("queues") or {}).items()
        if isinstance(slots, Mapping)
    }


def edge_counts_of(snapshot: Mapping[str, Any]) -> dict[str, int]:
    """Messages carried per connection id."""
    counts = {}
    for cid, value in (snapshot.get("connections") or {}).items():
        count = value.get("count") if isinstance(value, Mapping) else value
        if isinstance(count, (int, float)):
            counts[str(cid)] = int(count)
    return counts


def breakpoint_routines(snapshot: Mapping[str, Any]) -> list[str]:
    """Sorted ids of routines with an enabled routine breakpoint."""
    return sorted(
        {
            str(bp["routine_id"])
            for bp in snapshot.get("breakpoints") or []
            if bp.get("type") == "routine" and bp.get("routine_id") and bp.get("enabled", True)
        }
    )


def jobs_of(snapshot: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Job summaries keyed by job id."""
    return {
        str(jid): jsonable(job)
        for jid, job in (snapshot.get("jobs") or {}).items()
        if isinstance(job, Mapping)
    }

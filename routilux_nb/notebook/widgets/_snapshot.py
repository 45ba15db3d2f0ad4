"""Pick the parts of a monitor snapshot each view draws.

A view takes a :data:`~routilux_nb.monitor.types.SnapshotUpdate`: any top-level key may be
left out (the view keeps what it drew from it), and each entry present has the shape the
:class:`~routilux_nb.monitor.types.Snapshot` types give it, so entries are read as typed.
"""

from __future__ import annotations

from typing import Any

from routilux_nb.monitor.types import JobView, QueueView, SnapshotUpdate

__all__ = ["breakpoint_routines", "edge_counts_of", "jobs_of", "queues_of", "status_of"]


def status_of(snapshot: SnapshotUpdate) -> dict[str, dict[str, Any]]:
    """Per-routine status from a snapshot; routines listed in ``paused`` show as paused."""
    status: dict[str, dict[str, Any]] = {
        rid: dict(info) for rid, info in snapshot.get("routines", {}).items()
    }
    for stop in snapshot.get("paused", []):
        rid = stop["routine_id"]
        current = status.setdefault(rid, {})
        if current.get("status") != "error":
            current["status"] = "paused"
    return status


def queues_of(snapshot: SnapshotUpdate) -> dict[str, dict[str, QueueView]]:
    """Per-routine, per-slot queue gauges from a snapshot."""
    return {
        rid: {slot: q.copy() for slot, q in slots.items()}
        for rid, slots in snapshot.get("queues", {}).items()
    }


def edge_counts_of(snapshot: SnapshotUpdate) -> dict[str, int]:
    """Items carried per connection id (``conn_<index>``)."""
    return {cid: view["count"] for cid, view in snapshot.get("connections", {}).items()}


def breakpoint_routines(snapshot: SnapshotUpdate) -> list[str]:
    """Sorted ids of routines with an enabled routine breakpoint."""
    return sorted(
        {
            bp["routine_id"]
            for bp in snapshot.get("breakpoints", [])
            if bp["type"] == "routine" and bp["routine_id"] and bp["enabled"]
        }
    )


def jobs_of(snapshot: SnapshotUpdate) -> dict[str, JobView]:
    """Job summaries keyed by job id."""
    return {
        jid: {**job, "routine_counts": dict(job["routine_counts"])}
        for jid, job in snapshot.get("jobs", {}).items()
    }

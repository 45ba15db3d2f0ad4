"""Collapse long chains of a large flow into summary routines, for drawing.

A chain is a run of routines linked one to one: each link is the only connection
out of its source and the only connection into its target. In a flow of more than
:data:`COLLAPSE_OVER` routines, every chain of at least :data:`MIN_CHAIN` routines
becomes one summary routine (``"first…last"``, with a ``members`` list) that
keeps the first member's slots, the last member's events and the connection ids
into and out of the chain; chains listed in ``expanded`` (by summary id) are kept
as they are. The result is a flow description for :func:`.layout.layered_layout`.

This module must not import anywidget or ipywidgets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import Any

__all__ = ["COLLAPSE_OVER", "MIN_CHAIN", "chains", "collapse_chains"]

COLLAPSE_OVER = 60
MIN_CHAIN = 4


def chains(flow_dict: Mapping[str, Any], min_length: int = MIN_CHAIN) -> list[list[str]]:
    """Maximal one-to-one chains of at least ``min_length`` routines, in flow order."""
    routines = flow_dict.get("routines") or {}
    outs: dict[str, list[str]] = defaultdict(list)
    ins: dict[str, list[str]] = defaultdict(list)
    for c in flow_dict.get("connections") or []:
        src, dst = c.get("source_routine"), c.get("target_routine")
        if src in routines and dst in routines:
            outs[src].append(dst)
            ins[dst].append(src)

    def next_of(rid: str) -> str | None:
        if len(outs[rid]) != 1:
            return None
        nxt = outs[rid][0]
        return nxt if len(ins[nxt]) == 1 and nxt != rid else None

    linked = {n for n in (next_of(r) for r in routines) if n is not None}
    found: list[list[str]] = []
    for rid in routines:
        if rid in linked:  # not the head of a chain
            continue
        run = [rid]
        seen = {rid}
        while (nxt := next_of(run[-1])) is not None and nxt not in seen:
            run.append(nxt)
            seen.add(nxt)
        if len(run) >= min_length:
            found.append(run)
    return found


def collapse_chains(
    flow_dict: Mapping[str, Any],
    expanded: Collection[str] = (),
    min_length: int = MIN_CHAIN,
    collapse_over: int = COLLAPSE_OVER,
) -> dict[str, Any]:
    """``flow_dict`` with long chains replaced by summary routines (see the module doc)."""
    routines: Mapping[str, Mapping[str, Any]] = flow_dict.get("routines") or {}
    if len(routines) <= collapse_over:
        return dict(flow_dict)
    group_of: dict[str, str] = {}
    summaries: dict[str, dict[str, Any]] = {}
    for run in chains(flow_dict, min_length):
        gid = f"{run[0]}…{run[-1]}"
        while gid in routines:
            gid += "·"
        if gid in expanded:
            continue
        first, last = routines[run[0]], routines[run[-1]]
        summaries[gid] = {
            "routine_id": gid,
            "class_name": f"{len(run)} routines",
            "slots": list(first.get("slots") or []),
            "events": list(last.get("events") or []),
            "members": list(run),
        }
        group_of.update((rid, gid) for rid in run)
    if not summaries:
        return dict(flow_dict)
    out_routines: dict[str, Any] = {}
    for rid, routine in routines.items():
        group = group_of.get(rid)
        if group is None:
            out_routines[rid] = routine
        elif group not in out_routines:
            out_routines[group] = summaries[group]
    connections = []
    for c in flow_dict.get("connections") or []:
        src = group_of.get(c.get("source_routine"), c.get("source_routine"))
        dst = group_of.get(c.get("target_routine"), c.get("target_routine"))
        if src == dst and src in summaries:
            continue  # inside a chain
        connections.append({**c, "source_routine": src, "target_routine": dst})
    return {**flow_dict, "routines": out_routines, "connections": connections}

"""Execution events: one tuple per event on the hot path, objects only when read.

The engine records events as tuples ``(seq, ts, event_type, routine_id, job_id, detail,
payload, duration, status)`` in bounded ring buffers; :class:`ExecutionEvent` and DataFrames
are built from them on demand, so recording costs an append.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from routilux_nb.core.clock import iso

__all__ = ["EVENT_TYPES", "TRACE_COLUMNS", "ExecutionEvent", "TraceBuffer", "bus_message", "next_seq",
           "summarize"]

EVENT_TYPES = (
    "job_start", "job_status", "job_end", "routine_start", "routine_end", "slot_call",
    "event_emit", "routine_error", "routine_retry", "breakpoint_hit", "breakpoint_release",
    "items_discarded", "routine_skipped", "worker_status",
)
TRACE_COLUMNS = ["seq", "event_id", "job_id", "routine_id", "event_type", "timestamp", "detail",
                 "data", "duration", "status"]

next_seq = itertools.count(1).__next__


def summarize(value: Any, limit: int = 200, _depth: int = 0) -> Any:
    """A short JSON-able summary of a payload (deep structures and long strings cut)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "…"
    if isinstance(value, (dict, list, tuple)) and _depth >= 16:
        return f"<{type(value).__name__} of {len(value)} items, nested too deep to show>"
    if isinstance(value, dict):
        items = list(value.items())[:20]
        out = {str(k): summarize(v, limit // 2 or 1, _depth + 1) for k, v in items}
        if len(value) > 20:
            out["…"] = f"{len(value) - 20} more keys"
        return out
    if isinstance(value, (list, tuple)):
        out_list = [summarize(v, limit // 2 or 1, _depth + 1) for v in list(value)[:10]]
        if len(value) > 10:
            out_list.append(f"… {len(value) - 10} more")
        return out_list
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def bus_message(rec: tuple[Any, ...], worker_id: str | None, flow_id: str | None) -> dict[str, Any]:
    """A trace record as the event bus (and the WebSockets) carry it."""
    seq, ts, etype, rid, jid, detail, payload, duration, status = rec
    return {"seq": seq, "type": etype, "timestamp": iso(ts), "job_id": jid, "worker_id": worker_id,
            "flow_id": flow_id, "routine_id": rid, "detail": detail, "data": summarize(payload),
            "duration": duration, "status": status}


@dataclass(frozen=True)
class ExecutionEvent:
    """One recorded event (the spec's fields, plus ``seq`` and ``detail``)."""

    seq: int
    event_id: str
    job_id: str | None
    routine_id: str | None
    event_type: str
    timestamp: str
    detail: str | None
    data: Any
    duration: float | None
    status: str | None

    @classmethod
    def from_record(cls, r: tuple[Any, ...]) -> ExecutionEvent:
        seq, ts, etype, rid, jid, detail, payload, duration, status = r
        return cls(seq, f"evt-{seq}", jid, rid, etype, iso(ts) or "", detail, summarize(payload),
                   duration, status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "event_id": self.event_id, "job_id": self.job_id,
            "routine_id": self.routine_id, "event_type": self.event_type,
            "timestamp": self.timestamp, "detail": self.detail, "data": self.data,
            "duration": self.duration, "status": self.status,
        }


class TraceBuffer:
    """A bounded ring of event records, newest kept; ``total`` counts every event ever added."""

    __slots__ = ("_ring", "total")

    def __init__(self, size: int) -> None:
        self._ring: deque[tuple[Any, ...]] = deque(maxlen=size)
        self.total = 0

    def add(self, record: tuple[Any, ...]) -> None:
        self._ring.append(record)
        self.total += 1

    @property
    def maxlen(self) -> int:
        return self._ring.maxlen or 0

    def records(self, limit: int | None = None, since: int | None = None) -> list[tuple[Any, ...]]:
        rows = sorted(self._ring)  # by seq, whatever thread appended first
        if since is not None:
            rows = [r for r in rows if r[0] > since]
        if limit is not None:
            rows = rows[len(rows) - limit:] if limit > 0 else []
        return rows

    def events(self, limit: int | None = None, since: int | None = None) -> list[ExecutionEvent]:
        return [ExecutionEvent.from_record(r) for r in self.records(limit, since)]

    def to_list(self, limit: int | None = None) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.events(limit)]

    def to_pandas(self, limit: int | None = None) -> Any:
        """DataFrame with :data:`TRACE_COLUMNS`; ``timestamp`` is ``datetime64[ns, UTC]``."""
        from .frames import trace_frame

        return trace_frame(self.records(limit))

    def __len__(self) -> int:
        return len(self._ring)

    def __iter__(self) -> Iterable[ExecutionEvent]:  # type: ignore[override]
        return iter(self.events())

    def __repr__(self) -> str:
        return f"Trace(events={len(self._ring)}, total={self.total}, maxlen={self.maxlen})"

    def _repr_html_(self) -> str:
        from routilux_nb.notebook.reprs import html_for

        return html_for(self)

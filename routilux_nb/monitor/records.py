"""Read-side views of recorded events: :class:`TraceRecord`, :class:`ExecutionEvent`, the
event-bus message, and :func:`summarize`, the short form of a payload they carry.

Payload summaries are JSON-able and short: long strings and deep or wide structures are cut,
and a pandas DataFrame/Series or numpy array becomes its summary
(``{"__type__": "DataFrame", "summary": "DataFrame 50×15", "shape": [50, 15], "dtypes":
{...}}``, see :mod:`routilux_nb.core.payloads`) instead of a repr string. DataFrame views of
traces hold :class:`~routilux_nb.core.payloads.PayloadSummary` objects instead (shown as
``DataFrame 50×15``, ``.head()`` on demand).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

from routilux_nb.core.clock import iso
from routilux_nb.core.payloads import describe

__all__ = ["ExecutionEvent", "TraceRecord", "bus_message", "summarize"]


class TraceRecord(NamedTuple):
    """A read-side view of one recorded event (positions as on the hot path)."""

    seq: int
    ts: float
    event_type: str
    routine_id: str | None
    job_id: str | None
    #: slot name, event name, previous status, error type, breakpoint kind or discard reason
    detail: Any
    payload: Any
    duration: float | None
    status: str | None
    #: CPU seconds of the activation's thread (``routine_end`` only)
    cpu_time: float | None = None
    #: seconds the activation's oldest input waited before it started (``routine_end`` only)
    queue_wait: float | None = None


def summarize(value: Any, limit: int = 200, _depth: int = 0, *, objects: bool = False) -> Any:
    """A short JSON-able summary of a payload (deep structures and long strings cut; frames
    and arrays as their summary dict, or, with ``objects``, as ``PayloadSummary`` objects)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "…"
    if isinstance(value, (dict, list, tuple)):
        if _depth >= 16:
            return f"<{type(value).__name__} of {len(value)} items, nested too deep to show>"
        if isinstance(value, dict):
            items = list(value.items())[:20]
            out = {
                str(k): summarize(v, limit // 2 or 1, _depth + 1, objects=objects) for k, v in items
            }
            if len(value) > 20:
                out["…"] = f"{len(value) - 20} more keys"
            return out
        out_list = [
            summarize(v, limit // 2 or 1, _depth + 1, objects=objects) for v in list(value)[:10]
        ]
        if len(value) > 10:
            out_list.append(f"… {len(value) - 10} more")
        return out_list
    summary = describe(value)
    if summary is not None:
        return summary if objects else summary.to_dict()
    if isinstance(value, (dt.datetime, dt.date)) and value == value:  # Timestamps too, not NaT
        return value.isoformat()
    if type(value).__module__ == "numpy" and hasattr(value, "item"):  # numpy scalars
        try:
            return summarize(value.item(), limit, _depth, objects=objects)
        except Exception:  # an odd scalar: shown by its repr below
            pass
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def bus_message(rec: tuple[Any, ...], worker_id: str | None, flow_id: str | None) -> dict[str, Any]:
    """A trace record as the event bus (and the WebSockets) carry it."""
    r = rec if isinstance(rec, TraceRecord) else TraceRecord(*rec)
    msg = {
        "seq": r.seq,
        "type": r.event_type,
        "timestamp": iso(r.ts),
        "job_id": r.job_id,
        "worker_id": worker_id,
        "flow_id": flow_id,
        "routine_id": r.routine_id,
        "detail": r.detail,
        "data": summarize(r.payload),
        "duration": r.duration,
        "status": r.status,
    }
    if r.cpu_time is not None:
        msg["cpu_time"] = r.cpu_time
        msg["queue_wait"] = r.queue_wait
    return msg


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

    cpu_time: float | None = None
    queue_wait: float | None = None

    @classmethod
    def from_record(cls, r: tuple[Any, ...]) -> ExecutionEvent:
        v = r if isinstance(r, TraceRecord) else TraceRecord(*r)
        return cls(
            v.seq,
            f"evt-{v.seq}",
            v.job_id,
            v.routine_id,
            v.event_type,
            iso(v.ts) or "",
            v.detail,
            summarize(v.payload),
            v.duration,
            v.status,
            v.cpu_time,
            v.queue_wait,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "job_id": self.job_id,
            "routine_id": self.routine_id,
            "event_type": self.event_type,
            "timestamp": self.timestamp,
            "detail": self.detail,
            "data": self.data,
            "duration": self.duration,
            "status": self.status,
            "cpu_time": self.cpu_time,
            "queue_wait": self.queue_wait,
        }

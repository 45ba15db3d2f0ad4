"""Per-routine counters, counted from trace entries when they are read.

While a job runs, the recorder keeps no counter objects for it: each activation appends one
trace entry, and that entry holds everything its counters need (duration, CPU time, queue
wait, error, inputs, emits). A job's counters are the sum over its trace entries plus the
counters of the entries its ring dropped (added up as they are dropped, so they stay exact
whatever ``trace_size`` is). A worker's counters are its finished jobs' (counted once, when
each job finishes) plus its live jobs' (counted when read).

>>> from routilux_nb.monitor.counting import count_entry
>>> out = {}
>>> count_entry(out, (7, 0.0, "routine_end", "fit", "job-1", None, None, 0.5, "ok", 0.4, 0.1))
>>> out["fit"].execution_count, out["fit"].total_cpu_time
(1, 0.4)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .entries import unpacked
from .metrics import RoutineMetrics
from .trace import ACTIVATION

__all__ = [
    "ROUTINE_EVENTS",
    "count_dropped_emits",
    "count_emits",
    "count_entries",
    "count_entry",
]

#: the trace events that belong to a routine (counted in its ``events``)
ROUTINE_EVENTS = frozenset(
    (
        "slot_call",
        "routine_start",
        "event_emit",
        "routine_end",
        "routine_error",
        "routine_retry",
        "routine_skipped",
    )
)


def _metrics(out: dict[str, RoutineMetrics], rid: str) -> RoutineMetrics:
    m = out.get(rid)
    if m is None:
        m = out[rid] = RoutineMetrics(rid)
    return m


def _ran(m: RoutineMetrics, duration: float, ts: float, cpu: float, wait: float | None) -> None:
    m.execution_count += 1
    m.total_duration += duration
    low = m.min_duration
    if low is None or duration < low:
        m.min_duration = duration
    high = m.max_duration
    if high is None or duration > high:
        m.max_duration = duration
    last = m.last_execution
    if last is None or ts > last:
        m.last_execution = ts
    m.total_cpu_time += cpu
    if wait is not None:
        m.total_queue_wait += wait


def count_emits(m: RoutineMetrics, events: Sequence[str]) -> int:
    """Count emits per event name into ``m.emits``; returns how many."""
    counts = m.emits
    if counts is None:
        counts = m.emits = {}
    if len(events) > 8:  # an activation's many emits: counted in C
        for event, n in Counter(events).items():
            counts[event] = counts.get(event, 0) + n
    else:
        for event in events:
            counts[event] = counts.get(event, 0) + 1
    return len(events)


def count_dropped_emits(m: RoutineMetrics, events: Sequence[str]) -> None:
    """Count emits that no ring keeps (an activation noted more than the rings hold)."""
    n = count_emits(m, events)
    m.items_out += n
    m.events += n


def count_entry(out: dict[str, RoutineMetrics], e: tuple[Any, ...]) -> None:
    """Add what one trace entry stands for to the counters in ``out`` (by routine id)."""
    etype = e[2]
    if etype == ACTIVATION:
        m = _metrics(out, e[3])
        _ran(m, e[7], e[9], e[10], e[11])
        if e[8] is not None:
            m.error_count += 1
        m.events += e[13]
        inputs, emits = (e[5], e[6]) if type(e[5]) is not bytes else unpacked(e)
        for items in inputs.values():
            m.items_in += len(items)
        if emits:
            m.items_out += count_emits(m, emits[1::3])
        return
    if etype not in ROUTINE_EVENTS or e[3] is None:
        return  # an event of the job itself
    m = _metrics(out, e[3])
    m.events += 1
    if etype == "event_emit":
        m.items_out += count_emits(m, (e[5],))
    elif etype == "slot_call":
        m.items_in += len(e[6])
    elif etype == "routine_end":
        _ran(m, e[7], e[1], e[9] if len(e) > 9 else 0.0, e[10] if len(e) > 10 else None)
        if e[8] == "error":
            m.error_count += 1


def count_entries(
    out: dict[str, RoutineMetrics],
    entries: Iterable[tuple[Any, ...]],
    dropped: dict[str, RoutineMetrics] | None = None,
    blocked: dict[str, float] | None = None,
) -> None:
    """Add trace entries, the counters of entries a ring dropped, and blocked time to ``out``."""
    if dropped:
        for rid, m in list(dropped.items()):
            _metrics(out, rid).merge(m)
    for e in entries:
        count_entry(out, e)
    if blocked:
        for rid, seconds in list(blocked.items()):
            _metrics(out, rid).total_blocked_time += seconds

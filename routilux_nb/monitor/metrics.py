"""Metrics: per-routine counters for jobs, workers and flows, updated once per activation.

A job's counters are written by one activation at a time per routine (the engine never runs
one job's routine twice at once), so they need no lock; a worker's are the sum of its finished
jobs' (added once, when a job finishes) and of its live jobs' (added when read)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from routilux_nb.core.clock import iso
from routilux_nb.core.display import HtmlRepr

__all__ = ["ErrorRecord", "ExecutionMetrics", "FlowStats", "RoutineMetrics", "unrouted_counts"]


class RoutineMetrics:
    """Counters of one routine (of a job, a worker or a flow), exact whatever the ring sizes.

    ``execution_count, total/avg/min/max duration`` (wall seconds), ``error_count``,
    ``last_execution``; ``total_cpu_time`` (seconds of CPU the activations' threads used) and
    ``total_queue_wait`` (seconds inputs waited before their activation started),
    ``total_blocked_time`` (seconds activations waited for room in full slots: backpressure;
    not part of their duration or CPU time), ``items_in``
    (items taken from slots), ``items_out`` (payloads emitted) and ``emits`` per event name.
    """

    __slots__ = (
        "emits",
        "error_count",
        "events",
        "execution_count",
        "items_in",
        "items_out",
        "last_execution",
        "last_start",
        "max_duration",
        "min_duration",
        "routine_id",
        "running",
        "total_blocked_time",
        "total_cpu_time",
        "total_duration",
        "total_queue_wait",
    )

    def __init__(self, routine_id: str) -> None:
        self.routine_id = routine_id
        self.execution_count = 0
        self.total_duration = 0.0
        self.min_duration: float | None = None
        self.max_duration: float | None = None
        self.error_count = 0
        self.last_execution: float | None = None
        self.total_cpu_time = 0.0
        self.total_queue_wait = 0.0
        self.total_blocked_time = 0.0
        self.items_in = 0
        self.items_out = 0
        #: trace events recorded for the routine's activations (kept in a ring or not)
        self.events = 0
        #: payloads emitted, per event name (``None`` before the first)
        self.emits: dict[str, int] | None = None
        self.last_start: float | None = None
        self.running = False

    def record(self, duration: float, ts: float, error: bool) -> None:
        self.execution_count += 1
        self.total_duration += duration
        if self.min_duration is None or duration < self.min_duration:
            self.min_duration = duration
        if self.max_duration is None or duration > self.max_duration:
            self.max_duration = duration
        if error:
            self.error_count += 1
        self.last_execution = ts

    def merge(self, other: RoutineMetrics) -> None:
        """Add ``other``'s counters to these (a job's into its worker's, workers' into a flow's)."""
        self.execution_count += other.execution_count
        self.total_duration += other.total_duration
        self.error_count += other.error_count
        self.total_cpu_time += other.total_cpu_time
        self.total_queue_wait += other.total_queue_wait
        self.total_blocked_time += other.total_blocked_time
        self.items_in += other.items_in
        self.items_out += other.items_out
        self.events += other.events
        if other.emits:
            mine = self.emits
            if mine is None:
                mine = self.emits = {}
            for event, n in list(other.emits.items()):
                mine[event] = mine.get(event, 0) + n
        low, high = other.min_duration, other.max_duration
        if low is not None and (self.min_duration is None or low < self.min_duration):
            self.min_duration = low
        if high is not None and (self.max_duration is None or high > self.max_duration):
            self.max_duration = high
        last = other.last_execution
        if last is not None and (self.last_execution is None or last > self.last_execution):
            self.last_execution = last

    def copy(self) -> RoutineMetrics:
        out = RoutineMetrics(self.routine_id)
        out.merge(self)
        return out

    @property
    def avg_duration(self) -> float:
        return self.total_duration / self.execution_count if self.execution_count else 0.0

    @property
    def avg_cpu_time(self) -> float:
        return self.total_cpu_time / self.execution_count if self.execution_count else 0.0

    @property
    def avg_queue_wait(self) -> float:
        return self.total_queue_wait / self.execution_count if self.execution_count else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "routine_id": self.routine_id,
            "execution_count": self.execution_count,
            "total_duration": self.total_duration,
            "avg_duration": self.avg_duration,
            "min_duration": self.min_duration,
            "max_duration": self.max_duration,
            "error_count": self.error_count,
            "last_execution": iso(self.last_execution),
            "total_cpu_time": self.total_cpu_time,
            "avg_cpu_time": self.avg_cpu_time,
            "total_queue_wait": self.total_queue_wait,
            "avg_queue_wait": self.avg_queue_wait,
            "total_blocked_time": self.total_blocked_time,
            "items_in": self.items_in,
            "items_out": self.items_out,
        }

    def __repr__(self) -> str:
        return (
            f"RoutineMetrics(routine_id={self.routine_id!r}, execution_count={self.execution_count}, "
            f"error_count={self.error_count})"
        )


class ErrorRecord:
    __slots__ = (
        "error_id",
        "error_message",
        "error_type",
        "job_id",
        "routine_id",
        "strategy",
        "timestamp",
        "traceback",
    )

    def __init__(
        self,
        error_id: str,
        job_id: str,
        routine_id: str,
        timestamp: float,
        error_type: str,
        error_message: str,
        traceback: str,
        strategy: str,
    ) -> None:
        self.error_id, self.job_id, self.routine_id, self.timestamp = (
            error_id,
            job_id,
            routine_id,
            timestamp,
        )
        self.error_type, self.error_message, self.traceback, self.strategy = (
            error_type,
            error_message,
            traceback,
            strategy,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "error_id": self.error_id,
            "job_id": self.job_id,
            "routine_id": self.routine_id,
            "timestamp": iso(self.timestamp),
            "error_type": self.error_type,
            "error_message": self.error_message,
            "traceback": self.traceback,
            "strategy": self.strategy,
        }


class ExecutionMetrics(HtmlRepr):
    """Metrics of one job: routine metrics, counts of events, emits and slot calls, errors.

    A view over the job's counters (``job.metrics``), read when asked: the counts are exact
    whatever the trace ring keeps.
    """

    __slots__ = ("_jm", "job")

    def __init__(self, job: Any, jm: Any) -> None:
        self.job = job
        self._jm = jm

    @property
    def routine_metrics(self) -> dict[str, RoutineMetrics]:
        routines: dict[str, RoutineMetrics] = self._jm.routines
        return routines

    def routine(self, routine_id: str) -> RoutineMetrics:
        metrics: RoutineMetrics = self._jm.routine(routine_id)
        return metrics

    @property
    def errors(self) -> deque[ErrorRecord]:
        errors: deque[ErrorRecord] = self._jm.errors
        return errors

    @property
    def total_events(self) -> int:
        total: int = self._jm.total_events
        return total

    @property
    def total_slot_calls(self) -> int:
        return sum(m.items_in for m in list(self._jm.routines.values()))

    @property
    def total_event_emits(self) -> int:
        return sum(m.items_out for m in list(self._jm.routines.values()))

    @property
    def unrouted(self) -> dict[str, int]:
        """Payloads emitted on events that no connection takes: ``{"routine.event": count}``."""
        return unrouted_counts(self.job.worker.flow, self._jm.routines.values())

    def to_dict(self) -> dict[str, Any]:
        job = self.job
        return {
            "job_id": job.job_id,
            "flow_id": job.flow_id,
            "start_time": iso(job.started_at or job.created_at),
            "end_time": iso(job.completed_at),
            "duration": job.duration,
            "routine_metrics": {rid: m.to_dict() for rid, m in list(self.routine_metrics.items())},
            "total_events": self.total_events,
            "total_slot_calls": self.total_slot_calls,
            "total_event_emits": self.total_event_emits,
            "unrouted_emits": self.unrouted,
            "errors": [e.to_dict() for e in list(self.errors)],
        }

    def to_pandas(self) -> Any:
        """One row per routine: :data:`~routilux_nb.monitor.frames.METRICS_COLUMNS`."""
        from .frames import metrics_frame

        return metrics_frame(list(self.routine_metrics.values()), self.job.worker.flow)

    def __repr__(self) -> str:
        return (
            f"ExecutionMetrics(job_id={self.job.job_id!r}, routines={len(self.routine_metrics)}, "
            f"events={self.total_events}, errors={len(self.errors)})"
        )


def unrouted_counts(flow: Any, metrics: Iterable[RoutineMetrics]) -> dict[str, int]:
    """``{"routine.event": n}`` for emits on events with no outgoing connection."""
    out: dict[str, int] = {}
    for m in list(metrics):
        for event, n in list((m.emits or {}).items()):
            if n and not flow.routes(m.routine_id, event):
                out[f"{m.routine_id}.{event}"] = out.get(f"{m.routine_id}.{event}", 0) + n
    return out


class FlowStats:
    """Job outcome counters of a flow, kept even after finished jobs are evicted."""

    __slots__ = ("cancelled", "completed", "failed", "flow_id", "recent", "total", "total_duration")

    def __init__(self, flow_id: str, recent: int = 1000) -> None:
        self.flow_id = flow_id
        self.total = self.completed = self.failed = self.cancelled = 0
        self.total_duration = 0.0
        self.recent: deque[tuple[str, float | None, str]] = deque(maxlen=recent)

    def record(self, job_id: str, status: str, duration: float | None) -> None:
        self.total += 1
        if status == "completed":
            self.completed += 1
        elif status == "failed":
            self.failed += 1
        else:
            self.cancelled += 1
        if duration is not None:
            self.total_duration += duration
        self.recent.append((job_id, duration, status))

    def to_dict(self) -> dict[str, Any]:
        finished = self.completed + self.failed
        return {
            "flow_id": self.flow_id,
            "total_jobs": self.total,
            "completed_jobs": self.completed,
            "failed_jobs": self.failed,
            "cancelled_jobs": self.cancelled,
            "success_rate": round(self.completed / finished, 4) if finished else None,
            "average_duration": self.total_duration / self.total if self.total else None,
            "job_metrics": [
                {"job_id": j, "duration": d, "status": s} for j, d, s in list(self.recent)
            ],
        }

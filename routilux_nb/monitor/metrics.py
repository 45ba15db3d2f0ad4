"""Metrics: per-routine counters for jobs, workers and flows, updated once per activation."""

from __future__ import annotations

from collections import deque
from typing import Any

from routilux_nb.core.clock import iso

__all__ = ["ErrorRecord", "ExecutionMetrics", "FlowStats", "RoutineMetrics"]


class RoutineMetrics:
    """``execution_count, total/avg/min/max duration, error_count, last_execution`` of a routine."""

    __slots__ = ("error_count", "execution_count", "last_execution", "max_duration", "min_duration",
                 "routine_id", "total_duration")

    def __init__(self, routine_id: str) -> None:
        self.routine_id = routine_id
        self.execution_count = 0
        self.total_duration = 0.0
        self.min_duration: float | None = None
        self.max_duration: float | None = None
        self.error_count = 0
        self.last_execution: float | None = None

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
        self.execution_count += other.execution_count
        self.total_duration += other.total_duration
        self.error_count += other.error_count
        for attr, pick in (("min_duration", min), ("max_duration", max)):
            mine, theirs = getattr(self, attr), getattr(other, attr)
            if theirs is not None:
                setattr(self, attr, theirs if mine is None else pick(mine, theirs))
        if other.last_execution is not None and (self.last_execution is None or other.last_execution > self.last_execution):
            self.last_execution = other.last_execution

    @property
    def avg_duration(self) -> float:
        return self.total_duration / self.execution_count if self.execution_count else 0.0

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
        }

    def __repr__(self) -> str:
        return (f"RoutineMetrics(routine_id={self.routine_id!r}, execution_count={self.execution_count}, "
                f"error_count={self.error_count})")


class ErrorRecord:
    __slots__ = ("error_id", "error_message", "error_type", "job_id", "routine_id", "strategy",
                 "timestamp", "traceback")

    def __init__(self, error_id: str, job_id: str, routine_id: str, timestamp: float, error_type: str,
                 error_message: str, traceback: str, strategy: str) -> None:
        self.error_id, self.job_id, self.routine_id, self.timestamp = error_id, job_id, routine_id, timestamp
        self.error_type, self.error_message, self.traceback, self.strategy = error_type, error_message, traceback, strategy

    def to_dict(self) -> dict[str, Any]:
        return {
            "error_id": self.error_id, "job_id": self.job_id, "routine_id": self.routine_id,
            "timestamp": iso(self.timestamp), "error_type": self.error_type,
            "error_message": self.error_message, "traceback": self.traceback, "strategy": self.strategy,
        }


class ExecutionMetrics:
    """Metrics of one job: routine metrics, counts of events, emits and slot calls, errors."""

    __slots__ = ("errors", "job", "routine_metrics", "total_event_emits", "total_events", "total_slot_calls")

    def __init__(self, job: Any, max_errors: int = 100) -> None:
        self.job = job
        self.routine_metrics: dict[str, RoutineMetrics] = {}
        self.total_events = 0
        self.total_slot_calls = 0
        self.total_event_emits = 0
        self.errors: deque[ErrorRecord] = deque(maxlen=max_errors)

    def routine(self, routine_id: str) -> RoutineMetrics:
        m = self.routine_metrics.get(routine_id)
        if m is None:
            m = self.routine_metrics[routine_id] = RoutineMetrics(routine_id)
        return m

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
            "errors": [e.to_dict() for e in list(self.errors)],
        }

    def to_pandas(self) -> Any:
        """One row per routine: :data:`~routilux_nb.monitor.frames.METRICS_COLUMNS`."""
        from .frames import metrics_frame

        return metrics_frame(list(self.routine_metrics.values()))

    def __repr__(self) -> str:
        return (f"ExecutionMetrics(job_id={self.job.job_id!r}, routines={len(self.routine_metrics)}, "
                f"events={self.total_events}, errors={len(self.errors)})")

    def _repr_html_(self) -> str:
        from routilux_nb.notebook.reprs import html_for

        return html_for(self)


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
            "job_metrics": [{"job_id": j, "duration": d, "status": s} for j, d, s in list(self.recent)],
        }

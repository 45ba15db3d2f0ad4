"""Read models over what the recorder keeps: the shapes the REST API and the notebook read.

Nothing here runs on the engine's hot paths; every method copies what it reads, so a query
never blocks the recorder for longer than one copy.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from routilux_nb.core.clock import iso, now
from routilux_nb.core.display import HtmlRepr

from .metrics import FlowStats, RoutineMetrics, unrouted_counts
from .trace import Ring, TraceRecord, summarize

if TYPE_CHECKING:
    from routilux_nb.core.job import JobContext
    from routilux_nb.core.worker import Worker

    from .state import WorkerMonitor

__all__ = ["History", "Queries"]


class History(HtmlRepr):
    """A worker's execution history: its last emits, ``Monitor(history_size=...)`` of them
    (default 1000), whatever job they belong to."""

    def __init__(self, ring: Ring, worker_id: str, total: int = 0) -> None:
        self._ring = ring
        self.worker_id = worker_id
        #: emits the worker made in all (kept or not)
        self.total = total

    @property
    def truncated(self) -> bool:
        """True once older emits fell out (raise ``Monitor(history_size=...)``)."""
        return self.total > len(self._ring)

    def records(self, routine_id: str | None = None) -> list[TraceRecord]:
        rows = self._ring.records(emits_only=True)
        return rows if routine_id is None else [r for r in rows if r.routine_id == routine_id]

    def to_list(
        self, routine_id: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Newest first: ``seq, routine_id, job_id, event_name, data, timestamp``."""
        rows = self.records(routine_id)[::-1][offset : None if limit is None else offset + limit]
        return [
            {
                "seq": r.seq,
                "routine_id": r.routine_id,
                "job_id": r.job_id,
                "event_name": r.detail,
                "data": summarize(r.payload),
                "timestamp": iso(r.ts),
            }
            for r in rows
        ]

    def to_pandas(self, routine_id: str | None = None) -> Any:
        """:data:`~routilux_nb.monitor.frames.HISTORY_COLUMNS`; ``attrs["truncated"]`` when cut."""
        from .frames import history_frame

        return history_frame(self.records(routine_id), truncated=self.truncated)

    def __len__(self) -> int:
        return len(self._ring)

    def __repr__(self) -> str:
        return f"History(worker_id={self.worker_id!r}, entries={len(self._ring)})"


class Queries:
    """Read models (mixed into ``Monitor``)."""

    workers: dict[str, WorkerMonitor]
    flow_stats: dict[str, FlowStats]
    runtime: Any
    _fold_lock: threading.Lock

    def _wm(self, worker_id: str) -> WorkerMonitor:
        raise NotImplementedError

    def job_routine_status(self, job: JobContext) -> dict[str, dict[str, Any]]:
        """Per routine of the job's flow: is_active, status, counts (``GET /jobs/{id}/routines/status``)."""
        flow = job.worker.flow
        metrics = job.monitor.routines
        parked_at = {p.routine_id for p in job.parked}
        out = {}
        for rid in flow.routines:
            m = metrics.get(rid)
            running = m is not None and m.running
            status = (
                "paused"
                if rid in parked_at
                else "running"
                if running
                else "error"
                if m is not None and m.error_count
                else "completed"
                if m is not None and m.execution_count
                else "idle"
            )
            out[rid] = {
                "routine_id": rid,
                "is_active": running,
                "status": status,
                "last_execution_time": iso(m.last_execution) if m else None,
                "execution_count": m.execution_count if m else 0,
                "error_count": m.error_count if m else 0,
                "active_thread_count": 1 if running else 0,
            }
        return out

    def job_monitoring(self, job: JobContext) -> dict[str, Any]:
        """Everything about a job's routines at once (``GET /jobs/{id}/monitoring``)."""
        flow = job.worker.flow
        statuses = self.job_routine_status(job)
        queues = job.worker.queue_status(job.job_id)
        routines = {
            rid: {
                "routine_id": rid,
                "execution_status": statuses[rid],
                "queue_status": queues.get(rid, []),
                "info": r.info(),
            }
            for rid, r in flow.routines.items()
        }
        return {
            "job_id": job.job_id,
            "flow_id": job.flow_id,
            "job_status": job.status,
            "routines": routines,
            "updated_at": iso(now()),
        }

    def worker_routines(self, worker: Worker) -> dict[str, RoutineMetrics]:
        """Exact per-routine counters of a worker: its finished jobs' plus its live jobs'."""
        live = worker.active_jobs
        wm = self._wm(worker.worker_id)
        with self._fold_lock:  # a job is either folded into the worker's counters or added here
            out = {rid: m.copy() for rid, m in list(wm.routines.items())}
            unfolded = [j.monitor for j in live if j.monitor is not None and not j.monitor.folded]
        for jm in unfolded:
            for rid, m in list(jm.routines.items()):
                total = out.get(rid)
                if total is None:
                    total = out[rid] = RoutineMetrics(rid)
                total.merge(m)
        return out

    def worker_history(self, worker: Worker) -> History:
        wm = self._wm(worker.worker_id)
        emitted = sum(m.items_out for m in self.worker_routines(worker).values())
        return History(wm.history, worker.worker_id, emitted)

    def _running(self, worker: Worker) -> dict[str, int]:
        """Routine id -> activations running now, over the worker's live jobs."""
        out: dict[str, int] = {}
        for job in worker.active_jobs:
            jm = job.monitor
            if jm is None:
                continue
            for rid, m in list(jm.routines.items()):
                if m.running:
                    out[rid] = out.get(rid, 0) + 1
        return out

    def routine_states(self, worker: Worker) -> dict[str, dict[str, Any]]:
        wm = self._wm(worker.worker_id)
        running = self._running(worker)
        totals = self.worker_routines(worker)
        out = {}
        for rid in worker.flow.routines:
            m = totals.get(rid)
            active = running.get(rid, 0)
            status = "running" if active else ("error" if rid in wm.last_error else "idle")
            out[rid] = {
                "status": status,
                "execution_count": m.execution_count if m else 0,
                "error_count": m.error_count if m else 0,
                "active": active,
                "last_execution": iso(m.last_execution) if m else None,
                "last_error": wm.last_error.get(rid),
            }
        return out

    def worker_statistics(self, worker: Worker) -> dict[str, Any]:
        wm = self._wm(worker.worker_id)
        processed, failed = worker.jobs_processed, worker.jobs_failed
        durations = [
            j.duration for j in list(wm.recent_jobs) if j.is_finished and j.duration is not None
        ]
        routines = list(self.worker_routines(worker).items())
        return {
            "worker_id": worker.worker_id,
            "flow_id": worker.flow_id,
            "jobs_processed": processed,
            "jobs_failed": failed,
            "success_rate": round((processed - failed) / processed, 4) if processed else None,
            "average_job_duration": sum(durations) / len(durations) if durations else None,
            "total_execution_time": sum(m.total_duration for _, m in routines),
            "total_cpu_time": sum(m.total_cpu_time for _, m in routines),
            "unrouted_emits": unrouted_counts(worker.flow, [m for _, m in routines]),
            "routine_statistics": {
                rid: {
                    "execution_count": m.execution_count,
                    "total_duration": m.total_duration,
                    "avg_duration": m.avg_duration,
                    "error_count": m.error_count,
                    "total_cpu_time": m.total_cpu_time,
                    "avg_cpu_time": m.avg_cpu_time,
                    "total_queue_wait": m.total_queue_wait,
                    "avg_queue_wait": m.avg_queue_wait,
                    "total_blocked_time": m.total_blocked_time,
                    "items_in": m.items_in,
                    "items_out": m.items_out,
                }
                for rid, m in routines
            },
        }

    def flow_metrics(self, flow_id: str) -> dict[str, Any]:
        stats = self.flow_stats.get(flow_id) or FlowStats(flow_id)
        out = stats.to_dict()
        merged = self.routine_totals(flow_id=flow_id)
        out["routine_metrics"] = {rid: m.to_dict() for rid, m in merged.items()}
        return out

    def routine_totals(self, *, flow_id: str | None = None) -> dict[str, RoutineMetrics]:
        """Exact per-routine counters summed over the runtime's workers (of one flow if given)."""
        merged: dict[str, RoutineMetrics] = {}
        rt = self.runtime
        for wid in list(self.workers):
            w = rt.workers.get(wid) if rt is not None else None
            if w is None or (flow_id is not None and w.flow_id != flow_id):
                continue
            for rid, m in self.worker_routines(w).items():
                merged.setdefault(rid, RoutineMetrics(rid)).merge(m)
        return merged

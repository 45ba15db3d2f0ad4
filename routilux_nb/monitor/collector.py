"""The monitor: the engine's observer, and the Python API of everything it records.

Recording is one tuple and a few counter updates per hook; nothing here hops threads or
blocks. Every buffer is bounded: ``trace_size`` events per job, ``history_size`` emits per
worker, ``bus_retain`` events for resuming subscribers.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from routilux_nb.core.clock import iso, now
from routilux_nb.core.hooks import NullMonitor
from routilux_nb.core.job import FINISHED

from .breakpoints import Breakpoint, BreakpointManager
from .bus import EventBus, Subscription
from .debug import DebugSession
from .metrics import ErrorRecord, ExecutionMetrics, FlowStats, RoutineMetrics
from .output import JobOutput, _Router, install_output_router
from .snapshots import SnapshotStream, Ticker
from .trace import TraceBuffer, bus_message, next_seq, summarize

if TYPE_CHECKING:
    from routilux_nb.core.context import ActivationContext
    from routilux_nb.core.job import JobContext, Parked
    from routilux_nb.core.worker import Worker

_NOTED_MAX = 4096

__all__ = ["History", "JobMonitor", "Monitor", "MonitorCollector", "WorkerMonitor"]


class JobMonitor:
    """What the monitor keeps for one job (``job.monitor``)."""

    __slots__ = ("_output", "debug", "metrics", "output_limit", "trace")

    def __init__(self, job: JobContext, trace_size: int, output_limit: int) -> None:
        self.trace = TraceBuffer(trace_size)
        self.metrics = ExecutionMetrics(job)
        self.output_limit = output_limit
        self._output: JobOutput | None = None
        self.debug: DebugSession | None = None

    @property
    def output(self) -> JobOutput:
        out = self._output
        if out is None:
            out = self._output = JobOutput(self.output_limit)
        return out


class History:
    """A worker's execution history: the last emits (``routine_id, event_name, data, timestamp``)."""

    def __init__(self, records: deque[tuple[Any, ...]], worker_id: str) -> None:
        self._records = records
        self.worker_id = worker_id

    def records(self, routine_id: str | None = None) -> list[tuple[Any, ...]]:
        rows = sorted(self._records)  # by seq, whatever thread appended first
        return rows if routine_id is None else [r for r in rows if r[3] == routine_id]

    def to_list(self, routine_id: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        rows = self.records(routine_id)[::-1][offset:None if limit is None else offset + limit]
        return [{"seq": r[0], "routine_id": r[3], "job_id": r[4], "event_name": r[5],
                 "data": summarize(r[6]), "timestamp": iso(r[1])} for r in rows]

    def to_pandas(self, routine_id: str | None = None) -> Any:
        from .frames import history_frame

        return history_frame(self.records(routine_id))

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"History(worker_id={self.worker_id!r}, entries={len(self._records)})"

    def _repr_html_(self) -> str:
        from routilux_nb.notebook.reprs import html_for

        return html_for(self)


class WorkerMonitor:
    __slots__ = ("active", "history", "last_error", "recent_jobs", "routines", "status_changed_at")

    def __init__(self, history_size: int) -> None:
        self.history: deque[tuple[Any, ...]] = deque(maxlen=history_size)
        self.routines: dict[str, RoutineMetrics] = {}
        self.active: dict[str, int] = {}
        self.last_error: dict[str, str] = {}
        self.recent_jobs: deque[JobContext] = deque(maxlen=50)
        self.status_changed_at = now()

    def routine(self, rid: str) -> RoutineMetrics:
        m = self.routines.get(rid)
        if m is None:
            m = self.routines[rid] = RoutineMetrics(rid)
        return m


class Monitor(NullMonitor):
    """Observer of one runtime; reach it as ``runtime.monitor``."""

    enabled = True

    def __init__(self, *, trace_size: int = 1000, history_size: int = 1000, bus_retain: int = 10_000,
                 output_limit: int = 1_000_000, capture_output: bool = True) -> None:
        self.trace_size = trace_size
        self.history_size = history_size
        self.output_limit = output_limit
        self.capture_output = capture_output
        self.breakpoints = BreakpointManager(on_change=self._set_armed)
        self.bus = EventBus(bus_retain)
        self.ticker = Ticker()
        self.flow_stats: dict[str, FlowStats] = {}
        self.workers: dict[str, WorkerMonitor] = {}
        self.runtime: Any = None
        self.changed = threading.Condition()
        self.armed = False
        self._publish_lock = threading.Lock()
        self._stdout: Any = None
        self.started_at = now()

    # -- hooks ---------------------------------------------------------------------------
    def attach(self, runtime: Any) -> None:
        self.runtime = runtime

    def _wm(self, worker_id: str) -> WorkerMonitor:
        wm = self.workers.get(worker_id)
        if wm is None:
            wm = self.workers[worker_id] = WorkerMonitor(self.history_size)
        return wm

    def _record(self, job: JobContext, ts: float, etype: str, rid: str | None, detail: Any,
                payload: Any, duration: float | None, status: str | None, *, history: bool = False) -> int:
        """Record one event of a job; returns its seq. While anyone listens on the bus, taking
        the seq and publishing happen under one lock so subscribers see seqs in order."""
        jm = job.monitor
        if self.bus.active:
            with self._publish_lock:
                rec = (next_seq(), ts, etype, rid, job.job_id, detail, payload, duration, status)
                self._publish(rec, job.worker_id, job.flow_id)
        else:
            rec = (next_seq(), ts, etype, rid, job.job_id, detail, payload, duration, status)
        trace = jm.trace
        trace._ring.append(rec)
        trace.total += 1
        jm.metrics.total_events += 1
        if history:
            self.workers[job.worker_id].history.append(rec)
        return rec[0]

    def _publish(self, rec: tuple[Any, ...], worker_id: str | None, flow_id: str | None) -> None:
        self.bus.publish(bus_message(rec, worker_id, flow_id))

    def job_created(self, job: JobContext) -> None:
        job.monitor = JobMonitor(job, self.trace_size, self.output_limit)
        self._wm(job.worker_id).recent_jobs.append(job)
        self._record(job, job.created_at, "job_start", job.entry[0] if job.entry else None, None,
                     job.metadata or None, None, job.status)

    def job_status(self, job: JobContext, old: str) -> None:
        status = job.status
        finished = status in FINISHED
        self._record(job, now(), "job_end" if finished else "job_status", None, old, job.error,
                     job.duration if finished else None, status)
        if finished:
            stats = self.flow_stats.get(job.flow_id)
            if stats is None:
                stats = self.flow_stats[job.flow_id] = FlowStats(job.flow_id)
            stats.record(job.job_id, status, job.duration)
        if finished or status == "paused":
            with self.changed:
                self.changed.notify_all()

    def activation_start(self, act: ActivationContext) -> None:
        if self.capture_output and sys.stdout is not self._stdout:
            install_output_router()
            self._stdout = sys.stdout if isinstance(sys.stdout, _Router) else None
        job = act.job
        rid = act.routine.routine_id
        active = self.workers[job.worker_id].active
        active[rid] = active.get(rid, 0) + 1
        ts = now()
        metrics = job.monitor.metrics
        record = self._record
        for slot, items in act.inputs.items():
            metrics.total_slot_calls += len(items)
            record(job, ts, "slot_call", rid, slot, items, None, None)
        record(job, ts, "routine_start", rid, None, None, None, f"attempt {act.attempt}" if act.attempt else None)

    def activation_end(self, act: ActivationContext, duration: float, error: BaseException | None) -> None:
        if act.recorded:
            self._write_emits(act)
        job = act.job
        rid = act.routine.routine_id
        ts = now()
        failed = error is not None
        if failed:
            self._record(job, ts, "routine_end", rid, None, repr(error), duration, "error")
        else:
            self._record(job, ts, "routine_end", rid, None, None, duration, "ok")
        routines = job.monitor.metrics.routine_metrics
        m = routines.get(rid)
        if m is None:
            m = routines[rid] = RoutineMetrics(rid)
        m.record(duration, ts, failed)
        wm = self.workers[job.worker_id]
        wm.routine(rid).record(duration, ts, failed)
        wm.active[rid] -= 1

    def emit(self, act: ActivationContext, event: str, payload: dict[str, Any]) -> None:
        """Note the emit on the activation (time taken now); written out at its end."""
        if self.bus.active:
            job = act.job
            job.monitor.metrics.total_event_emits += 1
            self._record(job, now(), "event_emit", act.routine.routine_id, event, payload, None, None,
                         history=True)
            return
        noted = act.recorded
        if noted is None:
            noted = act.recorded = []
        noted.append((now(), event, payload))
        if len(noted) >= _NOTED_MAX:  # bounded, however much one activation emits
            self._write_emits(act)

    def _write_emits(self, act: ActivationContext) -> None:
        """Emit records of an activation, built only for what the bounded rings keep."""
        noted = act.recorded
        act.recorded = None
        job = act.job
        jm = job.monitor
        n = len(noted)
        metrics = jm.metrics
        metrics.total_events += n
        metrics.total_event_emits += n
        trace = jm.trace
        trace.total += n
        history = self.workers[job.worker_id].history
        keep = max(trace.maxlen, history.maxlen or 0)
        rid, jid = act.routine.routine_id, job.job_id
        # seqs are taken now, in the order records enter the rings, so a reader resuming
        # "after seq N" never misses an emit written later with a smaller seq
        records = [(next_seq(), ts, "event_emit", rid, jid, event, payload, None, None)
                   for ts, event, payload in noted[-keep:]]
        trace._ring.extend(records)
        history.extend(records)

    def routine_error(self, act: ActivationContext, error: BaseException, tb: str, strategy: str) -> None:
        job = act.job
        rid = act.routine.routine_id
        ts = now()
        if strategy == "skip":  # a skipped activation is recorded, not counted as an error
            self._record(job, ts, "routine_skipped", rid, type(error).__name__, str(error), None, strategy)
            return
        etype = "routine_retry" if strategy == "retry" else "routine_error"
        seq = self._record(job, ts, etype, rid, type(error).__name__, str(error), None, strategy)
        job.monitor.metrics.errors.append(ErrorRecord(f"err-{seq}", job.job_id, rid, ts, type(error).__name__,
                                                      str(error), tb, strategy))
        self.workers[job.worker_id].last_error[rid] = f"{type(error).__name__}: {error}"

    def parked(self, parked: Parked) -> None:
        job = parked.job
        self._record(job, now(), "breakpoint_hit", parked.routine_id, parked.kind, parked.payload, None,
                     parked.breakpoint_id)
        with self.changed:
            self.changed.notify_all()

    def unparked(self, parked: Parked, action: str) -> None:
        job = parked.job
        self._record(job, now(), "breakpoint_release", parked.routine_id, parked.kind,
                     parked.payload if action == "drop" else None, None, action)

    def discarded(self, job: JobContext, count: int, reason: str) -> None:
        self._record(job, now(), "items_discarded", None, reason, count, None, None)

    def worker_status(self, worker: Worker, old: str) -> None:
        self._wm(worker.worker_id).status_changed_at = now()
        if self.bus.active:
            with self._publish_lock:
                self._publish((next_seq(), now(), "worker_status", None, None, old, None, None, worker.status),
                              worker.worker_id, worker.flow_id)

    def check(self, kind: str, job: JobContext, routine_id: str, name: str | None, payload: Any,
              connection_index: int | None = None) -> str | None:
        return self.breakpoints.check(kind, job, routine_id, name, payload, connection_index)

    def shutdown(self) -> None:
        self.ticker.shutdown()

    # -- breakpoints and debugging -------------------------------------------------------
    def _set_armed(self, armed: bool) -> None:
        self.armed = armed

    def add_breakpoint(self, type: str, routine_id: str | None = None, *, slot_name: str | None = None,
                       event_name: str | None = None, target_routine: str | None = None,
                       condition: str | Callable[..., Any] | None = None, enabled: bool = True,
                       job: Any = None, worker: Any = None, flow: Any = None) -> Breakpoint:
        """Add a breakpoint for a job, a worker's jobs, a flow's jobs or (none given) every job.

        Routine, slot and event names are checked against the flow; an unsafe or invalid
        string condition raises ``ExpressionError`` (a ``ValueError``).
        """
        job_id = getattr(job, "job_id", job)
        worker_id = getattr(worker, "worker_id", worker)
        flow_id = getattr(flow, "flow_id", flow)
        target_flow = self._flow_of(job_id, worker_id, flow_id)
        bp = Breakpoint(type, routine_id, slot_name, event_name, target_routine, condition, enabled,
                        job_id, worker_id, flow_id)
        if target_flow is not None:
            _check_against_flow(bp, target_flow)
        return self.breakpoints.add(bp)

    def remove_breakpoint(self, breakpoint_id: str) -> Breakpoint:
        return self.breakpoints.remove(breakpoint_id)

    def set_breakpoint_enabled(self, breakpoint_id: str, enabled: bool) -> Breakpoint:
        return self.breakpoints.set_enabled(breakpoint_id, enabled)

    def _flow_of(self, job_id: str | None, worker_id: str | None, flow_id: str | None) -> Any:
        rt = self.runtime
        if rt is None:
            return None
        if job_id is not None:
            return rt.get_job(job_id).worker.flow
        if worker_id is not None:
            return rt.get_worker(worker_id).flow
        if flow_id is not None:
            return rt.get_flow(flow_id)
        return None

    def debug_session(self, job: JobContext) -> DebugSession:
        jm = job.monitor
        if jm.debug is None:
            jm.debug = DebugSession(job, self.changed)
        return jm.debug

    def paused_jobs(self) -> list[JobContext]:
        rt = self.runtime
        return [j for j in rt.jobs() if j.parked] if rt is not None else []

    # -- queries -------------------------------------------------------------------------
    def subscribe(self, *, since: int | None = None, **filters: Any) -> Subscription:
        return self.bus.subscribe(since=since, **filters)

    def job_routine_status(self, job: JobContext) -> dict[str, dict[str, Any]]:
        """Per routine of the job's flow: is_active, status, counts (``GET /jobs/{id}/routines/status``)."""
        flow = job.worker.flow
        metrics = job.monitor.metrics.routine_metrics
        parked_at = {p.routine_id for p in job.parked}
        out = {}
        for rid in flow.routines:
            m = metrics.get(rid)
            running = job._keys.get(rid) == 2
            status = ("paused" if rid in parked_at else "running" if running
                      else "error" if m is not None and m.error_count else
                      "completed" if m is not None and m.execution_count else "idle")
            out[rid] = {
                "routine_id": rid, "is_active": running, "status": status,
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
            rid: {"routine_id": rid, "execution_status": statuses[rid], "queue_status": queues.get(rid, []),
                  "info": r.info()}
            for rid, r in flow.routines.items()
        }
        return {"job_id": job.job_id, "flow_id": job.flow_id, "job_status": job.status,
                "routines": routines, "updated_at": iso(now())}

    def worker_history(self, worker: Worker) -> History:
        return History(self._wm(worker.worker_id).history, worker.worker_id)

    def routine_states(self, worker: Worker) -> dict[str, dict[str, Any]]:
        wm = self._wm(worker.worker_id)
        out = {}
        for rid in worker.flow.routines:
            m = wm.routines.get(rid)
            active = wm.active.get(rid, 0)
            status = "running" if active else ("error" if rid in wm.last_error else "idle")
            out[rid] = {"status": status, "execution_count": m.execution_count if m else 0,
                        "error_count": m.error_count if m else 0, "active": active,
                        "last_execution": iso(m.last_execution) if m else None,
                        "last_error": wm.last_error.get(rid)}
        return out

    def worker_statistics(self, worker: Worker) -> dict[str, Any]:
        wm = self._wm(worker.worker_id)
        processed, failed = worker.jobs_processed, worker.jobs_failed
        durations = [j.duration for j in list(wm.recent_jobs) if j.is_finished and j.duration is not None]
        total_exec = sum(m.total_duration for m in wm.routines.values())
        return {
            "worker_id": worker.worker_id,
            "flow_id": worker.flow_id,
            "jobs_processed": processed,
            "jobs_failed": failed,
            "success_rate": round((processed - failed) / processed, 4) if processed else None,
            "average_job_duration": sum(durations) / len(durations) if durations else None,
            "total_execution_time": total_exec,
            "routine_statistics": {
                rid: {"execution_count": m.execution_count, "total_duration": m.total_duration,
                      "avg_duration": m.avg_duration, "error_count": m.error_count}
                for rid, m in list(wm.routines.items())
            },
        }

    def flow_metrics(self, flow_id: str) -> dict[str, Any]:
        stats = self.flow_stats.get(flow_id) or FlowStats(flow_id)
        out = stats.to_dict()
        merged: dict[str, RoutineMetrics] = {}
        rt = self.runtime
        for wid, wm in list(self.workers.items()):
            w = rt.workers.get(wid) if rt is not None else None
            if w is None or w.flow_id != flow_id:
                continue
            for rid, m in list(wm.routines.items()):
                merged.setdefault(rid, RoutineMetrics(rid)).merge(m)
        out["routine_metrics"] = {rid: m.to_dict() for rid, m in merged.items()}
        return out

    # -- snapshots for views -------------------------------------------------------------
    def snapshot(self, worker: Worker, *, job: JobContext | None = None) -> dict[str, Any]:
        """The state a live view shows (flow graph colours, gauges, jobs, breakpoints)."""
        wm = self._wm(worker.worker_id)
        states = self.routine_states(worker)
        parked = [p for j in ([job] if job else worker.active_jobs) for p in list(j.parked)]
        parked_at = {p.routine_id for p in parked}
        routines = {}
        for rid, st in states.items():
            m = wm.routines.get(rid)
            routines[rid] = {"status": "paused" if rid in parked_at else st["status"],
                             "execution_count": st["execution_count"], "error_count": st["error_count"],
                             "avg_duration": round(m.avg_duration, 6) if m else 0.0, "active": st["active"]}
        queues = {rid: {q["slot_name"]: {k: q[k] for k in ("unconsumed_count", "max_length",
                                                              "usage_percentage", "pressure_level")}
                        for q in qs}
                  for rid, qs in worker.queue_status(job.job_id if job else None).items()}
        jobs_src = [job] if job else list(wm.recent_jobs)
        jobs = {}
        for j in jobs_src:
            rm = j.monitor.metrics.routine_metrics if j.monitor else {}
            jobs[j.job_id] = {"job_id": j.job_id, "status": j.status, "created_at": iso(j.created_at),
                              "elapsed": round(j.duration or 0.0, 3),
                              "routine_counts": {r: m.execution_count for r, m in list(rm.items())},
                              "error": j.error}
        bps = [b.to_dict() for b in self.breakpoints.list()
               if b.applies_to(job) or (job is None and b.worker_id in (None, worker.worker_id)
                                        and b.flow_id in (None, worker.flow_id))] if job else \
              [b.to_dict() for b in self.breakpoints.list(worker_id=worker.worker_id, flow_id=worker.flow_id)]
        return {
            "worker": {"worker_id": worker.worker_id, "flow_id": worker.flow_id, "status": worker.status,
                       "jobs_processed": worker.jobs_processed, "jobs_failed": worker.jobs_failed,
                       "active_jobs": len(worker.active_jobs)},
            "routines": routines,
            "queues": queues,
            "connections": {f"conn_{i}": {"count": c} for i, c in sorted(worker.connection_counts.items())},
            "jobs": jobs,
            "breakpoints": [{k: b[k] for k in ("breakpoint_id", "type", "routine_id", "slot_name",
                                                "event_name", "enabled", "hit_count", "job_id")} for b in bps],
            "paused": [{"job_id": p.job.job_id, "routine_id": p.routine_id, "kind": p.kind,
                        "slot_name": p.slot_name, "event_name": p.event_name} for p in parked],
        }

    def stream(self, callback: Callable[[dict[str, Any]], None], *, worker: Worker,
               job: JobContext | None = None, max_rate_hz: float = 10.0) -> SnapshotStream:
        """Call ``callback(snapshot)`` at most ``max_rate_hz`` times a second while it changes."""
        stream = SnapshotStream(self.ticker, lambda: self.snapshot(worker, job=job), callback, max_rate_hz)
        return self.ticker.add(stream)

    def __repr__(self) -> str:
        return (f"Monitor(workers={len(self.workers)}, breakpoints={len(self.breakpoints.list())}, "
                f"subscribers={self.bus.subscriber_count})")


#: the spec's name for the collector of execution events and metrics
MonitorCollector = Monitor


def _check_against_flow(bp: Breakpoint, flow: Any) -> None:
    for rid in (bp.routine_id, bp.target_routine):
        if rid is not None:
            flow.get_routine(rid)
    if bp.type == "slot" and bp.routine_id:
        flow.get_routine(bp.routine_id).slot(bp.slot_name)
    if bp.type == "event" and bp.routine_id:
        flow.get_routine(bp.routine_id).event(bp.event_name)
    if bp.type == "connection":
        if bp.routine_id and bp.event_name:
            flow.get_routine(bp.routine_id).event(bp.event_name)
        if bp.target_routine and bp.slot_name:
            flow.get_routine(bp.target_routine).slot(bp.slot_name)

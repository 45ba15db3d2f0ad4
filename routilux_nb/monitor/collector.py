"""The monitor: the engine's observer, and the Python API of everything it records.

``Monitor`` is one facade over three parts: the recorder (:mod:`.recorder`, the hooks the
engine calls on its hot paths), the read models (:mod:`.queries`, what the REST API and
the notebook read) and the snapshot builder (:mod:`.snapshots`, what live views show), plus
the breakpoint and debugger controls below.

>>> from routilux_nb import Runtime
>>> from routilux_nb.monitor import Monitor
>>> rt = Runtime(monitor=Monitor(trace_size=10_000, history_size=5_000))
>>> rt.monitor.trace_size
10000
>>> rt.shutdown()
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from routilux_nb.core.clock import now

from .breakpoints import Breakpoint, BreakpointManager
from .bus import EventBus, Subscription
from .debug import DebugSession
from .metrics import FlowStats
from .queries import History, Queries
from .recorder import Recorder
from .snapshots import SnapshotBuilder, Ticker
from .state import Changed, JobMonitor, WorkerMonitor

if TYPE_CHECKING:
    from routilux_nb.core.hooks import MonitorHooks
    from routilux_nb.core.job import JobContext

__all__ = ["History", "JobMonitor", "Monitor", "MonitorCollector", "WorkerMonitor"]


class Monitor(Recorder, Queries, SnapshotBuilder):
    """Observer of one runtime; reach it as ``runtime.monitor``.

    Every buffer is bounded; counters (``job.metrics``, ``worker.statistics()``, the metrics
    frames) are exact whatever the sizes:

    * ``trace_size``: events kept per job (``job.trace``, newest first to go last; default 1000);
    * ``history_size``: emits kept per worker, all jobs together (``worker.history``; default 1000);
    * ``bus_retain``: events kept for subscribers that resume with ``since=seq`` (default 10,000);
    * ``output_limit``: characters of ``print()`` output kept per job (default 1,000,000);
    * ``capture_output``: route ``print()`` inside routines to the job (default on);
    * ``cpu_time``: measure each activation's CPU time (default on; two clock reads of the
      thread per activation, the largest part of monitoring's cost for tiny activations).

    A frame built from a ring that dropped events says so (``frame.attrs["truncated"]`` and a
    warning naming the setting to raise). Create a runtime with bigger rings with
    ``Runtime(monitor=Monitor(trace_size=10_000))``.
    """

    enabled = True

    def __init__(
        self,
        *,
        trace_size: int = 1000,
        history_size: int = 1000,
        bus_retain: int = 10_000,
        output_limit: int = 1_000_000,
        capture_output: bool = True,
        cpu_time: bool = True,
    ) -> None:
        for name, value in (
            ("trace_size", trace_size),
            ("history_size", history_size),
            ("bus_retain", bus_retain),
            ("output_limit", output_limit),
        ):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"Monitor({name}=...) must be an int >= 0, got {value!r}")
        self.trace_size = trace_size
        self.history_size = history_size
        self.output_limit = output_limit
        self.capture_output = capture_output
        self.cpu_time = cpu_time
        self._keep = max(trace_size, history_size)
        #: values an activation notes (three per emit) before it drops the oldest emits
        self._noted_max = 3 * max(4096, 2 * self._keep)
        self.breakpoints = BreakpointManager(on_change=self._set_armed)
        self.bus = EventBus(bus_retain)
        self.ticker = Ticker()
        self.flow_stats: dict[str, FlowStats] = {}
        self.workers: dict[str, WorkerMonitor] = {}
        self.runtime: Any = None
        self.changed = Changed()
        self._fold_lock = threading.Lock()
        self._publish_lock = threading.Lock()
        self.armed = False
        self._stdout: Any = None
        #: jobs seen finishing (to tell whether the runtime evicted some)
        self.jobs_finished = 0
        self.started_at = now()
        self.job_observers: list[Any] = []

    def attach(self, runtime: Any) -> None:
        self.runtime = runtime

    def add_job_observer(self, observer: Any) -> None:
        self.job_observers.append(observer)

    def check(
        self,
        kind: str,
        job: JobContext,
        routine_id: str,
        name: str | None,
        payload: Any,
        connection_index: int | None = None,
    ) -> str | None:
        bp, matched = self.breakpoints.check_items(
            kind, job, routine_id, name, payload, connection_index
        )
        if matched is not None and job.monitor is not None:
            # keyed by the parked data itself: the debugger shows which items made the condition true
            jm = job.monitor
            if jm.matched is None:
                jm.matched = {}
            jm.matched[id(payload)] = (payload, matched)
        return bp

    def shutdown(self) -> None:
        self.ticker.shutdown()

    # -- breakpoints and debugging -------------------------------------------------------
    def _set_armed(self, armed: bool) -> None:
        self.armed = armed

    def add_breakpoint(
        self,
        type: str,
        routine_id: str | None = None,
        *,
        slot_name: str | None = None,
        event_name: str | None = None,
        target_routine: str | None = None,
        condition: str | Callable[..., Any] | None = None,
        enabled: bool = True,
        job: Any = None,
        worker: Any = None,
        flow: Any = None,
    ) -> Breakpoint:
        """Add a breakpoint for a job, a worker's jobs, a flow's jobs or (none given) every job.

        Routine, slot and event names are checked against the flow; an unsafe or invalid
        string condition raises ``ExpressionError`` (a ``ValueError``).
        """
        job_id = getattr(job, "job_id", job)
        worker_id = getattr(worker, "worker_id", worker)
        flow_id = getattr(flow, "flow_id", flow)
        target_flow = self._flow_of(job_id, worker_id, flow_id)
        bp = Breakpoint(
            type,
            routine_id,
            slot_name,
            event_name,
            target_routine,
            condition,
            enabled,
            job_id,
            worker_id,
            flow_id,
        )
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
        session: DebugSession | None = jm.debug
        if session is None:
            session = jm.debug = DebugSession(job, self.changed)
        return session

    def paused_jobs(self) -> list[JobContext]:
        rt = self.runtime
        return [j for j in rt.jobs() if j.parked] if rt is not None else []

    def metrics_frame(
        self, *, per: str = "job", flow_id: str | None = None, worker_id: str | None = None
    ) -> Any:
        """Metrics spanning the runtime's jobs (see :func:`.frames.runtime_metrics_frame`)."""
        from .frames import runtime_metrics_frame

        return runtime_metrics_frame(
            self._require_runtime(), per=per, flow_id=flow_id, worker_id=worker_id
        )

    def trace_frame(self, *, flow_id: str | None = None, worker_id: str | None = None) -> Any:
        """The kept trace events of the runtime's jobs (see :func:`.frames.runtime_trace_frame`)."""
        from .frames import runtime_trace_frame

        return runtime_trace_frame(self._require_runtime(), flow_id=flow_id, worker_id=worker_id)

    def _require_runtime(self) -> Any:
        if self.runtime is None:
            raise RuntimeError(
                "this monitor is not attached to a runtime; pass it as Runtime(monitor=...)"
            )
        return self.runtime

    def subscribe(self, *, since: int | None = None, **filters: Any) -> Subscription:
        return self.bus.subscribe(since=since, **filters)

    def __repr__(self) -> str:
        return (
            f"Monitor(workers={len(self.workers)}, breakpoints={len(self.breakpoints.list())}, "
            f"subscribers={self.bus.subscriber_count})"
        )


if TYPE_CHECKING:

    def _is_monitor_hooks(monitor: Monitor) -> MonitorHooks:
        return monitor  # mypy checks that Monitor satisfies the engine's MonitorHooks protocol


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

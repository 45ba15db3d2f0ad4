"""Live widgets wired to a running runtime.

Each function returns one widget from :mod:`.widgets` fed by the monitor's coalescing
snapshot stream (``runtime.monitor.stream``): at most ``max_rate_hz`` updates a second and
only when something changed, whatever the event rate. Trace rows are pulled by sequence
number and the debugger state is read inside the same throttled callback, never per event.

>>> graph = flow_graph(worker)            # doctest: +SKIP
>>> graph.close()                         # releases the stream   # doctest: +SKIP

``target`` is a :class:`~routilux_nb.core.worker.Worker`, a
:class:`~routilux_nb.core.job.JobContext` (the view shows that job only) or a
:class:`~routilux_nb.core.flow.Flow` (its running worker, started if needed, on
``runtime`` or the kernel's default runtime). Buttons call the engine directly: the
debugger's controls run ``job.debug.act(action)`` / ``job.debug.set_variable(...)`` and a
click on a routine's breakpoint dot adds or removes a routine breakpoint for the worker.

Closing a widget (``widget.close()``) closes its stream. Needs the ``notebook`` extra.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .widgets import Dashboard, Debugger, FlowGraph, JobProgress, QueueGauges, TraceTable

if TYPE_CHECKING:
    from routilux_nb.core.flow import Flow
    from routilux_nb.core.job import JobContext
    from routilux_nb.core.runtime import Runtime
    from routilux_nb.core.worker import Worker

    Target = Worker | JobContext | Flow

__all__ = [
    "LiveBinding",
    "binding_of",
    "dashboard",
    "debugger",
    "flow_graph",
    "job_progress",
    "queue_gauges",
    "trace_table",
]

_log = logging.getLogger(__name__)
_EXTRA = "__live__"  # private key added to each produced snapshot (change detection only)
_ATTR = "_routilux_live"


def _resolve(target: Any, runtime: Runtime | None) -> tuple[Worker, JobContext | None]:
    """The worker (and job, for a job target) behind ``target``."""
    from routilux_nb.core.flow import Flow
    from routilux_nb.core.job import JobContext
    from routilux_nb.core.worker import Worker

    if isinstance(target, JobContext):
        return target.worker, target
    if isinstance(target, Worker):
        return target, None
    if isinstance(target, Flow):
        if runtime is None:
            from routilux_nb.core.runtime import default_runtime

            runtime = default_runtime()
        return runtime.worker_for(target), None
    raise TypeError(f"expected a Worker, a JobContext or a Flow, not {type(target).__name__}")


class LiveBinding:
    """Feeds views from one snapshot stream of a worker (optionally one job).

    ``on_snapshot``, ``on_trace`` and ``on_debug`` receive, on the stream's thread, the
    snapshot, the new trace rows (oldest first) and the debugger state.
    """

    def __init__(
        self,
        worker: Worker,
        job: JobContext | None = None,
        *,
        on_snapshot: Callable[[dict[str, Any]], Any] | None = None,
        on_trace: Callable[[list[dict[str, Any]]], Any] | None = None,
        on_debug: Callable[[dict[str, Any]], Any] | None = None,
        max_trace_rows: int = 200,
        max_rate_hz: float = 10.0,
    ) -> None:
        self.worker = worker
        self.job = job
        self.runtime = worker.runtime
        self.monitor = worker.runtime.monitor
        self._on_snapshot = on_snapshot
        self._on_trace = on_trace
        self._on_debug = on_debug
        self._max_trace_rows = max_trace_rows
        self._lock = threading.RLock()
        self._cursor: dict[str, int] = {}  # job id -> last trace seq delivered
        self._totals: dict[str, int] = {}  # job id -> trace total at the last pull
        self._debug_job: JobContext | None = job
        self._routine_ids: frozenset[str] | None = None
        self.updates = 0
        self.closed = False
        self.stream = self.monitor.stream(
            self._deliver, worker=worker, job=job, max_rate_hz=max_rate_hz
        )
        base = self.stream.produce
        # Make trace growth and debugger changes count as "changed" for the stream.
        self.stream.produce = lambda: self._produce(base)

    def __repr__(self) -> str:
        scope = (
            f"job_id={self.job.job_id!r}" if self.job else f"worker_id={self.worker.worker_id!r}"
        )
        return f"LiveBinding({scope}, updates={self.updates}, closed={self.closed})"

    # -- stream side ------------------------------------------------------------------
    def _jobs_in(self, snapshot: Mapping[str, Any]) -> list[JobContext]:
        if self.job is not None:
            return [self.job]
        jobs = []
        for jid in snapshot.get("jobs") or {}:
            try:
                jobs.append(self.runtime.get_job(jid))
            except KeyError:  # evicted from the job store
                continue
        return jobs

    def _pick_debug_job(self, snapshot: Mapping[str, Any]) -> JobContext | None:
        if self.job is not None:
            return self.job
        for stop in snapshot.get("paused") or []:
            try:
                return self.runtime.get_job(stop["job_id"])
            except KeyError:
                continue
        return self._debug_job

    def _produce(self, base: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        snapshot = base()
        extra: dict[str, Any] = {}
        if self._on_trace is not None:
            extra["trace"] = {j.job_id: j.trace.total for j in self._jobs_in(snapshot)}
        if self._on_debug is not None:
            job = self._pick_debug_job(snapshot)
            extra["debug"] = job.debug.to_dict() if job is not None else {}
            extra["debug_job"] = job
        snapshot[_EXTRA] = extra
        return snapshot

    def _deliver(self, produced: dict[str, Any]) -> None:
        try:
            snapshot = {k: v for k, v in produced.items() if k != _EXTRA}
            extra = produced.get(_EXTRA) or {}
            with self._lock:
                if self.closed:
                    return
                self.updates += 1
                if self._on_snapshot is not None:
                    self._on_snapshot(snapshot)
                if self._on_trace is not None:
                    rows = self._new_trace_rows(snapshot, extra.get("trace") or {})
                    if rows:
                        self._on_trace(rows)
                if self._on_debug is not None:
                    self._debug_job = extra.get("debug_job")
                    self._on_debug(extra.get("debug") or {})
        except Exception:  # keep the stream alive: the ticker closes failing streams
            _log.exception("live view update failed")

    def _new_trace_rows(
        self, snapshot: Mapping[str, Any], totals: Mapping[str, int]
    ) -> list[dict[str, Any]]:
        from routilux_nb.monitor.trace import ExecutionEvent

        records: list[tuple[Any, ...]] = []
        for job in self._jobs_in(snapshot):
            jid = job.job_id
            total = totals.get(jid, job.trace.total)
            if self._totals.get(jid) == total:
                continue
            self._totals[jid] = total
            fresh = job.trace.records(since=self._cursor.get(jid, 0))
            if fresh:
                self._cursor[jid] = fresh[-1][0]
                records.extend(fresh)
        records.sort(key=lambda r: r[0])
        return [ExecutionEvent.from_record(r).to_dict() for r in records[-self._max_trace_rows :]]

    # -- user actions -----------------------------------------------------------------
    def refresh(self) -> None:
        """Ask for an immediate update (after a user action)."""
        if not self.closed:
            self.stream.force()

    def _job_for(self, job_id: str | None) -> JobContext:
        job = self._debug_job if self.job is None else self.job
        if job is not None and (job_id is None or job.job_id == job_id):
            return job
        if job_id is None:
            raise LookupError("no job is shown in the debugger")
        return self.runtime.get_job(job_id)

    def _show_debug(self, job: JobContext) -> None:
        if self._on_debug is not None:
            with self._lock:
                self._on_debug(job.debug.to_dict())

    def debug_action(self, action: str, job_id: str | None) -> str:
        """Run a debugger action on the shown job; returns a short message."""
        job = self._job_for(job_id)
        try:
            job.debug.act(action)
        finally:
            self._show_debug(job)
            self.refresh()
        return f"{action}: done"

    def set_variable(self, name: str, value: Any, job_id: str | None) -> str:
        """Edit a variable of the shown paused job; returns a short message."""
        job = self._job_for(job_id)
        try:
            job.debug.set_variable(name, value)
        finally:
            self._show_debug(job)
            self.refresh()
        return f"set {name}: done"

    def toggle_breakpoint(self, routine_id: str) -> str:
        """Remove the routine breakpoints shown on ``routine_id``, or add one for the worker."""
        w = self.worker
        existing = [
            bp
            for bp in self.monitor.breakpoints.list(worker_id=w.worker_id, flow_id=w.flow_id)
            if bp.type == "routine"
            and bp.routine_id == routine_id
            and (self.job is None or bp.job_id in (None, self.job.job_id))
        ]
        try:
            for bp in existing:
                try:
                    self.monitor.remove_breakpoint(bp.breakpoint_id)
                except KeyError:  # removed meanwhile
                    pass
            if existing:
                return f"breakpoint on {routine_id} removed"
            self.monitor.add_breakpoint("routine", routine_id, worker=w)
            return f"breakpoint on {routine_id} added"
        finally:
            self.refresh()

    def close(self) -> None:
        """Stop the updates (idempotent)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        self.stream.close()


def binding_of(widget: Any) -> LiveBinding | None:
    """The :class:`LiveBinding` feeding ``widget`` (``None`` for a plain widget)."""
    return getattr(widget, _ATTR, None)


def _attach(widget: Any, binding: LiveBinding, also_close: tuple[Any, ...] = ()) -> None:
    """Close ``binding`` (and ``also_close``) when ``widget`` is closed."""
    setattr(widget, _ATTR, binding)

    def on_comm(change: Mapping[str, Any]) -> None:
        if change["new"] is None:
            binding.close()
            for child in also_close:
                child.close()

    widget.observe(on_comm, names="comm")
    if widget.comm is None:  # closed before we could observe
        binding.close()


def _flow_dict(worker: Worker) -> dict[str, Any]:
    return worker.flow.describe()


def _graph_snapshot_sink(graph: FlowGraph, worker: Worker) -> Callable[[dict[str, Any]], Any]:
    """Apply a snapshot to ``graph``, redrawing it first if the flow's routines changed."""

    def sink(snapshot: dict[str, Any]) -> list[str]:
        shown = set(graph.routines)
        if "routines" in snapshot and set(snapshot["routines"]) != shown:
            graph.set_flow(_flow_dict(worker))
        return graph.apply_snapshot(snapshot)

    return sink


def _wire_debugger(view: Debugger, binding: LiveBinding) -> None:
    view.on_action(binding.debug_action)
    view.on_set_variable(binding.set_variable)


def flow_graph(
    target: Target, *, runtime: Runtime | None = None, max_rate_hz: float = 10.0
) -> FlowGraph:
    """A live :class:`~.widgets.FlowGraph`: statuses, queue gauges, edge counts, breakpoints."""
    worker, job = _resolve(target, runtime)
    graph = FlowGraph(_flow_dict(worker))
    binding = LiveBinding(
        worker, job, on_snapshot=_graph_snapshot_sink(graph, worker), max_rate_hz=max_rate_hz
    )
    graph.on_toggle_breakpoint(binding.toggle_breakpoint)
    _attach(graph, binding)
    return graph


def queue_gauges(
    target: Target, *, runtime: Runtime | None = None, max_rate_hz: float = 10.0
) -> QueueGauges:
    """Live :class:`~.widgets.QueueGauges` of a worker's (or one job's) slot queues."""
    worker, job = _resolve(target, runtime)
    view = QueueGauges()
    binding = LiveBinding(
        worker, job, on_snapshot=lambda s: view.apply_snapshot(s), max_rate_hz=max_rate_hz
    )
    _attach(view, binding)
    return view


def job_progress(
    target: Target, *, runtime: Runtime | None = None, max_rate_hz: float = 10.0
) -> JobProgress:
    """Live :class:`~.widgets.JobProgress` of a worker's recent jobs (or one job)."""
    worker, job = _resolve(target, runtime)
    view = JobProgress()
    binding = LiveBinding(
        worker, job, on_snapshot=lambda s: view.apply_snapshot(s), max_rate_hz=max_rate_hz
    )
    _attach(view, binding)
    return view


def trace_table(
    target: Target,
    max_rows: int = 200,
    *,
    runtime: Runtime | None = None,
    max_rate_hz: float = 10.0,
) -> TraceTable:
    """A live :class:`~.widgets.TraceTable` of a job's (or a worker's recent jobs') events."""
    worker, job = _resolve(target, runtime)
    view = TraceTable(max_rows=max_rows)
    binding = LiveBinding(
        worker,
        job,
        on_trace=lambda rows: view.add_rows(rows),
        max_trace_rows=max_rows,
        max_rate_hz=max_rate_hz,
    )
    _attach(view, binding)
    return view


def debugger(
    target: Target, *, runtime: Runtime | None = None, max_rate_hz: float = 10.0
) -> Debugger:
    """A live :class:`~.widgets.Debugger` for a job (for a worker: its first paused job)."""
    worker, job = _resolve(target, runtime)
    view = Debugger()
    binding = LiveBinding(
        worker, job, on_debug=lambda state: view.set_state(state), max_rate_hz=max_rate_hz
    )
    _wire_debugger(view, binding)
    _attach(view, binding)
    return view


def dashboard(
    target: Target,
    *,
    runtime: Runtime | None = None,
    max_trace_rows: int = 200,
    max_rate_hz: float = 10.0,
) -> Dashboard:
    """A live :class:`~.widgets.Dashboard`: graph, jobs, queues, trace and debugger."""
    worker, job = _resolve(target, runtime)
    board = Dashboard(_flow_dict(worker), max_trace_rows=max_trace_rows)
    graph_sink = _graph_snapshot_sink(board.flow_graph, worker)

    def on_snapshot(snapshot: dict[str, Any]) -> None:
        graph_sink(snapshot)
        board.job_progress.apply_snapshot(snapshot)
        board.queue_gauges.apply_snapshot(snapshot)

    binding = LiveBinding(
        worker,
        job,
        on_snapshot=on_snapshot,
        on_trace=board.add_trace_rows,
        on_debug=board.set_debug_state,
        max_trace_rows=max_trace_rows,
        max_rate_hz=max_rate_hz,
    )
    board.flow_graph.on_toggle_breakpoint(binding.toggle_breakpoint)
    _wire_debugger(board.debugger, binding)
    children = (
        board.flow_graph,
        board.job_progress,
        board.queue_gauges,
        board.trace_table,
        board.debugger,
        board.tabs,
    )
    _attach(board, binding, also_close=children)
    return board

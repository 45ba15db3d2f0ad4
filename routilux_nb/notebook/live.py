"""Live widgets wired to a running runtime.

Each function returns one widget from :mod:`.widgets` fed by a :class:`~.binding.LiveBinding`
(the monitor's coalescing snapshot stream: at most ``max_rate_hz`` updates a second, only
when something changed). The six functions are one recipe (:class:`ViewSpec`) each, built
and wired by the same code.

>>> graph = flow_graph(worker)            # doctest: +SKIP
>>> graph.close()                         # releases the stream   # doctest: +SKIP

``target`` is a :class:`~routilux_nb.core.worker.Worker`, a
:class:`~routilux_nb.core.job.JobContext` (the view shows that job only) or a
:class:`~routilux_nb.core.flow.Flow`. Views observe; they never start work: for a flow, the
view follows the flow's running worker on ``runtime`` (the kernel's default runtime when
omitted); with several, it shows the first and says so (``worker="id"`` picks another);
with none yet, it shows the flow, says so, and attaches to the first worker started for it.

Buttons call the engine directly: the debugger's controls run ``job.debug.act(action)`` /
``job.debug.set_variable(...)`` and a click on a routine's breakpoint dot adds or removes a
routine breakpoint for the worker. A job's end and the runtime's shutdown send every view
its last state (:mod:`.watcher`). Closing a widget (``widget.close()``) closes its stream.
Needs the ``notebook`` extra.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias, cast

from .binding import LiveBinding
from .fork_views import Lineage, wire_fork
from .watcher import running_workers, watcher_for
from .widgets import Dashboard, Debugger, FlowGraph, JobProgress, QueueGauges, TraceTable

if TYPE_CHECKING:
    from routilux_nb.core.flow import Flow
    from routilux_nb.core.job import JobContext
    from routilux_nb.core.runtime import Runtime
    from routilux_nb.core.worker import Worker
    from routilux_nb.monitor.types import Snapshot

    Target: TypeAlias = "Worker | JobContext | Flow"

__all__ = [
    "LiveBinding",
    "ViewSpec",
    "binding_of",
    "dashboard",
    "debugger",
    "flow_graph",
    "job_progress",
    "note_of",
    "queue_gauges",
    "trace_table",
]

_ATTR = "_routilux_live"
_NOTE = "_routilux_note"


class ViewSpec(NamedTuple):
    """How one kind of live view is built and fed.

    ``build(flow_dict, options)`` makes the widget; ``feeds(view, worker, options)`` gives
    the :class:`LiveBinding` callbacks; ``wire(view, binding)`` connects its buttons;
    ``children(view)`` are closed with it.
    """

    name: str
    build: Callable[[dict[str, Any], Mapping[str, Any]], Any]
    feeds: Callable[[Any, Worker, Mapping[str, Any]], dict[str, Any]]
    wire: Callable[[Any, LiveBinding], None] = lambda view, binding: None
    children: Callable[[Any], tuple[Any, ...]] = lambda view: ()


class _Note:
    """A one-line notice shown above a view (which worker it shows, how to pick another)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return (
            f'<div style="opacity:0.75;font-size:12px;margin:2px 0">{html.escape(self.text)}</div>'
        )


def binding_of(widget: Any) -> LiveBinding | None:
    """The :class:`LiveBinding` feeding ``widget`` (``None`` for a plain or not yet attached view)."""
    return getattr(widget, _ATTR, None)


def note_of(widget: Any) -> str | None:
    """What the view said about its worker when it was made (``None`` if nothing)."""
    return getattr(widget, _NOTE, None)


# -- resolving a target ------------------------------------------------------------------


def _resolve(
    target: Any, runtime: Runtime | None, worker: Worker | str | None, name: str
) -> tuple[Flow, Worker | None, JobContext | None, str | None, Runtime]:
    """``(flow, worker or None, job or None, note, runtime)`` behind ``target``."""
    from routilux_nb.core.flow import Flow
    from routilux_nb.core.job import JobContext
    from routilux_nb.core.worker import Worker

    if isinstance(target, JobContext):
        return target.worker.flow, target.worker, target, None, target.worker.runtime
    if isinstance(target, Worker):
        return target.flow, target, None, None, target.runtime
    if not isinstance(target, Flow):
        raise TypeError(f"expected a Worker, a JobContext or a Flow, not {type(target).__name__}")
    if runtime is None:
        from routilux_nb.core.default import default_runtime

        runtime = default_runtime()
    if worker is not None:
        chosen = runtime.get_worker(worker) if isinstance(worker, str) else worker
        if chosen.flow is not target:
            raise ValueError(
                f"worker {chosen.worker_id!r} runs flow {chosen.flow_id!r}, not "
                f"{target.flow_id!r}: pick one of {[w.worker_id for w in running_workers(runtime, target)]}"
            )
        return target, chosen, None, None, runtime
    workers = running_workers(runtime, target)
    note: str | None
    if not workers:
        note = (
            f"No worker runs flow {target.flow_id!r} yet: this view shows the flow and follows "
            f"the first worker started for it (e.g. rt.start(flow)). It starts none itself."
        )
        return target, None, None, note, runtime
    note = None
    if len(workers) > 1:
        ids = ", ".join(repr(w.worker_id) for w in workers)
        note = (
            f"Flow {target.flow_id!r} has {len(workers)} running workers ({ids}); this view "
            f"shows {workers[0].worker_id!r}. Pick another with "
            f"rx.{name}(flow, worker={workers[-1].worker_id!r})."
        )
    return target, workers[0], None, note, runtime


# -- building, binding -------------------------------------------------------------------


def _bind(
    spec: ViewSpec,
    view: Any,
    worker: Worker,
    job: JobContext | None,
    max_rate_hz: float,
    options: Mapping[str, Any],
) -> LiveBinding:
    binding = LiveBinding(worker, job, max_rate_hz=max_rate_hz, **spec.feeds(view, worker, options))
    spec.wire(view, binding)
    setattr(view, _ATTR, binding)
    if view.comm is None:  # closed meanwhile
        binding.close()
    else:
        binding.flush()  # the view (and its static picture) starts from the current state
        watcher_for(worker.runtime).add(binding)
    return binding


def _on_close(view: Any, children: tuple[Any, ...]) -> None:
    """Close the view's binding (once there is one) and its children when it is closed."""

    def on_comm(change: Mapping[str, Any]) -> None:
        if change["new"] is None:
            binding = binding_of(view)
            if binding is not None:
                binding.close()
            for child in children:
                child.close()

    view.observe(on_comm, names="comm")


def _say(note: str) -> None:
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with the notebook extra
        print(note)
        return
    display(_Note(note))  # type: ignore[no-untyped-call]  # IPython's display() is unannotated


def _live(
    spec: ViewSpec,
    target: Any,
    runtime: Runtime | None,
    worker: Worker | str | None,
    max_rate_hz: float,
    **options: Any,
) -> Any:
    flow, chosen, job, note, rt = _resolve(target, runtime, worker, spec.name)
    view = spec.build(flow.describe(), options)
    setattr(view, _ATTR, None)
    setattr(view, _NOTE, note)
    _on_close(view, spec.children(view))
    if chosen is not None:
        _bind(spec, view, chosen, job, max_rate_hz, options)
    else:
        watcher_for(rt).wait_for_worker(
            flow,
            lambda w: _bind(spec, view, w, None, max_rate_hz, options),
            lambda: view.comm is not None,
        )
    if note:
        _say(note)
    return view


# -- the six recipes ---------------------------------------------------------------------


def _graph_sink(graph: FlowGraph, worker: Worker) -> Callable[[Snapshot], list[str]]:
    """Apply a snapshot to ``graph``, redrawing it first if the flow's routines changed."""

    def sink(snapshot: Snapshot) -> list[str]:
        if "routines" in snapshot and set(snapshot["routines"]) != set(graph.routines):
            graph.set_flow(worker.flow.describe())
        return graph.apply_snapshot(snapshot)

    return sink


def _wire_debugger(view: Debugger, binding: LiveBinding) -> None:
    view.on_action(binding.debug_action)
    view.on_set_variable(binding.set_variable)
    view.on_set_cell(binding.set_cell)
    wire_fork(view, binding, parked=True)


def _dashboard_feeds(
    board: Dashboard, worker: Worker, options: Mapping[str, Any]
) -> dict[str, Any]:
    graph_sink = _graph_sink(board.flow_graph, worker)
    lineage = Lineage(worker.runtime)

    def on_snapshot(snapshot: Snapshot) -> None:
        graph_sink(snapshot)
        board.job_progress.apply_snapshot(lineage(snapshot))
        board.queue_gauges.apply_snapshot(snapshot)
        board.refresh_artifacts(snapshot)

    return {
        "on_snapshot": on_snapshot,
        "on_trace": board.add_trace_rows,
        "on_debug": board.set_debug_state,
        "max_trace_rows": options["max_trace_rows"],
    }


def _wire_dashboard(board: Dashboard, binding: LiveBinding) -> None:
    board.attach(binding.runtime, binding.job.job_id if binding.job is not None else None)
    board.flow_graph.on_toggle_breakpoint(binding.toggle_breakpoint)
    _wire_debugger(board.debugger, binding)
    wire_fork(board.trace_table, binding)


def _snapshot_feed(view: Any, worker: Worker, options: Mapping[str, Any]) -> dict[str, Any]:
    return {"on_snapshot": lambda s: view.apply_snapshot(s)}


_GRAPH = ViewSpec(
    "flow_graph",
    lambda flow, o: FlowGraph(flow),
    lambda view, worker, o: {"on_snapshot": _graph_sink(view, worker)},
    lambda view, binding: view.on_toggle_breakpoint(binding.toggle_breakpoint),
)
_QUEUES = ViewSpec("queue_gauges", lambda flow, o: QueueGauges(), _snapshot_feed)
_JOBS = ViewSpec(
    "job_progress",
    lambda flow, o: JobProgress(),
    lambda view, worker, o: {
        "on_snapshot": lambda s, ln=Lineage(worker.runtime): view.apply_snapshot(ln(s))
    },
)
_TRACE = ViewSpec(
    "trace_table",
    lambda flow, o: TraceTable(max_rows=o["max_rows"]),
    lambda view, worker, o: {
        "on_trace": lambda rows: view.add_rows(rows),
        "max_trace_rows": o["max_rows"],
    },
    wire_fork,
)
_DEBUGGER = ViewSpec(
    "debugger",
    lambda flow, o: Debugger(),
    lambda view, worker, o: {"on_debug": lambda state: view.set_state(state)},
    _wire_debugger,
)
_DASHBOARD = ViewSpec(
    "dashboard",
    lambda flow, o: Dashboard(flow, max_trace_rows=o["max_trace_rows"]),
    _dashboard_feeds,
    _wire_dashboard,
    lambda b: (
        b.flow_graph,
        b.job_progress,
        b.queue_gauges,
        b.trace_table,
        b.debugger,
        b.artifacts,
        b.tabs,
    ),
)


def flow_graph(
    target: Target,
    *,
    runtime: Runtime | None = None,
    worker: Worker | str | None = None,
    max_rate_hz: float = 10.0,
) -> FlowGraph:
    """A live :class:`~.widgets.FlowGraph`: statuses, queue gauges, edge counts, breakpoints."""
    return cast(FlowGraph, _live(_GRAPH, target, runtime, worker, max_rate_hz))


def queue_gauges(
    target: Target,
    *,
    runtime: Runtime | None = None,
    worker: Worker | str | None = None,
    max_rate_hz: float = 10.0,
) -> QueueGauges:
    """Live :class:`~.widgets.QueueGauges` of a worker's (or one job's) slot queues."""
    return cast(QueueGauges, _live(_QUEUES, target, runtime, worker, max_rate_hz))


def job_progress(
    target: Target,
    *,
    runtime: Runtime | None = None,
    worker: Worker | str | None = None,
    max_rate_hz: float = 10.0,
) -> JobProgress:
    """Live :class:`~.widgets.JobProgress` of a worker's recent jobs (or one job)."""
    return cast(JobProgress, _live(_JOBS, target, runtime, worker, max_rate_hz))


def trace_table(
    target: Target,
    max_rows: int = 200,
    *,
    runtime: Runtime | None = None,
    worker: Worker | str | None = None,
    max_rate_hz: float = 10.0,
) -> TraceTable:
    """A live :class:`~.widgets.TraceTable` of a job's (or a worker's recent jobs') events."""
    return cast(TraceTable, _live(_TRACE, target, runtime, worker, max_rate_hz, max_rows=max_rows))


def debugger(
    target: Target,
    *,
    runtime: Runtime | None = None,
    worker: Worker | str | None = None,
    max_rate_hz: float = 10.0,
) -> Debugger:
    """A live :class:`~.widgets.Debugger` for a job (for a worker: its first paused job)."""
    return cast(Debugger, _live(_DEBUGGER, target, runtime, worker, max_rate_hz))


def dashboard(
    target: Target,
    *,
    runtime: Runtime | None = None,
    worker: Worker | str | None = None,
    max_trace_rows: int = 200,
    max_rate_hz: float = 10.0,
) -> Dashboard:
    """A live :class:`~.widgets.Dashboard`: graph, jobs, queues, trace and debugger."""
    view = _live(_DASHBOARD, target, runtime, worker, max_rate_hz, max_trace_rows=max_trace_rows)
    return cast(Dashboard, view)

"""All views of one flow in a single display: the graph above, details in tabs.

A plain ipywidgets composition of the individual widgets, so each view still
syncs only its own small diffs; the dashboard just fans updates out. When a job
becomes paused, the Debugger tab is brought to the front. A click on a job in the
Jobs tab shows its artifacts in the Artifacts tab (kept current while it runs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import ipywidgets

from routilux_nb.monitor.types import SnapshotUpdate

from ..raster import stack_png
from ._snapshot import jobs_of
from ._static import Picture, add_picture
from .artifacts_panel import ArtifactsPanel
from .debugger import Debugger
from .flow_graph import FlowGraph
from .job_progress import JobProgress
from .queue_gauges import QueueGauges
from .trace_table import TraceTable

__all__ = ["Dashboard"]

_TITLES = ("Jobs", "Queues", "Trace", "Debugger", "Artifacts")
_DEBUGGER_TAB = _TITLES.index("Debugger")
_ARTIFACTS_TAB = _TITLES.index("Artifacts")


class Dashboard(ipywidgets.VBox):  # type: ignore[misc]  # ipywidgets ships no type information
    """Flow graph, jobs, queues, trace and debugger for one flow.

    >>> Dashboard({"flow_id": "etl", "routines": {}, "connections": []})
    Dashboard(flow_id='etl', routines=0)
    """

    def __init__(
        self, flow_dict: Mapping[str, Any], max_trace_rows: int = 200, **kwargs: Any
    ) -> None:
        self._fan_lock = threading.RLock()
        self.flow_graph = FlowGraph(flow_dict)
        self.job_progress = JobProgress()
        self.queue_gauges = QueueGauges()
        self.trace_table = TraceTable(max_rows=max_trace_rows)
        self.debugger = Debugger()
        self.artifacts = ArtifactsPanel()
        #: the runtime whose artifacts are shown (set when the dashboard is bound to a worker)
        self.runtime: Any = None
        self.tabs = ipywidgets.Tab(
            children=[
                self.job_progress,
                self.queue_gauges,
                self.trace_table,
                self.debugger,
                self.artifacts,
            ],
            titles=_TITLES,
        )
        super().__init__(children=[self.flow_graph, self.tabs], **kwargs)
        self.job_progress.on_select(self._show_artifacts)

    def __repr__(self) -> str:
        graph = self.flow_graph
        return f"Dashboard(flow_id={graph.flow_id!r}, routines={len(graph.routines)})"

    def picture(self) -> tuple[str, bytes | None]:
        """The static ``(html, png)``: graph, jobs, queues and (when one is shown) the debugger."""
        parts: list[Picture] = [self.flow_graph.picture(), self.job_progress.picture()]
        if self.queue_gauges.queues:
            parts.append(self.queue_gauges.picture())
        if self.debugger.state.get("job_id"):
            parts.append(self.debugger.picture())
        html = "".join(h for h, _ in parts)
        return f'<div style="max-width:100%">{html}</div>', stack_png([p for _, p in parts])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        return add_picture(bundle, self.picture, "Dashboard")

    def attach(self, runtime: Any, job_id: str | None = None) -> None:
        """Read artifacts from ``runtime``; ``job_id`` is selected first (a dashboard of a job)."""
        self.runtime = runtime
        if job_id:
            self.job_progress.select(job_id, notify=False)
            self.artifacts.show(runtime, job_id)

    def _show_artifacts(self, job_id: str) -> None:
        """A job was clicked: show its artifacts, in front."""
        self.artifacts.show(self.runtime, job_id)
        if job_id:
            self.tabs.selected_index = _ARTIFACTS_TAB

    def apply_snapshot(self, snapshot: SnapshotUpdate) -> list[str]:
        """Send a monitor snapshot to every view; returns ``"view.trait"`` names that changed."""
        with self._fan_lock:
            changed = []
            for name in ("flow_graph", "job_progress", "queue_gauges"):
                view = getattr(self, name)
                changed += [f"{name}.{trait}" for trait in view.apply_snapshot(snapshot)]
            self.refresh_artifacts(snapshot)
            return changed

    def refresh_artifacts(self, snapshot: SnapshotUpdate | None = None) -> None:
        """Re-read the selected job's artifacts (only when ``snapshot`` says that job changed)."""
        selected = self.job_progress.selected
        if selected and (snapshot is None or selected in jobs_of(snapshot)):
            self.artifacts.show(self.runtime, selected)

    def add_trace_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append trace rows (oldest first) to the trace table."""
        self.trace_table.add_rows(rows)

    def set_debug_state(self, state: Mapping[str, Any] | None) -> None:
        """Show a debug state; a newly paused job brings the Debugger tab forward."""
        with self._fan_lock:
            was_paused = self.debugger.paused
            self.debugger.set_state(state)
            if self.debugger.paused and not was_paused:
                self.tabs.selected_index = _DEBUGGER_TAB

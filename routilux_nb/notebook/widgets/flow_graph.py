"""Live flow graph: one SVG for the whole flow, updated by small trait diffs.

The static geometry (``graph_layout``, ``routines``) is sent once; each
snapshot only touches the traits whose content changed (``status``,
``queues``, ``edge_counts``, ``breakpoints``), and the front end restyles the
affected elements without redrawing the graph.

The geometry trait is called ``graph_layout`` because ``layout`` is the
ipywidgets ``Layout`` of every DOM widget.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import traitlets

from routilux_nb.core.jsonsafe import to_jsonable
from routilux_nb.monitor.types import SnapshotUpdate

from ..chains import collapse_chains
from ..layout import layered_layout
from ._base import Callbacks, LockedWidget
from ._snapshot import breakpoint_routines, edge_counts_of, queues_of, status_of
from ._static import Picture, graph_picture

__all__ = ["FlowGraph"]

_HERE = pathlib.Path(__file__).parent


def _routine_info(flow_dict: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        str(rid): {
            "class_name": str(r.get("class_name") or ""),
            "activation_policy": to_jsonable(r.get("activation_policy") or {}),
            "config": to_jsonable(r.get("config") or {}),
        }
        for rid, r in (flow_dict.get("routines") or {}).items()
    }


class FlowGraph(LockedWidget):
    """Interactive graph of a flow with live status, queue gauges and edge counts.

    >>> graph = FlowGraph({"flow_id": "etl", "routines": {}, "connections": []})
    >>> graph
    FlowGraph(flow_id='etl', routines=0)
    """

    _esm = _HERE / "flow_graph.js"
    _css = _HERE / "flow_graph.css"

    flow_id = traitlets.Unicode("").tag(sync=True)
    graph_layout = traitlets.Dict().tag(sync=True)
    routines = traitlets.Dict().tag(sync=True)
    status = traitlets.Dict().tag(sync=True)
    queues = traitlets.Dict().tag(sync=True)
    edge_counts = traitlets.Dict().tag(sync=True)
    breakpoints = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    highlight = traitlets.Unicode("").tag(sync=True)

    def __init__(self, flow_dict: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._toggle_callbacks = Callbacks()
        self._flow: Mapping[str, Any] = {}
        self._expanded: set[str] = set()
        if flow_dict is not None:
            self.set_flow(flow_dict)

    def __repr__(self) -> str:
        return f"FlowGraph(flow_id={self.flow_id!r}, routines={len(self.routines)})"

    def picture(self) -> Picture:
        """The static ``(html, png)``: the graph in its current colours, counts and breakpoints."""
        with self._lock:
            return graph_picture(
                self.flow_id, self.graph_layout, self.status, self.edge_counts, self.breakpoints
            )

    def set_flow(self, flow_dict: Mapping[str, Any]) -> None:
        """Replace the drawn flow (recomputes the layout).

        In a large flow, long chains are drawn as summary boxes that expand on click.
        """
        with self._lock:
            self._flow = flow_dict
            self._update(
                flow_id=str(flow_dict.get("flow_id") or ""),
                routines=_routine_info(flow_dict),
                graph_layout=to_jsonable(
                    layered_layout(collapse_chains(flow_dict, self._expanded))
                ),
            )

    def _on_msg_expand(self, content: Mapping[str, Any]) -> None:
        with self._lock:
            self._expanded.add(str(content.get("group") or ""))
            self.set_flow(self._flow)

    def apply_snapshot(self, snapshot: SnapshotUpdate) -> list[str]:
        """Update from a monitor snapshot; returns the names of the traits that changed.

        Keys missing from the snapshot leave their traits untouched.
        """
        values: dict[str, Any] = {}
        if "routines" in snapshot or "paused" in snapshot:
            values["status"] = status_of(snapshot)
        if "queues" in snapshot:
            values["queues"] = queues_of(snapshot)
        if "connections" in snapshot:
            values["edge_counts"] = edge_counts_of(snapshot)
        if "breakpoints" in snapshot:
            values["breakpoints"] = breakpoint_routines(snapshot)
        return self._update(**values)

    def select(self, routine_id: str) -> None:
        """Select a routine (``""`` clears the selection)."""
        self._update(selected=str(routine_id))

    def on_toggle_breakpoint(self, callback: Callable[[str], Any], remove: bool = False) -> None:
        """Register ``callback(routine_id)`` for clicks on a routine's breakpoint dot."""
        self._toggle_callbacks.register(callback, remove)

    def _on_msg_toggle_breakpoint(self, content: Mapping[str, Any]) -> None:
        rid = str(content.get("routine_id") or "")
        if rid in self.routines:
            self._toggle_callbacks(rid)

"""Layered (Sugiyama-style) layout of a flow description.

Flows are mostly DAGs drawn left to right: sources in the first column, each
routine one column after its furthest predecessor (longest-path layering).
Cycles are broken by ignoring DFS back edges for layering only; those edges are
still drawn, routed below the graph. Within a column, routines are ordered by
the barycenter of their neighbours over a few down/up sweeps, which removes most
crossings at a cost linear in the number of edges per sweep.

The result is plain JSON-able data shared by the static SVG renderer and the
``FlowGraph`` widget, so both draw the same picture. ``compact=True`` gives
name-only boxes packed closer together (the static overview of a large flow):
edges then join the middles of the boxes' sides instead of their ports.

Edge ``points`` are cubic Bezier control points: the start point followed by
``(control1, control2, end)`` for each segment (forward edges have one segment,
back edges two).

This module must not import anywidget or ipywidgets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

__all__ = ["HEADER_HEIGHT", "PORT_SPACING", "layered_layout", "port_y"]

HEADER_HEIGHT = 40
PORT_SPACING = 18
NODE_MIN_WIDTH = 160
NODE_MAX_WIDTH = 260
CHAR_WIDTH = 7
LAYER_GAP = 90
NODE_GAP = 24
MARGIN = 30
SWEEPS = 4
BACK_EDGE_SPACING = 8
# Compact (name-only) boxes: about 7 px per character of 11 px bold type.
COMPACT = {"char": 7.0, "min_w": 36.0, "max_w": 160.0, "h": 20.0, "layer_gap": 34.0, "gap": 7.0}
COMPACT_MARGIN = 10


def port_y(index: int) -> float:
    """Vertical offset of the ``index``-th port from the top of its box."""
    return HEADER_HEIGHT + PORT_SPACING * index + PORT_SPACING / 2


def _node_size(rid: str, routine: Mapping[str, Any]) -> tuple[float, float]:
    slots = list(routine.get("slots") or [])
    events = list(routine.get("events") or [])
    label = max(len(rid), len(str(routine.get("class_name") or "")))
    ports = max([len(str(s)) for s in slots] or [0]) + max([len(str(e)) for e in events] or [0])
    width = max(NODE_MIN_WIDTH, CHAR_WIDTH * label + 40, CHAR_WIDTH * ports + 50)
    if routine.get("members"):  # a summary box: room for "first…last" in large type
        width = max(width, NODE_MAX_WIDTH - 40)
    height = HEADER_HEIGHT + PORT_SPACING * max(len(slots), len(events), 1) + 6
    return float(min(width, NODE_MAX_WIDTH)), float(height)


def _compact_size(rid: str) -> tuple[float, float]:
    width = min(max(COMPACT["char"] * len(rid) + 16, COMPACT["min_w"]), COMPACT["max_w"])
    return float(round(width)), COMPACT["h"]


def _back_edges(graph: nx.DiGraph) -> set[tuple[str, str]]:
    """Edges that close a cycle in a depth-first traversal (self loops included)."""
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 = on stack, 2 = done
    for root in graph.nodes:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(graph.successors(root)))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(graph.successors(child))))
    return back


def _layers(dag: nx.DiGraph) -> dict[str, int]:
    layer: dict[str, int] = {}
    for node in nx.topological_sort(dag):
        layer[node] = max((layer[p] + 1 for p in dag.predecessors(node)), default=0)
    return layer


def _order_layers(dag: nx.DiGraph, columns: list[list[str]]) -> None:
    """Reorder each column in place by neighbour barycenters (alternating sweeps)."""
    position = {n: i for col in columns for i, n in enumerate(col)}

    def sweep(cols: Iterable[list[str]], neighbours: Any) -> None:
        for col in cols:
            keyed = []
            for i, node in enumerate(col):
                near = [position[m] for m in neighbours(node)]
                keyed.append((sum(near) / len(near) if near else float(i), i, node))
            keyed.sort()
            col[:] = [node for _, _, node in keyed]
            for i, node in enumerate(col):
                position[node] = i

    for n in range(SWEEPS):
        if n % 2 == 0:
            sweep(columns[1:], dag.predecessors)
        else:
            sweep(reversed(columns[:-1]), dag.successors)


def _edge_points(
    source: Mapping[str, float],
    sy: float,
    target: Mapping[str, float],
    ty: float,
    backward: bool,
    bottom: float,
    reach: float = 30.0,
) -> list[list[float]]:
    sx = source["x"] + source["w"]
    tx = target["x"]
    if not backward:
        dx = max(reach, (tx - sx) / 2)
        return [[sx, sy], [sx + dx, sy], [tx - dx, ty], [tx, ty]]
    mid_x = (sx + tx) / 2
    loop = reach * 4 / 3
    return [
        [sx, sy],
        [sx + loop, sy],
        [sx + loop, bottom],
        [mid_x, bottom],
        [tx - loop, bottom],
        [tx - loop, ty],
        [tx, ty],
    ]


def layered_layout(flow_dict: Mapping[str, Any], compact: bool = False) -> dict[str, Any]:
    """Compute box positions and edge routes for a flow description.

    >>> flow = {"routines": {"a": {"slots": [], "events": ["out"]},
    ...                      "b": {"slots": ["in"], "events": []}},
    ...         "connections": [{"connection_id": "c0", "source_routine": "a",
    ...                          "source_event": "out", "target_routine": "b",
    ...                          "target_slot": "in"}]}
    >>> layout = layered_layout(flow)
    >>> layout["nodes"]["a"]["x"] < layout["nodes"]["b"]["x"]
    True
    """
    routines: Mapping[str, Mapping[str, Any]] = flow_dict.get("routines") or {}
    connections = [
        c
        for c in flow_dict.get("connections") or []
        if c.get("source_routine") in routines and c.get("target_routine") in routines
    ]
    graph = nx.DiGraph()
    graph.add_nodes_from(routines)
    graph.add_edges_from((c["source_routine"], c["target_routine"]) for c in connections)
    back = _back_edges(graph)
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from(e for e in graph.edges if e not in back)

    layer = _layers(dag)
    columns: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for node in graph.nodes:
        columns[layer[node]].append(node)
    _order_layers(dag, columns)

    if compact:
        sizes = {rid: _compact_size(rid) for rid in routines}
        margin, node_gap, layer_gap = COMPACT_MARGIN, COMPACT["gap"], COMPACT["layer_gap"]
    else:
        sizes = {rid: _node_size(rid, r) for rid, r in routines.items()}
        margin, node_gap, layer_gap = MARGIN, NODE_GAP, LAYER_GAP
    col_heights = [sum(sizes[n][1] for n in col) + node_gap * (len(col) - 1) for col in columns]
    total_height = max(col_heights, default=0.0)
    nodes: dict[str, dict[str, Any]] = {}
    x = float(margin)
    for col, col_height in zip(columns, col_heights, strict=True):
        y = margin + (total_height - col_height) / 2
        for rid in col:
            w, h = sizes[rid]
            routine = routines[rid]
            nodes[rid] = {
                "x": x,
                "y": y,
                "w": w,
                "h": h,
                "slots": [str(s) for s in routine.get("slots") or []],
                "events": [str(e) for e in routine.get("events") or []],
                "class_name": str(routine.get("class_name") or ""),
                "layer": layer[rid],
            }
            if routine.get("members"):  # a summary of collapsed routines (see .chains)
                nodes[rid]["members"] = [str(m) for m in routine["members"]]
            y += h + node_gap
        x += max((sizes[n][0] for n in col), default=0.0) + layer_gap

    bottom = margin + total_height + node_gap
    edges: list[dict[str, Any]] = []
    back_count = 0
    for i, conn in enumerate(connections):
        src, dst = nodes[conn["source_routine"]], nodes[conn["target_routine"]]
        event, slot = str(conn.get("source_event", "")), str(conn.get("target_slot", ""))
        if compact:
            sy, ty = src["y"] + src["h"] / 2, dst["y"] + dst["h"] / 2
        else:
            sy = src["y"] + port_y(src["events"].index(event) if event in src["events"] else 0)
            ty = dst["y"] + port_y(dst["slots"].index(slot) if slot in dst["slots"] else 0)
        backward = (conn["source_routine"], conn["target_routine"]) in back
        lane = bottom + BACK_EDGE_SPACING * back_count
        back_count += backward
        edges.append(
            {
                "id": str(conn.get("connection_id") or f"conn_{i}"),
                "source": conn["source_routine"],
                "source_event": event,
                "target": conn["target_routine"],
                "target_slot": slot,
                "back": backward,
                "points": _edge_points(src, sy, dst, ty, backward, lane, 12.0 if compact else 30.0),
            }
        )
    width = max(x - layer_gap + margin, 2.0 * margin)
    lanes = BACK_EDGE_SPACING * back_count if back_count else -node_gap
    height = bottom + lanes + margin
    return {"nodes": nodes, "edges": edges, "width": width, "height": max(height, 2.0 * margin)}

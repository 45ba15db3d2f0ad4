"""Long chains of a large flow are drawn as summary boxes that expand on request."""

from __future__ import annotations

from typing import Any

import pytest
from nb_flows import chain_flow

from routilux_nb.notebook.chains import COLLAPSE_OVER, chains, collapse_chains
from routilux_nb.notebook.layout import layered_layout


def line_flow(n: int, extra: int = 0) -> dict[str, Any]:
    """``a0 -> a1 -> ... -> a{n-1}``, plus ``extra`` routines fed by ``a0``."""
    routines = {f"a{i}": {"slots": ["in"], "events": ["out"]} for i in range(n)}
    routines.update({f"x{i}": {"slots": ["in"], "events": ["out"]} for i in range(extra)})
    pairs = [(f"a{i}", f"a{i + 1}") for i in range(n - 1)] + [("a0", f"x{i}") for i in range(extra)]
    connections = [
        {
            "connection_id": f"c{k}",
            "source_routine": s,
            "source_event": "out",
            "target_routine": t,
            "target_slot": "in",
        }
        for k, (s, t) in enumerate(pairs)
    ]
    return {"flow_id": "line", "routines": routines, "connections": connections}


def test_chains_are_maximal_one_to_one_runs():
    # a0 feeds a1 and the x's, so the chain starts at a1.
    flow = line_flow(8, extra=2)
    assert chains(flow) == [[f"a{i}" for i in range(1, 8)]]
    assert chains(line_flow(3)) == []  # shorter than MIN_CHAIN


def test_small_flows_are_left_alone():
    flow = line_flow(10)
    assert collapse_chains(flow) == flow
    assert len(layered_layout(collapse_chains(flow))["nodes"]) == 10


def test_collapse_keeps_the_connections_into_and_out_of_a_chain():
    flow = line_flow(8, extra=COLLAPSE_OVER)
    collapsed = collapse_chains(flow)
    gid = "a1…a7"
    assert set(collapsed["routines"]) == {"a0", gid} | {f"x{i}" for i in range(COLLAPSE_OVER)}
    summary = collapsed["routines"][gid]
    assert summary["members"] == [f"a{i}" for i in range(1, 8)]
    assert summary["class_name"] == "7 routines"
    assert (summary["slots"], summary["events"]) == (["in"], ["out"])
    into = [c for c in collapsed["connections"] if c["target_routine"] == gid]
    assert [c["connection_id"] for c in into] == ["c0"]  # edge counts still line up
    assert not any(c["source_routine"] == gid for c in collapsed["connections"])
    node = layered_layout(collapsed)["nodes"][gid]
    assert node["members"] == summary["members"]
    # Expanded chains are drawn routine by routine.
    assert collapse_chains(flow, expanded={gid}) == flow


def test_a_name_clash_gets_another_id():
    flow = line_flow(8, extra=COLLAPSE_OVER)
    flow["routines"]["a1…a7"] = {"slots": [], "events": []}
    collapsed = collapse_chains(flow)
    assert "a1…a7·" in collapsed["routines"] and "a1…a7" in collapsed["routines"]


def test_flow_graph_expands_a_summary_on_request():
    pytest.importorskip("anywidget")
    from routilux_nb.notebook.widgets import FlowGraph

    flow = chain_flow(200)
    graph = FlowGraph(flow)
    nodes = graph.graph_layout["nodes"]
    groups = {rid: n["members"] for rid, n in nodes.items() if "members" in n}
    assert groups and len(nodes) == 200 - sum(len(m) - 1 for m in groups.values())
    assert set(graph.routines) == set(flow["routines"])  # the panel knows every routine
    gid, members = next(iter(groups.items()))
    graph._handle_custom_msg({"type": "expand", "group": gid}, [])
    nodes = graph.graph_layout["nodes"]
    assert gid not in nodes and set(members) <= set(nodes)
    graph._handle_custom_msg({"type": "expand", "group": "no such box"}, [])
    assert graph.graph_layout["nodes"] == nodes
    graph.set_flow(flow)  # a new flow description keeps what was expanded
    assert gid not in graph.graph_layout["nodes"]

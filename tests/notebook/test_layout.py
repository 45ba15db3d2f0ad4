from __future__ import annotations

import json
import time

from nb_flows import chain_flow, random_flow

from routilux_nb.notebook.layout import layered_layout


def test_layers_follow_connections(etl_flow):
    nodes = layered_layout(etl_flow)["nodes"]
    assert nodes["source"]["x"] < nodes["double"]["x"] < nodes["sink"]["x"]
    assert [nodes[r]["layer"] for r in ("source", "double", "sink")] == [0, 1, 2]
    assert nodes["double"]["slots"] == ["input"]
    assert nodes["double"]["class_name"] == "Doubler"


def test_box_height_grows_with_ports():
    flow = {
        "routines": {
            "few": {"slots": ["a"], "events": []},
            "many": {"slots": ["a", "b", "c", "d"], "events": ["x"]},
        }
    }
    nodes = layered_layout(flow)["nodes"]
    assert nodes["many"]["h"] > nodes["few"]["h"]


def test_edges_start_and_end_at_ports(etl_flow):
    layout = layered_layout(etl_flow)
    nodes = layout["nodes"]
    edge = next(e for e in layout["edges"] if e["id"] == "conn_0")
    (sx, _), (tx, _) = edge["points"][0], edge["points"][-1]
    assert sx == nodes["source"]["x"] + nodes["source"]["w"]
    assert tx == nodes["double"]["x"]
    assert len(edge["points"]) == 4 and not edge["back"]


def test_cycles_are_laid_out_with_back_edges():
    flow = {
        "routines": {r: {"slots": ["in"], "events": ["out"]} for r in "abc"},
        "connections": [
            {
                "connection_id": f"c{i}",
                "source_routine": s,
                "source_event": "out",
                "target_routine": t,
                "target_slot": "in",
            }
            for i, (s, t) in enumerate([("a", "b"), ("b", "c"), ("c", "a"), ("b", "b")])
        ],
    }
    layout = layered_layout(flow)
    back = {e["id"] for e in layout["edges"] if e["back"]}
    assert back == {"c2", "c3"}
    assert all(len(e["points"]) == 7 for e in layout["edges"] if e["back"])
    lowest = max(p[1] for e in layout["edges"] for p in e["points"])
    assert lowest <= layout["height"]


def test_barycenter_ordering_avoids_crossings():
    # a1 -> b2 and a2 -> b1 would cross if b1/b2 kept their insertion order.
    flow = {
        "routines": {r: {"slots": ["in"], "events": ["out"]} for r in ("a1", "a2", "b1", "b2")},
        "connections": [
            {
                "connection_id": "x",
                "source_routine": "a1",
                "source_event": "out",
                "target_routine": "b2",
                "target_slot": "in",
            },
            {
                "connection_id": "y",
                "source_routine": "a2",
                "source_event": "out",
                "target_routine": "b1",
                "target_slot": "in",
            },
        ],
    }
    nodes = layered_layout(flow)["nodes"]
    assert (nodes["a1"]["y"] < nodes["a2"]["y"]) == (nodes["b2"]["y"] < nodes["b1"]["y"])


def test_unknown_endpoints_and_empty_flow_are_tolerated():
    assert layered_layout({})["nodes"] == {}
    flow = {"routines": {"a": {}}, "connections": [{"source_routine": "a", "target_routine": "zz"}]}
    assert layered_layout(flow)["edges"] == []


def test_200_routines_fast_and_json_safe():
    flow = random_flow(200, back_edges=5)
    start = time.perf_counter()
    layout = layered_layout(flow)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, elapsed
    assert len(layout["nodes"]) == 200
    assert len(layout["edges"]) == len(flow["connections"])
    json.dumps(layout)
    boxes = [(n["x"], n["y"], n["x"] + n["w"], n["y"] + n["h"]) for n in layout["nodes"].values()]
    by_column: dict[float, list[tuple[float, float]]] = {}
    for x0, y0, _, y1 in boxes:
        by_column.setdefault(x0, []).append((y0, y1))
    for spans in by_column.values():
        spans.sort()
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_layout_is_deterministic():
    flow = random_flow(60, seed=3, back_edges=2)
    assert layered_layout(flow) == layered_layout(flow)


def test_compact_layout_packs_name_only_boxes():
    flow = chain_flow(200)
    full, compact = layered_layout(flow), layered_layout(flow, compact=True)
    assert compact["width"] < full["width"] / 2 and compact["height"] < full["height"] / 2
    nodes = compact["nodes"]
    assert {n["layer"] for n in nodes.values()} == {n["layer"] for n in full["nodes"].values()}
    # No two boxes overlap, and edges join the middles of the boxes' sides.
    boxes = sorted((n["x"], n["y"], n["w"], n["h"]) for n in nodes.values())
    for i, (x, y, w, h) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1 : i + 30]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    for edge in compact["edges"]:
        src, dst = nodes[edge["source"]], nodes[edge["target"]]
        assert edge["points"][0] == [src["x"] + src["w"], src["y"] + src["h"] / 2]
        assert edge["points"][-1] == [dst["x"], dst["y"] + dst["h"] / 2]

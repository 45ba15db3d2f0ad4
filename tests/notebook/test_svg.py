from __future__ import annotations

import xml.etree.ElementTree as ET

from nb_flows import chain_flow, random_flow

from routilux_nb.notebook.svg import edge_path, flow_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_svg_is_well_formed_and_static(etl_flow):
    svg = flow_svg(etl_flow)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    tags = {el.tag.removeprefix(SVG) for el in root.iter()}
    assert {"rect", "path", "text", "circle"} <= tags
    assert not tags & {"script", "style", "foreignObject"}
    assert not any("class" in el.attrib or "id" in el.attrib for el in root.iter())
    texts = {el.text for el in root.iter(f"{SVG}text")}
    assert {"source", "double", "sink", "DataSource", "input", "output"} <= texts


def test_routine_names_are_escaped():
    flow = {
        "flow_id": "x&y",
        "routines": {"<script>": {"class_name": "A<b>\"'", "slots": ["<in>"], "events": []}},
        "connections": [],
    }
    svg = flow_svg(flow)
    assert "<script>" not in svg
    root = ET.fromstring(svg)
    texts = [el.text for el in root.iter(f"{SVG}text")]
    assert "<script>" in texts and "<in>" in texts


def test_status_colours_boxes(etl_flow):
    plain = flow_svg(etl_flow)
    coloured = flow_svg(etl_flow, status={"double": "error", "source": {"status": "running"}})
    assert "#e53935" in coloured and "#1e88e5" in coloured
    assert "#e53935" not in plain
    root = ET.fromstring(coloured)
    assert "error" in {el.text for el in root.iter(f"{SVG}text")}


def test_one_arrowhead_per_connection(etl_flow):
    root = ET.fromstring(flow_svg(etl_flow))
    arrows = [p for p in root.iter(f"{SVG}path") if p.get("d", "").endswith("z")]
    assert len(arrows) == len(etl_flow["connections"])


def test_large_flow_gets_placeholder():
    svg = flow_svg(random_flow(20), max_routines=10)
    root = ET.fromstring(svg)
    assert "20 routines" in "".join(root.itertext())
    assert len(list(root.iter(f"{SVG}rect"))) == 1


def test_200_routines_render():
    root = ET.fromstring(flow_svg(random_flow(200, back_edges=3)))
    assert len(list(root.iter(f"{SVG}rect"))) == 200


def test_small_flows_keep_the_detailed_picture(etl_flow):
    svg = flow_svg(etl_flow)
    assert "max-width:100%" in svg  # shrinks to the output's width
    assert flow_svg(etl_flow, compact=True) != svg
    assert "max-width:none" in flow_svg(etl_flow, compact=True)


def test_large_flow_overview_is_legible_and_small():
    flow = chain_flow(200)
    svg = flow_svg(flow, status={"r5": "running", "r7": {"status": "error"}})
    assert len(svg.encode()) < 40_000
    root = ET.fromstring(svg)
    assert not any("class" in el.attrib or "id" in el.attrib for el in root.iter())
    assert "max-width:none" in svg  # drawn at full scale, in a box that scrolls
    width = float(root.get("width"))
    assert width == float(root.get("viewBox").split()[2])
    # One box and one name per routine, in 11 px type (at 100 % zoom, 11 screen px).
    assert len(list(root.iter(f"{SVG}rect"))) == 200
    names = [el.text for el in root.iter(f"{SVG}text")]
    assert sorted(names) == sorted(flow["routines"])
    sizes = {g.get("font-size") for g in root.iter(f"{SVG}g") if g.get("font-size")}
    assert sizes == {"11"}
    # Status outlines and one arrowhead per connection.
    strokes = [r.get("stroke") for r in root.iter(f"{SVG}rect") if r.get("stroke")]
    assert sorted(strokes) == sorted(["#1e88e5", "#e53935"])
    arrows = "".join(p.get("d") for p in root.iter(f"{SVG}path") if p.get("d", "").endswith("z"))
    assert arrows.count("z") == len(flow["connections"])


def test_edge_path_chains_cubic_segments():
    assert edge_path([]) == ""
    assert edge_path([[0, 0], [1, 0], [2, 1], [3, 1]]) == "M0,0 C1,0 2,1 3,1"
    seven = [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6.25, 6]]
    assert edge_path(seven) == "M0,0 C1,1 2,2 3,3 C4,4 5,5 6.2,6"

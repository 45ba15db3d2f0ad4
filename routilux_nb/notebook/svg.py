"""Static SVG picture of a flow, for ``_repr_html_``.

Pure SVG with presentation attributes only: no scripts, no ``<style>``, no
element ids (several pictures on one page must not share marker ids, so
arrowheads are drawn as small triangles). It renders on GitHub, nbviewer and
after a kernel restart. The geometry comes from :func:`.layout.layered_layout`,
the same one the ``FlowGraph`` widget draws.

A flow of more than :data:`COMPACT_OVER` routines is drawn as an overview
instead: name-only boxes from the compact layout, at 100 % scale (11 px names;
``max-width:none`` keeps frontends from squeezing it: it is meant to sit in a
box that scrolls) and with shared presentation
attributes on a few groups, so 200 routines take about 30 KB.

This module must not import anywidget or ipywidgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .html import escape
from .layout import layered_layout, port_y
from .palette import status_color

__all__ = ["COMPACT_OVER", "MAX_DRAWN", "compact_svg", "edge_path", "flow_svg"]

_FONT = 'font-family="system-ui,-apple-system,Segoe UI,sans-serif"'
_TEXT = "#37474f"
_MUTED = "#78909c"
_EDGE = "#90a4ae"
_BOX = "#ffffff"
COMPACT_OVER = 30
MAX_DRAWN = 300


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def edge_path(points: Sequence[Sequence[float]]) -> str:
    """SVG path data for layout edge points (start, then cubic segments)."""
    if not points:
        return ""
    parts = [f"M{_num(points[0][0])},{_num(points[0][1])}"]
    for i in range(1, len(points) - 2, 3):
        c1, c2, end = points[i], points[i + 1], points[i + 2]
        parts.append(
            f"C{_num(c1[0])},{_num(c1[1])} {_num(c2[0])},{_num(c2[1])} {_num(end[0])},{_num(end[1])}"
        )
    return " ".join(parts)


def _clip(text: str, width: float, char_width: float = 6.6) -> str:
    room = max(int(width / char_width), 4)
    return text if len(text) <= room else text[: room - 1] + "…"


def _status_of(status: Mapping[str, Any] | None, rid: str) -> str | None:
    if not status or rid not in status:
        return None
    value = status[rid]
    if isinstance(value, Mapping):
        value = value.get("status")
    return None if value is None else str(value)


def _node_svg(rid: str, node: Mapping[str, Any], state: str | None) -> str:
    x, y, w, h = node["x"], node["y"], node["w"], node["h"]
    stroke = status_color(state) if state else _MUTED
    out = [
        f"<g><title>{escape(rid)} ({escape(node['class_name'])})</title>",
        f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" rx="6" '
        f'fill="{_BOX}" stroke="{stroke}" stroke-width="{2 if state else 1}"/>',
        f'<text x="{_num(x + 10)}" y="{_num(y + 16)}" font-size="12" font-weight="600" '
        f'fill="{_TEXT}">{escape(_clip(rid, w - 20 - (40 if state else 0)))}</text>',
        f'<text x="{_num(x + 10)}" y="{_num(y + 31)}" font-size="10" fill="{_MUTED}">'
        f"{escape(_clip(node['class_name'], w - 20, 6.0))}</text>",
    ]
    if state:
        out.append(
            f'<text x="{_num(x + w - 8)}" y="{_num(y + 16)}" font-size="10" text-anchor="end" '
            f'fill="{stroke}" font-weight="600">{escape(state)}</text>'
        )
    for i, slot in enumerate(node["slots"]):
        py = y + port_y(i)
        out.append(f'<circle cx="{_num(x)}" cy="{_num(py)}" r="4" fill="{_EDGE}"/>')
        out.append(
            f'<text x="{_num(x + 8)}" y="{_num(py + 3.5)}" font-size="10" fill="{_TEXT}">'
            f"{escape(_clip(slot, w / 2 - 10, 6.0))}</text>"
        )
    for i, event in enumerate(node["events"]):
        py = y + port_y(i)
        out.append(f'<circle cx="{_num(x + w)}" cy="{_num(py)}" r="4" fill="{_EDGE}"/>')
        out.append(
            f'<text x="{_num(x + w - 8)}" y="{_num(py + 3.5)}" font-size="10" '
            f'text-anchor="end" fill="{_TEXT}">{escape(_clip(event, w / 2 - 10, 6.0))}</text>'
        )
    out.append("</g>")
    return "".join(out)


def _edge_svg(edge: Mapping[str, Any]) -> str:
    points = edge["points"]
    tx, ty = points[-1]
    label = f"{edge['source']}.{edge['source_event']} → {edge['target']}.{edge['target_slot']}"
    dash = ' stroke-dasharray="5,3"' if edge.get("back") else ""
    return (
        f"<g><title>{escape(label)}</title>"
        f'<path d="{edge_path(points)}" fill="none" stroke="{_EDGE}" stroke-width="1.5"{dash}/>'
        f'<path d="M{_num(tx)},{_num(ty)} l-8,-4 l0,8 z" fill="{_EDGE}"/></g>'
    )


def compact_svg(
    flow_id: str, layout: Mapping[str, Any], status: Mapping[str, Any] | None = None
) -> str:
    """Name-only boxes of a ``layered_layout(..., compact=True)``; edges, arrowheads, boxes
    and names each share one group's presentation attributes."""
    width, height = layout["width"], layout["height"]
    lines: list[str] = []
    dashed: list[str] = []
    arrows: list[str] = []
    for edge in layout["edges"]:
        (dashed if edge.get("back") else lines).append(edge_path(edge["points"]))
        tx, ty = edge["points"][-1]
        arrows.append(f"M{_num(tx)},{_num(ty)}l-6,-3v6z")
    boxes: list[str] = []
    names: list[str] = []
    for rid, n in layout["nodes"].items():
        x, y, w, h = n["x"], n["y"], n["w"], n["h"]
        state = _status_of(status, rid)
        colour = f' stroke="{status_color(state)}" stroke-width="2"' if state else ""
        rect = f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}"{colour}'
        name = _clip(rid, w - 10, 7.0)
        # A tooltip only where the name had to be shortened: it costs bytes on every box.
        boxes.append(f"{rect}><title>{escape(rid)}</title></rect>" if name != rid else f"{rect}/>")
        names.append(f'<text x="{_num(x + w / 2)}" y="{_num(y + h / 2 + 4)}">{escape(name)}</text>')
    edge_style = f'fill="none" stroke="{_EDGE}" stroke-width="1.2"'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" {_FONT} style="max-width:none">'
        f"<title>{escape(f'Flow {flow_id}')}</title>"
        f'<path d="{" ".join(lines)}" {edge_style}/>'
        + (f'<path d="{" ".join(dashed)}" {edge_style} stroke-dasharray="5,3"/>' if dashed else "")
        + f'<path d="{"".join(arrows)}" fill="{_EDGE}"/>'
        f'<g fill="{_BOX}" stroke="{_MUTED}" stroke-width="1">{"".join(boxes)}</g>'
        f'<g font-size="11" font-weight="600" fill="{_TEXT}" text-anchor="middle">'
        f"{''.join(names)}</g></svg>"
    )


def _too_big_svg(flow_id: str, count: int, max_routines: int) -> str:
    text = f"Flow {flow_id!r}: {count} routines (more than {max_routines}, not drawn)"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="520" height="40" viewBox="0 0 520 40" '
        f'{_FONT}><rect x="0.5" y="0.5" width="519" height="39" rx="6" fill="{_BOX}" '
        f'stroke="{_MUTED}"/><text x="12" y="24" font-size="12" fill="{_TEXT}">'
        f"{escape(text)}</text></svg>"
    )


def flow_svg(
    flow_dict: Mapping[str, Any],
    status: Mapping[str, Any] | None = None,
    max_routines: int = MAX_DRAWN,
    compact: bool | None = None,
) -> str:
    """Render ``flow_dict`` as a standalone SVG string.

    ``status`` maps routine ids to a status string (or to a dict with a
    ``"status"`` key, as in a monitor snapshot); boxes are outlined in the
    status colour. ``compact`` draws name-only boxes at full scale (by default
    for flows of more than :data:`COMPACT_OVER` routines; embed it in a box
    that scrolls). Flows with more than ``max_routines`` routines get a
    one-line placeholder instead of a drawing.
    """
    routines = flow_dict.get("routines") or {}
    flow_id = str(flow_dict.get("flow_id") or "")
    if len(routines) > max_routines:
        return _too_big_svg(flow_id, len(routines), max_routines)
    if compact is None:
        compact = len(routines) > COMPACT_OVER
    if compact:
        return compact_svg(flow_id, layered_layout(flow_dict, compact=True), status)
    layout = layered_layout(flow_dict)
    width, height = layout["width"], layout["height"]
    body = [_edge_svg(e) for e in layout["edges"]]
    body += [_node_svg(rid, n, _status_of(status, rid)) for rid, n in layout["nodes"].items()]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" {_FONT} '
        f'style="max-width:100%;height:auto">'
        f"<title>{escape(f'Flow {flow_id}')}</title>{''.join(body)}</svg>"
    )

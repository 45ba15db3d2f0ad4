"""Static overview of a large flow, for ``_repr_html_``.

A flow of more than :data:`~.svg.COMPACT_OVER` routines is summarised instead of
squeezed: a few facts (sizes, sources, sinks), the compact picture at full scale in
a box that scrolls, and every routine in a table folded under ``<details>``. The
table carries no per-cell styles, so 200 routines stay well under 60 KB of HTML.

This module must not import anywidget or ipywidgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .html import escape, kv
from .layout import layered_layout
from .svg import MAX_DRAWN, compact_svg, flow_svg

__all__ = ["MAX_LISTED", "flow_overview"]

MAX_LISTED = 1_000
_COLUMNS = ("routine", "class", "slots", "events", "policy")
_BOX = "margin:6px 0;overflow:auto;max-height:560px;border:1px solid #8883;border-radius:4px"
_NOTE = "opacity:0.7;margin:6px 0 0"
_WIDE = 900  # px: a wider picture gets a note that it scrolls


def _few(names: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return f"{shown} … ({len(names)} in all)" if len(names) > limit else shown


def _cell(value: Any) -> str:
    text = str(value or "")
    return escape(text if len(text) <= 120 else text[:119] + "…")


def _routine_table(routines: Mapping[str, Mapping[str, Any]], limit: int) -> str:
    head = "".join(f"<th>{c}</th>" for c in _COLUMNS)
    rows = []
    for rid, r in list(routines.items())[:limit]:
        cells = (
            rid,
            r.get("class_name"),
            ", ".join(str(s) for s in r.get("slots") or []),
            ", ".join(str(e) for e in r.get("events") or []),
            (r.get("activation_policy") or {}).get("type"),
        )
        rows.append("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in cells) + "</tr>")
    if len(routines) > limit:
        rows.append(f'<tr><td colspan="{len(_COLUMNS)}">… {len(routines) - limit} more</td></tr>')
    return (
        '<table cellpadding="3" style="border-collapse:collapse;font-size:12px;text-align:left">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def flow_overview(described: Mapping[str, Any], status: Mapping[str, Any] | None = None) -> str:
    """HTML body for a large flow (``Flow.describe()`` output): facts, picture, folded table."""
    routines: Mapping[str, Mapping[str, Any]] = described.get("routines") or {}
    connections = described.get("connections") or []
    fed = {c.get("target_routine") for c in connections}
    feeding = {c.get("source_routine") for c in connections}
    facts = {
        "routines": len(routines),
        "connections": len(connections),
        "sources": _few([rid for rid in routines if rid not in fed]),
        "sinks": _few([rid for rid in routines if rid not in feeding]),
    }
    note = ""
    if len(routines) > MAX_DRAWN:
        picture = flow_svg(described, status)  # a one-line placeholder
    else:
        layout = layered_layout(described, compact=True)
        picture = compact_svg(str(described.get("flow_id") or ""), layout, status)
        layers = 1 + max((n["layer"] for n in layout["nodes"].values()), default=0)
        facts["layers"] = layers
        if layout["width"] > _WIDE:
            note = (
                f'<div style="{_NOTE}">Drawn at full size, {layers} layers from left to right '
                f"({layout['width']:,.0f} px wide): scroll the picture sideways.</div>"
            )
    return (
        kv(facts)
        + note
        + f'<div style="{_BOX}">{picture}</div>'
        + '<details style="margin-top:6px"><summary style="cursor:pointer">'
        + f"All {len(routines)} routines</summary>{_routine_table(routines, MAX_LISTED)}</details>"
    )

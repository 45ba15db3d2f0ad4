"""The static view of a map run's progress: an inline-styled bar with counts, and a PNG.

Used by the map run's ``text/html`` repr (no widget library needed) and as the static
picture beside the live :class:`~.widgets.map_progress.MapProgress` bar. The input is
:meth:`routilux_nb.core.mapping.MapRun.state`. Elapsed time is left out, so a finished run
always looks the same.

This module must not import anywidget or ipywidgets.

>>> state = {"map_id": "map-1", "flow_id": "f", "total": 4, "finished": 4, "done": True,
...          "counts": {"completed": 3, "failed": 1}, "running": 0}
>>> "3 completed" in map_html(state)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .html import card, escape, table
from .palette import status_color
from .raster import Row, rows_png

__all__ = ["SEGMENTS", "map_html", "map_png", "map_summary"]

#: the statuses drawn as bar segments, in order (the rest of the bar is still to come)
SEGMENTS = ("completed", "failed", "cancelled", "not_submitted", "running", "paused")
_ORDER = (*SEGMENTS, "pending")


def map_summary(state: Mapping[str, Any]) -> str:
    """``"3/4 finished: 3 completed, 1 failed"``."""
    counts = state.get("counts") or {}
    parts = ", ".join(f"{counts[s]} {s}" for s in _ORDER if counts.get(s))
    return f"{state.get('finished', 0)}/{state.get('total', 0)} finished" + (
        f": {parts}" if parts else ""
    )


def _title(state: Mapping[str, Any]) -> str:
    return f"Map {state.get('map_id')} of flow {state.get('flow_id')}"


def _bar(state: Mapping[str, Any]) -> str:
    total = max(int(state.get("total") or 0), 1)
    counts = state.get("counts") or {}
    segments = "".join(
        f'<div title="{escape(s)}: {counts[s]}" style="width:{100 * counts[s] / total:.3f}%;'
        f'background:{status_color(s if s != "not_submitted" else "cancelled")}"></div>'
        for s in SEGMENTS
        if counts.get(s)
    )
    return (
        '<div style="display:flex;height:12px;width:360px;max-width:100%;margin:4px 0;'
        f'border:1px solid #8886;border-radius:6px;overflow:hidden;background:#8882">{segments}</div>'
    )


def map_html(state: Mapping[str, Any]) -> str:
    """The run as a card: a bar, the summary line and a count per status."""
    counts = state.get("counts") or {}
    rows = [{"status": s, "items": counts[s]} for s in _ORDER if counts.get(s)]
    body = _bar(state) + f'<div style="margin:4px 0">{escape(map_summary(state))}</div>'
    if rows:
        body += table(rows, ["status", "items"])
    return card(_title(state), body)


def map_png(state: Mapping[str, Any]) -> bytes | None:
    """The same as a PNG (``None`` without Pillow): one bar per status."""
    total = max(int(state.get("total") or 0), 1)
    counts = state.get("counts") or {}
    rows: list[Row] = [
        (f"{counts[s]} {s}", status_color(s), counts[s] / total) for s in _ORDER if counts.get(s)
    ]
    return rows_png(f"{_title(state)}: {map_summary(state).split(':')[0]}", rows, "no items")

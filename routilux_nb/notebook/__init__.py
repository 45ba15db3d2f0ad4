"""Notebook views of flows: static HTML/SVG reprs and live anywidget widgets.

The static helpers (:mod:`.html`, :mod:`.svg`, :mod:`.layout`, :mod:`.throttle`)
need no optional dependency, so ``_repr_html_`` works everywhere. The widget
names are loaded on first access and need the ``notebook`` extra; without it,
importing them raises an :class:`ImportError` that says what to install.
"""

from __future__ import annotations

from typing import Any

from .html import badge, card, kv, table
from .layout import layered_layout
from .svg import flow_svg
from .throttle import Coalescer

__all__ = [
    "Coalescer",
    "Dashboard",
    "Debugger",
    "FlowGraph",
    "JobProgress",
    "MapProgress",
    "QueueGauges",
    "TraceTable",
    "badge",
    "card",
    "flow_svg",
    "kv",
    "layered_layout",
    "table",
]

_WIDGETS = {
    "Dashboard",
    "Debugger",
    "FlowGraph",
    "JobProgress",
    "MapProgress",
    "QueueGauges",
    "TraceTable",
}


def __getattr__(name: str) -> Any:
    if name in _WIDGETS:
        from . import widgets  # raises a helpful ImportError without the extra

        return getattr(widgets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

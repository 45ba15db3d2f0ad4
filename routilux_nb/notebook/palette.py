"""Colours shared by the static HTML/SVG reprs.

The widgets' stylesheets carry the same values as CSS custom properties so a
static repr and a live widget look alike.

This module must not import anywidget or ipywidgets.
"""

from __future__ import annotations

__all__ = ["PRESSURE_COLORS", "STATUS_COLORS", "pressure_color", "status_color"]

STATUS_COLORS: dict[str, str] = {
    "pending": "#9e9e9e",
    "idle": "#9e9e9e",
    "running": "#1e88e5",
    "paused": "#ffb300",
    "completed": "#43a047",
    "failed": "#e53935",
    "error": "#e53935",
    "cancelled": "#546e7a",
    "stopped": "#546e7a",
}

PRESSURE_COLORS: dict[str, str] = {
    "low": "#43a047",
    "medium": "#fdd835",
    "high": "#fb8c00",
    "critical": "#e53935",
}

_UNKNOWN = "#9e9e9e"


def status_color(status: object) -> str:
    """Colour for a job/routine/worker status; grey for anything unknown."""
    return STATUS_COLORS.get(str(status).lower(), _UNKNOWN)


def pressure_color(level: object) -> str:
    """Colour for a queue pressure level; grey for anything unknown."""
    return PRESSURE_COLORS.get(str(level).lower(), _UNKNOWN)

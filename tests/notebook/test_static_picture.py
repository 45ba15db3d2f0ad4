"""Every widget's mimebundle carries a static picture: ``image/png`` and ``text/html``."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import pytest
from IPython.core.formatters import DisplayFormatter
from PIL import Image

from routilux_nb.notebook.layout import layered_layout
from routilux_nb.notebook.raster import flow_png, rows_png, stack_png
from routilux_nb.notebook.widgets import (
    Dashboard,
    Debugger,
    FlowGraph,
    JobProgress,
    QueueGauges,
    TraceTable,
)

WIDGET = "application/vnd.jupyter.widget-view+json"


def png_size(data: bytes | str) -> tuple[int, int]:
    raw = base64.b64decode(data) if isinstance(data, str) else data
    with Image.open(io.BytesIO(raw)) as image:
        assert image.format == "PNG"
        return image.size


def formatted(widget: Any) -> dict[str, Any]:
    """What IPython publishes when ``widget`` is the last line of a cell."""
    data, _meta = DisplayFormatter().format(widget)
    return data


def paused_state() -> dict[str, Any]:
    return {
        "job_id": "job-7",
        "status": "paused",
        "location": {"kind": "routine", "routine_id": "double", "breakpoint_id": "bp-1"},
        "variables": {"payload": [{"value": 499.0}]},
        "call_stack": [],
    }


def views(flow: dict[str, Any]) -> list[Any]:
    return [
        FlowGraph(flow),
        JobProgress(),
        QueueGauges(),
        TraceTable(max_rows=5),
        Debugger(paused_state()),
        Dashboard(flow),
    ]


def test_every_widget_bundle_has_the_view_a_png_and_html(etl_flow):
    for widget in views(etl_flow):
        data = formatted(widget)
        assert WIDGET in data, type(widget).__name__
        assert data["text/plain"] == repr(widget)
        width, height = png_size(data["image/png"])
        assert width > 50 and height > 20, (type(widget).__name__, width, height)
        assert data["text/html"].startswith("<div"), type(widget).__name__
        widget.close()


def test_the_html_embeds_the_png_and_no_inline_svg(etl_flow):
    """Untrusted notebooks strip inline SVG but keep ``<img src="data:image/png...">``."""
    graph = FlowGraph(etl_flow)
    html = formatted(graph)["text/html"]
    assert "<svg" not in html
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 1
    assert png_size(images[0]) == png_size(flow_png(graph.graph_layout))
    assert "<script" not in html
    graph.close()


def test_the_picture_follows_the_state(etl_flow):
    graph = FlowGraph(etl_flow)
    before = formatted(graph)
    graph.apply_snapshot(
        {
            "routines": {"double": {"status": "paused", "execution_count": 2}},
            "connections": {"conn_0": {"count": 7}},
            "breakpoints": [
                {
                    "breakpoint_id": "bp-1",
                    "type": "routine",
                    "routine_id": "double",
                    "slot_name": None,
                    "event_name": None,
                    "enabled": True,
                    "hit_count": 0,
                    "job_id": None,
                }
            ],
        }
    )
    after = formatted(graph)
    assert after["image/png"] != before["image/png"]
    assert "paused" in after["text/html"] and "paused" not in before["text/html"]
    assert "breakpoints: double" in after["text/html"]
    graph.close()


def test_jobs_queues_and_debugger_pictures_name_what_they_show(etl_flow):
    board = Dashboard(etl_flow)
    board.apply_snapshot(
        {
            "jobs": {
                "job-1": {
                    "job_id": "job-1",
                    "status": "completed",
                    "elapsed": 0.25,
                    "created_at": "2026-01-01T00:00:01+00:00",
                    "routine_counts": {"source": 1, "sink": 1},
                },
                "job-2": {
                    "job_id": "job-2",
                    "status": "failed",
                    "elapsed": 0.5,
                    "created_at": "2026-01-01T00:00:02+00:00",
                    "routine_counts": {},
                    "error": "ValueError: <bad>",
                },
            },
            "queues": {
                "double": {
                    "input": {
                        "unconsumed_count": 3,
                        "max_length": 10,
                        "usage_percentage": 0.3,
                        "pressure_level": "low",
                    }
                }
            },
        }
    )
    board.set_debug_state(paused_state())
    html = formatted(board)["text/html"]
    for text in (
        "job-1",
        "completed",
        "job-2",
        "failed",
        "ValueError: &lt;bad&gt;",
        "double.input",
        "Debugger: job job-7",
        "paused",
        "499.0",
    ):
        assert text in html, text
    assert "<bad>" not in html
    sizes = [png_size(p) for p in (board.flow_graph.picture()[1], board.job_progress.picture()[1])]
    width, height = png_size(formatted(board)["image/png"])
    assert height > sum(h for _, h in sizes) and width >= max(w for w, _ in sizes)
    board.close()


def test_a_failing_picture_keeps_the_widget_view(etl_flow, monkeypatch):
    graph = FlowGraph(etl_flow)
    monkeypatch.setattr(FlowGraph, "picture", lambda self: 1 / 0)
    data = formatted(graph)
    assert WIDGET in data and "image/png" not in data
    assert "no static picture: ZeroDivisionError" in data["text/html"]
    graph.close()


def chain(n: int) -> dict[str, Any]:
    return {
        "flow_id": f"chain{n}",
        "routines": {f"r{i}": {"slots": ["input"], "events": ["output"]} for i in range(n)},
        "connections": [
            {
                "source_routine": f"r{i}",
                "source_event": "output",
                "target_routine": f"r{i + 1}",
                "target_slot": "input",
            }
            for i in range(n - 1)
        ],
    }


def test_pictures_are_bounded_and_legible_or_summarised():
    wide = layered_layout(chain(8))
    width, height = png_size(flow_png(wide))
    assert max(width, height) <= 2400
    assert width >= 0.6 * wide["width"]  # labels stay readable
    huge = layered_layout(chain(200))
    assert flow_png(huge) is None  # a 200-step chain cannot be read as one picture
    branching = chain(200)
    branching["connections"] = [
        {
            "source_routine": f"r{(i - 1) // 2}",
            "source_event": "output",
            "target_routine": f"r{i}",
            "target_slot": "input",
        }
        for i in range(1, 200)
    ]  # a binary tree: no long one-to-one chain the live graph would fold into one box
    graph = FlowGraph(branching)
    graph.apply_snapshot({"routines": {f"r{i}": {"status": "idle"} for i in range(200)}})
    data = formatted(graph)
    assert "200 routines, 199 connections: too large for a static picture" in data["text/html"]
    assert "<img" not in data["text/html"] and png_size(data["image/png"])[1] >= 40
    assert "… 180 more" in data["text/html"]  # the status table is capped
    graph.close()
    folded = FlowGraph(chain(200))  # the live graph folds the chain into one summary box: drawn
    folded.apply_snapshot({"routines": {f"r{i}": {"status": "idle"} for i in range(200)}})
    assert "<img" in formatted(folded)["text/html"]
    folded.close()


@pytest.mark.parametrize("rows", [[], [("a", "#000000", None), ("b", "#e53935", 0.5)]])
def test_rows_and_stacked_pictures(rows):
    one = rows_png("Title", rows)
    assert png_size(one)[1] >= 40
    both = stack_png([one, None, one])
    assert png_size(both)[1] == 2 * png_size(one)[1]
    assert stack_png([None]) is None

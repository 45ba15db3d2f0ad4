"""The static picture every widget output carries beside its live view.

A widget's mimebundle holds the widget view *and* ``image/png`` plus ``text/html``
drawn from the widget's current state, so that the output still shows something where
the live widget cannot be drawn: a committed notebook opened before anything runs (an
untrusted notebook shows the PNG and sanitised HTML, never inline SVG), ``jupyter
nbconvert`` / GitHub / nbviewer offline, and a saved notebook reopened without its
kernel. The HTML embeds the same PNG as an ``<img>`` with a ``data:`` URI (kept by the
sanitiser of untrusted notebooks) next to tables of the jobs, queues and debugger state.

The picture is the state when the output was produced; the live view takes over when
the widget is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..html import badge, card, escape, kv, table
from ..palette import pressure_color, status_color
from ..raster import Row, data_uri, flow_png, legible, rows_png

__all__ = [
    "Picture",
    "add_picture",
    "debugger_picture",
    "graph_picture",
    "jobs_picture",
    "queues_picture",
    "trace_picture",
]

Picture = tuple[str, bytes | None]  # (html, png)
_MAX_ROWS = 20
_MUTED = "opacity:0.7;margin:4px 0"


def _img(png: bytes | None, alt: str, width: float | None = None) -> str:
    if png is None:
        return ""
    size = f' width="{round(width)}"' if width else ""
    return (
        f'<img src="{data_uri(png)}" alt="{escape(alt)}"{size} '
        f'style="max-width:100%;height:auto;display:block;margin:4px 0"/>'
    )


def _note(text: str) -> str:
    return f'<div style="{_MUTED}">{escape(text)}</div>'


def add_picture(
    bundle: Any, picture: Callable[[], Picture], title: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``bundle`` (a widget's data, or ``(data, metadata)``) with ``text/html`` and ``image/png``.

    A failing picture never breaks the display: the bundle is returned as it was.
    """
    data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
    data, meta = dict(data or {}), dict(meta or {})
    try:
        html, png = picture()
    except Exception as exc:  # a repr must never raise in a notebook
        html, png = card(title, _note(f"(no static picture: {type(exc).__name__}: {exc})")), None
    data["text/html"] = html
    if png is not None:
        data["image/png"] = png
    return data, meta


# -- one picture per view ----------------------------------------------------------------


def graph_picture(
    flow_id: str,
    layout: Mapping[str, Any],
    status: Mapping[str, Any],
    edge_counts: Mapping[str, int],
    breakpoints: Sequence[str],
) -> Picture:
    png = flow_png(layout, status, edge_counts, breakpoints)
    summary = ""
    if png is None and not legible(layout):  # too large to read as one picture
        nodes = len(layout.get("nodes") or {})
        text = f"{nodes} routines, {len(layout.get('edges') or [])} connections: too large for a static picture (the live view draws it)"
        png = rows_png(f"Flow {flow_id}", [(text, "#78909c", None)])
        summary = _note(text)
    rows = [
        {
            "routine": rid,
            "status": (info or {}).get("status"),
            "runs": (info or {}).get("execution_count"),
            "errors": (info or {}).get("error_count"),
        }
        for rid, info in sorted(status.items())
    ]
    body = summary or _img(png, f"Flow {flow_id}", (layout.get("width") or 0) or None)
    if rows:
        body += table(rows, ["routine", "status", "runs", "errors"], _MAX_ROWS)
    if breakpoints:
        body += _note("breakpoints: " + ", ".join(breakpoints))
    return card(f"Flow {flow_id}", body), png


def _job_line(job: Mapping[str, Any]) -> str:
    counts = job.get("routine_counts") or {}
    runs = ", ".join(f"{rid} {n}" for rid, n in counts.items())
    return (
        f"{job.get('job_id')}  {job.get('status')}  {job.get('elapsed') or 0:.3f} s  runs: {runs}"
    )


def jobs_picture(jobs: Mapping[str, Mapping[str, Any]]) -> Picture:
    ordered = list(jobs.values())
    rows: list[Row] = [
        (_job_line(j), status_color(j.get("status")), None) for j in ordered[:_MAX_ROWS]
    ]
    png = rows_png(f"Jobs ({len(ordered)})", rows, "No jobs yet.")
    table_rows = [
        {
            "job": j.get("job_id"),
            "status": j.get("status"),
            "elapsed": f"{j.get('elapsed') or 0:.3f} s",
            "runs": ", ".join(f"{r}×{n}" for r, n in (j.get("routine_counts") or {}).items()),
            "error": j.get("error"),
        }
        for j in ordered
    ]
    body = (
        table(table_rows, ["job", "status", "elapsed", "runs", "error"], _MAX_ROWS)
        if table_rows
        else _note("No jobs yet.")
    )
    return card(f"Jobs ({len(ordered)})", body), png


def queues_picture(queues: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Picture:
    flat = [(rid, slot, q) for rid, slots in queues.items() for slot, q in slots.items()]
    rows: list[Row] = []
    table_rows = []
    for rid, slot, q in flat:
        queued, limit = q.get("unconsumed_count") or 0, q.get("max_length")
        usage = float(q.get("usage_percentage") or 0)
        level = q.get("pressure_level")
        rows.append(
            (
                f"{rid}.{slot}  {queued}/{limit or '∞'}  {level or ''}".replace("∞", "inf"),
                pressure_color(level),
                usage,
            )
        )
        table_rows.append(
            {
                "queue": f"{rid}.{slot}",
                "queued": queued,
                "max": limit,
                "usage": f"{100 * usage:.0f} %",
                "pressure": level,
            }
        )
    png = rows_png(f"Queues ({len(flat)})", rows[:_MAX_ROWS], "No slot queues.")
    body = (
        table(table_rows, ["queue", "queued", "max", "usage", "pressure"], _MAX_ROWS)
        if table_rows
        else _note("No slot queues.")
    )
    return card(f"Queues ({len(flat)})", body), png


def trace_picture(rows: Sequence[Mapping[str, Any]]) -> Picture:
    shown = list(rows)[:_MAX_ROWS]
    lines: list[Row] = [
        (
            f"{r.get('seq')}  {r.get('event_type')}  {r.get('routine_id') or ''}  "
            f"{r.get('status') or ''}".strip(),
            status_color(r.get("status")) if r.get("status") else "#37474f",
            None,
        )
        for r in shown
    ]
    png = rows_png(f"Trace ({len(rows)} newest first)", lines, "No events.")
    columns = ["seq", "event_type", "routine_id", "job_id", "status", "data"]
    body = table(shown, columns, _MAX_ROWS) if shown else _note("No events.")
    if len(rows) > len(shown):
        body += _note(f"… {len(rows) - len(shown)} more")
    return card(f"Trace ({len(rows)} events)", body), png


def debugger_picture(state: Mapping[str, Any]) -> Picture:
    status = state.get("status")
    location = state.get("location") or {}
    title = f"Debugger: job {state.get('job_id')}" if state.get("job_id") else "Debugger"
    if not state.get("job_id"):
        return card(title, _note("No job is shown.")), rows_png(title, [], "No job is shown.")
    where = " ".join(
        str(location[k])
        for k in ("kind", "routine_id", "slot_name", "event_name")
        if location.get(k)
    )
    lines: list[Row] = [(f"status: {status}", status_color(status), None)]
    if where:
        lines.append((f"paused at: {where}", "#37474f", None))
    for name, value in (state.get("variables") or {}).items():
        text = str(value)
        lines.append((f"{name} = {text[:90] + '...' if len(text) > 90 else text}", "#37474f", None))
    png = rows_png(title, lines[:_MAX_ROWS])
    body = badge(status)
    if where:
        body += kv({"paused at": where, "breakpoint": location.get("breakpoint_id")})
    else:
        body += _note("Not stopped at a breakpoint.")
    variables = state.get("variables") or {}
    if variables:
        body += kv({k: v for k, v in variables.items()})
    return card(title, body), png

"""Static ``text/html`` reprs of the engine's and the monitor's objects.

:func:`html_for` turns a flow, routine, worker, job, breakpoint, debug session, runtime,
metrics, trace, history or server handle into a self-contained HTML fragment: inline
styles only (it renders on GitHub, nbviewer and after a kernel restart), every value
escaped, tables cut to :data:`MAX_ROWS` rows and the whole fragment to about
:data:`MAX_HTML` characters. Core classes call it lazily from ``_repr_html_``; the live
views are the widgets of :mod:`.live`.

This module must not import anywidget or ipywidgets.

>>> from routilux_nb import Flow
>>> html_for(Flow("etl")).startswith("<div")
True
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from routilux_nb.core.jsonsafe import to_jsonable
from routilux_nb.core.payloads import summary_text

from .artifacts_html import artifacts_section
from .html import badge, card, escape, kv, svg_img, table
from .map_view import map_html
from .overview import flow_overview
from .payload_html import data_section, parked_frames_html
from .svg import COMPACT_OVER, flow_svg

__all__ = ["MAX_HTML", "MAX_ROWS", "html_for"]

MAX_ROWS = 50
MAX_HTML = 300_000
_MAX_TEXT = 4_000
_MUTED = "opacity:0.7;margin:4px 0"
_PRE = (
    "margin:4px 0;padding:6px;max-height:240px;overflow:auto;white-space:pre-wrap;"
    "background:#8881;border-radius:4px;font-size:11px"
)


def _iso(ts: Any) -> str | None:
    from routilux_nb.core.clock import iso

    return iso(ts) if isinstance(ts, (int, float)) else ts


def _seconds(value: Any) -> str:
    return "" if not isinstance(value, (int, float)) else f"{value:.3f} s"


def _clip(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _pre(value: Any) -> str:
    text = (
        value
        if isinstance(value, str)
        else json.dumps(to_jsonable(value), indent=1, ensure_ascii=False)
    )
    return f'<pre style="{_PRE}">{escape(_clip(text))}</pre>'


def _note(text: str) -> str:
    return f'<div style="{_MUTED}">{escape(text)}</div>'


def _section(title: str, body_html: str) -> str:
    return f'<div style="margin-top:8px"><div style="font-weight:600">{escape(title)}</div>{body_html}</div>'


def _details(summary: str, body_html: str) -> str:
    return (
        f'<details style="margin-top:6px"><summary style="cursor:pointer">{escape(summary)}'
        f"</summary>{body_html}</details>"
    )


def _names(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values)


# -- one function per type -------------------------------------------------------------


def _flow(flow: Any) -> str:
    described = flow.describe()
    routines = described.get("routines") or {}
    if len(routines) > COMPACT_OVER:
        return card(f"Flow {described.get('flow_id')}", flow_overview(described))
    rows = [
        {
            "routine": rid,
            "class": r.get("class_name"),
            "slots": _names(r.get("slots") or []),
            "events": _names(r.get("events") or []),
            "policy": (r.get("activation_policy") or {}).get("type"),
        }
        for rid, r in routines.items()
    ]
    body = (
        kv({"routines": len(routines), "connections": len(described.get("connections") or [])})
        + f'<div style="margin:6px 0;overflow:auto">{svg_img(flow_svg(described), "flow graph")}</div>'
        + table(rows, ["routine", "class", "slots", "events", "policy"], MAX_ROWS)
    )
    return card(f"Flow {described.get('flow_id')}", body)


def _routine(routine: Any) -> str:
    info = routine.info()
    policy = info.get("activation_policy") or {}
    body = kv(
        {
            "class": getattr(routine, "class_name", type(routine).__name__),
            "slots": _names(info.get("slots") or []),
            "events": _names(info.get("events") or []),
            "activation": f"{policy.get('type', '')}: {policy.get('description', '')}",
            "error handler": info.get("error_handler"),
        }
    )
    config = info.get("config") or {}
    if config:
        body += _section("config", _pre(config))
    return card(f"Routine {info.get('routine_id')}", body)


def _queue_rows(queues: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    return [
        {
            "routine": rid,
            "slot": q.get("slot_name"),
            "queued": q.get("unconsumed_count"),
            "max": q.get("max_length"),
            "usage": f"{100 * float(q.get('usage_percentage') or 0):.1f} %",
            "pressure": q.get("pressure_level"),
        }
        for rid, qs in queues.items()
        for q in qs
    ]


def _worker(worker: Any) -> str:
    d = worker.to_dict()
    body = badge(d.get("status")) + kv(
        {
            "flow": d.get("flow_id"),
            "jobs processed": d.get("jobs_processed"),
            "jobs failed": d.get("jobs_failed"),
            "active jobs": d.get("active_jobs"),
            "pending tasks": d.get("pending_tasks"),
            "started": d.get("started_at"),
        }
    )
    rows = _queue_rows(worker.queue_status())
    if rows:
        columns = ["routine", "slot", "queued", "max", "usage", "pressure"]
        body += _section("queues", table(rows, columns, MAX_ROWS))
    if d.get("error"):
        body += _section("error", _pre(d["error"]))
        if d.get("error_traceback"):
            body += _details("traceback", _pre(d["error_traceback"]))
    return card(f"Worker {d.get('worker_id')}", body)


def _routine_metric_rows(metrics: Any) -> list[dict[str, Any]]:
    return [
        {
            "routine": rid,
            "runs": m.execution_count,
            "errors": m.error_count,
            "avg": _seconds(m.avg_duration),
            "total": _seconds(m.total_duration),
        }
        for rid, m in list(metrics.routine_metrics.items())
    ]


def _job(job: Any) -> str:
    body = badge(job.status) + kv(
        {
            "flow": job.flow_id,
            "worker": job.worker_id,
            "created": _iso(job.created_at),
            "started": _iso(job.started_at),
            "completed": _iso(job.completed_at),
            "duration": _seconds(job.duration),
        }
    )
    if job.monitor is not None:
        rows = _routine_metric_rows(job.metrics)
        if rows:
            body += _section(
                "routines", table(rows, ["routine", "runs", "errors", "avg", "total"], MAX_ROWS)
            )
    data = data_section(job.data)
    if data:
        body += _section("data", data)
    body += artifacts_section(job)
    if job.error:
        body += _section("error", _pre(job.error))
        if job.error_traceback:
            body += _details("traceback", _pre(job.error_traceback))
    return card(f"Job {job.job_id}", body)


def _breakpoint(bp: Any) -> str:
    d = bp.to_dict()
    where = " ".join(
        str(d[k]) for k in ("routine_id", "slot_name", "event_name", "target_routine") if d.get(k)
    )
    scope = {k: d.get(k) for k in ("job_id", "worker_id", "flow_id") if d.get(k)}
    fields = {
        "type": d.get("type"),
        "at": where,
        "condition": d.get("condition"),
        "enabled": d.get("enabled"),
        "hits": d.get("hit_count"),
        **scope,
    }
    if d.get("condition_errors"):
        fields["condition errors"] = d["condition_errors"]
    return card(f"Breakpoint {d.get('breakpoint_id')}", kv(fields))


def _debug_session(session: Any) -> str:
    d = session.to_dict()
    location = d.get("location")
    if not location:
        body = badge(d.get("status")) + _note("Not stopped at a breakpoint.")
        return card(f"Debug session {d.get('job_id')}", body)
    loc = {
        k: location.get(k)
        for k in ("kind", "routine_id", "slot_name", "event_name", "breakpoint_id", "parked_at")
        if location.get(k) is not None
    }
    body = badge(d.get("status")) + kv(loc)
    for name, value in (d.get("variables") or {}).items():
        body += _section(name, _pre(value))
    if d.get("frames"):
        body += _section("tables", parked_frames_html(d["frames"]))
    stack = d.get("call_stack") or []
    columns = ["routine_id", "event_name", "target_routine", "target_slot"]
    body += _section("call stack", table(stack, columns, MAX_ROWS) if stack else _note("empty"))
    return card(f"Debug session {d.get('job_id')}", body)


def _runtime(runtime: Any) -> str:
    workers = list(runtime.workers.values())
    rows = [
        {
            "worker": w.worker_id,
            "flow": w.flow_id,
            "status": w.status,
            "processed": w.jobs_processed,
            "failed": w.jobs_failed,
            "active": len(w.active_jobs),
        }
        for w in workers
    ]
    body = kv({"flows": _names(list(runtime.flows)), "workers": len(workers)})
    if rows:
        columns = ["worker", "flow", "status", "processed", "failed", "active"]
        body += _section("workers", table(rows, columns, MAX_ROWS))
    return card("Runtime", body)


def _metrics(metrics: Any) -> str:
    d = metrics.to_dict()
    body = kv(
        {
            "job": d.get("job_id"),
            "events": d.get("total_events"),
            "slot calls": d.get("total_slot_calls"),
            "emits": d.get("total_event_emits"),
            "errors": len(d.get("errors") or []),
            "duration": _seconds(d.get("duration")),
        }
    )
    rows = _routine_metric_rows(metrics)
    if rows:
        body += table(rows, ["routine", "runs", "errors", "avg", "total"], MAX_ROWS)
    errors = d.get("errors") or []
    if errors:
        columns = ["routine_id", "error_type", "error_message", "timestamp"]
        body += _section("errors", table(errors, columns, MAX_ROWS))
    return card(f"Metrics of job {d.get('job_id')}", body)


def _shown_data(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows whose ``data`` (a payload summary) reads as text: frames as ``DataFrame 50×15``."""
    return [
        {**r, "data": summary_text(r["data"])} if isinstance(r.get("data"), (dict, list)) else r
        for r in rows
    ]


def _trace(trace: Any) -> str:
    rows = _shown_data(trace.to_list(MAX_ROWS))
    hidden = max(int(trace.total) - len(rows), 0)
    columns = ["seq", "timestamp", "event_type", "routine_id", "detail", "data", "status"]
    body = _note(f"… {hidden} more (earlier) events") if hidden else ""
    body += table(rows, columns, MAX_ROWS) if rows else _note("No events.")
    return card(f"Trace ({trace.total} events)", body)


def _history(history: Any) -> str:
    rows = _shown_data(history.to_list(limit=MAX_ROWS))
    hidden = max(len(history) - len(rows), 0)
    columns = ["seq", "timestamp", "routine_id", "event_name", "job_id", "data"]
    body = table(rows, columns, MAX_ROWS) if rows else _note("No emits yet.")
    if hidden:
        body += _note(f"… {hidden} more (older) entries")
    return card(f"History of worker {history.worker_id}", body)


def _server(handle: Any) -> str:
    base = str(handle.link).rstrip("/")
    link = "color:#0969da;text-decoration:underline;margin-right:12px"
    links = "".join(
        f'<a style="{link}" href="{escape(base + path)}" target="_blank">{escape(label)}</a>'
        for label, path in (("API", "/api/v1/health"), ("/docs", "/docs"), ("/metrics", "/metrics"))
    )
    state = "running" if handle.running else "stopped"
    body = badge(state) + f' <code style="margin:0 10px">{escape(handle.url)}</code>{links}'
    return card("Routilux API", body)


def _handlers() -> list[tuple[type, Callable[[Any], str]]]:
    from routilux_nb.core.flow import Flow
    from routilux_nb.core.job import JobContext
    from routilux_nb.core.mapping import MapRun
    from routilux_nb.core.routine import Routine
    from routilux_nb.core.runtime import Runtime
    from routilux_nb.core.worker import Worker
    from routilux_nb.monitor.breakpoints import Breakpoint
    from routilux_nb.monitor.collector import History
    from routilux_nb.monitor.debug import DebugSession
    from routilux_nb.monitor.metrics import ExecutionMetrics
    from routilux_nb.monitor.trace import TraceBuffer

    handlers: list[tuple[type, Callable[[Any], str]]] = [
        (Flow, _flow),
        (Routine, _routine),
        (Worker, _worker),
        (JobContext, _job),
        (Breakpoint, _breakpoint),
        (DebugSession, _debug_session),
        (Runtime, _runtime),
        (ExecutionMetrics, _metrics),
        (TraceBuffer, _trace),
        (History, _history),
        (MapRun, lambda run: map_html(run.state())),
    ]
    # A ServerHandle exists only once its module is loaded: never import the server here.
    embedded = sys.modules.get("routilux_nb.server.embedded")
    server_handle = getattr(embedded, "ServerHandle", None)
    if isinstance(server_handle, type):
        handlers.append((server_handle, _server))
    return handlers


def _fallback(obj: Any, note: str) -> str:
    return card(type(obj).__name__, _pre(repr(obj)) + _note(note))


def html_for(obj: Any) -> str:
    """An escaped, inline-styled, size-capped HTML summary of ``obj``."""
    for cls, render in _handlers():
        if isinstance(obj, cls):
            try:
                out = render(obj)
            except Exception as exc:  # a repr must never raise in a notebook
                return _fallback(obj, f"(no HTML view: {type(exc).__name__}: {exc})")
            if len(out) > MAX_HTML:
                return _fallback(obj, f"(HTML view too large: {len(out)} characters)")
            return out
    return _fallback(obj, "")

"""The artifacts of a job in its HTML repr and in the dashboard: a table of them, a
DataFrame's head as a table, a figure as its image (inline ``data:`` PNG, which untrusted
notebooks show too), text clipped; in the dashboard, the others by name, kind and size with a
download link while the runtime's HTTP server runs.

Nothing here creates an artifact store: a runtime that never stored an artifact shows none.
"""

from __future__ import annotations

import base64
from typing import Any

from routilux_nb.core.job import JobContext

from .html import escape, table

__all__ = ["artifact_entries", "artifacts_panel", "artifacts_section"]

#: artifacts shown with their content, figures and tables first (the rest are only listed)
MAX_SHOWN = 4
_MAX_IMAGE = 400_000
_MAX_TEXT = 2_000
_HEAD_ROWS = 5


def _preview(store: Any, art: Any) -> str:
    try:
        if art.kind == "figure" and art.size <= _MAX_IMAGE:
            _, data = store.read_bytes(art.artifact_id)
            uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            return f'<img src="{uri}" alt="{escape(art.name)}" style="max-width:100%;height:auto"/>'
        if art.kind == "dataframe":
            frame = store.load(art.artifact_id)
            head = frame.head(_HEAD_ROWS).reset_index()
            rows = [{str(k): v for k, v in row.items()} for row in head.to_dict("records")]
            note = (
                f'<div style="opacity:0.7">{frame.shape[0]} rows × {frame.shape[1]} columns</div>'
            )
            return note + table(rows, [str(c) for c in head.columns], _HEAD_ROWS)
        if art.kind in ("text", "json"):
            text = store.read_bytes(art.artifact_id)[1].decode("utf-8", "replace")
            clipped = text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"
            return f'<pre style="margin:4px 0;white-space:pre-wrap;font-size:11px">{escape(clipped)}</pre>'
    except Exception as exc:  # a repr never fails because an artifact cannot be read
        return f'<div style="opacity:0.7">cannot show it: {escape(type(exc).__name__)}</div>'
    return ""


def artifacts_section(job: Any) -> str:
    """HTML of the job's artifacts, or ``""`` when it has none (or its runtime has no store)."""
    runtime = job.worker.runtime if isinstance(job, JobContext) else None  # stored jobs: none shown
    store = None if runtime is None else runtime.artifacts_if_open
    arts = [] if store is None else store.for_job(job.job_id)
    if not arts:
        return ""
    rows = [
        {"name": a.name, "kind": a.kind, "size": f"{a.size:,} B", "routine": a.routine_id}
        for a in arts
    ]
    body = table(rows, ["name", "kind", "size", "routine"], 50)
    # pictures and tables first, then the newest of the rest; shown in the order attached
    chosen = sorted(arts, key=lambda a: (a.kind not in ("figure", "dataframe"), -a.created_at))[
        :MAX_SHOWN
    ]
    for art in [a for a in arts if a in chosen]:
        preview = _preview(store, art)
        if preview:
            body += f'<div style="margin-top:6px"><code>{escape(art.name)}</code>{preview}</div>'
    return f'<div style="margin-top:8px"><div style="font-weight:600">artifacts</div>{body}</div>'


def _store_of(runtime: Any) -> Any:
    return None if runtime is None else getattr(runtime, "artifacts_if_open", None)


def _download_base(runtime: Any) -> str | None:
    """The URL prefix of artifact downloads while the runtime's HTTP server runs, else None."""
    server = getattr(runtime, "server", None)
    if server is None or not getattr(server, "running", False):
        return None
    return f"{str(server.link).rstrip('/')}/api/v1/artifacts"


def artifact_entries(runtime: Any, job_id: str) -> list[dict[str, Any]]:
    """The job's artifacts as plain dicts (``artifact_id, name, kind, size, routine_id,
    content_type, download_url``), oldest first; ``download_url`` is None without a server."""
    store = _store_of(runtime)
    if store is None or not job_id:
        return []
    base = _download_base(runtime)
    return [
        {
            "artifact_id": a.artifact_id,
            "name": a.name,
            "kind": a.kind,
            "size": a.size,
            "routine_id": a.routine_id,
            "content_type": a.content_type,
            "download_url": None if base is None else f"{base}/{a.artifact_id}/download",
        }
        for a in store.for_job(job_id)
    ]


def artifacts_panel(runtime: Any, job_id: str, entries: list[dict[str, Any]]) -> str:
    """HTML of the dashboard's artifacts tab for ``entries`` (from :func:`artifact_entries`):
    each DataFrame's head, each figure's image, the others by name, kind and size (a download
    link only while the server runs)."""
    if not job_id:
        return '<div style="opacity:0.7">Click a job in the Jobs tab to see its artifacts.</div>'
    if not entries:
        return f'<div style="opacity:0.7">Job <code>{escape(job_id)}</code> has no artifacts.</div>'
    store = _store_of(runtime)
    parts = [f'<div style="font-weight:600">artifacts of <code>{escape(job_id)}</code></div>']
    for entry in entries:
        name = f"<code>{escape(entry['name'])}</code>"
        preview = ""
        if store is not None and entry["kind"] in ("dataframe", "figure"):
            try:
                preview = _preview(store, store.get(entry["artifact_id"]))
            except KeyError:  # deleted meanwhile
                continue
        if preview:
            parts.append(f'<div style="margin-top:6px">{name}{preview}</div>')
            continue
        link = ""
        if entry["download_url"]:
            href = escape(entry["download_url"])
            link = f' <a href="{href}" target="_blank" rel="noopener">download</a>'
        parts.append(
            f'<div style="margin-top:4px">{name} <span style="opacity:0.7">'
            f"{escape(entry['kind'])}, {entry['size']:,} B</span>{link}</div>"
        )
    return "".join(parts)

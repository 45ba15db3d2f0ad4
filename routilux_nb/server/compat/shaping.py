"""Answers shaped as the original server's (``create_app(compat="routilux")``).

* The original sent ``created_at``, ``started_at`` and ``completed_at`` of jobs and workers
  as Unix seconds, and its clients compute ``new Date(x * 1000)``: those fields (at any
  depth) of the job, worker, discovery and execute answers become Unix seconds; every other
  field and route keeps ISO 8601.
* Where the original answered a whole resource and we answer a short status, the resource
  is merged under our answer: ``POST /workers/{id}/pause|resume`` (the worker),
  ``POST /jobs/{id}/complete|fail`` (the job); ``GET /jobs/{id}/trace`` also carries the
  original's ``job_id``, ``trace_log`` and ``total_entries``, and the routine states of
  ``GET /workers/{id}/routines/states`` a ``last_execution_time``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["TIMESTAMP_FIELDS", "CompatResponsesMiddleware", "to_unix_seconds"]

TIMESTAMP_FIELDS = frozenset({"created_at", "started_at", "completed_at"})
_RESOURCES = ("/jobs", "/workers", "/discovery/jobs", "/discovery/workers", "/execute")


def to_unix_seconds(value: Any) -> Any:
    """An ISO 8601 string as Unix seconds (float); anything else unchanged."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return value
    return value


def _worker(rt: Any, worker_id: str, body: Any) -> Any:
    try:
        worker = rt.get_worker(worker_id)
    except KeyError:
        return body
    if not isinstance(body, dict) or isinstance(body.get("error"), dict):
        return body
    return {**worker.to_dict(), **body}


def _job(rt: Any, job_id: str, body: Any) -> Any:
    try:
        job = rt.get_job(job_id)
    except KeyError:
        return body
    if not isinstance(body, dict) or isinstance(body.get("error"), dict):
        return body
    return {**job.to_dict(include_data=False), **body}


def _trace(rt: Any, job_id: str, body: Any) -> Any:
    if isinstance(body, dict) and "events" in body:
        return {
            **body,
            "job_id": job_id,
            "trace_log": body["events"],
            "total_entries": body.get("total", 0),
        }
    return body


def _states(rt: Any, worker_id: str, body: Any) -> Any:
    if not isinstance(body, dict) or isinstance(body.get("error"), dict):
        return body
    return {
        rid: {**st, "last_execution_time": st.get("last_execution")} if isinstance(st, dict) else st
        for rid, st in body.items()
    }


_ENRICH: list[tuple[str, re.Pattern[str], Callable[[Any, str, Any], Any]]] = [
    ("POST", re.compile(r"/workers/([^/]+)/(?:pause|resume)"), _worker),
    ("POST", re.compile(r"/jobs/([^/]+)/(?:complete|fail)"), _job),
    ("GET", re.compile(r"/jobs/([^/]+)/trace"), _trace),
    ("GET", re.compile(r"/workers/([^/]+)/routines/states"), _states),
]


def _convert(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {
            k: to_unix_seconds(v) if k in TIMESTAMP_FIELDS else _convert(v) for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_convert(v) for v in obj]
    return obj


class CompatResponsesMiddleware:
    """Shape the JSON answers of the job and worker routes under ``prefixes`` as the original's."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = ("/api/v1", "/api")) -> None:
        self.app = app
        self.prefixes = prefixes

    def _resource_path(self, scope: Scope) -> str | None:
        """The path after the API prefix, when this middleware shapes its answer."""
        if scope["type"] != "http":
            return None
        path: str = scope.get("path", "")
        root = scope.get("root_path", "") or ""
        if root and path.startswith(root):
            path = path[len(root) :]
        for prefix in self.prefixes:
            if path.startswith(prefix + "/"):
                rest = path[len(prefix) :]
                if any(rest == r or rest.startswith(r + "/") for r in _RESOURCES):
                    return rest
        return None

    def _transform(self, scope: Scope, rest: str, body: Any) -> Any:
        for method, pattern, enrich in _ENRICH:
            match = pattern.fullmatch(rest)
            if match and scope.get("method") == method:
                app = scope.get("app")
                rt = getattr(getattr(app, "state", None), "runtime", None)
                if rt is not None:
                    body = enrich(rt, match.group(1), body)
                break
        return _convert(body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rest = self._resource_path(scope)
        if rest is None:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                if not headers.get(b"content-type", b"").startswith(b"application/json"):
                    await send(message)
                    return
                start = message
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                try:
                    body = json.dumps(
                        self._transform(scope, rest, json.loads(body)), separators=(",", ":")
                    ).encode()
                except ValueError:
                    pass  # not JSON after all: pass it on unchanged
                kept = [
                    (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
                ]
                kept.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": kept})
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, capture)

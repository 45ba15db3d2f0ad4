"""Unix-second timestamps for the original's clients (``create_app(compat="routilux")``).

The original server sent ``created_at``, ``started_at`` and ``completed_at`` of jobs and
workers as Unix seconds, and its clients compute ``new Date(x * 1000)``. This middleware
rewrites those fields (at any depth) in the JSON answers of the job, worker, discovery and
execute routes; every other field and route keeps ISO 8601.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["TIMESTAMP_FIELDS", "UnixTimestampsMiddleware", "to_unix_seconds"]

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


def _convert(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {
            k: to_unix_seconds(v) if k in TIMESTAMP_FIELDS else _convert(v) for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_convert(v) for v in obj]
    return obj


class UnixTimestampsMiddleware:
    """Rewrite job/worker timestamps of JSON answers under ``prefixes`` to Unix seconds."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = ("/api/v1", "/api")) -> None:
        self.app = app
        self.paths = tuple(p + r for p in prefixes for r in _RESOURCES)

    def _applies(self, scope: Scope) -> bool:
        if scope["type"] != "http":
            return False
        path: str = scope.get("path", "")
        root = scope.get("root_path", "") or ""
        if root and path.startswith(root):
            path = path[len(root) :]
        return any(path == p or path.startswith(p + "/") for p in self.paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
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
                    body = json.dumps(_convert(json.loads(body)), separators=(",", ":")).encode()
                except ValueError:
                    pass  # not JSON after all: pass it on unchanged
                headers = [
                    (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
                ]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, capture)

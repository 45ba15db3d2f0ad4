"""Helpers of the pure ASGI middleware: headers, the path under a proxy prefix, and error
answers in the API's envelope sent before the application runs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.types import Scope, Send

__all__ = ["app_path", "error_body", "header", "send_error"]


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    """The API's error envelope ``{"error": {"code", "message", "details"}}`` as JSON bytes."""
    return json.dumps(
        {"error": {"code": code, "message": message, "details": details or {}}}
    ).encode()


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def app_path(scope: Scope) -> str:
    """The request path without the proxy prefix (``root_path``) the app is served under."""
    path: str = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path


async def send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    extra: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    body = error_body(code, message, details)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

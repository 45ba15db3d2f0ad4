"""Transport security of the HTTP API: API key, request size limit, CORS.

Both checks are pure ASGI middlewares (no ``BaseHTTPMiddleware``): they answer before the
application reads anything, and a body that outgrows the limit while it streams is cut off
with a 413 even when no ``Content-Length`` was sent. CORS stays closed unless origins are
given. WebSockets check the same key themselves (see :mod:`routilux_nb.server.ws`), because
only an accepted socket can tell the client why it is closed.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ApiKeyMiddleware", "BodySizeLimitMiddleware", "api_key_ok", "error_body",
           "install_security", "is_public_path", "provided_api_key"]

_PUBLIC_PREFIXES = ("/health", "/docs", "/redoc")
_PUBLIC_EXACT = ("/openapi.json",)
_API_PREFIXES = ("/api/v1", "/api")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    """The API's error envelope ``{"error": {"code", "message", "details"}}`` as JSON bytes."""
    return json.dumps({"error": {"code": code, "message": message, "details": details or {}}}).encode()


def api_key_ok(provided: str | None, expected: str | None) -> bool:
    """True when no key is configured, or ``provided`` equals it (constant-time comparison)."""
    if expected is None:
        return True
    if provided is None:
        return False
    return hmac.compare_digest(provided.encode("utf-8"), expected.encode("utf-8"))


def _app_path(scope: Scope) -> str:
    """The request path without the proxy prefix (``root_path``) the app is served under."""
    path: str = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):] or "/"
    return path


def is_public_path(path: str) -> bool:
    """Health probes and the API documentation answer without a key."""
    for prefix in ("", *_API_PREFIXES):
        if prefix and not path.startswith(prefix + "/"):
            continue
        rest = path[len(prefix):]
        if rest in _PUBLIC_EXACT or any(rest == p or rest.startswith(p + "/") for p in _PUBLIC_PREFIXES):
            return True
    return False


def provided_api_key(scope: Scope) -> str | None:
    """The key a client sent: ``X-API-Key`` header first, else the ``api_key`` query parameter."""
    for name, value in scope.get("headers", ()):
        if name == b"x-api-key":
            key: str = value.decode("latin-1")
            return key
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("api_key")
    return values[0] if values else None


async def _send_error(send: Send, status: int, code: str, message: str,
                      details: dict[str, Any] | None = None, extra: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = error_body(code, message, details)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ApiKeyMiddleware:
    """Require the API key on every HTTP route except health probes and docs."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope.get("method") == "OPTIONS"
                or is_public_path(_app_path(scope))
                or api_key_ok(provided_api_key(scope), self.api_key)):
            await self.app(scope, receive, send)
            return
        await _send_error(send, 401, "UNAUTHORIZED",
                          "a valid API key is required: send the X-API-Key header or ?api_key=",
                          extra=[(b"www-authenticate", b"ApiKey")])


class _TooLarge:
    """Receive wrapper that counts body bytes and answers 413 once the limit is passed."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self.receive, self.send, self.limit = receive, send, limit
        self.seen = 0
        self.rejected = False
        self.started = False

    async def wrapped_receive(self) -> Message:
        if self.rejected:
            return {"type": "http.disconnect"}
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.rejected = True
                if not self.started:
                    self.started = True
                    await _send_error(self.send, 413, "PAYLOAD_TOO_LARGE",
                                      f"request body exceeds {self.limit} bytes", {"max_bytes": self.limit})
                return {"type": "http.disconnect"}
        return message

    async def wrapped_send(self, message: Message) -> None:
        if self.rejected:
            return  # the 413 was sent; whatever the app answers to the cut body is dropped
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


class BodySizeLimitMiddleware:
    """Reject request bodies above ``max_bytes`` with 413 ``PAYLOAD_TOO_LARGE``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_error(send, 400, "INVALID_REQUEST", "invalid Content-Length header")
                    return
                if declared > self.max_bytes:
                    await _send_error(send, 413, "PAYLOAD_TOO_LARGE",
                                      f"request body exceeds {self.max_bytes} bytes",
                                      {"max_bytes": self.max_bytes, "content_length": declared})
                    return
        guard = _TooLarge(receive, send, self.max_bytes)
        try:
            await self.app(scope, guard.wrapped_receive, guard.wrapped_send)
        except Exception:
            if not guard.rejected:
                raise
            # the app saw the cut body as a client disconnect; the 413 is already sent


def install_security(app: Any, *, api_key: str | None = None, max_body_bytes: int = 1_000_000,
                     cors_origins: Iterable[str] = ()) -> None:
    """Add the API key check, the body size limit and (only when origins are given) CORS.

    The key is also kept on ``app.state.api_key`` for the WebSocket endpoints.
    """
    if api_key is not None and not api_key:
        raise ValueError("api_key must be a non-empty string or None")
    app.state.api_key = api_key
    app.state.max_body_bytes = max_body_bytes
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes)
    if api_key is not None:
        app.add_middleware(ApiKeyMiddleware, api_key=api_key)
    origins = list(cors_origins)
    if origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"],
                           allow_headers=["*"], allow_credentials="*" not in origins)

"""Transport security of the HTTP API: hosts, origins, API key, request size limit, CORS.

Every check is one pure ASGI middleware (:class:`GuardMiddleware`, no ``BaseHTTPMiddleware``)
that answers before the application reads anything:

* **Host allowlist** (DNS rebinding): only loopback names by default (``localhost``,
  ``*.localhost``, loopback addresses); the bound host when it is not loopback; whatever the
  user adds (``allowed_hosts``, ``--allowed-host``; ``"*"`` allows any). Others get 421.
* **Cross-site writes**: a request that changes state (``POST PUT PATCH DELETE``) carrying an
  ``Origin`` must come from the same origin or a CORS origin the user named, else 403. Without
  ``Origin`` (browsers always send it on such requests, so this is a program) a body must be
  JSON: a form or ``text/plain`` post gets 415. WebSockets check ``Origin`` the same way.
* **API key**: only in the ``X-API-Key`` header for HTTP (``?api_key=`` is refused, so the key
  never reaches an access log); WebSockets, which browsers cannot give headers, may also use
  ``?api_key=``, which :class:`RedactKeyFilter` removes from the uvicorn access log.
* **Body size**: bodies above the limit get 413, also while streaming without a length.
* **CORS**: closed unless origins are named (``cors_origins``, ``ROUTILUX_CORS_ORIGINS``,
  ``--cors-origin``). ``OPTIONS`` answers 204 with the path's ``Allow`` methods (:mod:`.options`).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CORS_ENV",
    "ApiKeyMiddleware",
    "BodySizeLimitMiddleware",
    "GuardMiddleware",
    "RedactKeyFilter",
    "api_key_ok",
    "cors_origins_from_env",
    "default_allowed_hosts",
    "error_body",
    "host_allowed",
    "install_security",
    "is_public_path",
    "provided_api_key",
]

CORS_ENV = "ROUTILUX_CORS_ORIGINS"
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})

_PUBLIC_PREFIXES = ("/health", "/docs", "/redoc")
_PUBLIC_EXACT = ("/openapi.json",)
_API_PREFIXES = ("/api/v1", "/api")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    """The API's error envelope ``{"error": {"code", "message", "details"}}`` as JSON bytes."""
    return json.dumps(
        {"error": {"code": code, "message": message, "details": details or {}}}
    ).encode()


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
        path = path[len(root) :] or "/"
    return path


def is_public_path(path: str) -> bool:
    """Health probes and the API documentation answer without a key."""
    for prefix in ("", *_API_PREFIXES):
        if prefix and not path.startswith(prefix + "/"):
            continue
        rest = path[len(prefix) :]
        if rest in _PUBLIC_EXACT or any(
            rest == p or rest.startswith(p + "/") for p in _PUBLIC_PREFIXES
        ):
            return True
    return False


def provided_api_key(scope: Scope) -> str | None:
    """The key a client sent in the ``X-API-Key`` header (the only place HTTP accepts it)."""
    for name, value in scope.get("headers", ()):
        if name == b"x-api-key":
            key: str = value.decode("latin-1")
            return key
    return None


def _is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_allowed_hosts(bind_host: str | None = None) -> list[str]:
    """Loopback names, plus ``bind_host`` when it is not loopback (``0.0.0.0``/``::`` add any
    IP address and this machine's names)."""
    hosts = ["localhost", "127.0.0.1", "::1"]
    if bind_host and not _is_loopback_host(bind_host):
        if bind_host in ("0.0.0.0", "::", ""):
            import socket

            hosts += ["<ip>", socket.gethostname(), socket.getfqdn()]
        else:
            hosts.append(bind_host)
    return hosts


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(host_header: str | None, allowed: Iterable[str]) -> bool:
    """True when the ``Host`` header names a loopback host or one of ``allowed``."""
    if host_header is None:
        return True  # HTTP/1.0 clients: no browser sends a request without Host
    name = _host_name(host_header).rstrip(".")
    if _is_loopback_host(name):
        return True
    for entry in allowed:
        entry = entry.lower()
        if entry == "*" or entry == name:
            return True
        if entry == "<ip>":
            try:
                ipaddress.ip_address(name)
                return True
            except ValueError:
                pass
        elif entry.startswith("*.") and name.endswith(entry[1:]):
            return True
    return False


def cors_origins_from_env() -> list[str]:
    """The origins of ``ROUTILUX_CORS_ORIGINS`` (comma or space separated)."""
    return [o for o in re.split(r"[,\s]+", os.environ.get(CORS_ENV, "")) if o]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _same_origin(origin: str, host: str | None) -> bool:
    if host is None:
        return False
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return False
    return bool(netloc) and netloc == host.strip().lower()


class GuardMiddleware:
    """Host allowlist and cross-site write protection for HTTP and WebSockets (see the module)."""

    def __init__(
        self, app: ASGIApp, allowed_hosts: Iterable[str], cors_origins: Iterable[str]
    ) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)
        self.origins = frozenset(o.rstrip("/") for o in cors_origins)

    def origin_ok(self, origin: str | None, host: str | None) -> bool:
        if origin is None:
            return True
        origin = origin.rstrip("/")
        return "*" in self.origins or origin in self.origins or _same_origin(origin, host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if not host_allowed(host, self.allowed_hosts):
            await self._refuse(
                scope,
                send,
                421,
                "HOST_NOT_ALLOWED",
                f"Host {host!r} is not served here; allowed: loopback names"
                + "".join(
                    f", {h}"
                    for h in self.allowed_hosts
                    if h not in ("localhost", "127.0.0.1", "::1")
                )
                + " (add one with allowed_hosts=[...] or --allowed-host)",
            )
            return
        origin = _header(scope, b"origin")
        if kind == "websocket" or scope.get("method") in _STATE_CHANGING:
            if not self.origin_ok(origin, host):
                await self._refuse(
                    scope,
                    send,
                    403,
                    "ORIGIN_NOT_ALLOWED",
                    f"requests from origin {origin!r} may not change state here; name it with "
                    f"cors_origins=[...], {CORS_ENV} or --cors-origin",
                )
                return
            if kind == "http" and origin is None and not _json_or_empty(scope):
                await self._refuse(
                    scope,
                    send,
                    415,
                    "UNSUPPORTED_MEDIA_TYPE",
                    "send the request body as JSON (Content-Type: application/json)",
                )
                return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send, status: int, code: str, message: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4403, "reason": message[:120]})
            return
        await _send_error(send, status, code, message)


def _json_or_empty(scope: Scope) -> bool:
    ctype = _header(scope, b"content-type")
    if ctype is None:
        length = _header(scope, b"content-length")
        return length in (None, "0")
    media = ctype.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class RedactKeyFilter(logging.Filter):
    """Remove ``api_key=...`` from log records (the uvicorn access log prints query strings)."""

    _KEY = re.compile(r"(api_key=)[^&\s\"']*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                self._KEY.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str) and "api_key=" in record.msg.lower():
            record.msg = self._KEY.sub(r"\1[redacted]", record.msg)
        return True


def install_log_redaction() -> None:
    """Add :class:`RedactKeyFilter` to the uvicorn loggers once."""
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactKeyFilter) for f in logger.filters):
            logger.addFilter(RedactKeyFilter())


async def _send_error(
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


class ApiKeyMiddleware:
    """Require the API key on every HTTP route except health probes and docs."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") == "OPTIONS"
            or is_public_path(_app_path(scope))
            or api_key_ok(provided_api_key(scope), self.api_key)
        ):
            await self.app(scope, receive, send)
            return
        await _send_error(
            send,
            401,
            "UNAUTHORIZED",
            "a valid API key is required in the X-API-Key header (not in the URL, where "
            "logs and browser histories would keep it)",
            extra=[(b"www-authenticate", b"ApiKey")],
        )


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
                    await _send_error(
                        self.send,
                        413,
                        "PAYLOAD_TOO_LARGE",
                        f"request body exceeds {self.limit} bytes",
                        {"max_bytes": self.limit},
                    )
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
                    await _send_error(
                        send,
                        413,
                        "PAYLOAD_TOO_LARGE",
                        f"request body exceeds {self.max_bytes} bytes",
                        {"max_bytes": self.max_bytes, "content_length": declared},
                    )
                    return
        guard = _TooLarge(receive, send, self.max_bytes)
        try:
            await self.app(scope, guard.wrapped_receive, guard.wrapped_send)
        except Exception:
            if not guard.rejected:
                raise
            # the app saw the cut body as a client disconnect; the 413 is already sent


def install_security(
    app: Any,
    *,
    api_key: str | None = None,
    max_body_bytes: int = 1_000_000,
    cors_origins: Iterable[str] | None = None,
    allowed_hosts: Iterable[str] | None = None,
    bind_host: str | None = None,
) -> None:
    """Add the checks of this module, outermost first: CORS (only when origins are named), host
    and origin guard, ``OPTIONS``, API key, body size limit.

    ``cors_origins`` ``None`` reads ``ROUTILUX_CORS_ORIGINS``. ``allowed_hosts`` adds to the
    loopback names (and to ``bind_host`` when that is not loopback). The key is also kept on
    ``app.state.api_key`` for the WebSocket endpoints.
    """
    if api_key is not None and not api_key:
        raise ValueError("api_key must be a non-empty string or None")
    origins = cors_origins_from_env() if cors_origins is None else list(cors_origins)
    hosts = default_allowed_hosts(bind_host) + list(allowed_hosts or ())
    app.state.api_key = api_key
    app.state.max_body_bytes = max_body_bytes
    app.state.cors_origins = origins
    app.state.allowed_hosts = hosts
    install_log_redaction()
    # add_middleware wraps: the last added runs first
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes)
    if api_key is not None:
        app.add_middleware(ApiKeyMiddleware, api_key=api_key)
    from .options import OptionsMiddleware

    app.add_middleware(OptionsMiddleware, router_app=app)
    app.add_middleware(GuardMiddleware, allowed_hosts=hosts, cors_origins=origins)
    if origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials="*" not in origins,
            max_age=600,
        )

"""Host allowlist (DNS rebinding) and cross-site write protection (see :mod:`.security`)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from .asgi import header, send_error

__all__ = [
    "CORS_ENV",
    "GuardMiddleware",
    "cors_origins_from_env",
    "default_allowed_hosts",
    "host_allowed",
]

CORS_ENV = "ROUTILUX_CORS_ORIGINS"
_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


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
        host = header(scope, b"host")
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
        origin = header(scope, b"origin")
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
        await send_error(send, status, code, message)


def _json_or_empty(scope: Scope) -> bool:
    ctype = header(scope, b"content-type")
    if ctype is None:
        length = header(scope, b"content-length")
        return length in (None, "0")
    media = ctype.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")

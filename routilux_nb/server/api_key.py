"""The API key: constant-time checks, public paths, and keeping keys out of the logs."""

from __future__ import annotations

import hmac
import logging
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from .asgi import app_path, send_error

__all__ = [
    "ApiKeyMiddleware",
    "RedactKeyFilter",
    "api_key_ok",
    "install_log_redaction",
    "is_public_path",
    "provided_api_key",
]

_PUBLIC_PREFIXES = ("/health", "/docs", "/redoc")
_PUBLIC_EXACT = ("/openapi.json",)
_API_PREFIXES = ("/api/v1", "/api")


def api_key_ok(provided: str | None, expected: str | None) -> bool:
    """True when no key is configured, or ``provided`` equals it (constant-time comparison)."""
    if expected is None:
        return True
    if provided is None:
        return False
    return hmac.compare_digest(provided.encode("utf-8"), expected.encode("utf-8"))


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


class ApiKeyMiddleware:
    """Require the API key on every HTTP route except health probes and docs."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") == "OPTIONS"
            or is_public_path(app_path(scope))
            or api_key_ok(provided_api_key(scope), self.api_key)
        ):
            await self.app(scope, receive, send)
            return
        await send_error(
            send,
            401,
            "UNAUTHORIZED",
            "a valid API key is required in the X-API-Key header (not in the URL, where "
            "logs and browser histories would keep it)",
            extra=[(b"www-authenticate", b"ApiKey")],
        )

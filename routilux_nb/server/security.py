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

from collections.abc import Iterable
from typing import Any

from .api_key import (
    ApiKeyMiddleware,
    RedactKeyFilter,
    api_key_ok,
    install_log_redaction,
    is_public_path,
    provided_api_key,
)
from .asgi import error_body
from .body_limit import BodySizeLimitMiddleware
from .hosts import (
    CORS_ENV,
    GuardMiddleware,
    cors_origins_from_env,
    default_allowed_hosts,
    host_allowed,
)

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

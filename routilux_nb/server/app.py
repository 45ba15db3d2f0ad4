"""The FastAPI application: REST routes at ``/api/v1`` (and ``/api``), WebSockets, health, metrics,
security, and Swagger UI served from bundled files (no CDN)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from routilux_nb import __version__

from .compat import install_compat
from .errors import ApiJSONResponse, install_error_handlers
from .models import ERROR_RESPONSES
from .routes import api_router
from .routes.bulk import router as bulk_router

__all__ = ["API_PREFIXES", "RootPathMiddleware", "create_app", "swagger_assets"]

API_PREFIXES = ("/api/v1", "/api")
DOCS_STATIC = "/docs/static"

_DESCRIPTION = """\
Flows, workers, jobs, breakpoints and debugging of a routilux_nb runtime.

* Canonical prefix `/api/v1`; the `/api/...` spelling answers too.
* Errors: `{"error": {"code", "message", "details"}}` with stable codes.
* Lists take `limit` (1-1000) and `offset`; single jobs, workers and flows take `?fields=a,b`.
"""


class RootPathMiddleware:
    """Tell the app the prefix a proxy serves it under, unless the server already did."""

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = "/" + root_path.strip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not scope.get("root_path"):
            scope = dict(scope)
            scope["root_path"] = self.root_path
        await self.app(scope, receive, send)


def swagger_assets() -> Path | None:
    """The directory of the bundled Swagger UI files, if the package providing them is installed."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(str(swagger_ui_path))
    return path if (path / "swagger-ui-bundle.js").is_file() else None


def _docs_page(app: FastAPI) -> HTMLResponse:
    # Relative URLs: they resolve under whatever prefix a proxy serves the app at.
    return get_swagger_ui_html(
        openapi_url="openapi.json",
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{DOCS_STATIC.lstrip('/')}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_STATIC.lstrip('/')}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_STATIC.lstrip('/')}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None, "deepLinking": True},
    )


_NO_ASSETS = """<!DOCTYPE html><html><head><title>routilux_nb API</title></head><body>
<h1>routilux_nb API</h1><p>Swagger UI needs the server extra (<code>pip install "routilux_nb[server]"</code>).
The OpenAPI document is at <a href="openapi.json">openapi.json</a>.</p></body></html>"""


def _install_docs(app: FastAPI) -> None:
    assets = swagger_assets()
    if assets is not None:
        app.mount(DOCS_STATIC, StaticFiles(directory=str(assets)), name="docs-static")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    async def docs() -> HTMLResponse:
        return _docs_page(app) if assets is not None else HTMLResponse(_NO_ASSETS)


def create_app(
    runtime: Any = None,
    *,
    api_key: str | None = None,
    root_path: str = "",
    max_body_bytes: int = 1_000_000,
    cors_origins: Iterable[str] | None = None,
    allowed_hosts: Iterable[str] | None = None,
    bind_host: str | None = None,
    compat: str | None = None,
) -> FastAPI:
    """The app serving ``runtime`` (default: ``routilux_nb.runtime()``, the kernel's runtime).

    ``root_path`` is the prefix a proxy serves the app under (e.g. JupyterHub's
    ``/user/name/proxy/8000``); ``api_key`` requires ``X-API-Key`` on every route but health
    and docs; bodies above ``max_body_bytes`` are refused with 413. ``cors_origins`` opens CORS
    to the origins named (default: ``ROUTILUX_CORS_ORIGINS``, else closed); ``allowed_hosts``
    adds ``Host`` names to the loopback ones (``bind_host``, the interface served, is added
    when it is not loopback). See :mod:`routilux_nb.server.security`. ``compat="routilux"``
    answers job and worker timestamps in Unix seconds for the original's clients (see
    :mod:`routilux_nb.server.compat`).
    """
    from .health import router as health_router
    from .prometheus import router as metrics_router
    from .security import install_security
    from .ws import router as ws_router

    if runtime is None:
        from routilux_nb import runtime as default_runtime

        runtime = default_runtime()
    app = FastAPI(
        title="routilux_nb",
        version=__version__,
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        default_response_class=ApiJSONResponse,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    install_compat(app, compat, API_PREFIXES)  # first: its /health/ready adds the original's fields
    errors = ERROR_RESPONSES
    for i, prefix in enumerate(API_PREFIXES):
        app.include_router(api_router, prefix=prefix, include_in_schema=i == 0, responses=errors)
        app.include_router(bulk_router, prefix=prefix, include_in_schema=i == 0, responses=errors)
        app.include_router(ws_router, prefix=prefix, include_in_schema=i == 0)
        app.include_router(health_router, prefix=prefix, include_in_schema=False)
    probe_errors: dict[int | str, dict[str, Any]] = {
        k: v for k, v in errors.items() if k in (405, 421, 500)
    }
    app.include_router(health_router, responses=probe_errors)
    app.include_router(metrics_router, responses={**probe_errors, 401: errors[401]})
    _install_docs(app)
    install_security(
        app,
        api_key=api_key,
        max_body_bytes=max_body_bytes,
        cors_origins=cors_origins,
        allowed_hosts=allowed_hosts,
        bind_host=bind_host,
    )
    if root_path:
        app.add_middleware(
            RootPathMiddleware, root_path=root_path
        )  # outermost: seen by every layer

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> ApiJSONResponse:
        root = request.scope.get("root_path", "") or ""
        return ApiJSONResponse(
            {
                "name": "routilux_nb",
                "version": __version__,
                "api": f"{root}/api/v1",
                "docs": f"{root}/docs",
                "openapi": f"{root}/openapi.json",
                "health": f"{root}/health",
            }
        )

    return app

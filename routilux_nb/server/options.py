"""``OPTIONS`` and ``Allow``: the methods a path answers, as the OpenAPI document lists them."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .asgi import app_path, send_error

__all__ = ["OptionsMiddleware", "allowed_methods"]

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(app: Any, scope: Scope) -> list[str]:
    """The methods the routes of ``app`` answer at the scope's path (empty if none matches).

    A path the OpenAPI document spells out literally (``/jobs/bulk``) answers the methods the
    document lists for it, not those of templated routes that also match (``/jobs/{job_id}``).
    """
    from starlette.routing import Match

    methods: set[str] = set()
    for method in _METHODS:
        probe = {**scope, "type": "http", "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in getattr(app, "routes", ())):
            methods.add(method)
    openapi = getattr(app, "openapi", None)
    if methods and callable(openapi):
        path = scope.get("path", "")
        if path.startswith("/api/") and not path.startswith("/api/v1/"):
            path = "/api/v1/" + path[len("/api/") :]
        documented = openapi().get("paths", {}).get(path)
        if documented:
            methods = {m.upper() for m in documented if m.upper() in _METHODS}
    if "GET" in methods:
        methods.add("HEAD")
    if methods:
        methods.add("OPTIONS")
    return sorted(methods)


class OptionsMiddleware:
    """``OPTIONS`` answers 204 with the ``Allow`` methods of the path (404 for unknown paths)."""

    def __init__(self, app: ASGIApp, router_app: Any) -> None:
        self.app = app
        self.router_app = router_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "OPTIONS":
            await self.app(scope, receive, send)
            return
        scope = {**scope, "path": app_path(scope)}
        methods = allowed_methods(self.router_app, scope)
        if not methods:
            await send_error(send, 404, "NOT_FOUND", f"no route at {scope['path']}")
            return
        await send(
            {
                "type": "http.response.start",
                "status": 204,
                "headers": [(b"allow", ", ".join(methods).encode())],
            }
        )
        await send({"type": "http.response.body", "body": b""})

"""The original Routilux server's API, as an adapter over routilux_nb's runtime.

Clients written for the original server (its web UI, routilux-overseer, among them) find
here the operations our resource API spells differently: ``POST /api/v1/execute``,
``/jobs/{id}/execution-trace``, ``/health/stats`` and the original's readiness answer,
``/factory/objects`` (the routine registry), ``/runtimes`` (this server's runtime as the
only one), ``/discovery/...`` and the ``/api/v1/websocket`` protocol over the event bus.
These routes are always served; they only add paths.

``create_app(..., compat="routilux")`` (``serve --compat routilux``) also answers the
``created_at``/``started_at``/``completed_at`` of jobs and workers in Unix seconds, as the
original did, and whole resources where the original answered them (see
:mod:`.shaping`). Without it timestamps stay ISO 8601, as the API documents them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

__all__ = ["COMPAT_MODES", "compat_router", "install_compat"]

#: the values ``create_app(compat=...)`` and ``serve --compat`` accept
COMPAT_MODES = ("routilux",)


def compat_router() -> APIRouter:
    """Every compatibility route (mounted under each API prefix)."""
    from .factory import router as factory_router
    from .routes import router as routes_router
    from .websocket import router as ws_router

    router = APIRouter()
    router.include_router(routes_router)
    router.include_router(factory_router)
    router.include_router(ws_router)
    return router


def install_compat(
    app: Any, compat: str | None, prefixes: tuple[str, ...] = ("/api/v1", "/api")
) -> None:
    """Add the compatibility routes to ``app``; with ``compat="routilux"``, Unix-second timestamps.

    Call before the app's own routers are included: ``/health/ready`` answers here with the
    original's fields (``status``, ``runtime``) added to the documented ones.
    """
    if compat is not None and compat not in COMPAT_MODES:
        raise ValueError(
            f"unknown compat mode {compat!r}; known: {', '.join(COMPAT_MODES)} (or None)"
        )
    from ..models import ERROR_RESPONSES

    app.state.compat = compat
    router = compat_router()
    for i, prefix in enumerate(prefixes):
        app.include_router(
            router, prefix=prefix, include_in_schema=i == 0, responses=ERROR_RESPONSES
        )
    if compat == "routilux":
        from .shaping import CompatResponsesMiddleware

        app.add_middleware(CompatResponsesMiddleware, prefixes=prefixes)

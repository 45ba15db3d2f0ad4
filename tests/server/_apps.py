"""Apps and flows shared by the WebSocket, health, metrics, security and server tests."""

from __future__ import annotations

import importlib.util
import socket
import threading
from typing import Any

from fastapi import FastAPI

from routilux_nb.core import Flow, Runtime


def has_create_app() -> bool:
    return importlib.util.find_spec("routilux_nb.server.app") is not None


def make_app(runtime: Runtime, **kwargs: Any) -> Any:
    """``create_app(runtime, ...)`` when it exists, else a bare app with the same routers.

    The test client's WebSockets always send ``Host: testserver``, so that host is allowed.
    """
    kwargs.setdefault("allowed_hosts", ["testserver"])
    if has_create_app():
        from routilux_nb.server.app import create_app

        return create_app(runtime, **kwargs)
    from routilux_nb.server import health, prometheus, ws
    from routilux_nb.server.security import install_security

    app = FastAPI()
    app.state.runtime = runtime
    install_security(
        app,
        api_key=kwargs.get("api_key"),
        max_body_bytes=kwargs.get("max_body_bytes", 1_000_000),
        cors_origins=kwargs.get("cors_origins", ()),
    )
    app.include_router(health.router)
    app.include_router(prometheus.router)
    for prefix in ("/api/v1", "/api"):
        app.include_router(ws.router, prefix=prefix)
        app.include_router(health.router, prefix=prefix)

    @app.post("/api/v1/echo")
    async def echo(body: dict[str, Any]) -> dict[str, Any]:
        return body

    return app


def pipeline(
    flow_id: str = "pipe",
    gate: threading.Event | None = None,
    *,
    fail_on: int | None = None,
    started: threading.Event | None = None,
) -> Flow:
    """``src -> sink``: src emits one event per input item (``{"n": k}``); sink collects.

    With ``gate``, src waits for it first (so a job stays running until the test releases it);
    with ``fail_on``, src raises on that ``n``; ``started`` is set when src begins.
    """
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"])
    def src(input: list[dict[str, Any]], ctx: Any) -> None:
        if started is not None:
            started.set()
        if gate is not None:
            gate.wait(10)
        for item in input:
            if fail_on is not None and item.get("n") == fail_on:
                raise ValueError(f"bad item {item['n']}")
            for k in range(int(item.get("count", 1))):
                ctx.emit("output", x=k)

    @flow.routine(slots=["input"], events=[])
    def sink(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data.setdefault("got", []).extend(i["x"] for i in input)

    flow.connect("src.output", "sink.input")
    return flow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def can_bind(port: int) -> bool:
    """True when nothing listens on ``port`` (TIME_WAIT leftovers allowed, as for any server)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True

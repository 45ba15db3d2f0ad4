"""A real uvicorn server on a background thread, as a notebook cell starts it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from routilux_nb.core import Runtime
from routilux_nb.server import embedded
from routilux_nb.server.embedded import PortInUseError, ServerHandle, serve_runtime

from ._apps import can_bind, has_create_app, make_app, pipeline

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown(wait=False)


def serve(rt: Runtime, **kwargs: Any) -> ServerHandle:
    """``serve_runtime`` with ``create_app`` when it exists, else with the bare test app."""
    app = None if has_create_app() else make_app(rt, api_key=kwargs.get("api_key"))
    return serve_runtime(rt, app=app, **kwargs)


def test_real_server_http_and_websocket_then_stop_releases_the_port(rt: Runtime) -> None:
    handle = serve(rt, port=0)
    try:
        assert handle.running and handle.host == "127.0.0.1" and handle.port > 0
        assert handle.api_url == f"http://127.0.0.1:{handle.port}/api/v1"
        health = httpx.get(f"{handle.api_url}/health", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "healthy"
        assert httpx.get(f"{handle.url}/metrics", timeout=5).status_code == 200

        gate = threading.Event()
        job = rt.submit(pipeline("p", gate), "src", "input", {"count": 3})
        ws_url = f"ws://127.0.0.1:{handle.port}/api/v1/ws/jobs/{job.job_id}/monitor"
        with connect(ws_url, open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "connection_established"
            gate.set()
            types = []
            while not types or types[-1] != "job_end":
                msg = json.loads(ws.recv(timeout=5))
                if msg["type"] == "event":
                    types.append(msg["data"]["type"])
        assert types.count("event_emit") == 3
        assert job.wait(5).data["got"] == [0, 1, 2]
    finally:
        handle.stop()
    assert not handle.running
    assert can_bind(handle.port)
    handle.stop()  # idempotent
    assert rt._server is None
    again = serve(rt, port=handle.port)
    try:
        assert (
            again.port == handle.port
            and httpx.get(f"{again.url}/health", timeout=5).status_code == 200
        )
    finally:
        again.stop()


def test_serving_twice_returns_the_running_server(rt: Runtime) -> None:
    first = serve(rt)
    try:
        assert serve(rt) is first and rt._server is first
    finally:
        first.stop()
    second = serve(rt)
    try:
        assert second is not first and second.running
    finally:
        second.stop()


def test_a_busy_port_fails_fast_with_its_number(rt: Runtime) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        t0 = time.monotonic()
        with pytest.raises(PortInUseError, match=str(port)) as info:
            serve(rt, port=port)
        assert time.monotonic() - t0 < 2
        assert isinstance(info.value, OSError)
    assert rt._server is None


def test_repr_and_html(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    handle = serve(rt)
    try:
        assert repr(handle) == f"ServerHandle(url='http://127.0.0.1:{handle.port}', running=True)"
        page = handle._repr_html_()
        assert f'href="http://127.0.0.1:{handle.port}/docs"' in page
        assert f'href="http://127.0.0.1:{handle.port}/api/v1/health"' in page and "style=" in page
        assert httpx.get(handle.docs_url, timeout=5).status_code == 200
    finally:
        handle.stop()
    assert repr(handle).endswith("running=False)")


def test_behind_jupyterhub_links_and_docs_use_the_proxy_prefix(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    handle = serve(rt)
    try:
        prefix = f"/user/ada/proxy/{handle.port}"
        assert handle.link == prefix + "/"
        assert f'href="{prefix}/docs"' in handle._repr_html_()
        # jupyter-server-proxy forwards /user/ada/proxy/PORT/docs as /docs
        docs = httpx.get(f"{handle.url}/docs", timeout=5)
        assert docs.status_code == 200
        assert "'openapi.json'" in docs.text or f"'{prefix}/openapi.json'" in docs.text
        openapi = httpx.get(f"{handle.url}/openapi.json", timeout=5).json()
        assert openapi["servers"] == [{"url": prefix}]  # "Try it out" goes through the proxy
        assert httpx.get(f"{handle.url}/health", timeout=5).json()["status"] == "healthy"
        # the proxy forwards the hub's Host header: answered (only the hub's proxy reaches the port)
        hub = {"Host": "hub.example.org", "Origin": "https://hub.example.org"}
        assert httpx.get(f"{handle.url}/api/v1/flows", headers=hub, timeout=5).status_code == 200
    finally:
        handle.stop()


def test_remote_hosts_need_allow_remote(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="allow_remote"):
        serve_runtime(rt, host="0.0.0.0")

    def refuse(host: str, port: int) -> socket.socket:
        raise PortInUseError(f"not binding {host}:{port} in tests")

    monkeypatch.setattr(embedded, "_bind", refuse)
    with pytest.warns(UserWarning, match="api_key"), pytest.raises(PortInUseError):
        serve_runtime(rt, host="0.0.0.0", allow_remote=True)


def test_api_key_through_the_real_server(rt: Runtime) -> None:
    handle = serve(rt, api_key="k3y")
    try:
        assert httpx.get(f"{handle.url}/metrics", timeout=5).status_code == 401
        assert (
            httpx.get(f"{handle.url}/metrics", headers={"X-API-Key": "k3y"}, timeout=5).status_code
            == 200
        )
        with connect(f"ws://127.0.0.1:{handle.port}/api/v1/ws/events", open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5))["data"]["error_code"] == "UNAUTHORIZED"
            with pytest.raises(Exception) as info:
                ws.recv(timeout=5)
            assert ws.close_code == 4401, info.value
    finally:
        handle.stop()


@pytest.mark.skipif(not has_create_app(), reason="needs routilux_nb.server.app.create_app")
def test_runtime_serve_and_shutdown_release_the_port() -> None:
    runtime = Runtime()
    handle = runtime.serve()
    assert runtime.serve() is handle
    assert httpx.get(f"{handle.api_url}/health", timeout=5).status_code == 200
    runtime.shutdown()
    assert not handle.running and can_bind(handle.port)


def test_stop_with_a_connected_websocket_client(rt: Runtime) -> None:
    handle = serve(rt)
    with connect(f"ws://127.0.0.1:{handle.port}/api/v1/ws/events", open_timeout=5) as ws:
        ws.recv(timeout=5)
        t0 = time.monotonic()
        handle.stop()
        assert time.monotonic() - t0 < 3
    assert can_bind(handle.port) and rt.monitor.bus.subscriber_count == 0

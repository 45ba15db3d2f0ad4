"""Health probes: summary, liveness, readiness (503 when the runtime is down), system status."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from routilux_nb import __version__
from routilux_nb.core import Runtime

from ._apps import make_app, pipeline


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown(wait=False)


@pytest.fixture
def client(rt: Runtime) -> TestClient:
    return TestClient(make_app(rt), base_url="http://127.0.0.1")


@pytest.mark.parametrize("prefix", ["", "/api/v1", "/api"])
def test_health_summary(client: TestClient, prefix: str) -> None:
    body = client.get(f"{prefix}/health").json()
    assert body["status"] == "healthy" and body["version"] == __version__
    assert body["components"] == {
        "runtime": "healthy",
        "monitoring": "healthy",
        "storage": "healthy",
    }
    assert body["uptime"] >= 0 and body["timestamp"].endswith("+00:00")


def test_live_and_ready(client: TestClient, rt: Runtime) -> None:
    assert client.get("/health/live").status_code == 200
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert ready.json()["ready"] is True
    assert set(checks) == {"runtime", "thread_pool", "monitoring", "storage"}
    assert all(c["status"] == "healthy" and c["response_time_ms"] >= 0 for c in checks.values())


def test_ready_is_503_after_shutdown(client: TestClient, rt: Runtime) -> None:
    rt.submit(pipeline("p"), "src", "input", {}).wait(5)  # the pool exists
    rt.shutdown()
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    body = ready.json()
    assert body["ready"] is False
    assert body["checks"]["runtime"]["status"] == "unhealthy"
    assert body["checks"]["thread_pool"]["status"] == "unhealthy"
    assert client.get("/health").json()["components"]["runtime"] == "unhealthy"
    assert client.get("/health/live").status_code == 200


def test_ready_is_503_when_a_borrowed_pool_is_shut_down() -> None:
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(2)
    runtime = Runtime(executor=pool)
    try:
        client = TestClient(make_app(runtime), base_url="http://127.0.0.1")
        assert client.get("/health/ready").status_code == 200
        pool.shutdown()
        body = client.get("/health/ready").json()
        assert body["checks"]["thread_pool"]["status"] == "unhealthy"
        assert client.get("/health/ready").status_code == 503
    finally:
        runtime.shutdown(wait=False)


def test_status_reports_system_runtime_and_websockets(client: TestClient, rt: Runtime) -> None:
    rt.submit(pipeline("p"), "src", "input", {}).wait(5)
    with client.websocket_connect("/api/v1/ws/events") as ws:
        ws.receive_json()
        body = client.get("/api/v1/health/status").json()
    system = body["system"]
    assert 0 <= system["cpu_percent"] <= 100 and len(system["load_average"]) == 3
    assert system["memory"]["max_rss_mb"] > 0
    assert body["runtime"]["jobs"] == {"completed": 1} and body["runtime"]["workers"] == {
        "running": 1
    }
    assert body["websocket"]["connected_clients"] == 1 and body["websocket"]["total_messages"] >= 1
    assert body["monitoring"]["bus_subscribers"] == 1

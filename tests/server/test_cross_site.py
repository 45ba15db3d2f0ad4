"""No cross-site writes, no DNS rebinding, no key in logs (the real app, real HTTP semantics)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from routilux_nb.core import Runtime
from routilux_nb.server import create_app
from routilux_nb.server.security import RedactKeyFilter, host_allowed

from .conftest import PIPELINE_DSL


def _client(rt: Runtime, **kwargs: Any) -> TestClient:
    client = TestClient(create_app(rt, **kwargs), base_url="http://127.0.0.1")
    r = client.post("/api/v1/flows", json={"dsl_dict": PIPELINE_DSL})
    assert r.status_code == 201, r.text
    return client


FLOW = PIPELINE_DSL["flow_id"]


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:8765", "10.0.0.5", "evil.localhost.com"]
)
def test_foreign_host_is_refused_so_rebinding_pages_read_nothing(rt: Runtime, host: str) -> None:
    client = _client(rt)
    r = client.get("/api/v1/jobs", headers={"Host": host})
    assert r.status_code == 421, r.text
    assert r.json()["error"]["code"] == "HOST_NOT_ALLOWED"
    assert client.get("/health/live", headers={"Host": host}).status_code == 421


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8765", "127.0.0.1:1", "[::1]:8765", "app.localhost"]
)
def test_loopback_hosts_are_served(rt: Runtime, host: str) -> None:
    assert _client(rt).get("/api/v1/flows", headers={"Host": host}).status_code == 200


def test_more_hosts_by_option_or_by_a_non_loopback_bind(rt: Runtime) -> None:
    client = _client(rt, allowed_hosts=["notebook.example.org"])
    assert (
        client.get("/api/v1/flows", headers={"Host": "notebook.example.org:80"}).status_code == 200
    )
    assert client.get("/api/v1/flows", headers={"Host": "other.example.org"}).status_code == 421
    bound = TestClient(create_app(rt, bind_host="192.168.1.20"), base_url="http://127.0.0.1")
    assert bound.get("/api/v1/flows", headers={"Host": "192.168.1.20:8765"}).status_code == 200
    assert host_allowed("anything", ["*"])


def test_cross_site_execute_without_body_is_refused(rt: Runtime) -> None:
    client = _client(rt)
    r = client.post(f"/api/v1/flows/{FLOW}/execute", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "ORIGIN_NOT_ALLOWED"
    assert rt.jobs() == []
    rt.start(rt.get_flow(FLOW))
    worker_id = next(iter(rt.workers))
    r = client.post(f"/api/v1/workers/{worker_id}/pause", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert rt.workers[worker_id].status == "running"


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"]
)
def test_simple_content_types_cannot_write(rt: Runtime, ctype: str) -> None:
    client = _client(rt)
    r = client.post(
        f"/api/v1/flows/{FLOW}/execute", content=b'{"data": {}}', headers={"content-type": ctype}
    )
    assert r.status_code == 415 and r.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert rt.jobs() == []


def test_same_origin_json_and_named_origins_may_write(rt: Runtime) -> None:
    client = _client(rt, cors_origins=["http://localhost:3000"])
    assert client.post(f"/api/v1/flows/{FLOW}/execute", json={}).status_code == 201
    same = client.post(f"/api/v1/flows/{FLOW}/execute", headers={"Origin": "http://127.0.0.1"})
    assert same.status_code == 201, same.text
    named = client.post(
        f"/api/v1/flows/{FLOW}/execute", json={}, headers={"Origin": "http://localhost:3000"}
    )
    assert named.status_code == 201
    assert named.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_cors_origins_from_the_environment(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTILUX_CORS_ORIGINS", "http://a.example, http://b.example")
    client = _client(rt)
    r = client.get("/api/v1/flows", headers={"Origin": "http://b.example"})
    assert r.headers["access-control-allow-origin"] == "http://b.example"
    closed = TestClient(create_app(rt, cors_origins=[]), base_url="http://127.0.0.1")
    assert (
        "access-control-allow-origin"
        not in closed.get("/api/v1/flows", headers={"Origin": "http://b.example"}).headers
    )


def test_preflight_and_options(rt: Runtime) -> None:
    client = _client(rt, cors_origins=["http://localhost:3000"])
    pre = client.options(
        "/api/v1/jobs",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in pre.headers["access-control-allow-methods"]
    foreign = client.options(
        "/api/v1/jobs",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in foreign.headers
    plain = _client(Runtime()).options(f"/api/v1/flows/{FLOW}")
    assert plain.status_code == 204
    assert set(plain.headers["allow"].split(", ")) >= {"GET", "DELETE", "OPTIONS"}
    assert _client(Runtime()).options("/api/v1/nope/nope").status_code == 404


def test_unsupported_method_lists_every_method_of_the_path(rt: Runtime) -> None:
    r = _client(rt).patch("/api/v1/flows", json={})
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) >= {"GET", "POST"}


def test_websocket_from_a_foreign_origin_is_refused(rt: Runtime) -> None:
    client = TestClient(create_app(rt, allowed_hosts=["testserver"]))
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect(
            "/api/v1/ws/events", headers={"Origin": "http://evil.example"}
        ) as ws:
            ws.receive_json()
    assert info.value.code == 4403
    with client.websocket_connect(
        "/api/v1/ws/events", headers={"Origin": "http://testserver"}
    ) as ws:
        assert ws.receive_json()["type"] == "connection_established"


def test_api_key_never_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("uvicorn.access")
    create_app(Runtime(), api_key="s3cret")
    assert any(isinstance(f, RedactKeyFilter) for f in logger.filters)
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1",
            "GET",
            "/api/v1/ws/events?api_key=s3cret&x=1",
            "1.1",
            101,
        )
    assert "s3cret" not in caplog.text and "api_key=[redacted]&x=1" in caplog.text

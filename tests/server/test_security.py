"""API key, request body limit and CORS (``install_security``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from routilux_nb.server import api_key
from routilux_nb.server.security import install_security, is_public_path


def make(**kwargs: Any) -> TestClient:
    app = FastAPI()

    @app.post("/api/v1/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.post("/api/v1/model")
    def model(body: dict[str, Any]) -> dict[str, Any]:
        return body

    @app.get("/api/v1/things")
    def things() -> list[str]:
        return ["a"]

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "healthy"}

    @app.get("/api/v1/health/ready")
    def ready() -> dict[str, bool]:
        return {"ready": True}

    install_security(app, **kwargs)
    return TestClient(app, base_url="http://127.0.0.1")


def test_no_key_configured_means_open() -> None:
    assert make().get("/api/v1/things").json() == ["a"]


def test_api_key_required_with_the_error_envelope() -> None:
    client = make(api_key="s3cret")
    for response in (
        client.get("/api/v1/things"),
        client.get("/api/v1/things", headers={"X-API-Key": "nope"}),
        client.get("/api/v1/things?api_key=nope"),
        client.get("/metrics"),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
        assert set(response.json()["error"]) == {"code", "message", "details"}
    assert client.get("/api/v1/things", headers={"X-API-Key": "s3cret"}).json() == ["a"]
    # never in the URL, where access logs and browser histories keep it
    refused = client.get("/api/v1/things?api_key=s3cret")
    assert refused.status_code == 401 and "X-API-Key" in refused.json()["error"]["message"]


def test_health_and_docs_need_no_key() -> None:
    client = make(api_key="s3cret")
    assert client.get("/health").status_code == 200
    assert client.get("/api/v1/health/ready").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    assert [
        p
        for p in (
            "/health",
            "/health/ready",
            "/api/health",
            "/api/v1/health/status",
            "/docs",
            "/docs/oauth2-redirect",
            "/openapi.json",
        )
        if not is_public_path(p)
    ] == []
    assert [
        p
        for p in ("/healthz", "/api/v1/jobs", "/metrics", "/api/v1/docsx", "/x/health")
        if is_public_path(p)
    ] == []


def test_keys_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = api_key.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(api_key.hmac, "compare_digest", spy)
    client = make(api_key="s3cret")
    assert client.get("/api/v1/things", headers={"X-API-Key": "guess"}).status_code == 401
    assert client.get("/api/v1/things", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert calls == [(b"guess", b"s3cret"), (b"s3cret", b"s3cret")]


def test_declared_body_over_the_limit_is_413() -> None:
    client = make(max_body_bytes=100)
    json_type = {"content-type": "application/json"}
    assert client.post("/api/v1/echo", content=b"x" * 100, headers=json_type).json() == {
        "size": 100
    }
    response = client.post("/api/v1/echo", content=b"x" * 101, headers=json_type)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert response.json()["error"]["details"]["max_bytes"] == 100


def test_streamed_body_over_the_limit_is_413() -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 50

    def json_chunks() -> Iterator[bytes]:
        yield b'{"a": "'
        yield from chunks()
        yield b'"}'

    client = make(max_body_bytes=120)
    for path, body in (("/api/v1/echo", chunks()), ("/api/v1/model", json_chunks())):
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert "content-length" not in response.request.headers
        assert response.status_code == 413, path
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    small = client.post(
        "/api/v1/model",
        content=iter([b'{"a":', b" 1}"]),
        headers={"content-type": "application/json"},
    )
    assert small.json() == {"a": 1}


def test_cors_is_closed_by_default_and_opens_for_given_origins() -> None:
    preflight = {"Origin": "http://example.org", "Access-Control-Request-Method": "GET"}
    closed = make().get("/api/v1/things", headers={"Origin": "http://example.org"})
    assert "access-control-allow-origin" not in closed.headers
    client = make(cors_origins=["http://example.org"], api_key="k")
    assert client.options("/api/v1/things", headers=preflight).status_code == 200
    response = client.get("/api/v1/things?api_key=k", headers={"Origin": "http://example.org"})
    assert response.headers["access-control-allow-origin"] == "http://example.org"
    other = client.get("/api/v1/things?api_key=k", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_empty_api_key_is_refused() -> None:
    with pytest.raises(ValueError, match="api_key"):
        make(api_key="")

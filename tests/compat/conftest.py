"""A runtime with one flow, a worker and a finished job, served by ``create_app`` over HTTP
(httpx ASGI transport through Starlette's TestClient, addressed as ``127.0.0.1``: the server
answers loopback host names only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routilux_nb.core import Runtime

FLOW_DSL: dict[str, Any] = {
    "flow_id": "orders",
    "routines": {
        "source": {"class": "data_source"},
        "check": {"class": "DataValidator", "config": {"rules": {"qty": "is_positive"}}},
        "sink": {"class": "collector"},
    },
    "connections": [
        {"from": "source.output", "to": "check.input"},
        {"from": "check.valid", "to": "sink.input"},
    ],
}


class Served:
    """The client, the runtime, and the ids of what the fixture created."""

    def __init__(self, client: TestClient, rt: Runtime) -> None:
        self.client, self.rt = client, rt
        r = client.post("/api/v1/flows", json={"flow_id": "orders", "dsl_dict": FLOW_DSL})
        assert r.status_code == 201, r.text
        r = client.post("/api/v1/workers", json={"flow_id": "orders"})
        assert r.status_code == 201, r.text
        self.worker_id: str = r.json()["worker_id"]
        r = client.post(
            "/api/v1/jobs",
            json={
                "flow_id": "orders",
                "worker_id": self.worker_id,
                "routine_id": "source",
                "slot_name": "trigger",
                "data": {"qty": 2},
                "metadata": {"who": "test"},
            },
        )
        assert r.status_code == 201, r.text
        self.job_id: str = r.json()["job_id"]
        rt.get_job(self.job_id).wait(10)


def serve(compat: str | None) -> Iterator[Served]:
    from routilux_nb.server import create_app

    rt = Runtime()
    try:
        with TestClient(create_app(rt, compat=compat), base_url="http://127.0.0.1") as client:
            yield Served(client, rt)
    finally:
        rt.shutdown(wait=False)


@pytest.fixture
def served() -> Iterator[Served]:
    """``create_app(runtime, compat="routilux")``, as ``serve --compat routilux`` runs it."""
    yield from serve("routilux")


@pytest.fixture
def served_iso() -> Iterator[Served]:
    """``create_app(runtime)``: the documented API, ISO timestamps."""
    yield from serve(None)

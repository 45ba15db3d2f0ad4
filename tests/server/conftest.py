"""Fixtures of the REST API tests: a fresh runtime and a client of ``create_app(runtime)``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routilux_nb.core import Runtime

PIPELINE_DSL: dict[str, Any] = {
    "flow_id": "data_processing_flow",
    "routines": {
        "data_source": {"class": "data_source", "config": {"name": "Source"}},
        "mapper": {"class": "mapper"},
        "collector": {"class": "collector"},
    },
    "connections": [
        {"from": "data_source.output", "to": "mapper.input"},
        {"from": "mapper.output", "to": "collector.input"},
    ],
}


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown(wait=False)


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    from routilux_nb.server import create_app

    with TestClient(create_app(rt), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def etl_flow(client: TestClient) -> str:
    """``data_source -> mapper -> collector`` created over HTTP; returns its flow id."""
    r = client.post(
        "/api/v1/flows", json={"flow_id": PIPELINE_DSL["flow_id"], "dsl_dict": PIPELINE_DSL}
    )
    assert r.status_code == 201, r.text
    return str(PIPELINE_DSL["flow_id"])

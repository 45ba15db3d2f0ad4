"""One source for response shapes: the models of ``server.models`` match what real answers carry."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from routilux_nb.core import Flow, Runtime
from routilux_nb.server.models import (
    FLOW_FIELDS,
    JOB_FIELDS,
    WORKER_FIELDS,
    BreakpointResponse,
    FlowResponse,
    JobListResponse,
    JobResponse,
    WorkerResponse,
)
from routilux_nb.server.store_models import (
    ArtifactDeleteResponse,
    ArtifactListResponse,
    ArtifactResponse,
    DatabaseStatusResponse,
    FlowUpdateResponse,
    FlowVersionListResponse,
    FlowVersionResponse,
    SystemMetricsResponse,
)

from ._apps import make_app


def _flow(gate: threading.Event) -> Flow:
    flow = Flow("contract")

    @flow.routine(slots=["input"], events=[])
    def only(input: list[dict[str, Any]], ctx: Any) -> None:
        if any(i.get("fail") for i in input):
            raise ValueError("asked to fail")
        if any(i.get("hold") for i in input):
            gate.wait(10)

    return flow


def test_models_and_field_lists_match_real_answers(rt: Runtime) -> None:
    gate = threading.Event()
    client = TestClient(make_app(rt), base_url="http://127.0.0.1")
    flow = _flow(gate)
    rt.register_flow(flow)
    worker = rt.start(flow)
    done = worker.submit(data={"ok": 1})
    failed = worker.submit(data={"fail": 1})
    held = worker.submit(data={"hold": 1})
    held.cancel("contract test")
    gate.set()
    for job in (done, failed, held):
        job.wait(30)
    seen: set[str] = set()
    for job in (done, failed, held):
        body = client.get(f"/api/v1/jobs/{job.job_id}").json()
        JobResponse.model_validate(body)
        assert set(body) <= set(JOB_FIELDS), set(body) - set(JOB_FIELDS)
        seen |= set(body)
    assert seen == set(JOB_FIELDS)
    JobListResponse.model_validate(client.get("/api/v1/jobs").json())

    w = client.get(f"/api/v1/workers/{worker.worker_id}").json()
    WorkerResponse.model_validate(w)
    assert set(w) == set(WORKER_FIELDS)
    f = client.get("/api/v1/flows/contract").json()
    FlowResponse.model_validate(f)
    assert set(f) == set(FLOW_FIELDS)

    bp = client.post("/api/v1/breakpoints", json={"type": "routine", "routine_id": "only"}).json()
    BreakpointResponse.model_validate(bp)
    assert set(BreakpointResponse.model_fields) <= set(bp)

    narrowed = client.get(
        f"/api/v1/jobs/{done.job_id}", params={"fields": "job_id,error_traceback"}
    ).json()
    assert narrowed == {"job_id": done.job_id, "error_traceback": None}


def test_store_models_match_real_answers(tmp_path: Any) -> None:
    """Artifacts, flow versions, a flow update and the store's health, as their models say."""
    rt = Runtime(store=tmp_path / "jobs.db")
    try:
        client = TestClient(make_app(rt), base_url="http://127.0.0.1")
        flow = Flow("attach")

        @flow.routine(slots=["input"], events=[])
        def attach(input: list[dict[str, Any]], ctx: Any) -> None:
            ctx.artifact("report.txt", "all good")
            ctx.artifact("table", {"k": [1, 2]})

        job = rt.submit(flow, data={}).wait(30)
        listed = client.get(f"/api/v1/jobs/{job.job_id}/artifacts").json()
        ArtifactListResponse.model_validate(listed)
        assert set(listed["artifacts"][0]) == set(ArtifactResponse.model_fields) - {"links"} | {
            "_links"
        }
        art = listed["artifacts"][1]
        ArtifactResponse.model_validate(client.get(art["_links"]["self"]).json())
        deleted = client.delete(art["_links"]["self"]).json()
        ArtifactDeleteResponse.model_validate(deleted)
        assert set(deleted) == set(ArtifactDeleteResponse.model_fields)

        created = client.post("/api/v1/flows", json={"flow_id": "empty"})
        assert created.status_code == 201, created.text
        updated = client.put(
            "/api/v1/flows/empty",
            json={
                "dsl_dict": {
                    "flow_id": "empty",
                    "routines": {"out": {"class": "collector", "config": {"key": "out"}}},
                }
            },
        ).json()
        FlowUpdateResponse.model_validate(updated)
        assert updated["version"] == 2 and set(updated) == set(FLOW_FIELDS) | {"version"}
        versions = client.get("/api/v1/flows/empty/versions").json()
        FlowVersionListResponse.model_validate(versions)
        assert set(versions) == set(FlowVersionListResponse.model_fields)
        one = client.get("/api/v1/flows/empty/versions/1").json()
        FlowVersionResponse.model_validate(one)
        assert set(one) == set(FlowVersionResponse.model_fields)

        db = client.get("/health/database").json()
        DatabaseStatusResponse.model_validate(db)
        assert set(db["store"]) <= set(
            DatabaseStatusResponse.model_fields["store"].annotation.model_fields
        )  # type: ignore[union-attr]
        metrics = client.get("/health/metrics").json()
        SystemMetricsResponse.model_validate(metrics)
        assert set(metrics) == set(SystemMetricsResponse.model_fields)
    finally:
        rt.shutdown()

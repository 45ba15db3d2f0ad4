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

    narrowed = client.get(f"/api/v1/jobs/{done.job_id}", params={"fields": "job_id,error_traceback"}).json()
    assert narrowed == {"job_id": done.job_id, "error_traceback": None}

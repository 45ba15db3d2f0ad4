"""Breakpoints that pause real jobs, the debug session over HTTP, job pause/resume/cancel, execute."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routilux_nb.core import Flow, Runtime


def until(client: TestClient, job_id: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/jobs/{job_id}/status").json()
        if body["status"] == status or time.monotonic() > deadline:
            assert body["status"] == status, body
            return body  # type: ignore[no-any-return]
        time.sleep(0.01)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def gated(rt: Runtime, gate: threading.Event) -> str:
    """``src -> sink`` where src waits for ``gate``: a job stays running until the test says."""
    flow = Flow("gated")

    @flow.routine(slots=["input"], events=["output"])
    def src(input: list[dict[str, Any]], ctx: Any) -> None:
        gate.wait(10)
        for item in input:
            ctx.emit("output", **item)

    @flow.routine(slots=["input"], events=[])
    def sink(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data.setdefault("got", []).extend(i["n"] for i in input)

    flow.connect("src.output", "sink.input")
    rt.register_flow(flow)
    return flow.flow_id


def test_debug_session_edits_data_then_steps_and_resumes(client: TestClient, etl_flow: str) -> None:
    bp = client.post(
        "/api/v1/breakpoints",
        json={
            "type": "routine",
            "routine_id": "mapper",
            "flow_id": etl_flow,
            "condition": "value > 10",
        },
    ).json()
    assert bp["flow_id"] == etl_flow and bp["job_id"] is None
    jid = client.post("/api/v1/jobs", json={"flow_id": etl_flow, "data": {"value": 42}}).json()[
        "job_id"
    ]
    until(client, jid, "paused")
    session = client.get(f"/api/v1/jobs/{jid}/debug").json()
    assert (
        session["location"]["routine_id"] == "mapper"
        and session["location"]["breakpoint_id"] == bp["breakpoint_id"]
    )
    assert session["parked_count"] == 1
    variables = client.get(f"/api/v1/jobs/{jid}/debug/variables").json()
    assert variables["variables"]["payload"] == {"input": [{"value": 42}]}
    assert variables["location"]["kind"] == "routine"
    put = client.put(
        f"/api/v1/jobs/{jid}/debug/variables", json={"name": "payload.input.0.value", "value": 7}
    )
    assert put.status_code == 200 and put.json()["variables"]["payload"] == {
        "input": [{"value": 7}]
    }
    bad = client.put(f"/api/v1/jobs/{jid}/debug/variables", json={"name": "secrets", "value": 1})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    for path in ("call_stack", "call-stack"):
        stack = client.get(f"/api/v1/jobs/{jid}/debug/{path}").json()["call_stack"]
        assert stack == [
            {
                "routine_id": "data_source",
                "event_name": "output",
                "target_routine": "mapper",
                "target_slot": "input",
                "activation_id": stack[0]["activation_id"],
            }
        ]
    assert client.get("/api/v1/breakpoints").json()["breakpoints"][0]["hit_count"] == 1
    step = client.post(f"/api/v1/jobs/{jid}/debug/step_over").json()
    assert step["action"] == "step_over" and step["job_id"] == jid
    until(client, jid, "paused")
    at = client.get(f"/api/v1/jobs/{jid}/debug").json()["location"]
    assert at["routine_id"] == "collector" and at["kind"] == "step"
    assert client.get(f"/api/v1/jobs/{jid}/debug/variables").json()["variables"]["payload"] == {
        "input": [{"value": 7}]
    }
    assert client.post(f"/api/v1/jobs/{jid}/debug/resume").json()["action"] == "resume"
    done = client.post(f"/api/v1/jobs/{jid}/wait", params={"timeout": 10}).json()
    assert done["final_status"] == "completed"
    assert client.get(f"/api/v1/jobs/{jid}/data").json()["data"] == {"collected": [{"value": 7}]}
    assert client.get(f"/api/v1/jobs/{jid}/debug").json()["location"] is None


def test_step_into_from_routine_breakpoint(client: TestClient, etl_flow: str) -> None:
    client.post(
        "/api/v1/breakpoints",
        json={"type": "routine", "routine_id": "data_source", "flow_id": etl_flow},
    )
    jid = client.post("/api/v1/jobs", json={"flow_id": etl_flow, "data": {"value": 1}}).json()[
        "job_id"
    ]
    until(client, jid, "paused")
    assert client.post(f"/api/v1/jobs/{jid}/debug/step-into").status_code == 200
    until(client, jid, "paused", timeout=2)
    assert client.get(f"/api/v1/jobs/{jid}/debug").json()["location"]["routine_id"] == "mapper"


def test_step_into_from_slot_breakpoint_and_drop(client: TestClient, etl_flow: str) -> None:
    client.post(
        "/api/v1/breakpoints",
        json={"type": "slot", "routine_id": "mapper", "slot_name": "input", "flow_id": etl_flow},
    )
    jid = client.post("/api/v1/jobs", json={"flow_id": etl_flow, "data": {"value": 1}}).json()[
        "job_id"
    ]
    until(client, jid, "paused")
    assert client.get(f"/api/v1/jobs/{jid}/debug").json()["location"]["kind"] == "slot"
    assert client.post(f"/api/v1/jobs/{jid}/debug/step-into").status_code == 200
    until(client, jid, "paused")
    at = client.get(f"/api/v1/jobs/{jid}/debug").json()["location"]
    assert at["routine_id"] == "mapper" and at["kind"] == "step"
    assert client.post(f"/api/v1/jobs/{jid}/debug/drop").json()["action"] == "drop"
    assert client.post(f"/api/v1/jobs/{jid}/wait").json()["final_status"] == "completed"
    assert client.get(f"/api/v1/jobs/{jid}/data").json()["data"] == {}


def test_job_breakpoint_pauses_and_global_resume(
    client: TestClient, gated: str, gate: threading.Event
) -> None:
    jid = client.post("/api/v1/jobs", json={"flow_id": gated, "data": {"n": 1}}).json()["job_id"]
    bp = client.post(
        f"/api/v1/jobs/{jid}/breakpoints",
        json={"type": "slot", "routine_id": "sink", "slot_name": "input"},
    )
    assert bp.status_code == 201
    bp_id = bp.json()["breakpoint_id"]
    other = client.post("/api/v1/jobs", json={"flow_id": gated, "data": {"n": 2}}).json()["job_id"]
    gate.set()
    until(client, jid, "paused")
    assert client.post(f"/api/v1/jobs/{other}/wait").json()["final_status"] == "completed"
    listed = client.get(f"/api/v1/jobs/{jid}/breakpoints").json()
    assert listed["total"] == 1 and listed["breakpoints"][0]["hit_count"] == 1
    assert client.get("/api/v1/breakpoints", params={"job_id": jid}).json()["total"] == 1
    resumed = client.post(f"/api/v1/breakpoints/{bp_id}/resume").json()
    assert resumed == {"breakpoint_id": bp_id, "resumed_jobs": [jid], "count": 1}
    assert client.post(f"/api/v1/jobs/{jid}/wait").json()["final_status"] == "completed"
    assert client.get(f"/api/v1/jobs/{jid}/data").json()["data"] == {"got": [1]}
    assert client.delete(f"/api/v1/breakpoints/{bp_id}").status_code == 204
    assert client.get("/api/v1/breakpoints").json()["total"] == 0


def test_disabled_breakpoint_does_not_pause(client: TestClient, etl_flow: str) -> None:
    bp = client.post(
        "/api/v1/breakpoints",
        json={"type": "routine", "routine_id": "mapper", "flow_id": etl_flow, "enabled": False},
    ).json()
    jid = client.post("/api/v1/jobs", json={"flow_id": etl_flow, "data": {"value": 1}}).json()[
        "job_id"
    ]
    assert client.post(f"/api/v1/jobs/{jid}/wait").json()["final_status"] == "completed"
    assert client.put(f"/api/v1/breakpoints/{bp['breakpoint_id']}", json={"enabled": True}).json()[
        "enabled"
    ]


def test_pause_resume_cancel_job(client: TestClient, gated: str, gate: threading.Event) -> None:
    jid = client.post("/api/v1/jobs", json={"flow_id": gated, "data": {"n": 5}}).json()["job_id"]
    until(client, jid, "running")
    paused = client.post(f"/api/v1/jobs/{jid}/pause").json()
    assert paused["status"] == "paused" and paused["_links"]["self"] == f"/api/v1/jobs/{jid}"
    gate.set()
    time.sleep(0.05)
    assert client.get(f"/api/v1/jobs/{jid}/status").json()["status"] == "paused"
    assert client.post(f"/api/v1/jobs/{jid}/resume").json()["status"] in ("running", "completed")
    assert client.post(f"/api/v1/jobs/{jid}/wait").json()["final_status"] == "completed"
    assert client.get(f"/api/v1/jobs/{jid}/data").json()["data"] == {"got": [5]}

    gate.clear()
    second = client.post("/api/v1/jobs", json={"flow_id": gated, "data": {"n": 6}}).json()["job_id"]
    cancelled = client.post(f"/api/v1/jobs/{second}/cancel", json={"reason": "not needed"}).json()
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "not needed"
    assert cancelled["cancelled_at"].endswith("+00:00")
    third = client.post("/api/v1/jobs", json={"flow_id": gated, "data": {"n": 7}}).json()["job_id"]
    no_body = client.post(f"/api/v1/jobs/{third}/cancel").json()
    assert no_body["status"] == "cancelled" and no_body["cancel_reason"]
    gate.set()


def test_wait_timeout_returns_200(client: TestClient, gated: str, gate: threading.Event) -> None:
    jid = client.post("/api/v1/jobs", json={"flow_id": gated, "data": {"n": 1}}).json()["job_id"]
    r = client.post(f"/api/v1/jobs/{jid}/wait", params={"timeout": 0.2})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "timeout" and body["final_status"] in ("pending", "running")
    assert 0.15 <= body["waited_seconds"] < 5


def test_wait_does_not_block_other_requests(rt: Runtime, gated: str, gate: threading.Event) -> None:
    import anyio
    import httpx

    from routilux_nb.server import create_app

    app = create_app(rt)

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            jid = (await c.post("/api/v1/jobs", json={"flow_id": gated, "data": {"n": 1}})).json()[
                "job_id"
            ]
            results: dict[str, Any] = {}

            async def waiter() -> None:
                results["wait"] = (
                    await c.post(f"/api/v1/jobs/{jid}/wait", params={"timeout": 10})
                ).json()

            async with anyio.create_task_group() as tg:
                tg.start_soon(waiter)
                await anyio.sleep(0.1)
                t0 = time.monotonic()
                for _ in range(5):
                    assert (await c.get(f"/api/v1/jobs/{jid}/status")).status_code == 200
                results["fast"] = time.monotonic() - t0
                gate.set()
            assert results["wait"]["final_status"] == "completed"
            assert results["fast"] < 2

    # a fresh thread: the scenario owns its event loop whatever loop state earlier tests left
    errors: list[BaseException] = []

    def run() -> None:
        try:
            anyio.run(scenario)
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


def test_execute_flow(client: TestClient, etl_flow: str) -> None:
    r = client.post(
        f"/api/v1/flows/{etl_flow}/execute",
        json={"data": {"value": 3}, "wait": True, "timeout": 10},
    )
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "completed" and body["data"] == {"collected": [{"value": 3}]}
    assert body["timed_out"] is False
    quick = client.post(f"/api/v1/flows/{etl_flow}/execute", json={"data": {"value": 4}})
    assert quick.status_code == 201 and "data" not in quick.json()
    assert client.post("/api/v1/flows/nope/execute").json()["error"]["code"] == "FLOW_NOT_FOUND"
    bare = client.post(f"/api/v1/flows/{etl_flow}/execute")
    assert bare.status_code == 201

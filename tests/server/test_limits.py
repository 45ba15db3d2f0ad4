"""One small request cannot take the server down: bounded documents, ids, conditions, reads."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routilux_nb.core import Flow, Runtime
from routilux_nb.core.ids import InvalidIdError

from .test_rest_errors import err

ALIAS_BOMB = "flow_id: bomb\nroutines: {}\nx0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 11)
)


def _nested(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(levels):
        node["k"] = {}
        node = node["k"]
    return root


def test_yaml_alias_bomb_is_refused_before_expanding(client: TestClient) -> None:
    assert ALIAS_BOMB.count("*") == 90 and len(ALIAS_BOMB) < 700
    e = err(client.post("/api/v1/flows", json={"dsl": ALIAS_BOMB}), 422, "INVALID_DSL")
    assert "expands" in e["message"]
    assert client.get("/api/v1/flows").json()["total"] == 0


def test_deep_yaml_is_refused_with_its_line(client: TestClient) -> None:
    text = (
        "flow_id: deep\nroutines:\n  a: {class: collector, config: {v: "
        + "[" * 100
        + "]" * 100
        + "}}\n"
    )
    e = err(client.post("/api/v1/flows", json={"dsl": text}), 422, "INVALID_DSL")
    assert "deeper than" in e["message"]


def test_deep_dsl_dict_config_is_refused_and_flows_stay_readable(client: TestClient) -> None:
    spec = {"flow_id": "deep", "routines": {"a": {"class": "collector", "config": _nested(480)}}}
    e = err(client.post("/api/v1/flows", json={"dsl_dict": spec}), 422, "VALIDATION_ERROR")
    assert "deeper than" in e["message"]
    r = client.get("/api/v1/flows")
    assert r.status_code == 200 and r.json()["total"] == 0


def test_deep_job_data_over_http_is_refused(client: TestClient, etl_flow: str) -> None:
    e = err(
        client.post("/api/v1/jobs", json={"flow_id": etl_flow, "data": _nested(200)}),
        422,
        "VALIDATION_ERROR",
    )
    assert "deeper than" in e["message"]


def test_json_body_nested_past_the_parser_is_a_422(client: TestClient) -> None:
    body = '{"flow_id": "x", "data": ' + "[" * 100_000 + "]" * 100_000 + "}"
    r = client.post("/api/v1/jobs", content=body, headers={"content-type": "application/json"})
    assert r.status_code in (400, 413, 422), r.text
    assert "error" in r.json()


def _deep_flow(rt: Runtime, levels: int) -> Flow:
    flow = Flow("deepdata")

    @flow.routine(slots=["input"], events=["output"])
    def src(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["deep"] = _nested(levels)
        ctx.emit("output", payload=_nested(levels))

    @flow.routine(slots=["input"], events=[])
    def sink(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["got"] = len(input)

    flow.connect("src.output", "sink.input")
    rt.register_flow(flow)
    return flow


def test_deep_job_data_never_breaks_a_read(rt: Runtime, client: TestClient) -> None:
    flow = _deep_flow(rt, 3000)
    job = rt.start(flow).submit(data={"seed": _nested(3000)})
    job.wait(30)
    base = f"/api/v1/jobs/{job.job_id}"
    for path in ("", "/trace", "/data", "/monitoring", "/debug", "/metrics"):
        r = client.get(base + path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])


@pytest.mark.parametrize("flow_id", ["a/b", "..", "x" * 129, "has space", "-dash"])
def test_ids_that_cannot_be_addressed_are_refused_everywhere(
    client: TestClient, flow_id: str
) -> None:
    err(client.post("/api/v1/flows", json={"flow_id": flow_id}), 422, "VALIDATION_ERROR")
    spec = {"flow_id": flow_id, "routines": {}}
    assert client.post("/api/v1/flows", json={"dsl_dict": spec}).status_code == 422
    assert (
        client.post(
            "/api/v1/flows", json={"dsl": f"flow_id: '{flow_id}'\nroutines: {{}}\n"}
        ).status_code
        == 422
    )
    with pytest.raises(InvalidIdError, match="flow_id"):
        Flow(flow_id)


def test_routine_ids_follow_the_id_rule(client: TestClient) -> None:
    spec = {"flow_id": "ok", "routines": {"a/b": {"class": "collector"}}}
    e = err(client.post("/api/v1/flows", json={"dsl_dict": spec}), 422, "INVALID_DSL")
    assert "routine id" in e["message"]
    client.post("/api/v1/flows", json={"flow_id": "ok"})
    r = client.post(
        "/api/v1/flows/ok/routines", json={"routine_id": "x" * 200, "object_name": "collector"}
    )
    err(r, 422, "VALIDATION_ERROR")
    for bad in ("w/1", ".."):
        err(
            client.post("/api/v1/workers", json={"flow_id": "ok", "worker_id": bad}),
            422,
            "VALIDATION_ERROR",
        )
        err(
            client.post("/api/v1/jobs", json={"flow_id": "ok", "job_id": bad}),
            422,
            "VALIDATION_ERROR",
        )


@pytest.mark.parametrize("condition", ["9**9**9", "1/0", "data['v'] > 10**10**10"])
def test_conditions_that_can_only_fail_are_refused(client: TestClient, condition: str) -> None:
    r = client.post(
        "/api/v1/breakpoints", json={"type": "routine", "routine_id": "x", "condition": condition}
    )
    e = err(r, 422, "UNSAFE_EXPRESSION")
    assert "refused" in e["message"]


def test_condition_errors_are_reported_on_the_breakpoint(rt: Runtime, client: TestClient) -> None:
    flow = Flow("cond")
    done = threading.Event()

    @flow.routine(slots=["input"], events=[])
    def only(input: list[dict[str, Any]], ctx: Any) -> None:
        done.set()

    rt.register_flow(flow)
    worker = rt.start(flow)
    r = client.post(
        "/api/v1/breakpoints",
        json={
            "type": "routine",
            "routine_id": "only",
            "flow_id": "cond",
            "condition": "data['missing'] > 1",
        },
    )
    assert r.status_code == 201, r.text
    bp_id = r.json()["breakpoint_id"]
    worker.submit(data={"v": 1}).wait(30)
    bp = client.get(f"/api/v1/breakpoints/{bp_id}").json()
    assert bp["condition_errors"] >= 1
    assert "missing" in bp["last_condition_error"]

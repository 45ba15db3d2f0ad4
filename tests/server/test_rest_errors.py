"""Bad input answers 4xx with the error envelope and a stable code; never a 500."""

from __future__ import annotations

import random
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routilux_nb.core import Runtime


def err(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "path, code",
    [
        ("/api/v1/jobs/nope", "JOB_NOT_FOUND"),
        ("/api/v1/jobs/nope/trace", "JOB_NOT_FOUND"),
        ("/api/jobs/nope/debug", "JOB_NOT_FOUND"),
        ("/api/v1/workers/nope", "WORKER_NOT_FOUND"),
        ("/api/v1/workers/nope/history", "WORKER_NOT_FOUND"),
        ("/api/v1/flows/nope", "FLOW_NOT_FOUND"),
        ("/api/v1/flows/nope/routines/x/info", "FLOW_NOT_FOUND"),
        ("/api/v1/breakpoints/nope", "BREAKPOINT_NOT_FOUND"),
        ("/api/v1/no/such/route", "NOT_FOUND"),
    ],
)
def test_unknown_ids_are_404(client: TestClient, path: str, code: str) -> None:
    err(client.get(path), 404, code)


def test_unknown_routine_slot_and_flow_name_what_exists(client: TestClient, etl_flow: str) -> None:
    e = err(client.post("/api/v1/jobs", json={"flow_id": "nope"}), 404, "FLOW_NOT_FOUND")
    assert e["details"]["existing_flows"] == [etl_flow]
    e = err(
        client.post("/api/v1/jobs", json={"flow_id": etl_flow, "routine_id": "zzz"}),
        404,
        "ROUTINE_NOT_FOUND",
    )
    assert e["details"]["existing_routines"] == ["collector", "data_source", "mapper"]
    assert "data_source" in e["message"]
    e = err(
        client.post(
            "/api/v1/jobs",
            json={"flow_id": etl_flow, "routine_id": "data_source", "slot_name": "x"},
        ),
        404,
        "SLOT_NOT_FOUND",
    )
    assert e["details"]["existing_slots"] == ["trigger"]
    err(client.get(f"/api/v1/flows/{etl_flow}/routines/zzz/info"), 404, "ROUTINE_NOT_FOUND")
    err(
        client.post("/api/v1/jobs", json={"flow_id": etl_flow, "worker_id": "nope"}),
        404,
        "WORKER_NOT_FOUND",
    )
    err(
        client.post(
            f"/api/v1/flows/{etl_flow}/connections",
            json={
                "source_routine": "data_source",
                "source_event": "nope",
                "target_routine": "mapper",
                "target_slot": "input",
            },
        ),
        409,
        "UNKNOWN_REFERENCE",
    )
    err(
        client.post(
            f"/api/v1/flows/{etl_flow}/connections",
            json={
                "source_routine": "data_source",
                "source_event": "output",
                "target_routine": "mapper",
                "target_slot": "nope",
            },
        ),
        409,
        "UNKNOWN_REFERENCE",
    )
    err(client.delete(f"/api/v1/flows/{etl_flow}/connections/7"), 404, "CONNECTION_NOT_FOUND")
    err(client.delete(f"/api/v1/flows/{etl_flow}/routines/zzz"), 404, "ROUTINE_NOT_FOUND")
    e = err(
        client.post(
            f"/api/v1/flows/{etl_flow}/routines",
            json={"routine_id": "r", "object_name": "os.system"},
        ),
        409,
        "UNKNOWN_REFERENCE",
    )
    assert "mapper" in e["details"]["registered"]
    err(
        client.post(
            f"/api/v1/flows/{etl_flow}/routines",
            json={"routine_id": "mapper", "object_name": "mapper"},
        ),
        409,
        "ROUTINE_ALREADY_EXISTS",
    )


def test_conflicts(client: TestClient, etl_flow: str) -> None:
    job = client.post("/api/v1/jobs", json={"flow_id": etl_flow, "job_id": "j1", "data": {}}).json()
    client.post("/api/v1/jobs/j1/wait")
    err(
        client.post("/api/v1/jobs", json={"flow_id": etl_flow, "job_id": "j1"}),
        409,
        "JOB_ALREADY_EXISTS",
    )
    err(client.post("/api/v1/jobs/j1/complete"), 409, "INVALID_STATE")
    err(client.post("/api/v1/jobs/j1/fail", json={"error": "x"}), 409, "INVALID_STATE")
    err(client.post("/api/v1/jobs/j1/cancel"), 409, "INVALID_STATE")
    err(client.post("/api/v1/jobs/j1/resume"), 409, "INVALID_STATE")
    err(client.post("/api/v1/jobs/j1/pause"), 409, "INVALID_STATE")
    for action in ("resume", "step_over", "step-into", "drop"):
        err(client.post(f"/api/v1/jobs/j1/debug/{action}"), 409, "INVALID_STATE")
    err(client.get("/api/v1/jobs/j1/debug/variables"), 409, "INVALID_STATE")
    err(
        client.put("/api/v1/jobs/j1/debug/variables", json={"name": "payload", "value": {}}),
        409,
        "INVALID_STATE",
    )
    wid = job["worker_id"]
    assert client.delete(f"/api/v1/workers/{wid}").status_code == 204
    err(
        client.post("/api/v1/jobs", json={"flow_id": etl_flow, "worker_id": wid}),
        409,
        "WORKER_NOT_RUNNING",
    )
    err(client.post(f"/api/v1/workers/{wid}/pause"), 409, "WORKER_NOT_RUNNING")
    err(
        client.post("/api/v1/workers", json={"flow_id": etl_flow, "worker_id": wid}),
        409,
        "WORKER_ALREADY_EXISTS",
    )


@pytest.mark.parametrize("limit", [0, 1001, -5, "abc"])
def test_limit_outside_range_is_422(client: TestClient, limit: Any) -> None:
    for path in ("/api/v1/jobs", "/api/v1/workers"):
        e = err(client.get(path, params={"limit": limit}), 422, "VALIDATION_ERROR")
        assert e["details"]["errors"][0]["field"] == "limit"
    err(client.get("/api/v1/jobs", params={"offset": -1}), 422, "VALIDATION_ERROR")


def test_other_query_bounds(client: TestClient, etl_flow: str) -> None:
    jid = client.post("/api/v1/jobs", json={"flow_id": etl_flow}).json()["job_id"]
    err(client.get(f"/api/v1/jobs/{jid}/trace", params={"limit": 10_001}), 422, "VALIDATION_ERROR")
    err(client.post(f"/api/v1/jobs/{jid}/wait", params={"timeout": 3601}), 422, "VALIDATION_ERROR")
    err(client.get("/api/v1/jobs", params={"status": "sleeping"}), 422, "VALIDATION_ERROR")
    err(
        client.get(f"/api/v1/flows/{etl_flow}/dsl", params={"format": "xml"}),
        422,
        "VALIDATION_ERROR",
    )
    e = err(
        client.get(f"/api/v1/jobs/{jid}", params={"fields": "job_id,nope"}), 422, "VALIDATION_ERROR"
    )
    assert (
        e["details"]["errors"][0]["field"] == "fields" and "status" in e["message"]
    )  # names the valid ones


def test_missing_fields_and_wrong_types(client: TestClient, etl_flow: str) -> None:
    e = err(client.post("/api/v1/workers", json={}), 422, "VALIDATION_ERROR")
    assert e["details"]["errors"][0]["field"] == "flow_id"
    err(client.post("/api/v1/workers", json={"flow_id": 5}), 422, "VALIDATION_ERROR")
    err(client.post("/api/v1/jobs", json={}), 422, "VALIDATION_ERROR")
    err(
        client.post("/api/v1/jobs", json={"flow_id": etl_flow, "data": [1, 2]}),
        422,
        "VALIDATION_ERROR",
    )
    e = err(
        client.post("/api/v1/jobs", json={"flow_id": etl_flow, "dta": {}}), 422, "VALIDATION_ERROR"
    )
    assert e["details"]["errors"][0]["field"] == "dta"
    err(
        client.post(
            "/api/v1/jobs", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
        "VALIDATION_ERROR",
    )
    err(
        client.post("/api/v1/flows", json={"flow_id": "x", "dsl": "a: 1", "dsl_dict": {}}),
        422,
        "VALIDATION_ERROR",
    )
    err(client.post("/api/v1/flows", json={}), 422, "VALIDATION_ERROR")
    err(client.post("/api/v1/jobs/x/breakpoints", json={"type": "routine"}), 404, "JOB_NOT_FOUND")
    err(
        client.post("/api/v1/breakpoints", json={"type": "teleport", "routine_id": "a"}),
        422,
        "VALIDATION_ERROR",
    )
    err(
        client.post("/api/v1/breakpoints", json={"type": "slot", "routine_id": "a"}),
        422,
        "VALIDATION_ERROR",
    )
    bp_id = client.post("/api/v1/breakpoints", json={"type": "routine", "routine_id": "a"}).json()[
        "breakpoint_id"
    ]
    err(
        client.put(f"/api/v1/breakpoints/{bp_id}", json={"enabled": "maybe"}),
        422,
        "VALIDATION_ERROR",
    )


def test_method_not_allowed(client: TestClient) -> None:
    err(client.delete("/api/v1/jobs"), 405, "METHOD_NOT_ALLOWED")
    err(client.patch("/api/v1/flows"), 405, "METHOD_NOT_ALLOWED")


def test_long_and_unsafe_conditions(client: TestClient, etl_flow: str) -> None:
    bp = {"type": "routine", "routine_id": "mapper", "flow_id": etl_flow}
    e = err(
        client.post("/api/v1/breakpoints", json={**bp, "condition": "x" * 10_000}),
        422,
        "VALIDATION_ERROR",
    )
    assert e["details"]["errors"][0]["field"] == "condition"
    modules = set(sys.modules)
    for cond in (
        "__import__('os')",
        "().__class__.__bases__[0].__subclasses__()",
        "open('/etc/passwd')",
        "data.__class__",
        "lambda: 1",
    ):
        err(
            client.post("/api/v1/breakpoints", json={**bp, "condition": cond}),
            422,
            "UNSAFE_EXPRESSION",
        )
    assert "os" not in set(sys.modules) - modules
    err(
        client.post("/api/v1/breakpoints", json={**bp, "condition": "1 +"}),
        422,
        "UNSAFE_EXPRESSION",
    )
    assert client.get("/api/v1/breakpoints").json()["total"] == 0


def test_dsl_errors(client: TestClient, rt: Runtime) -> None:
    bad_yaml = "flow_id: f\nroutines:\n  a: {class: data_source\n  b: [\n"
    e = err(client.post("/api/v1/flows", json={"dsl": bad_yaml}), 422, "INVALID_DSL")
    assert isinstance(e["details"]["line"], int) and e["details"]["line"] >= 3
    bad_json = '{"flow_id": "f",\n "routines": {,}}'
    assert (
        err(client.post("/api/v1/flows", json={"dsl": bad_json}), 422, "INVALID_DSL")["details"][
            "line"
        ]
        == 2
    )
    before = set(sys.modules)
    e = err(
        client.post(
            "/api/v1/flows", json={"dsl": "flow_id: f\nroutines:\n  r:\n    class: os.system\n"}
        ),
        422,
        "INVALID_DSL",
    )
    assert e["details"]["line"] == 3 and "registered" in e["message"]
    e = err(
        client.post(
            "/api/v1/flows",
            json={"dsl_dict": {"flow_id": "f", "routines": {"r": {"class": "subprocess.Popen"}}}},
        ),
        422,
        "INVALID_DSL",
    )
    assert not {"subprocess", "os.system"} & (set(sys.modules) - before)
    err(
        client.post("/api/v1/flows", json={"dsl": "!!python/object/apply:os.system ['true']"}),
        422,
        "INVALID_DSL",
    )
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(15)
    )
    err(client.post("/api/v1/flows", json={"dsl": bomb}), 422, "INVALID_DSL")
    err(
        client.post("/api/v1/flows", json={"flow_id": "a", "dsl": "flow_id: b\n"}),
        422,
        "VALIDATION_ERROR",
    )
    assert rt.flows == {}


def test_oversized_body_is_413(client: TestClient) -> None:
    r = client.post("/api/v1/jobs", json={"flow_id": "f", "data": {"blob": "x" * 1_100_000}})
    err(r, 413, "PAYLOAD_TOO_LARGE")


def test_fuzz_never_500(rt: Runtime, etl_flow: str, client: TestClient) -> None:
    from routilux_nb.server import create_app

    jid = client.post("/api/v1/jobs", json={"flow_id": etl_flow}).json()["job_id"]
    raw = TestClient(create_app(rt), raise_server_exceptions=False, base_url="http://127.0.0.1")
    junk: list[Any] = [
        None,
        0,
        -1,
        1e308,
        "",
        "x" * 300,
        [],
        {},
        [1, {"a": None}],
        {"flow_id": None},
        {"type": None},
        {"jobs": "many"},
        {"jobs": [None, 1, "x"]},
        {"name": 5},
        True,
        {"enabled": None},
        {"error": ""},
        {"dsl": 42},
        {"dsl_dict": "x"},
        {"reason": ["a"]},
    ]
    routes = [
        ("POST", "/api/v1/jobs"),
        ("POST", "/api/v1/jobs/bulk"),
        ("POST", f"/api/v1/jobs/{jid}/fail"),
        ("POST", f"/api/v1/jobs/{jid}/cancel"),
        ("POST", f"/api/v1/jobs/{jid}/breakpoints"),
        ("PUT", f"/api/v1/jobs/{jid}/debug/variables"),
        ("POST", "/api/v1/workers"),
        ("POST", "/api/v1/flows"),
        ("POST", f"/api/v1/flows/{etl_flow}/routines"),
        ("POST", f"/api/v1/flows/{etl_flow}/connections"),
        ("POST", f"/api/v1/flows/{etl_flow}/execute"),
        ("POST", "/api/v1/breakpoints"),
        ("PUT", "/api/v1/breakpoints/bp-x"),
        ("PUT", "/api/v1/workers/w/breakpoints/bp-x"),
    ]
    queries = [
        "limit=x",
        "limit=1e9",
        "offset=-3",
        "fields=",
        "fields=,,,",
        "timeout=nan",
        "timeout=-1",
        "status=%00",
        "format=yaml%20",
        "incremental=maybe",
    ]
    gets = (
        [f"/api/v1/jobs?{q}" for q in queries]
        + [f"/api/v1/jobs/{jid}?{q}" for q in queries]
        + [
            f"/api/v1/jobs/{jid}/trace?limit=0",
            f"/api/v1/jobs/{jid}/output?incremental=2",
            f"/api/v1/flows/{etl_flow}/connections/-1",
            f"/api/v1/flows/{etl_flow}/connections/conn_x",
            "/api/v1/jobs/%2e%2e%2fetc",
            "/api/v1/workers?status=flying",
            "/api/v1/flows/%00",
        ]
    )
    rng = random.Random(7)
    statuses = []
    for _ in range(60):
        method, path = rng.choice(routes)
        statuses.append(
            (method, path, raw.request(method, path, json=rng.choice(junk)).status_code)
        )
    for path in gets:
        statuses.append(("GET", path, raw.get(path).status_code))
        statuses.append(("DELETE", path, raw.delete(path).status_code))
    for body in (b"\xff\xfe", b"[" * 5000, b'{"flow_id": "' + b"\\ud800" + b'"}'):
        statuses.append(
            (
                "POST",
                "raw",
                raw.post(
                    "/api/v1/jobs", content=body, headers={"content-type": "application/json"}
                ).status_code,
            )
        )
    assert len(statuses) > 100
    bad = [s for s in statuses if s[2] >= 500]
    assert not bad, bad


def test_runtime_without_monitoring_answers_409() -> None:
    from routilux_nb.server import create_app

    rt = Runtime(monitor=False)
    try:
        client = TestClient(
            create_app(rt), raise_server_exceptions=False, base_url="http://127.0.0.1"
        )
        client.post(
            "/api/v1/flows",
            json={"dsl_dict": {"flow_id": "f", "routines": {"s": {"class": "data_source"}}}},
        )
        job = client.post("/api/v1/jobs", json={"flow_id": "f", "data": {"a": 1}}).json()
        jid, wid = job["job_id"], job["worker_id"]
        assert client.post(f"/api/v1/jobs/{jid}/wait").json()["final_status"] == "completed"
        assert client.get(f"/api/v1/jobs/{jid}").status_code == 200
        for path in (
            f"/jobs/{jid}/metrics",
            f"/jobs/{jid}/trace",
            f"/jobs/{jid}/debug",
            "/breakpoints",
            f"/workers/{wid}/statistics",
            "/flows/f/metrics",
        ):
            err(client.get(f"/api/v1{path}"), 409, "MONITORING_DISABLED")
    finally:
        rt.shutdown(wait=False)


def test_an_engine_bug_is_a_logged_500_not_a_client_error(
    rt: Runtime, etl_flow: str, caplog: pytest.LogCaptureFixture
) -> None:
    from routilux_nb.server import create_app

    raw = TestClient(create_app(rt), raise_server_exceptions=False, base_url="http://127.0.0.1")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("an engine bug")

    rt.list_jobs = broken  # type: ignore[method-assign]
    with caplog.at_level("ERROR", logger="routilux_nb.server.errors"):
        e = err(raw.get("/api/v1/jobs"), 500, "INTERNAL_ERROR")
    assert "ValueError" in e["message"] and "an engine bug" not in e["message"]
    assert "an engine bug" in caplog.text and "Traceback" in caplog.text


def test_not_found_raised_by_the_engine_is_404(
    rt: Runtime, etl_flow: str, client: TestClient
) -> None:
    from routilux_nb.core.errors import JobNotFound

    def missing(job_id: str) -> Any:
        raise JobNotFound(f"no job {job_id!r}")

    rt.get_job = missing  # type: ignore[method-assign]
    err(client.get("/api/v1/jobs/whatever/status"), 404, "JOB_NOT_FOUND")

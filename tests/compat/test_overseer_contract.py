"""The operations of the original Routilux server, as routilux-overseer's ``openapi.json`` lists
them (61: method + path), each answered through the real app with the fields the overseer's
TypeScript types read.

The shapes below are this project's own transcription of what those types require: ``str``,
``num`` (int or float), ``int``, ``bool``, ``obj``, ``list``; a trailing ``?`` allows null.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from .conftest import FLOW_DSL, Served

WORKER = {
    "worker_id": "str",
    "flow_id": "str",
    "status": "str",
    "created_at": "num?",
    "started_at": "num?",
    "jobs_processed": "int",
    "jobs_failed": "int",
}
JOB = {
    "job_id": "str",
    "worker_id": "str",
    "flow_id": "str",
    "status": "str",
    "created_at": "num?",
    "started_at": "num?",
    "completed_at": "num?",
    "error": "str?",
    "metadata": "obj?",
}
JOB_LIST = {"jobs": ("list", JOB), "total": "int", "limit": "int", "offset": "int"}
WORKER_LIST = {"workers": ("list", WORKER), "total": "int", "limit": "int", "offset": "int"}
FLOW_ROUTINE = {
    "routine_id": "str",
    "class_name": "str",
    "slots": "list",
    "events": "list",
    "config": "obj",
}
CONNECTION = {
    "connection_id": "str",
    "source_routine": "str",
    "source_event": "str",
    "target_routine": "str",
    "target_slot": "str",
}
FLOW = {"flow_id": "str", "routines": ("map", FLOW_ROUTINE), "connections": ("list", CONNECTION)}
FLOW_LIST = {"flows": ("list", FLOW), "total": "int"}
ROUTINE_INFO = {
    "routine_id": "str",
    "routine_type": "str",
    "class_name": "str",
    "activation_policy": "obj",
    "config": "obj",
    "slots": "list",
    "events": "list",
}
ROUTINE_METRICS = {
    "routine_id": "str",
    "execution_count": "int",
    "total_duration": "num",
    "avg_duration": "num",
    "min_duration": "num?",
    "max_duration": "num?",
    "error_count": "int",
    "last_execution": "str?",
}
EXEC_METRICS = {
    "job_id": "str",
    "flow_id": "str",
    "start_time": "str",
    "end_time": "str?",
    "duration": "num?",
    "routine_metrics": ("map", ROUTINE_METRICS),
    "total_events": "int",
    "total_slot_calls": "int",
    "total_event_emits": "int",
    "errors": "list",
}
EVENT = {
    "event_id": "str",
    "job_id": "str",
    "event_type": "str",
    "timestamp": "str",
    "data": "obj",
    "duration": "num?",
    "status": "str?",
}
EXEC_TRACE = {"events": ("list", EVENT), "total": "int"}
JOB_TRACE = {"job_id": "str", "trace_log": "list", "total_entries": "int"}
SLOT_QUEUE = {
    "slot_name": "str",
    "routine_id": "str",
    "unconsumed_count": "int",
    "total_count": "int",
    "max_length": "int",
    "watermark_threshold": "num",
    "usage_percentage": "num",
    "pressure_level": "str",
    "is_full": "bool",
    "is_near_full": "bool",
}
EXEC_STATUS = {
    "routine_id": "str",
    "is_active": "bool",
    "status": "str",
    "last_execution_time": "str?",
    "execution_count": "int",
    "error_count": "int",
    "active_thread_count": "int",
}
MONITORING = {
    "job_id": "str",
    "flow_id": "str",
    "job_status": "str",
    "updated_at": "str",
    "routines": (
        "map",
        {
            "routine_id": "str",
            "execution_status": EXEC_STATUS,
            "queue_status": ("list", SLOT_QUEUE),
            "info": {k: v for k, v in ROUTINE_INFO.items() if k != "class_name"},
        },
    ),
}
BREAKPOINT = {
    "breakpoint_id": "str",
    "job_id": "str",
    "routine_id": "str",
    "slot_name": "str",
    "condition": "str?",
    "enabled": "bool",
    "hit_count": "int",
}
OBJECT = {
    "name": "str",
    "type": "str",
    "object_type": "str",
    "description": "str",
    "category": "str",
    "tags": "list",
    "example_config": "obj",
    "version": "str",
}
OBJECT_META = {k: v for k, v in OBJECT.items() if k not in ("type", "object_type")}
RUNTIME = {
    "runtime_id": "str",
    "thread_pool_size": "int",
    "is_default": "bool",
    "active_job_count": "int",
    "is_shutdown": "bool",
}
EXECUTE = {
    "job_id": "str",
    "worker_id": "str",
    "status": "str",
    "output": "str?",
    "result": "obj?",
    "error": "str?",
    "elapsed_seconds": "num?",
}

_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "num": (int, float),
    "bool": bool,
    "obj": dict,
    "list": list,
}


def check(value: Any, shape: Any, where: str = "$") -> None:
    """Assert ``value`` has ``shape`` (see the module docstring); extra keys are allowed."""
    if isinstance(shape, str):
        nullable = shape.endswith("?")
        if value is None:
            assert nullable, f"{where} is null, expected {shape}"
            return
        kind = _TYPES[shape.rstrip("?")]
        assert isinstance(value, kind) and not (
            shape.startswith(("int", "num")) and isinstance(value, bool)
        ), f"{where} = {value!r} is not {shape}"
    elif isinstance(shape, tuple):
        kind, inner = shape
        if kind == "list":
            assert isinstance(value, list), f"{where} is not a list"
            for i, item in enumerate(value):
                check(item, inner, f"{where}[{i}]")
        else:
            assert isinstance(value, dict), f"{where} is not an object"
            for k, item in value.items():
                check(item, inner, f"{where}.{k}")
    else:
        assert isinstance(value, dict), f"{where} = {value!r} is not an object"
        for key, inner in shape.items():
            assert key in value, f"{where} has no {key!r} (keys: {sorted(value)})"
            check(value[key], inner, f"{where}.{key}")


def operations(s: Served) -> list[tuple[str, str, dict[str, Any] | None, Any]]:
    """(method, path, json body, shape) of the 61 operations, in the order the overseer lists them."""
    w, j = s.worker_id, s.job_id
    return [
        ("POST", "/api/v1/workers", {"flow_id": "orders"}, WORKER),
        ("GET", "/api/v1/workers", None, WORKER_LIST),
        ("GET", f"/api/v1/workers/{w}", None, WORKER),
        ("DELETE", "/api/v1/workers/{spare}", None, None),
        ("POST", f"/api/v1/workers/{w}/pause", None, WORKER),
        ("POST", f"/api/v1/workers/{w}/resume", None, WORKER),
        ("GET", f"/api/v1/workers/{w}/jobs", None, JOB_LIST),
        (
            "GET",
            f"/api/v1/workers/{w}/statistics",
            None,
            {
                "jobs_processed": "int",
                "jobs_failed": "int",
                "success_rate": "num",
                "routine_statistics": "obj",
            },
        ),
        ("GET", f"/api/v1/workers/{w}/history", None, {"history": "list", "total": "int"}),
        (
            "GET",
            f"/api/v1/workers/{w}/routines/states",
            None,
            ("map", {"status": "str", "execution_count": "int", "error_count": "int"}),
        ),
        ("PUT", f"/api/v1/workers/{w}/breakpoints/{{bp}}", {"enabled": False}, {"enabled": "bool"}),
        (
            "POST",
            "/api/v1/jobs",
            {
                "flow_id": "orders",
                "routine_id": "source",
                "slot_name": "trigger",
                "data": {"qty": 1},
            },
            JOB,
        ),
        ("GET", "/api/v1/jobs", None, JOB_LIST),
        ("GET", f"/api/v1/jobs/{j}", None, JOB),
        (
            "GET",
            f"/api/v1/jobs/{j}/output",
            None,
            {"job_id": "str", "output": "str", "is_complete": "bool"},
        ),
        ("GET", f"/api/v1/jobs/{j}/trace", None, JOB_TRACE),
        ("GET", f"/api/v1/jobs/{j}/metrics", None, EXEC_METRICS),
        ("GET", f"/api/v1/jobs/{j}/execution-trace?limit=200", None, EXEC_TRACE),
        ("GET", f"/api/v1/jobs/{j}/logs", None, {"logs": "list"}),
        ("GET", f"/api/v1/jobs/{j}/data", None, {"data": "obj"}),
        ("GET", f"/api/v1/jobs/{j}/monitoring", None, MONITORING),
        ("GET", f"/api/v1/jobs/{j}/routines/status", None, ("map", EXEC_STATUS)),
        ("GET", f"/api/v1/jobs/{j}/routines/check/queue-status", None, ("list", SLOT_QUEUE)),
        ("GET", f"/api/v1/jobs/{j}/queues/status", None, ("map", ("list", SLOT_QUEUE))),
        ("POST", "/api/v1/jobs/{running}/complete", None, JOB),
        ("POST", "/api/v1/jobs/{running2}/fail", {"error": "stopped by hand"}, JOB),
        ("GET", f"/api/v1/jobs/{j}/status", None, {"job_id": "str", "status": "str"}),
        ("POST", f"/api/v1/jobs/{j}/wait?timeout=5", None, {"job_id": "str", "status": "str"}),
        (
            "POST",
            "/api/v1/execute",
            {
                "flow_id": "orders",
                "routine_id": "source",
                "slot_name": "trigger",
                "data": {"qty": 3},
                "wait": True,
                "timeout": 10,
            },
            EXECUTE,
        ),
        ("GET", "/api/v1/health/live", None, {"status": "str"}),
        (
            "GET",
            "/api/v1/health/ready",
            None,
            {"status": "str", "runtime": {"active_workers": "int", "shutdown": "bool"}},
        ),
        (
            "GET",
            "/api/v1/health/stats",
            None,
            {"status": "str", "runtime": {"active_workers": "int", "active_jobs": "int"}},
        ),
        ("GET", "/api/v1/flows", None, FLOW_LIST),
        (
            "POST",
            "/api/v1/flows",
            {"flow_id": "spare_flow", "dsl_dict": {"routines": {"s": {"class": "sink"}}}},
            FLOW,
        ),
        ("GET", "/api/v1/flows/orders", None, FLOW),
        ("DELETE", "/api/v1/flows/spare_flow", None, None),
        ("GET", "/api/v1/flows/orders/metrics", None, "obj"),
        ("GET", "/api/v1/flows/orders/dsl?format=yaml", None, {"dsl": "str"}),
        ("POST", "/api/v1/flows/orders/validate", None, {"valid": "bool"}),
        ("GET", "/api/v1/flows/orders/routines/check/info", None, ROUTINE_INFO),
        ("GET", "/api/v1/flows/orders/routines", None, ("map", FLOW_ROUTINE)),
        (
            "POST",
            "/api/v1/flows/orders/routines",
            {"routine_id": "extra", "object_name": "ResultExtractor"},
            "obj",
        ),
        ("GET", "/api/v1/flows/orders/connections", None, ("list", CONNECTION)),
        (
            "POST",
            "/api/v1/flows/orders/connections",
            {
                "source_routine": "check",
                "source_event": "invalid",
                "target_routine": "extra",
                "target_slot": "input",
            },
            "obj",
        ),
        ("DELETE", "/api/v1/flows/orders/connections/2", None, None),
        ("DELETE", "/api/v1/flows/orders/routines/extra", None, None),
        (
            "POST",
            f"/api/v1/jobs/{j}/breakpoints",
            {"routine_id": "sink", "slot_name": "input", "enabled": True},
            BREAKPOINT,
        ),
        (
            "GET",
            f"/api/v1/jobs/{j}/breakpoints",
            None,
            {"breakpoints": ("list", BREAKPOINT), "total": "int"},
        ),
        ("DELETE", f"/api/v1/jobs/{j}/breakpoints/{{bp}}", None, None),
        ("POST", "/api/v1/discovery/flows/sync", None, FLOW_LIST),
        ("GET", "/api/v1/discovery/flows", None, FLOW_LIST),
        ("POST", "/api/v1/discovery/jobs/sync", None, {"jobs": ("list", JOB), "total": "int"}),
        ("GET", "/api/v1/discovery/jobs", None, {"jobs": ("list", JOB), "total": "int"}),
        (
            "POST",
            "/api/v1/discovery/workers/sync",
            None,
            {"workers": ("list", WORKER), "message": "str"},
        ),
        (
            "GET",
            "/api/v1/factory/objects?object_type=routine",
            None,
            {"objects": ("list", OBJECT), "total": "int"},
        ),
        ("GET", "/api/v1/factory/objects/DataValidator", None, OBJECT_META),
        (
            "GET",
            "/api/v1/factory/objects/data_validator/interface",
            None,
            {
                "name": "str",
                "slots": ("list", {"name": "str"}),
                "events": ("list", {"name": "str"}),
            },
        ),
        (
            "GET",
            "/api/v1/runtimes",
            None,
            {"runtimes": ("list", RUNTIME), "total": "int", "default_runtime_id": "str"},
        ),
        (
            "POST",
            "/api/v1/runtimes",
            {"runtime_id": "default", "thread_pool_size": 4},
            {"runtime": RUNTIME},
        ),
        ("GET", "/api/v1/runtimes/default", None, {"runtime": RUNTIME}),
        ("GET", "/", None, "obj"),
    ]


def _running_job(s: Served) -> str:
    """A job that stays running (its worker is paused before the job's data is taken)."""
    worker = s.rt.start(s.rt.get_flow("orders"))
    worker.pause()
    return str(worker.submit("source", "trigger", {"qty": 1}).job_id)


def test_every_operation_answers_with_the_overseer_shape(served: Served) -> None:
    c = served.client
    ids = {
        "spare": c.post("/api/v1/workers", json={"flow_id": "orders"}).json()["worker_id"],
        "running": _running_job(served),
        "running2": _running_job(served),
    }
    ops = operations(served)
    assert len(ops) == 61
    assert len({(m, p.split("?")[0]) for m, p, _, _ in ops}) == 61
    for method, path, body, shape in ops:
        if "{bp}" in path:
            created = c.post(
                f"/api/v1/jobs/{served.job_id}/breakpoints",
                json={"routine_id": "check", "slot_name": "input"},
            )
            assert created.status_code == 201, created.text
            ids["bp"] = created.json()["breakpoint_id"]
        r = c.request(method, path.format(**ids), json=body)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text[:300]}"
        if shape is not None:
            check(r.json(), shape, f"{method} {path}")


def test_operations_are_in_the_openapi_document(served: Served) -> None:
    documented = {
        (m.upper(), p)
        for p, ops in served.client.get("/openapi.json").json()["paths"].items()
        for m in ops
    }
    for method, path, _, _ in operations(served):
        concrete = path.split("?")[0]
        if concrete != "/":
            assert any(method == m and _matches(concrete, p) for m, p in documented), (
                method,
                concrete,
            )


def _matches(concrete: str, template: str) -> bool:
    a, b = concrete.strip("/").split("/"), template.strip("/").split("/")
    return len(a) == len(b) and all(x == y or y.startswith("{") for x, y in zip(a, b, strict=True))


def test_timestamps_are_unix_seconds_with_compat_and_iso_without(
    served: Served, served_iso: Served
) -> None:
    job = served.client.get(f"/api/v1/jobs/{served.job_id}").json()
    worker = served.client.get(f"/api/v1/workers/{served.worker_id}").json()
    for value in (job["created_at"], job["started_at"], job["completed_at"], worker["created_at"]):
        assert isinstance(value, float) and abs(value - time.time()) < 3600
    assert job["created_at"] <= job["started_at"] <= job["completed_at"]
    iso_job = served_iso.client.get(f"/api/v1/jobs/{served_iso.job_id}").json()
    assert datetime.fromisoformat(iso_job["created_at"]).tzinfo is not None
    listed = served_iso.client.get("/api/v1/workers").json()["workers"][0]
    assert isinstance(listed["created_at"], str)
    # only job and worker timestamps change: the flow and the metrics keep ISO strings
    metrics = served.client.get(f"/api/v1/jobs/{served.job_id}/metrics").json()
    assert isinstance(metrics["start_time"], str)


def test_pause_resume_answer_the_whole_worker_with_compat(served: Served) -> None:
    r = served.client.post(f"/api/v1/workers/{served.worker_id}/pause").json()
    assert (
        r["status"] == "paused" and r["flow_id"] == "orders" and isinstance(r["created_at"], float)
    )
    r = served.client.post(f"/api/v1/workers/{served.worker_id}/resume").json()
    assert r["status"] == "running" and r["jobs_processed"] == 1


def test_breakpoint_type_defaults_and_explicit_type_still_checked(served_iso: Served) -> None:
    c, j = served_iso.client, served_iso.job_id
    r = c.post(
        f"/api/v1/jobs/{j}/breakpoints",
        json={"routine_id": "sink", "slot_name": "input", "enabled": True},
    )
    assert r.status_code == 201 and r.json()["type"] == "slot"
    r = c.post(f"/api/v1/jobs/{j}/breakpoints", json={"routine_id": "sink"})
    assert r.status_code == 201 and r.json()["type"] == "routine"
    r = c.post(f"/api/v1/jobs/{j}/breakpoints", json={"routine_id": "sink", "type": "teleport"})
    assert r.status_code == 422 and "type" in r.text


def test_execute_without_wait_and_bad_references(served_iso: Served) -> None:
    c = served_iso.client
    r = c.post(
        "/api/v1/execute",
        json={
            "flow_id": "orders",
            "routine_id": "source",
            "slot_name": "trigger",
            "data": {"qty": 5},
        },
    )
    assert r.status_code == 200 and r.json()["status"] in ("pending", "running", "completed")
    assert served_iso.rt.get_job(r.json()["job_id"]).wait(10).data["collected"] == [
        {"validated_data": {"qty": 5}}
    ]
    r = c.post(
        "/api/v1/execute", json={"flow_id": "nope", "routine_id": "source", "slot_name": "trigger"}
    )
    assert r.status_code == 404 and "nope" in r.json()["error"]["message"]
    r = c.post(
        "/api/v1/execute", json={"flow_id": "orders", "routine_id": "source", "slot_name": "inbox"}
    )
    assert r.status_code == 404 and "inbox" in r.json()["error"]["message"]
    r = c.post("/api/v1/execute", json={"flow_id": "orders", "wait": True, "timeout": 0})
    assert r.status_code == 422
    for bad in ({"slot_name": ""}, {"routine_id": "a b"}, {"flow_id": "x" * 300}):
        r = c.post("/api/v1/execute", json={"flow_id": "orders", **bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text


def test_execute_with_wait_reports_a_failed_job(served_iso: Served) -> None:
    c = served_iso.client
    c.post(
        "/api/v1/flows",
        json={
            "flow_id": "broken",
            "dsl_dict": {
                "routines": {
                    "x": {
                        "class": "ResultExtractor",
                        "config": {"return_original_on_failure": False},
                    }
                }
            },
        },
    )
    r = c.post(
        "/api/v1/execute",
        json={
            "flow_id": "broken",
            "routine_id": "x",
            "slot_name": "input",
            "data": {"data": "no structure"},
            "wait": True,
            "timeout": 10,
        },
    ).json()
    assert r["status"] == "failed" and "no extractor applied" in r["error"]


def test_runtimes_refuse_other_ids_and_factory_names_unknown_objects(served_iso: Served) -> None:
    c = served_iso.client
    r = c.post("/api/v1/runtimes", json={"runtime_id": "second"})
    assert r.status_code == 409 and "one runtime" in r.json()["error"]["message"]
    assert c.get("/api/v1/runtimes/second").status_code == 404
    r = c.get("/api/v1/factory/objects/NoSuchRoutine")
    assert r.status_code == 404 and "registered" in r.json()["error"]["message"]
    objects = c.get("/api/v1/factory/objects").json()["objects"]
    names = {o["name"] for o in objects}
    assert {"data_validator", "schema_validator", "result_extractor", "collector"} <= names
    assert c.get("/api/v1/factory/objects?object_type=flow").json() == {"objects": [], "total": 0}
    iface = c.get("/api/v1/factory/objects/ConditionalRouter/interface").json()
    assert [e["name"] for e in iface["events"]] == ["default"] and iface["slots"][0][
        "name"
    ] == "input"


def test_routine_info_answers_class_name_and_routine_type(served_iso: Served) -> None:
    info = served_iso.client.get("/api/v1/flows/orders/routines/check/info").json()
    assert info["class_name"] == info["routine_type"] == "DataValidator"


@pytest.mark.parametrize("prefix", ["/api/v1", "/api"])
def test_health_ready_keeps_the_documented_fields_and_adds_the_originals(
    served_iso: Served, prefix: str
) -> None:
    body = served_iso.client.get(f"{prefix}/health/ready").json()
    assert body["ready"] is True and set(body["checks"]) >= {"runtime", "thread_pool"}
    assert body["status"] == "ready" and body["runtime"]["shutdown"] is False
    assert body["runtime"]["active_workers"] >= 1
    served_iso.rt.shutdown(wait=False)
    r = served_iso.client.get(f"{prefix}/health/ready")
    assert (
        r.status_code == 503
        and r.json()["status"] == "not_ready"
        and r.json()["reason"] == "runtime_shutdown"
    )


def test_unknown_compat_mode_is_refused() -> None:
    from routilux_nb.core import Runtime
    from routilux_nb.server import create_app

    rt = Runtime()
    try:
        with pytest.raises(ValueError, match="unknown compat mode 'original'; known: routilux"):
            create_app(rt, compat="original")
    finally:
        rt.shutdown(wait=False)


def test_routine_states_carry_last_execution_time_with_compat(served: Served) -> None:
    states = served.client.get(f"/api/v1/workers/{served.worker_id}/routines/states").json()
    assert states["check"]["last_execution_time"] == states["check"]["last_execution"]
    assert datetime.fromisoformat(states["check"]["last_execution_time"]).tzinfo is not None


def test_serve_has_a_compat_option() -> None:
    from routilux_nb.__main__ import build_parser

    assert build_parser().parse_args(["serve", "--compat", "routilux"]).compat == "routilux"
    assert build_parser().parse_args(["serve"]).compat is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--compat", "other"])


def test_the_overseer_origin_named_with_cors_origin_may_execute_and_others_may_not() -> None:
    """The overseer (a browser page on its own origin) posts JSON with its ``Origin``: served
    once the user names that origin (``--cors-origin``); a page of another origin gets 403."""
    from fastapi.testclient import TestClient

    from routilux_nb.core import Runtime
    from routilux_nb.server import create_app

    overseer = "http://localhost:3000"
    rt = Runtime()
    try:
        app = create_app(rt, compat="routilux", cors_origins=[overseer])
        with TestClient(app, base_url="http://127.0.0.1") as c:
            r = c.post("/api/v1/flows", json={"flow_id": "orders", "dsl_dict": FLOW_DSL})
            assert r.status_code == 201, r.text
            body = {"flow_id": "orders", "routine_id": "source", "slot_name": "trigger"}
            body |= {"data": {"qty": 1}, "wait": True, "timeout": 10}
            r = c.post("/api/v1/execute", json=body, headers={"Origin": overseer})
            assert r.status_code == 200 and r.json()["status"] == "completed", r.text
            assert r.headers["access-control-allow-origin"] == overseer
            r = c.post("/api/v1/execute", json=body, headers={"Origin": "http://evil.example"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "ORIGIN_NOT_ALLOWED"
            r = c.get("/api/v1/jobs/job-nope/execution-trace", headers={"Origin": overseer})
            assert r.status_code == 404 and r.json()["error"]["code"] == "JOB_NOT_FOUND"
    finally:
        rt.shutdown(wait=False)

"""Every example request of the API specification, in order, at ``/api/v1`` and at ``/api``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routilux_nb.core import Runtime

from .conftest import PIPELINE_DSL

JOB_FIELDS = {
    "job_id",
    "worker_id",
    "flow_id",
    "status",
    "created_at",
    "completed_at",
    "metadata",
    "error",
}
WORKER_FIELDS = {
    "worker_id",
    "flow_id",
    "status",
    "created_at",
    "started_at",
    "jobs_processed",
    "jobs_failed",
}
QUEUE_FIELDS = {
    "slot_name",
    "routine_id",
    "unconsumed_count",
    "total_count",
    "max_length",
    "watermark_threshold",
    "usage_percentage",
    "pressure_level",
    "is_full",
    "is_near_full",
}
BP_FIELDS = {"breakpoint_id", "job_id", "type", "routine_id", "condition", "enabled", "hit_count"}


def aware(ts: str | None) -> bool:
    return ts is not None and datetime.fromisoformat(ts).tzinfo is not None


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json() if status != 204 else None


@pytest.mark.parametrize("api", ["/api/v1", "/api"])
def test_walk_every_example(client: TestClient, rt: Runtime, api: str) -> None:
    flow_id = PIPELINE_DSL["flow_id"]
    # -- flows: create from dsl_dict -----------------------------------------------------
    flow = ok(client.post(f"{api}/flows", json={"flow_id": flow_id, "dsl_dict": PIPELINE_DSL}), 201)
    assert flow["flow_id"] == flow_id and set(flow["routines"]) == {
        "data_source",
        "mapper",
        "collector",
    }
    assert flow["connections"][0]["connection_id"] == "conn_0"
    # -- workers: create -----------------------------------------------------------------
    worker = ok(client.post(f"{api}/workers", json={"flow_id": flow_id}), 201)
    assert (
        WORKER_FIELDS <= set(worker)
        and worker["status"] == "running"
        and worker["jobs_processed"] == 0
    )
    wid = worker["worker_id"]
    # -- jobs: submit, wait, get ---------------------------------------------------------
    job = ok(
        client.post(
            f"{api}/jobs",
            json={
                "flow_id": flow_id,
                "routine_id": "data_source",
                "slot_name": "trigger",
                "data": {"value": 42},
                "worker_id": wid,
                "job_id": f"job-123{api[-1]}",
                "metadata": {"user_id": "user-789"},
            },
        ),
        201,
    )
    assert (
        JOB_FIELDS <= set(job) and job["job_id"] == f"job-123{api[-1]}" and job["worker_id"] == wid
    )
    assert job["metadata"] == {"user_id": "user-789"} and aware(job["created_at"])
    jid = job["job_id"]
    waited = ok(client.post(f"{api}/jobs/{jid}/wait", params={"timeout": 10}))
    assert waited == {
        "status": "completed",
        "job_id": jid,
        "final_status": "completed",
        "waited_seconds": waited["waited_seconds"],
    }
    got = ok(client.get(f"{api}/jobs/{jid}"))
    assert JOB_FIELDS | {"data"} <= set(got) and got["data"] == {"collected": [{"value": 42}]}
    assert got["status"] == "completed" and aware(got["completed_at"])
    assert ok(client.get(f"{api}/jobs/{jid}/status")) == {
        "job_id": jid,
        "status": "completed",
        "worker_id": wid,
        "flow_id": flow_id,
    }
    metrics = ok(client.get(f"{api}/jobs/{jid}/metrics"))
    assert {
        "job_id",
        "flow_id",
        "start_time",
        "end_time",
        "duration",
        "routine_metrics",
        "total_events",
        "total_slot_calls",
        "total_event_emits",
        "errors",
    } <= set(metrics)
    assert metrics["routine_metrics"]["data_source"]["execution_count"] == 1
    assert {
        "routine_id",
        "execution_count",
        "total_duration",
        "avg_duration",
        "min_duration",
        "max_duration",
        "error_count",
        "last_execution",
    } <= set(metrics["routine_metrics"]["mapper"])
    trace = ok(client.get(f"{api}/jobs/{jid}/trace", params={"limit": 5}))
    assert len(trace["events"]) == 5 and trace["total"] >= 5
    assert {
        "event_id",
        "job_id",
        "routine_id",
        "event_type",
        "timestamp",
        "data",
        "duration",
        "status",
    } <= set(trace["events"][0])
    logs = ok(client.get(f"{api}/jobs/{jid}/logs"))
    assert logs["job_id"] == jid and logs["total"] == len(logs["logs"])
    assert ok(client.get(f"{api}/jobs/{jid}/data")) == {
        "job_id": jid,
        "data": {"collected": [{"value": 42}]},
    }
    output = ok(client.get(f"{api}/jobs/{jid}/output", params={"incremental": "false"}))
    assert output == {"job_id": jid, "output": "", "is_complete": True, "truncated": False}
    mon = ok(client.get(f"{api}/jobs/{jid}/monitoring"))
    assert mon["job_id"] == jid and mon["job_status"] == "completed" and aware(mon["updated_at"])
    src = mon["routines"]["data_source"]
    assert {"routine_id", "execution_status", "queue_status", "info"} <= set(src)
    assert (
        src["info"]["routine_type"] == "DataSource"
        and src["info"]["activation_policy"]["type"] == "immediate"
    )
    status = ok(client.get(f"{api}/jobs/{jid}/routines/status"))
    assert {
        "routine_id",
        "is_active",
        "status",
        "last_execution_time",
        "execution_count",
        "error_count",
        "active_thread_count",
    } <= set(status["mapper"])
    queue = ok(client.get(f"{api}/jobs/{jid}/routines/mapper/queue-status"))
    assert (
        isinstance(queue, list)
        and QUEUE_FIELDS <= set(queue[0])
        and queue[0]["slot_name"] == "input"
    )
    queues = ok(client.get(f"{api}/jobs/{jid}/queues/status"))
    assert set(queues) == {"data_source", "mapper", "collector"}
    # -- list and filters ----------------------------------------------------------------
    listed = ok(
        client.get(
            f"{api}/jobs",
            params={
                "worker_id": wid,
                "flow_id": flow_id,
                "status": "completed",
                "limit": 100,
                "offset": 0,
            },
        )
    )
    assert listed["total"] == 1 and listed["limit"] == 100 and listed["offset"] == 0
    assert JOB_FIELDS <= set(listed["jobs"][0]) and listed["jobs"][0]["job_id"] == jid
    assert ok(client.get(f"{api}/jobs", params={"status": "failed"}))["total"] == 0
    # -- complete / fail on fresh jobs (paused so they cannot finish by themselves) -------
    fresh = []
    for _ in range(2):
        ok(client.post(f"{api}/workers/{wid}/pause"))
        fresh.append(
            ok(
                client.post(
                    f"{api}/jobs", json={"flow_id": flow_id, "data": {"v": 1}, "worker_id": wid}
                ),
                201,
            )["job_id"]
        )
    done = ok(client.post(f"{api}/jobs/{fresh[0]}/complete"))
    assert (
        done["job_id"] == fresh[0] and done["status"] == "completed" and aware(done["completed_at"])
    )
    failed = ok(
        client.post(
            f"{api}/jobs/{fresh[1]}/fail", json={"error": "Processing failed: Invalid input"}
        )
    )
    assert failed == {
        "job_id": fresh[1],
        "status": "failed",
        "error": "Processing failed: Invalid input",
        "completed_at": failed["completed_at"],
    }
    ok(client.post(f"{api}/workers/{wid}/resume"))
    # -- workers --------------------------------------------------------------------------
    workers = ok(client.get(f"{api}/workers", params={"flow_id": flow_id, "status": "running"}))
    assert workers["total"] == 1 and WORKER_FIELDS <= set(workers["workers"][0])
    assert workers["limit"] == 100 and workers["offset"] == 0
    w = ok(client.get(f"{api}/workers/{wid}"))
    assert WORKER_FIELDS | {"completed_at", "error", "error_traceback"} <= set(w)
    assert w["jobs_processed"] == 3 and w["jobs_failed"] == 1
    paused = ok(client.post(f"{api}/workers/{wid}/pause"))
    assert (
        paused["worker_id"] == wid and paused["status"] == "paused" and aware(paused["updated_at"])
    )
    resumed = ok(client.post(f"{api}/workers/{wid}/resume"))
    assert resumed["status"] == "running"
    stats = ok(client.get(f"{api}/workers/{wid}/statistics"))
    assert {
        "worker_id",
        "flow_id",
        "jobs_processed",
        "jobs_failed",
        "success_rate",
        "average_job_duration",
        "total_execution_time",
        "routine_statistics",
    } <= set(stats)
    assert {"execution_count", "total_duration", "avg_duration", "error_count"} <= set(
        stats["routine_statistics"]["data_source"]
    )
    history = ok(
        client.get(
            f"{api}/workers/{wid}/history", params={"routine_id": "data_source", "limit": 10}
        )
    )
    assert history["worker_id"] == wid and history["total"] == 1 and history["limit"] == 10
    assert {"routine_id", "event_name", "data", "timestamp"} <= set(history["history"][0])
    states = ok(client.get(f"{api}/workers/{wid}/routines/states"))
    assert {"status", "execution_count", "last_execution"} <= set(states["mapper"])
    wjobs = ok(client.get(f"{api}/workers/{wid}/jobs", params={"status": "completed"}))
    assert wjobs["total"] == 2 and {
        "job_id",
        "worker_id",
        "flow_id",
        "status",
        "created_at",
    } <= set(wjobs["jobs"][0])
    bp = ok(
        client.post(
            f"{api}/jobs/{jid}/breakpoints", json={"type": "routine", "routine_id": "mapper"}
        ),
        201,
    )
    for enabled in (False, True):
        put = ok(
            client.put(
                f"{api}/workers/{wid}/breakpoints/{bp['breakpoint_id']}", json={"enabled": enabled}
            )
        )
        assert (
            put["breakpoint_id"] == bp["breakpoint_id"]
            and put["enabled"] is enabled
            and aware(put["updated_at"])
        )
    ok(client.delete(f"{api}/jobs/{jid}/breakpoints/{bp['breakpoint_id']}"), 204)
    # -- flows ----------------------------------------------------------------------------
    flows = ok(client.get(f"{api}/flows"))
    assert flows["total"] == 1 and flows["flows"][0]["flow_id"] == flow_id
    f = ok(client.get(f"{api}/flows/{flow_id}"))
    assert {"flow_id", "routines", "connections", "execution_timeout", "error_handler"} <= set(f)
    assert {"routine_id", "class_name", "slots", "events", "config"} <= set(
        f["routines"]["data_source"]
    )
    assert f["routines"]["data_source"]["config"] == {"name": "Source"}
    fm = ok(client.get(f"{api}/flows/{flow_id}/metrics"))
    assert {
        "flow_id",
        "total_jobs",
        "completed_jobs",
        "failed_jobs",
        "success_rate",
        "average_duration",
        "job_metrics",
    } <= set(fm)
    assert fm["total_jobs"] == 3 and fm["completed_jobs"] == 2 and fm["failed_jobs"] == 1
    routines = ok(client.get(f"{api}/flows/{flow_id}/routines"))
    assert routines["mapper"]["class_name"] == "Mapper" and routines["mapper"]["slots"] == ["input"]
    info = ok(client.get(f"{api}/flows/{flow_id}/routines/data_source/info"))
    assert (
        info["routine_type"] == "DataSource"
        and info["slots"] == ["trigger"]
        and info["events"] == ["output"]
    )
    assert info["activation_policy"] == {
        "type": "immediate",
        "config": {},
        "description": "Activate immediately when any slot receives data",
    }
    conns = ok(client.get(f"{api}/flows/{flow_id}/connections"))
    assert conns[1] == {
        "connection_id": "conn_1",
        "source_routine": "mapper",
        "source_event": "output",
        "target_routine": "collector",
        "target_slot": "input",
    }
    added = ok(
        client.post(
            f"{api}/flows/{flow_id}/routines",
            json={
                "routine_id": "data_processor",
                "object_name": "data_transformer",
                "config": {"name": "MyProcessor"},
            },
        )
    )
    assert added == {"routine_id": "data_processor", "status": "added"}
    connected = ok(
        client.post(
            f"{api}/flows/{flow_id}/connections",
            json={
                "source_routine": "data_source",
                "source_event": "output",
                "target_routine": "data_processor",
                "target_slot": "input",
            },
        )
    )
    assert (
        connected["status"] == "connected" and connected["connection"]["connection_id"] == "conn_2"
    )
    ok(client.delete(f"{api}/flows/{flow_id}/connections/2"), 204)
    ok(client.delete(f"{api}/flows/{flow_id}/routines/data_processor"), 204)
    assert len(ok(client.get(f"{api}/flows/{flow_id}/connections"))) == 2
    assert ok(client.post(f"{api}/flows/{flow_id}/validate")) == {
        "valid": True,
        "issues": [],
        "errors": [],
        "warnings": [],
    }
    yml = ok(client.get(f"{api}/flows/{flow_id}/dsl", params={"format": "yaml"}))
    assert yml["format"] == "yaml" and yml["dsl"].startswith(f"flow_id: {flow_id}")
    js = ok(client.get(f"{api}/flows/{flow_id}/dsl", params={"format": "json"}))
    assert js["format"] == "json" and '"flow_id"' in js["dsl"]
    assert ok(client.get(f"{api}/flows/{flow_id}/dsl"))["format"] == "yaml"
    # -- breakpoints ----------------------------------------------------------------------
    created = ok(
        client.post(
            f"{api}/jobs/{jid}/breakpoints",
            json={
                "type": "routine",
                "routine_id": "mapper",
                "condition": "data.get('value') > 100",
                "enabled": True,
            },
        ),
        201,
    )
    assert BP_FIELDS <= set(created) and created["job_id"] == jid and created["hit_count"] == 0
    assert created["condition"] == "data.get('value') > 100"
    bps = ok(client.get(f"{api}/jobs/{jid}/breakpoints"))
    assert bps["total"] == 1 and bps["breakpoints"][0]["breakpoint_id"] == created["breakpoint_id"]
    ok(client.delete(f"{api}/jobs/{jid}/breakpoints/{created['breakpoint_id']}"), 204)
    assert ok(client.get(f"{api}/jobs/{jid}/breakpoints"))["total"] == 0
    # -- stop the worker, delete the flow ---------------------------------------------------
    ok(client.delete(f"{api}/workers/{wid}"), 204)
    assert ok(client.get(f"{api}/workers/{wid}"))["status"] == "stopped"
    ok(client.delete(f"{api}/flows/{flow_id}"), 204)
    assert client.get(f"{api}/flows/{flow_id}").json()["error"]["code"] == "FLOW_NOT_FOUND"


def test_create_flow_from_dsl_text_and_empty(client: TestClient) -> None:
    dsl = "flow_id: my_new_flow\nroutines:\n  source:\n    class: data_source\n    config:\n      name: Source"
    r = ok(client.post("/api/v1/flows", json={"flow_id": "my_new_flow", "dsl": dsl}), 201)
    assert r["routines"]["source"]["config"] == {"name": "Source"}
    js = ok(
        client.post(
            "/api/v1/flows",
            json={"dsl": '{"flow_id": "j", "routines": {"s": {"class": "data_source"}}}'},
        ),
        201,
    )
    assert js["flow_id"] == "j"
    empty = ok(client.post("/api/v1/flows", json={"flow_id": "empty"}), 201)
    assert empty["flow_id"] == "empty" and empty["routines"] == {} and empty["connections"] == []
    dup = client.post("/api/v1/flows", json={"flow_id": "empty"})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "FLOW_ALREADY_EXISTS"


def test_submit_without_worker_starts_one(client: TestClient, rt: Runtime, etl_flow: str) -> None:
    job = ok(client.post("/api/v1/jobs", json={"flow_id": etl_flow, "data": {"value": 1}}), 201)
    assert job["worker_id"] in rt.workers
    ok(client.post(f"/api/v1/jobs/{job['job_id']}/wait"))
    again = ok(client.post("/api/v1/jobs", json={"flow_id": etl_flow, "data": {"value": 2}}), 201)
    assert again["worker_id"] == job["worker_id"]

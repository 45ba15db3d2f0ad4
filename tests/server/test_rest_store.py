"""Artifacts, flow versions and job filters over HTTP, through the real app."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from routilux_nb.core import Flow, Runtime

from ._apps import free_port

DSL = {
    "flow_id": "tagger",
    "routines": {
        "tag": {"class": "mapper", "config": {"set": {"tag": "one"}}},
        "out": {"class": "collector", "config": {"key": "out"}},
    },
    "connections": [{"from": "tag.output", "to": "out.input"}],
}


@pytest.fixture
def store_rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime(store=tmp_path / "jobs.db", max_finished_jobs=2)
    yield runtime
    runtime.shutdown()


@pytest.fixture
def store_client(store_rt: Runtime) -> Iterator[TestClient]:
    from routilux_nb.server import create_app

    with TestClient(create_app(store_rt), base_url="http://127.0.0.1") as c:
        yield c


def test_artifacts_are_listed_described_downloaded_and_deleted(
    store_rt: Runtime, store_client: TestClient
) -> None:
    flow = Flow("attach")

    @flow.routine(slots=["input"], events=[])
    def attach(input, ctx):
        ctx.artifact("report.txt", "all good")
        ctx.artifact("../secret", {"k": 1})

    job = store_rt.submit(flow, data={}).wait(10)
    r = store_client.get(f"/api/v1/jobs/{job.job_id}/artifacts")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 2 and [a["name"] for a in body["artifacts"]] == [
        "report.txt",
        "../secret",
    ]
    first = body["artifacts"][0]
    assert first["kind"] == "text" and first["size"] == 8 and first["created_at"].endswith("+00:00")
    got = store_client.get(first["_links"]["self"])
    assert got.status_code == 200 and got.json()["artifact_id"] == first["artifact_id"]
    download = store_client.get(first["_links"]["download"])
    assert download.status_code == 200 and download.content == b"all good"
    assert download.headers["content-type"].startswith("text/plain")
    assert download.headers["content-disposition"] == 'attachment; filename="report.txt"'
    secret = body["artifacts"][1]
    assert secret["filename"] == "secret.json"
    assert store_client.get(secret["_links"]["download"]).json() == {"k": 1}
    assert (
        store_client.delete(f"/api/v1/artifacts/{secret['artifact_id']}").json()["deleted"] is True
    )
    missing = store_client.get(f"/api/v1/artifacts/{secret['artifact_id']}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ARTIFACT_NOT_FOUND"
    for bad in ("..%2F..%2Fetc%2Fpasswd", "not-an-id", "A" * 32):
        r = store_client.get(f"/api/v1/artifacts/{bad}/download")
        assert r.status_code in (404, 422), (bad, r.status_code)
    assert store_client.get("/api/v1/jobs/no-such-job/artifacts").status_code == 404


def test_flow_versions_over_http(store_client: TestClient) -> None:
    assert (
        store_client.post("/api/v1/flows", json={"flow_id": "tagger", "dsl_dict": DSL}).status_code
        == 201
    )
    changed = {
        **DSL,
        "routines": {
            **DSL["routines"],
            "tag": {"class": "mapper", "config": {"set": {"tag": "two"}}},
        },
    }
    assert (
        store_client.post(
            "/api/v1/flows", json={"flow_id": "tagger", "dsl_dict": changed}
        ).status_code
        == 409
    )
    r = store_client.put("/api/v1/flows/tagger", json={"flow_id": "tagger", "dsl_dict": changed})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    same = store_client.put("/api/v1/flows/tagger", json={"dsl_dict": changed})
    assert same.json()["version"] == 2  # unchanged: no new version
    assert store_client.put("/api/v1/flows/ghost", json={"dsl_dict": changed}).status_code == 404
    versions = store_client.get("/api/v1/flows/tagger/versions").json()
    assert [v["version"] for v in versions["items"]] == [2, 1] and versions["total"] == 2
    assert "tag: two" in versions["items"][0]["dsl"]
    one = store_client.get("/api/v1/flows/tagger/versions/1").json()
    assert one["definition"]["routines"]["tag"]["config"] == {"set": {"tag": "one"}}
    nope = store_client.get("/api/v1/flows/tagger/versions/9")
    assert nope.status_code == 404 and nope.json()["error"]["details"]["versions"] == [2, 1]
    ghost = store_client.get("/api/v1/flows/ghost/versions")
    assert ghost.status_code == 404 and ghost.json()["error"]["code"] == "FLOW_NOT_FOUND"
    for body, named in (({}, "dsl"), ({"flow_id": "other", "dsl_dict": changed}, "other")):
        refused = store_client.put("/api/v1/flows/tagger", json=body)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "VALIDATION_ERROR"
        assert named in refused.json()["error"]["message"], refused.text
    assert store_client.get("/api/v1/flows/tagger/versions").json()["total"] == 2


def test_job_filters_and_sorting_over_http(store_rt: Runtime, store_client: TestClient) -> None:
    flow = Flow("sorted")

    @flow.routine(slots=["input"], events=[])
    def maybe_fail(input, ctx):
        if input[0]["fail"]:
            raise ValueError("no")

    jobs = []
    for i in range(5):
        jobs.append(store_rt.submit(flow, data={"fail": i in (1, 3)}).wait(10))
        time.sleep(0.002)
    # between two creations: ISO 8601 carries microseconds, the engine's clock finer ones
    cut = datetime.fromtimestamp(
        (jobs[1].created_at + jobs[2].created_at) / 2, tz=timezone.utc
    ).isoformat()
    r = store_client.get("/api/v1/jobs", params={"created_after": cut, "order": "asc"})
    assert r.status_code == 200, r.text
    assert [j["job_id"] for j in r.json()["jobs"]] == [j.job_id for j in jobs[2:]]
    r = store_client.get("/api/v1/jobs", params=[("status", "failed"), ("status", "cancelled")])
    assert r.json()["total"] == 2
    r = store_client.get("/api/v1/jobs", params={"sort_by": "status", "order": "asc", "limit": 5})
    assert [j["status"] for j in r.json()["jobs"]] == ["completed"] * 3 + ["failed"] * 2
    bad = store_client.get("/api/v1/jobs", params={"sort_by": "duration"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "sort_by" in bad.json()["error"]["message"]
    for when in ("0.5", "yesterday", "2026-02-30T00:00:00Z"):
        bad = store_client.get("/api/v1/jobs", params={"created_before": when})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR", when
        assert "created_before" in bad.json()["error"]["message"]
    zulu = store_client.get("/api/v1/jobs", params={"created_before": "2000-01-01T00:00:00Z"})
    assert zulu.status_code == 200 and zulu.json()["total"] == 0


def test_database_and_metrics_health(
    store_rt: Runtime, store_client: TestClient, client: TestClient
) -> None:
    db = store_client.get("/health/database").json()
    assert db["status"] == "healthy" and db["store"]["kind"] == "SQLiteJobStore"
    assert db["store"]["wal_mode"] is True and db["store"]["writer"]["errors"] == 0
    assert set(db["store"]["writer"]) >= {
        "written",
        "pending",
        "last_lag_seconds",
        "interval_seconds",
    }
    assert store_client.get("/api/v1/health/database").status_code == 200
    plain = client.get("/health/database").json()
    assert plain["store"]["kind"] == "none"
    m = store_client.get("/health/metrics").json()
    assert m["system"]["cpu_count"] >= 1 and m["process"]["threads"] >= 1


def _up(proc: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not come up"
        time.sleep(0.1)


def test_serve_store_option_keeps_jobs_and_flows_across_restarts(tmp_path: Path) -> None:
    from .test_cli import GOOD, run_cli

    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "good.yaml").write_text(GOOD)
    db = str(tmp_path / "served.db")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = run_cli(
        "--port",
        str(port),
        "--store",
        db,
        "--flows",
        str(tmp_path / "flows"),
        "--log-level",
        "warning",
    )
    try:
        _up(proc, base)
        created = httpx.post(
            f"{base}/api/v1/jobs",
            timeout=5,
            json={"flow_id": "greet", "routine_id": "source", "data": {}},
        )
        job_id = created.json()["job_id"]
        waited = httpx.post(f"{base}/api/v1/jobs/{job_id}/wait", params={"timeout": 10}, timeout=15)
        assert waited.status_code == 200, waited.text
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = run_cli("--port", str(port), "--store", db, "--log-level", "warning")
    try:
        _up(proc, base)
        job = httpx.get(f"{base}/api/v1/jobs/{job_id}", timeout=5).json()
        assert job["status"] == "completed" and job["data"]["collected"] == [{"n": 1}, {"n": 2}]
        assert "greet" in httpx.get(f"{base}/api/v1/flows", timeout=5).text
        assert httpx.get(f"{base}/api/v1/jobs", timeout=5).json()["total"] == 1
    finally:
        proc.terminate()
        proc.communicate(timeout=15)

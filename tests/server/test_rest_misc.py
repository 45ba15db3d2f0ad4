"""Bulk jobs, ``?fields=``, ``_links`` (also behind a proxy prefix), docs, OpenAPI, Python interop."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routilux_nb.core import Runtime


def test_bulk_with_one_bad_item(client: TestClient, rt: Runtime, etl_flow: str) -> None:
    items: list[Any] = [{"flow_id": etl_flow, "data": {"value": i}} for i in range(3)]
    items.insert(1, {"flow_id": "nope"})
    items.append({"flow_id": etl_flow, "data": "not a dict"})
    r = client.post("/api/v1/jobs/bulk", json={"jobs": items})
    assert r.status_code == 201
    body = r.json()
    assert (body["total"], body["created"], body["failed"]) == (5, 3, 2)
    assert body["jobs"][1] == {
        "index": 1,
        "error": {
            "code": "FLOW_NOT_FOUND",
            "message": "Flow 'nope' not found",
            "details": body["jobs"][1]["error"]["details"],
        },
    }
    assert body["jobs"][4]["error"]["code"] == "VALIDATION_ERROR"
    created = [j["job_id"] for j in body["jobs"] if "job_id" in j]
    for jid in created:
        assert client.post(f"/api/v1/jobs/{jid}/wait").json()["final_status"] == "completed"
    assert {j.job_id for j in rt.jobs()} == set(created)


def test_bulk_limit(client: TestClient, etl_flow: str) -> None:
    r = client.post("/api/v1/jobs/bulk", json={"jobs": [{"flow_id": etl_flow}] * 1001})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_fields_selection(client: TestClient, etl_flow: str) -> None:
    jid = client.post("/api/v1/jobs", json={"flow_id": etl_flow}).json()["job_id"]
    client.post(f"/api/v1/jobs/{jid}/wait")
    got = client.get(f"/api/v1/jobs/{jid}", params={"fields": "job_id,status,created_at"}).json()
    assert set(got) == {"job_id", "status", "created_at"} and got["status"] == "completed"
    listed = client.get("/api/v1/jobs", params={"fields": "job_id,status"}).json()
    assert listed["jobs"] == [{"job_id": jid, "status": "completed"}] and listed["total"] == 1
    wid = client.get(f"/api/v1/jobs/{jid}").json()["worker_id"]
    assert client.get(f"/api/v1/workers/{wid}", params={"fields": "status"}).json() == {
        "status": "running"
    }
    assert client.get(f"/api/v1/flows/{etl_flow}", params={"fields": "flow_id"}).json() == {
        "flow_id": etl_flow
    }


@pytest.mark.parametrize("api", ["/api/v1", "/api"])
def test_links_follow_the_prefix(client: TestClient, etl_flow: str, api: str) -> None:
    job = client.post(f"{api}/jobs", json={"flow_id": etl_flow}).json()
    links = job["_links"]
    jid = job["job_id"]
    assert links["self"] == f"{api}/jobs/{jid}" and links["flow"] == f"{api}/flows/{etl_flow}"
    assert links["worker"] == f"{api}/workers/{job['worker_id']}"
    assert {"metrics", "trace"} <= set(links)
    for name, href in links.items():
        assert client.get(href).status_code == 200, name
    worker = client.get(links["worker"]).json()
    assert worker["_links"]["self"] == links["worker"]


def test_links_behind_a_proxy_prefix(rt: Runtime) -> None:
    from routilux_nb.server import create_app

    prefix = "/user/ada/proxy/8000"
    client = TestClient(create_app(rt, root_path=prefix), base_url="http://127.0.0.1")
    assert client.post(f"{prefix}/api/v1/flows", json={"flow_id": "p"}).status_code == 201
    flow = client.get(f"{prefix}/api/v1/flows/p").json()
    assert flow["_links"]["self"] == f"{prefix}/api/v1/flows/p"
    docs = client.get(f"{prefix}/docs")
    assert docs.status_code == 200
    assets = re.findall(r'(?:href|src)="([^"]+)"', docs.text)
    assert assets and all(not a.startswith(("/", "http")) for a in assets)
    for asset in assets:
        assert client.get(f"{prefix}/{asset}").status_code == 200, asset


def test_docs_are_offline(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "SwaggerUIBundle" in docs.text
    assert not re.search(r"https?://", docs.text), "docs must not load anything from another host"
    for asset in re.findall(r'(?:href|src)="([^"]+)"', docs.text):
        r = client.get(f"/{asset}")
        assert r.status_code == 200 and len(r.content) > 100, asset
    assert client.get("/redoc").status_code == 404


def test_openapi_lists_v1_only(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert "/api/v1/jobs" in paths and "/api/jobs" not in paths
    assert not [p for p in paths if p.startswith("/api/") and not p.startswith("/api/v1/")]
    for p in (
        "/api/v1/jobs/{job_id}/wait",
        "/api/v1/flows/{flow_id}/execute",
        "/api/v1/breakpoints/{breakpoint_id}/resume",
        "/api/v1/jobs/{job_id}/debug/step_over",
        "/api/v1/jobs/bulk",
        "/api/v1/workers/{worker_id}/breakpoints/{breakpoint_id}",
    ):
        assert p in paths, p
    assert "JobResponse" in spec["components"]["schemas"]
    assert "201" in paths["/api/v1/jobs"]["post"]["responses"]
    assert "422" in paths["/api/v1/jobs"]["post"]["responses"]


def test_python_and_http_see_the_same_jobs(client: TestClient, rt: Runtime, etl_flow: str) -> None:
    over_http = client.post(
        "/api/v1/jobs", json={"flow_id": etl_flow, "data": {"value": 1}}
    ).json()["job_id"]
    assert over_http in {j.job_id for j in rt.jobs()}
    in_python = rt.submit(etl_flow, data={"value": 2}).wait(10)
    listed = client.get("/api/v1/jobs").json()
    assert listed["jobs"][0]["job_id"] == in_python.job_id and listed["total"] == 2
    assert client.get(f"/api/v1/jobs/{in_python.job_id}").json()["data"] == {
        "collected": [{"value": 2}]
    }


def test_pagination_newest_first(client: TestClient, rt: Runtime, etl_flow: str) -> None:
    ids = [rt.submit(etl_flow, data={"value": i}).job_id for i in range(7)]
    page = client.get("/api/v1/jobs", params={"limit": 3, "offset": 2}).json()
    assert [j["job_id"] for j in page["jobs"]] == ids[::-1][2:5]
    assert (page["total"], page["limit"], page["offset"]) == (7, 3, 2)
    assert client.get("/api/v1/jobs", params={"offset": 50}).json()["jobs"] == []


def test_default_runtime_and_index(rt: Runtime) -> None:
    import routilux_nb
    from routilux_nb.server import create_app

    app = create_app()
    assert app.state.runtime is routilux_nb.runtime()
    index = TestClient(create_app(rt), base_url="http://127.0.0.1").get("/").json()
    assert index["api"] == "/api/v1" and index["docs"] == "/docs"


def test_api_key_guards_rest_routes(rt: Runtime) -> None:
    from routilux_nb.server import create_app

    client = TestClient(create_app(rt, api_key="s3cret"), base_url="http://127.0.0.1")
    r = client.get("/api/v1/jobs")
    assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"
    assert client.get("/api/v1/jobs", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.get("/docs").status_code == 200


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_core_does_not_import_fastapi() -> None:
    r = _run(
        "import sys, routilux_nb; rt = routilux_nb.Runtime(); rt.shutdown(); "
        "assert 'fastapi' not in sys.modules and 'routilux_nb.server' not in sys.modules"
    )
    assert r.returncode == 0, r.stderr


def test_server_without_fastapi_names_the_extra() -> None:
    r = _run(
        "import importlib.util as u\n"
        "real = u.find_spec\n"
        "u.find_spec = lambda name, *a: None if name == 'fastapi' else real(name, *a)\n"
        "try:\n    import routilux_nb.server\nexcept ImportError as e:\n    print(e)\n"
    )
    assert r.returncode == 0, r.stderr
    assert 'pip install "routilux_nb[server]"' in r.stdout

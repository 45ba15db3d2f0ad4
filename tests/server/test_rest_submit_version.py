"""``POST /jobs`` with ``flow_version``: the job runs that version of the flow and records it;
an unknown version or flow is a 404 naming what exists, a worker of another version a 409."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from routilux_nb.core import Runtime
from routilux_nb.server import create_app

DSL: dict[str, Any] = {
    "flow_id": "tagger",
    "routines": {
        "tag": {"class": "mapper", "config": {"set": {"tag": "one"}}},
        "out": {"class": "collector", "config": {"key": "out"}},
    },
    "connections": [{"from": "tag.output", "to": "out.input"}],
}
CHANGED: dict[str, Any] = {
    **DSL,
    "routines": {**DSL["routines"], "tag": {"class": "mapper", "config": {"set": {"tag": "two"}}}},
}


async def scenario(rt: Runtime) -> dict[str, httpx.Response]:
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        assert (await c.post("/api/v1/flows", json={"dsl_dict": DSL})).status_code == 201
        assert (await c.put("/api/v1/flows/tagger", json={"dsl_dict": CHANGED})).json()[
            "version"
        ] == 2
        out: dict[str, httpx.Response] = {}
        for name, body in {
            "v1": {"flow_id": "tagger", "data": {"x": 1}, "flow_version": 1},
            "current": {"flow_id": "tagger", "data": {"x": 2}},
            "v2": {"flow_id": "tagger", "data": {"x": 3}, "flow_version": 2},
            "unknown": {"flow_id": "tagger", "data": {"x": 4}, "flow_version": 9},
            "no_flow": {"flow_id": "ghost", "data": {}, "flow_version": 1},
            "zero": {"flow_id": "tagger", "data": {}, "flow_version": 0},
            "text": {"flow_id": "tagger", "data": {}, "flow_version": "one"},
        }.items():
            out[name] = await c.post("/api/v1/jobs", json=body)
        for name in ("v1", "current", "v2"):
            job_id = out[name].json()["job_id"]
            await c.post(f"/api/v1/jobs/{job_id}/wait", params={"timeout": 10})
            out[f"{name}_done"] = await c.get(f"/api/v1/jobs/{job_id}")
        worker_v2 = rt.get_job(out["v2"].json()["job_id"]).worker_id
        out["wrong_worker"] = await c.post(
            "/api/v1/jobs", json={"worker_id": worker_v2, "data": {}, "flow_version": 1}
        )
        out["openapi"] = await c.get("/openapi.json")
    return out


def test_a_job_submitted_to_a_version_runs_it_and_records_it() -> None:
    rt = Runtime()
    try:
        r = asyncio.run(scenario(rt))
    finally:
        rt.shutdown()
    for name, version, tag in (("v1", 1, "one"), ("current", 2, "two"), ("v2", 2, "two")):
        assert r[name].status_code == 201, r[name].text
        assert r[name].json()["flow_version"] == version
        done = r[f"{name}_done"].json()
        assert done["status"] == "completed" and done["flow_version"] == version, done
        assert [item["tag"] for item in done["data"]["out"]] == [tag], done["data"]
    # version 1 ran on a worker of its own, beside the current version's
    assert r["v1"].json()["worker_id"] != r["v2"].json()["worker_id"]

    unknown = r["unknown"]
    assert unknown.status_code == 404, unknown.text
    error = unknown.json()["error"]
    assert error["code"] == "VERSION_NOT_FOUND" and error["details"]["versions"] == [2, 1]
    assert "no version 9" in error["message"] and "2, 1" in error["message"]

    assert r["no_flow"].status_code == 404
    assert r["no_flow"].json()["error"]["code"] == "FLOW_NOT_FOUND"
    for name in ("zero", "text"):
        assert r[name].status_code == 422, r[name].text
        assert "flow_version" in r[name].json()["error"]["message"]

    wrong = r["wrong_worker"]
    assert wrong.status_code == 409, wrong.text
    assert "runs version 2" in wrong.json()["error"]["message"]

    schema = r["openapi"].json()["components"]["schemas"]["JobSubmitRequest"]["properties"]
    assert schema["flow_version"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 2**31}
    assert "version" in schema["flow_version"]["description"]

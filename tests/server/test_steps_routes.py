"""The step routes on the real app: list steps, fork from one, compare two jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import routilux_nb as rx
from routilux_nb.core import Runtime, StepLimits

pytest.importorskip("fastapi")


def _flow(calls: list[str]) -> rx.Flow:
    flow = rx.Flow("stepped")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        calls.append("source")
        return [{"x": i["x"] + 1} for i in input]

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        calls.append("sink")
        ctx.data["out"] = [i["x"] * ctx.data.get("factor", 10) for i in input]

    flow.connect("source.output", "sink.input")
    return flow


@pytest.fixture
def srt() -> Iterator[Runtime]:
    rt = Runtime(record_steps=True)
    yield rt
    rt.shutdown(wait=False)


def run(rt: Runtime, scenario: Any) -> Any:
    from routilux_nb.server import create_app

    app = create_app(rt)

    async def main() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await scenario(c)

    return asyncio.run(main())


def test_list_get_fork_and_compare_over_http(srt):
    calls: list[str] = []
    job = srt.submit(_flow(calls), {"x": 1}).wait(5)
    calls.clear()

    async def scenario(c: httpx.AsyncClient) -> None:
        r = await c.get(f"/api/v1/jobs/{job.job_id}/steps")
        assert r.status_code == 200, r.text
        body = r.json()
        assert [s["routine"] for s in body["steps"]] == ["source", "sink"]
        assert body["dropped"] == 0 and body["max_steps"] == StepLimits().max_steps
        sink = body["steps"][1]
        assert sink["status"] == "completed" and "inputs" not in sink

        r = await c.get(f"/api/v1/jobs/{job.job_id}/steps/{sink['step']}")
        assert r.status_code == 200 and r.json()["inputs"] == {"input": [{"x": 2}]}

        r = await c.post(f"/api/v1/jobs/{job.job_id}/fork", json={"step": sink["step"]})
        assert r.status_code == 202, r.text
        forked = r.json()
        assert forked["metadata"]["forked_from"] == job.job_id
        assert forked["metadata"]["forked_step"] == sink["step"]
        assert forked["_links"]["self"].endswith(f"/api/v1/jobs/{forked['job_id']}")
        same = srt.get_job(forked["job_id"]).wait(5)
        assert same.data == {"out": [20]}

        r = await c.post(
            f"/api/v1/jobs/{job.job_id}/fork",
            json={"seq": sink["seq"], "inputs": {"input": [{"x": 4}]}, "data": {"factor": 2}},
        )
        assert r.status_code == 202, r.text
        edited = srt.get_job(r.json()["job_id"]).wait(5)
        assert edited.data == {"factor": 2, "out": [8]}

        r = await c.get(f"/api/v1/jobs/{job.job_id}/compare/{same.job_id}")
        assert r.status_code == 200
        cmp = r.json()
        assert not cmp["identical"]
        kinds = {(d["kind"], d["routine"]) for d in cmp["differences"]}
        assert ("activations", "source") in kinds and ("data", None) not in kinds

        r = await c.get(f"/api/v1/jobs/{same.job_id}/compare/{same.job_id}")
        assert r.json()["identical"] is True and r.json()["differences"] == []

        r = await c.get(f"/api/v1/jobs/{job.job_id}/compare/nope")
        assert r.status_code == 404 and r.json()["error"]["code"] == "JOB_NOT_FOUND"

    run(srt, scenario)
    assert calls == ["sink", "sink"]  # the source never ran again


def test_step_route_errors(srt):
    job = srt.submit(_flow([]), {"x": 1}).wait(5)
    sink_step = int(job.steps.step.iloc[1])

    async def scenario(c: httpx.AsyncClient) -> None:
        r = await c.get("/api/v1/jobs/nope/steps")
        assert r.status_code == 404 and r.json()["error"]["code"] == "JOB_NOT_FOUND"
        r = await c.post(f"/api/v1/jobs/{job.job_id}/fork", json={"step": 10**9})
        assert r.status_code == 404
        err = r.json()["error"]
        assert err["code"] == "STEP_NOT_FOUND" and "activation ids" in err["message"]
        r = await c.get(f"/api/v1/jobs/{job.job_id}/steps/{10**9}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "STEP_NOT_FOUND"
        r = await c.post(
            f"/api/v1/jobs/{job.job_id}/fork",
            json={"step": sink_step, "inputs": {"nope": [{"x": 1}]}},
        )
        assert r.status_code == 422 and "has no slot 'nope'" in r.json()["error"]["message"]
        r = await c.post(
            f"/api/v1/jobs/{job.job_id}/fork", json={"step": sink_step, "inputs": {"input": [1]}}
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
        r = await c.post(f"/api/v1/jobs/{job.job_id}/fork", json={"step": sink_step, "x": 1})
        assert r.status_code == 422
        r = await c.post(f"/api/v1/jobs/{job.job_id}/fork", json={})
        assert r.status_code == 404 and "say which step" in r.json()["error"]["message"]

    run(srt, scenario)


def test_dropped_step_answers_409_with_the_reason():
    rt = Runtime(record_steps=StepLimits(max_steps=1))
    try:
        job = rt.submit(_flow([]), {"x": 1}).wait(5)
        dropped = job.step_log.dropped_step

        async def scenario(c: httpx.AsyncClient) -> None:
            r = await c.post(f"/api/v1/jobs/{job.job_id}/fork", json={"step": dropped})
            assert r.status_code == 409
            err = r.json()["error"]
            assert err["code"] == "STEP_DROPPED" and "max_steps=1" in err["message"]
            assert err["details"]["reason"] == "dropped past the cap"

        run(rt, scenario)
    finally:
        rt.shutdown(wait=False)


def test_without_recording_the_routes_answer_409():
    rt = Runtime()
    try:
        job = rt.submit(_flow([]), {"x": 1}).wait(5)

        async def scenario(c: httpx.AsyncClient) -> None:
            for r in (
                await c.get(f"/api/v1/jobs/{job.job_id}/steps"),
                await c.post(f"/api/v1/jobs/{job.job_id}/fork", json={"step": 1}),
            ):
                assert r.status_code == 409
                assert r.json()["error"]["code"] == "STEPS_NOT_RECORDED"

        run(rt, scenario)
    finally:
        rt.shutdown(wait=False)


def test_openapi_documents_the_step_routes_and_their_errors(srt):
    async def scenario(c: httpx.AsyncClient) -> dict[str, Any]:
        return (await c.get("/openapi.json")).json()  # type: ignore[no-any-return]

    spec = run(srt, scenario)
    paths = spec["paths"]
    fork = paths["/api/v1/jobs/{job_id}/fork"]["post"]
    assert {"202", "404", "409", "422"} <= set(fork["responses"])
    assert "STEP_DROPPED" in fork["responses"]["409"]["description"]
    assert "/api/v1/jobs/{job_id}/steps" in paths
    assert "/api/v1/jobs/{job_id}/steps/{step}" in paths
    assert "/api/v1/jobs/{job_id}/compare/{other_id}" in paths


def test_steps_of_a_stored_job_are_served_and_forked_after_a_restart(tmp_path):
    db = tmp_path / "jobs.db"
    rt = Runtime(store=db, record_steps=True)
    try:
        job_id = rt.submit(_flow([]), {"x": 1}, job_data={"factor": "oops"}).wait(5).job_id
    finally:
        rt.shutdown(wait=False)
    calls: list[str] = []
    rt = Runtime(store=db, record_steps=True)
    try:
        rt.start(_flow(calls))

        async def scenario(c: httpx.AsyncClient) -> None:
            r = await c.get(f"/api/v1/jobs/{job_id}/steps")
            assert r.status_code == 200, r.text
            steps = r.json()["steps"]
            assert [s["routine"] for s in steps] == ["source", "sink"]
            assert steps[1]["status"] == "completed"  # "oops" * 2 is a string: no error
            r = await c.post(
                f"/api/v1/jobs/{job_id}/fork", json={"step": steps[1]["step"], "data": {}}
            )
            assert r.status_code == 202, r.text
            assert rt.get_job(r.json()["job_id"]).wait(5).data == {"out": [20]}

        run(rt, scenario)
        assert calls == ["sink"]
    finally:
        rt.shutdown(wait=False)


def test_a_parked_activation_is_forked_over_http_by_the_step_its_location_names(srt):
    calls: list[str] = []
    flow = _flow(calls)
    worker = srt.start(flow)
    bp = srt.monitor.add_breakpoint("routine", "sink", worker=worker)
    job = worker.submit({"x": 1})

    async def scenario(c: httpx.AsyncClient) -> dict[str, Any]:
        for _ in range(500):
            if job.status == "paused":
                break
            await asyncio.sleep(0.01)
        location = (await c.get(f"/api/v1/jobs/{job.job_id}/debug")).json()["location"]
        srt.monitor.remove_breakpoint(bp.breakpoint_id)
        r = await c.post(
            f"/api/v1/jobs/{job.job_id}/fork",
            json={"step": location["step"], "inputs": {"input": [{"x": 4}]}},
        )
        assert r.status_code == 202, r.text
        return {"location": location, "fork": r.json()}

    out = run(srt, scenario)
    assert out["location"]["routine_id"] == "sink"
    assert out["location"]["step"] == job.parked[0].act_id
    fork = srt.get_job(out["fork"]["job_id"]).wait(5)
    assert fork.status == "completed" and fork.data["out"] == [40]
    assert calls == ["source", "sink"]  # the job's source, then the fork's sink: no source again
    job.cancel()

"""``POST /flows/{flow_id}/jobs/bulk``: many entry payloads as one map run, through the real app."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from routilux_nb.core import Flow, Runtime
from routilux_nb.server import create_app
from routilux_nb.server.routes.bulk import MAX_BULK_ITEMS

API = "/api/v1"


def _client(rt: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://127.0.0.1"
    )


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _until_done(c: httpx.AsyncClient, link: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = (await c.get(link)).json()
        if body["done"] or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.02)


def _squares(gate: threading.Event | None = None) -> Flow:
    flow = Flow("squares")

    @flow.routine(slots=["input"], events=["output"])
    def square(input, ctx):
        if gate is not None:
            assert gate.wait(20)
        return [{"y": input[0]["x"] ** 2}]

    @flow.routine(slots=["input"], events=[])
    def keep(input, ctx):
        ctx.data["y"] = input[0]["y"]

    flow.connect("square.output", "keep.input")
    return flow


@pytest.fixture
def rt():
    runtime = Runtime()
    yield runtime
    runtime.shutdown(wait=False)


def test_bulk_answers_202_with_one_job_id_per_item_in_order(rt: Runtime) -> None:
    rt.register_flow(_squares())

    async def go() -> tuple[httpx.Response, dict[str, Any], list[dict[str, Any]]]:
        async with _client(rt) as c:
            r = await c.post(
                f"{API}/flows/squares/jobs/bulk",
                json={"items": [{"x": i} for i in range(50)], "metadata": {"batch": "b1"}},
            )
            status = await _until_done(c, r.headers["location"])
            jobs = [(await c.get(f"{API}/jobs/{jid}")).json() for jid in r.json()["job_ids"]]
            return r, status, jobs

    r, status, jobs = _run(go())
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["total"] == 50 and len(body["job_ids"]) == len(set(body["job_ids"])) == 50
    assert body["flow_id"] == "squares" and body["max_in_flight"] == 32
    assert 1 <= body["submitted"] <= 50
    assert r.headers["location"] == body["_links"]["self"]
    assert status["done"] and status["counts"] == {"completed": 50}
    assert [item["job_id"] for item in status["items"]] == body["job_ids"]
    assert [j["data"]["y"] for j in jobs] == [i * i for i in range(50)]
    assert {j["metadata"]["batch"] for j in jobs} == {"b1"}
    assert [j["metadata"]["map_index"] for j in jobs] == list(range(50))


def test_at_most_max_in_flight_run_and_later_ids_appear_as_they_are_fed(rt: Runtime) -> None:
    gate = threading.Event()
    rt.register_flow(_squares(gate))

    async def go() -> tuple[dict[str, Any], int, int, dict[str, Any]]:
        async with _client(rt) as c:
            r = await c.post(
                f"{API}/flows/squares/jobs/bulk",
                json={"items": [{"x": i} for i in range(6)], "max_in_flight": 2},
            )
            body = r.json()
            first = (await c.get(f"{API}/jobs/{body['job_ids'][0]}")).status_code
            last = (await c.get(f"{API}/jobs/{body['job_ids'][-1]}")).status_code
            gate.set()
            return body, first, last, await _until_done(c, body["_links"]["self"])

    body, first, last, status = _run(go())
    assert body["submitted"] == 2
    assert first == 200 and last == 404  # not submitted yet: the gate holds two jobs
    assert status["counts"] == {"completed": 6}
    assert [i["job_id"] for i in status["items"]] == body["job_ids"]


def test_too_many_items_is_413_and_an_empty_or_misspelt_body_is_422(rt: Runtime) -> None:
    rt.register_flow(_squares())

    async def go() -> list[httpx.Response]:
        async with _client(rt) as c:
            url = f"{API}/flows/squares/jobs/bulk"
            return [
                await c.post(url, json={"items": [{}] * (MAX_BULK_ITEMS + 1)}),
                await c.post(url, json={"items": []}),
                await c.post(url, json={"item": [{"x": 1}]}),
                await c.post(url, json={"items": [1, 2]}),
            ]

    big, empty, typo, scalars = _run(go())
    assert big.status_code == 413, big.text
    error = big.json()["error"]
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert f"at most {MAX_BULK_ITEMS}" in error["message"] and "2 requests" in error["message"]
    assert empty.status_code == 422 and "at least one" in empty.json()["error"]["message"]
    assert typo.status_code == 422 and "item" in typo.text
    assert scalars.status_code == 422
    assert rt.jobs() == []  # nothing was submitted


def test_unknown_references_are_404_and_an_ambiguous_entry_409_with_the_hint(
    rt: Runtime,
) -> None:
    rt.register_flow(_squares())
    forgot = Flow("forgot")

    @forgot.routine(slots=["input"], events=["output"])
    def a(input):
        return input

    @forgot.routine(slots=["input"], events=[])
    def b(input):
        pass

    rt.register_flow(forgot)

    async def go() -> list[httpx.Response]:
        async with _client(rt) as c:
            items = {"items": [{"x": 1}]}
            return [
                await c.post(f"{API}/flows/ghost/jobs/bulk", json=items),
                await c.post(
                    f"{API}/flows/squares/jobs/bulk", json={**items, "routine_id": "nope"}
                ),
                await c.post(f"{API}/flows/squares/jobs/bulk", json={**items, "slot_name": "nope"}),
                await c.post(f"{API}/flows/squares/jobs/bulk", json={**items, "worker_id": "w9"}),
                await c.post(f"{API}/flows/squares/jobs/bulk", json={**items, "flow_version": 7}),
                await c.post(f"{API}/flows/forgot/jobs/bulk", json=items),
                await c.get(f"{API}/flows/squares/jobs/bulk/map-nope"),
            ]

    ghost, routine, slot, worker, version, ambiguous, unknown_run = _run(go())
    assert ghost.status_code == 404 and ghost.json()["error"]["code"] == "FLOW_NOT_FOUND"
    assert routine.status_code == 404 and routine.json()["error"]["code"] == "ROUTINE_NOT_FOUND"
    assert slot.status_code == 404 and slot.json()["error"]["code"] == "SLOT_NOT_FOUND"
    assert worker.status_code == 404 and worker.json()["error"]["code"] == "WORKER_NOT_FOUND"
    assert version.status_code == 404 and version.json()["error"]["details"]["versions"] == [1]
    assert ambiguous.status_code == 409
    message = ambiguous.json()["error"]["message"]
    assert "has entry routines ['a', 'b']: say which one with routine_id" in message
    assert "did you forget `flow.connect('a.output', 'b.input')`?" in message
    assert unknown_run.status_code == 404 and "map-nope" in unknown_run.json()["error"]["message"]


def test_a_full_entry_slot_is_503_backpressure_and_the_run_is_cancelled(rt: Runtime) -> None:
    gate = threading.Event()
    flow = Flow("gated")

    @flow.routine(slots=["input"], events=[])
    def entry(input, ctx):
        gate.wait(30)

    flow.routines["entry"].define_slot("input", max_length=2, put_timeout=30)
    rt.register_flow(flow)
    worker = rt.start(flow)
    worker.pause()
    worker.submit(data={"n": 1})
    worker.submit(data={"n": 2})  # the entry slot is full and nothing consumes it

    async def go() -> tuple[httpx.Response, float]:
        async with _client(rt) as c:
            t0 = time.monotonic()
            r = await c.post(
                f"{API}/flows/gated/jobs/bulk", json={"items": [{"n": 3}, {"n": 4}, {"n": 5}]}
            )
            return r, time.monotonic() - t0

    try:
        r, _elapsed = _run(go())
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "1"
        error = r.json()["error"]
        assert error["code"] == "BACKPRESSURE" and "lower max_in_flight" in error["message"]
        # the refused run never leaves a job running: cancelled, failed or never submitted
        worker.resume()
        gate.set()
        for job in list(rt.jobs()):
            if job.metadata.get("map_id"):
                job.wait(timeout=60)
                assert job.status in ("cancelled", "failed"), (job.job_id, job.status)
    finally:
        gate.set()


def test_a_flow_version_runs_on_its_own_worker(rt: Runtime) -> None:
    dsl = {
        "flow_id": "tagger",
        "routines": {"tag": {"class": "mapper", "config": {"set": {"tag": "one"}}}},
        "connections": [],
    }

    async def go() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with _client(rt) as c:
            assert (await c.post(f"{API}/flows", json={"dsl_dict": dsl})).status_code == 201
            changed = {
                **dsl,
                "routines": {"tag": {"class": "mapper", "config": {"set": {"tag": "two"}}}},
            }
            r = await c.put(f"{API}/flows/tagger", json={"dsl_dict": changed})
            assert r.json()["version"] == 2, r.text
            old = (
                await c.post(
                    f"{API}/flows/tagger/jobs/bulk",
                    json={"items": [{"x": 1}, {"x": 2}], "flow_version": 1},
                )
            ).json()
            new = (await c.post(f"{API}/flows/tagger/jobs/bulk", json={"items": [{"x": 3}]})).json()
            await _until_done(c, old["_links"]["self"])
            await _until_done(c, new["_links"]["self"])
            job = (await c.get(f"{API}/jobs/{old['job_ids'][0]}")).json()
            return old, new, job

    old, new, job = _run(go())
    assert old["flow_version"] == 1 and new["flow_version"] == 2
    assert old["worker_id"] != new["worker_id"]
    assert job["flow_version"] == 1


def test_the_route_is_documented_in_openapi(rt: Runtime) -> None:
    async def go() -> dict[str, Any]:
        async with _client(rt) as c:
            return (await c.get("/openapi.json")).json()

    spec = _run(go())
    post = spec["paths"]["/api/v1/flows/{flow_id}/jobs/bulk"]["post"]
    assert {"202", "404", "409", "413", "422", "503"} <= set(post["responses"])
    schema_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert schema["required"] == ["items"] and "max_in_flight" in schema["properties"]
    assert "get" in spec["paths"]["/api/v1/flows/{flow_id}/jobs/bulk/{map_id}"]


def test_the_largest_request_all_at_once_is_accepted_while_the_slot_drains(rt: Runtime) -> None:
    """1,000 items, no in-flight limit, into a 1,000-place entry slot: more than the slot's
    free room at first (so the run's thread submits them) and slower than SUBMIT_WAIT overall
    on a busy machine; refused only if the slot stopped taking items, which it does not."""
    flow = Flow("drain")

    @flow.routine(slots=["input"], events=[])
    def noop(input, ctx):
        ctx.data["n"] = input[0]["n"]

    rt.register_flow(flow)

    async def go() -> tuple[httpx.Response, dict[str, Any]]:
        async with _client(rt) as c:
            r = await c.post(
                f"{API}/flows/drain/jobs/bulk",
                json={"items": [{"n": i} for i in range(MAX_BULK_ITEMS)], "max_in_flight": None},
            )
            assert r.status_code == 202, r.text
            return r, await _until_done(c, r.json()["_links"]["self"], timeout=120)

    r, status = _run(go())
    assert r.json()["submitted"] == MAX_BULK_ITEMS
    assert status["counts"] == {"completed": MAX_BULK_ITEMS}

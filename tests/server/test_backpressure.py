"""Full means a fast, honest answer: submissions never hold the server; waits hold no thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

from routilux_nb.core import Flow, Runtime
from routilux_nb.server import create_app


def _gated_flow(gate: threading.Event) -> Flow:
    flow = Flow("gated")

    @flow.routine(slots=["input"], events=[])
    def entry(input: list[dict[str, Any]], ctx: Any) -> None:
        gate.wait(30)

    flow.routines["entry"].define_slot("input", max_length=2, put_timeout=30)
    return flow


def _client(rt: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://127.0.0.1"
    )


@pytest.fixture
def paused_full() -> Any:
    """A runtime whose worker is paused with its entry slot full."""
    rt = Runtime()
    gate = threading.Event()
    flow = _gated_flow(gate)
    rt.register_flow(flow)
    worker = rt.start(flow)
    worker.pause()
    worker.submit(data={"n": 1})
    worker.submit(data={"n": 2})
    yield rt, worker
    gate.set()
    rt.shutdown(wait=False)


def test_submission_to_a_full_entry_slot_is_503_backpressure(paused_full: Any) -> None:
    rt, worker = paused_full

    async def go() -> httpx.Response:
        async with _client(rt) as c:
            return await c.post("/api/v1/jobs", json={"flow_id": "gated", "data": {"n": 3}})

    r = asyncio.run(go())
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "1"
    error = r.json()["error"]
    assert error["code"] == "BACKPRESSURE"
    job = rt.get_job(
        error["details"]["job_id"]
    )  # the same record a refused Python submission leaves
    assert job.status == "failed" and job.error.startswith("submission refused")


def test_many_refused_submissions_and_waits_hold_no_threads_and_health_answers(
    paused_full: Any,
) -> None:
    rt, worker = paused_full
    waiting = worker.active_jobs[0].job_id
    before = threading.active_count()
    peak = [before]

    async def go() -> tuple[list[int], list[int], int]:
        async with _client(rt) as c:

            async def watch() -> None:
                while True:
                    peak[0] = max(peak[0], threading.active_count())
                    await asyncio.sleep(0.01)

            watcher = asyncio.create_task(watch())
            waits = [
                asyncio.create_task(c.post(f"/api/v1/jobs/{waiting}/wait?timeout=0.5"))
                for _ in range(300)
            ]
            posts = [
                asyncio.create_task(c.post("/api/v1/jobs", json={"flow_id": "gated"}))
                for _ in range(200)
            ]
            await asyncio.sleep(0)
            live = await c.get("/health/live")
            done = await asyncio.gather(*posts)
            waited = await asyncio.gather(*waits)
            watcher.cancel()
            return [r.status_code for r in done], [r.status_code for r in waited], live.status_code

    statuses, waited, live = asyncio.run(go())
    assert live == 200
    assert set(statuses) == {503}
    assert set(waited) == {200}
    # 200 blocked submissions and 300 waiters: at most the submission limiter's threads
    assert peak[0] - before <= 40, (before, peak[0])


def test_wait_answers_when_the_job_finishes(paused_full: Any) -> None:
    rt, worker = paused_full
    job = worker.active_jobs[0]

    async def go() -> dict[str, Any]:
        async with _client(rt) as c:
            task = asyncio.create_task(c.post(f"/api/v1/jobs/{job.job_id}/wait?timeout=30"))
            await asyncio.sleep(0.05)
            job.cancel("test")
            return (await task).json()

    body = asyncio.run(go())
    assert body["status"] == "cancelled" and body["final_status"] == "cancelled"

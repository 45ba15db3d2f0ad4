"""HTTP API throughput and list latency, in process (httpx's ASGI transport, no sockets).

* requests/s of ``GET /api/v1/jobs/{id}`` (2,000 requests, median of 3 runs), through httpx and
  straight into the ASGI app;
* median latency of ``GET /api/v1/jobs?limit=100`` with 1,000 and with 100,000 stored jobs,
  and their ratio: a page costs the same however many jobs are kept, so it stays near 1.

Run ``python benchmarks/bench_http.py``; ``main()`` returns the figures as a dict.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import anyio
import httpx

from routilux_nb.core import Flow, Runtime
from routilux_nb.server import create_app

GET_REQUESTS = 2_000
RUNS = 3
LIST_SAMPLES = 200


def _noop_flow() -> Flow:
    flow = Flow("bench_noop")

    @flow.routine(slots=["input"], events=[])
    def noop(input: list[dict[str, Any]]) -> None:
        return None

    return flow


def _fill(rt: Runtime, worker: Any, count: int) -> None:
    """Run ``count`` one-routine jobs through the engine (the fast way to store many jobs)."""
    for i in range(count):
        worker.submit(data={"i": i})
    rt.wait_all(120)


async def _get_rate(client: httpx.AsyncClient, job_id: str) -> float:
    url = f"/api/v1/jobs/{job_id}"
    t0 = time.perf_counter()
    for _ in range(GET_REQUESTS):
        r = await client.get(url)
        assert r.status_code == 200
    return GET_REQUESTS / (time.perf_counter() - t0)


async def _raw_get_rate(app: Any, path: str) -> float:
    """The same GET straight into the ASGI app: what the app costs without an HTTP client."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("bench", 80)}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    t0 = time.perf_counter()
    for _ in range(GET_REQUESTS):
        await app(dict(scope), receive, send)
    rate = GET_REQUESTS / (time.perf_counter() - t0)
    assert set(statuses) == {200}, set(statuses)
    return rate


async def _list_latency(client: httpx.AsyncClient) -> float:
    samples = []
    for _ in range(LIST_SAMPLES):
        t0 = time.perf_counter()
        r = await client.get("/api/v1/jobs", params={"limit": 100})
        samples.append(time.perf_counter() - t0)
        assert r.status_code == 200 and len(r.json()["jobs"]) == 100
    return statistics.median(samples)


def main(total_jobs: int = 100_000, small: int = 1_000) -> dict[str, float]:
    rt = Runtime(max_finished_jobs=max(200_000, total_jobs))
    try:
        worker = rt.start(_noop_flow())
        _fill(rt, worker, small)
        app = create_app(rt)
        figures: dict[str, float] = {}

        async def run() -> None:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                job_id = rt.list_jobs(limit=1)[0][0].job_id
                rates = [await _get_rate(client, job_id) for _ in range(RUNS)]
                figures["get_job_requests_per_s"] = statistics.median(rates)
                raw = [await _raw_get_rate(app, f"/api/v1/jobs/{job_id}") for _ in range(RUNS)]
                figures["get_job_requests_per_s_asgi_only"] = statistics.median(raw)
                figures[f"list_latency_ms_{small}"] = await _list_latency(client) * 1000
                t0 = time.perf_counter()
                _fill(rt, worker, total_jobs - small)
                figures["fill_seconds"] = time.perf_counter() - t0
                figures[f"list_latency_ms_{total_jobs}"] = await _list_latency(client) * 1000

        anyio.run(run)
        figures["list_latency_ratio"] = (figures[f"list_latency_ms_{total_jobs}"]
                                         / figures[f"list_latency_ms_{small}"])
        figures["stored_jobs"] = float(len(rt.jobs()))
        return figures
    finally:
        rt.shutdown(wait=False)


if __name__ == "__main__":
    results = main()
    print(f"GET /api/v1/jobs/{{id}}: {results['get_job_requests_per_s']:,.0f} requests/s "
          f"(median of {RUNS} runs of {GET_REQUESTS}, httpx ASGI transport); "
          f"{results['get_job_requests_per_s_asgi_only']:,.0f} requests/s called as ASGI directly")
    print(f"GET /api/v1/jobs?limit=100, 1,000 jobs stored:   {results['list_latency_ms_1000']:.3f} ms median")
    print(f"GET /api/v1/jobs?limit=100, 100,000 jobs stored: {results['list_latency_ms_100000']:.3f} ms median")
    print(f"ratio (100,000 / 1,000): {results['list_latency_ratio']:.2f}  "
          f"(stored jobs: {results['stored_jobs']:,.0f}; filled in {results['fill_seconds']:.1f} s)")

"""Submitting many jobs over HTTP: one bulk request (``POST /flows/{id}/jobs/bulk``, a map run)
against one ``POST /jobs`` per job, in process (httpx's ASGI transport, no sockets).

The flow is one routine that does nothing, so the figures are the cost of submitting and
running a job. For each of ``--repeat`` runs, ``--jobs`` jobs are submitted and waited for both
ways on a fresh runtime; prints the medians (jobs/s, from the first request until every job has
finished) and the ratio of the bulk figure to the loop, measured in the same process.

    python benchmarks/bench_bulk_http.py [--jobs 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from routilux_nb.core import Flow, Runtime
from routilux_nb.server import create_app


def _flow() -> Flow:
    flow = Flow("bench_bulk")

    @flow.routine(slots=["input"], events=[])
    def noop(input: list[dict[str, Any]]) -> None:
        return None

    return flow


def _client(rt: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(rt)), base_url="http://127.0.0.1"
    )


def _wait_all(rt: Runtime, count: int) -> None:
    jobs = rt.jobs(flow_id="bench_bulk")
    assert len(jobs) == count, (len(jobs), count)
    for job in jobs:
        job.wait(120)
        assert job.status == "completed", job.status


async def _warm(c: httpx.AsyncClient) -> None:
    """The app builds its routes' validators on the first requests: not part of the figures."""
    assert (await c.get("/api/v1/flows/bench_bulk")).status_code == 200
    assert (
        await c.post("/api/v1/flows/bench_bulk/jobs/bulk", json={"items": []})
    ).status_code == 422
    assert (await c.post("/api/v1/jobs", json={})).status_code == 422


async def _loop(rt: Runtime, count: int) -> float:
    async with _client(rt) as c:
        await _warm(c)
        start = time.perf_counter()
        for i in range(count):
            r = await c.post("/api/v1/jobs", json={"flow_id": "bench_bulk", "data": {"n": i}})
            assert r.status_code == 201, r.text
        _wait_all(rt, count)
        return count / (time.perf_counter() - start)


async def _bulk(rt: Runtime, count: int) -> float:
    async with _client(rt) as c:
        await _warm(c)
        start = time.perf_counter()
        r = await c.post(
            "/api/v1/flows/bench_bulk/jobs/bulk",
            json={"items": [{"n": i} for i in range(count)], "max_in_flight": None},
        )
        assert r.status_code == 202, r.text
        _wait_all(rt, count)
        return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    figures: dict[str, list[float]] = {"POST /jobs loop": [], "POST .../jobs/bulk": []}
    for _ in range(args.repeat):
        for name, fn in (("POST /jobs loop", _loop), ("POST .../jobs/bulk", _bulk)):
            rt = Runtime(max_finished_jobs=args.jobs * 4)
            rt.register_flow(_flow())
            figures[name].append(asyncio.run(fn(rt, args.jobs)))
            rt.shutdown()
    base = statistics.median(figures["POST /jobs loop"])
    print(f"{args.jobs:,} one-routine jobs over HTTP (ASGI), medians of {args.repeat} runs")
    out = {}
    for name, values in figures.items():
        median = statistics.median(values)
        out[name] = median
        print(f"  {name:<20} {median:>10,.0f} jobs/s   x{median / base:.2f} of the loop")
    return out


if __name__ == "__main__":
    main()

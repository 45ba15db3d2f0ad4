"""HTTP API throughput and list latency, in process (httpx's ASGI transport, no sockets).

* requests/s of ``GET /api/v1/jobs/{id}`` (2,000 requests, median of 3 runs), through httpx and
  straight into the ASGI app;
* median latency of ``GET /api/v1/jobs?limit=100`` with 1,000 and with 100,000 stored jobs,
  and their ratio: a page costs the same however many jobs are kept, so it stays near 1.

* concurrent submissions over real HTTP: a ``python -m routilux_nb serve`` process on a loopback
  port, 50 clients submitting 10,000 jobs (``POST /api/v1/jobs``) while a probe times
  ``GET /health/live``: submissions/s, p50/p99 latency, the probe's p99, and jobs lost (submitted
  but not listed by the server). ``--concurrent-only`` runs just this part; ``--server-path DIR``
  serves the package found in DIR (to compare two checkouts in one run).

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
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
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
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1"
            ) as client:
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
        figures["list_latency_ratio"] = (
            figures[f"list_latency_ms_{total_jobs}"] / figures[f"list_latency_ms_{small}"]
        )
        figures["stored_jobs"] = float(len(rt.jobs()))
        return figures
    finally:
        rt.shutdown(wait=False)


CONCURRENT_CLIENTS = 50
CONCURRENT_JOBS = 10_000
_FLOW_YAML = "flow_id: bench_sink\nroutines:\n  sink: {class: sink}\n"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def concurrent(
    clients: int = CONCURRENT_CLIENTS, jobs: int = CONCURRENT_JOBS, server_path: str | None = None
) -> dict[str, float]:
    """Serve from a separate process and hammer it with ``clients`` concurrent submitters."""
    import os
    import socket
    import subprocess
    import tempfile

    root = server_path or str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sink.yaml").write_text(_FLOW_YAML)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": root}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "routilux_nb",
                "serve",
                "--port",
                str(port),
                "--flows",
                tmp,
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            return anyio.run(_hammer, f"http://127.0.0.1:{port}", clients, jobs)
        finally:
            proc.terminate()
            proc.wait(10)


class _Conn:
    """A minimal keep-alive HTTP/1.1 client connection (the load generator must cost far less
    than the server it measures; a full client library costs about as much as the server)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: Any = None
        self.writer: Any = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        import asyncio

        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return int(status_line.split()[1]), payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _hammer(base: str, clients: int, jobs: int) -> dict[str, float]:
    import json

    host, port = base.split("//")[1].split(":")
    probe_conn = _Conn(host, int(port))
    for _ in range(200):  # wait for the server
        try:
            if (await probe_conn.request("GET", "/health/live"))[0] == 200:
                break
        except OSError:
            probe_conn = _Conn(host, int(port))
        await anyio.sleep(0.05)
    latencies: list[float] = []
    health: list[float] = []
    statuses: dict[int, int] = {}
    created: list[str] = []
    remaining = [jobs]
    done = anyio.Event()
    body = json.dumps({"flow_id": "bench_sink", "data": {"x": 1}}).encode()

    async def submitter() -> None:
        conn = _Conn(host, int(port))
        try:
            while remaining[0] > 0:
                remaining[0] -= 1
                t0 = time.perf_counter()
                status, payload = await conn.request("POST", "/api/v1/jobs", body)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
                if status == 201:
                    created.append(json.loads(payload)["job_id"])
        finally:
            conn.close()

    async def prober() -> None:
        while not done.is_set():
            t0 = time.perf_counter()
            await probe_conn.request("GET", "/health/live")
            health.append(time.perf_counter() - t0)
            await anyio.sleep(0.01)

    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(prober)
        async with anyio.create_task_group() as subs:
            for _ in range(clients):
                subs.start_soon(submitter)
        elapsed = time.perf_counter() - t0
        done.set()
    status, payload = await probe_conn.request("GET", "/api/v1/jobs?limit=1")
    total = json.loads(payload)["total"]
    probe_conn.close()
    return {
        "submissions_per_s": len(latencies) / elapsed,
        "p50_ms": _pct(latencies, 0.5) * 1000,
        "p99_ms": _pct(latencies, 0.99) * 1000,
        "health_p99_ms": _pct(health, 0.99) * 1000,
        "health_samples": float(len(health)),
        "created": float(len(created)),
        "refused": float(sum(v for k, v in statuses.items() if k != 201)),
        "lost": float(len(created) - min(total, len(created))),
    }


def _print_concurrent(label: str, c: dict[str, float], clients: int, jobs: int) -> None:
    print(
        f"{label}{clients} clients x {jobs:,} POST /api/v1/jobs over HTTP: {c['submissions_per_s']:,.0f} "
        f"submissions/s, p50 {c['p50_ms']:.1f} ms, p99 {c['p99_ms']:.1f} ms; GET /health/live p99 "
        f"{c['health_p99_ms']:.1f} ms during the load ({c['health_samples']:.0f} probes); created "
        f"{c['created']:,.0f}, refused {c['refused']:,.0f}, lost {c['lost']:,.0f}"
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent-only", action="store_true")
    parser.add_argument("--clients", type=int, default=CONCURRENT_CLIENTS)
    parser.add_argument("--jobs", type=int, default=CONCURRENT_JOBS)
    parser.add_argument(
        "--server-path",
        action="append",
        default=None,
        metavar="DIR",
        help="serve the routilux_nb of DIR (repeat to compare checkouts)",
    )
    args = parser.parse_args()
    for path in args.server_path or [None]:
        figures = concurrent(args.clients, args.jobs, path)
        _print_concurrent(f"[{path or 'this checkout'}] ", figures, args.clients, args.jobs)
    if args.concurrent_only:
        sys.exit(0)
    results = main()
    print(
        f"GET /api/v1/jobs/{{id}}: {results['get_job_requests_per_s']:,.0f} requests/s "
        f"(median of {RUNS} runs of {GET_REQUESTS}, httpx ASGI transport); "
        f"{results['get_job_requests_per_s_asgi_only']:,.0f} requests/s called as ASGI directly"
    )
    print(
        f"GET /api/v1/jobs?limit=100, 1,000 jobs stored:   {results['list_latency_ms_1000']:.3f} ms median"
    )
    print(
        f"GET /api/v1/jobs?limit=100, 100,000 jobs stored: {results['list_latency_ms_100000']:.3f} ms median"
    )
    print(
        f"ratio (100,000 / 1,000): {results['list_latency_ratio']:.2f}  "
        f"(stored jobs: {results['stored_jobs']:,.0f}; filled in {results['fill_seconds']:.1f} s)"
    )

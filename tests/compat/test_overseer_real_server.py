"""What routilux-overseer does first, against a real uvicorn: the CORS preflight, the readiness
probe, Unix-second timestamps, then the job-event WebSocket on a real socket."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from routilux_nb.core import Flow, Runtime
from routilux_nb.server import create_app
from routilux_nb.server.embedded import serve_runtime

pytestmark = pytest.mark.timeout(60)
ORIGIN = "http://127.0.0.1:3000"


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown(wait=False)


def test_overseer_session_on_a_real_server(rt: Runtime) -> None:
    gate = threading.Event()
    flow = Flow("real")

    @flow.routine(slots=["input"], events=[])
    def work(input: list[dict[str, Any]], ctx: Any) -> None:
        gate.wait(20)
        ctx.data["seen"] = input

    app = create_app(rt, compat="routilux", cors_origins=[ORIGIN])
    handle = serve_runtime(rt, app=app, port=0)
    try:
        api = handle.api_url
        preflight = httpx.options(
            f"{api}/health/ready",
            timeout=5,
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        ready = httpx.get(f"{api}/health/ready", headers={"Origin": ORIGIN}, timeout=5)
        assert (
            ready.json()["status"] == "ready"
            and ready.headers["access-control-allow-origin"] == ORIGIN
        )
        job = rt.submit(flow, "work", "input", {"k": 1})
        with connect(f"ws://127.0.0.1:{handle.port}/api/v1/websocket", open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "connected"
            ws.send(json.dumps({"type": "subscribe", "job_id": job.job_id}))
            assert json.loads(ws.recv(timeout=5))["type"] == "subscribed"
            gate.set()
            kinds: list[str] = []
            while not kinds or kinds[-1] != "job_completed":
                msg = json.loads(ws.recv(timeout=10))
                if msg["type"] != "ping":
                    kinds.append(msg["type"])
        assert "routine_started" in kinds and "routine_completed" in kinds
        listed = httpx.get(f"{api}/jobs", timeout=5).json()["jobs"][0]
        assert (
            isinstance(listed["created_at"], float)
            and listed["completed_at"] >= listed["created_at"]
        )
    finally:
        handle.stop()

"""``/api/v1/websocket``: the original server's job-event protocol, through the real app."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from routilux_nb.core import Flow, Runtime
from routilux_nb.server import create_app

pytestmark = pytest.mark.timeout(60)


def gated_flow(gate: threading.Event, flow_id: str = "ws_flow") -> Flow:
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"])
    def src(input: list[dict[str, Any]], ctx: Any) -> None:
        gate.wait(20)
        for item in input:
            if item.get("fail"):
                raise ValueError("bad input")
            ctx.emit("output", n=item["n"])

    @flow.routine(slots=["input"], events=[])
    def sink(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["got"] = [i["n"] for i in input]

    flow.connect("src.output", "sink.input")
    return flow


def served_app(rt: Runtime, **options: Any) -> Any:
    """The app, also answering ``Host: testserver`` (the name Starlette's TestClient gives its
    WebSocket connections; the server otherwise answers loopback names only)."""
    return create_app(rt, allowed_hosts=["testserver"], **options)


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown(wait=False)


def until(ws: Any, kind: str, limit: int = 200) -> list[dict[str, Any]]:
    """Messages received up to and including the first of type ``kind`` (pings skipped)."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == "ping":
            continue
        seen.append(msg)
        if msg["type"] == kind:
            return seen
    raise AssertionError(f"no {kind!r} in {[m['type'] for m in seen]}")


def test_live_events_of_a_running_job_in_the_original_names(rt: Runtime) -> None:
    gate = threading.Event()
    job = rt.submit(gated_flow(gate), "src", "input", {"n": 7})
    with TestClient(served_app(rt)) as client, client.websocket_connect("/api/v1/websocket") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "connected" and "subscribe" in hello["message"]
        ws.send_json({"type": "subscribe", "job_id": job.job_id})
        subscribed = ws.receive_json()
        assert subscribed == {
            "type": "subscribed",
            "job_id": job.job_id,
            "subscriber_id": subscribed["subscriber_id"],
        }
        gate.set()
        events = until(ws, "job_completed")
    kinds = [e["type"] for e in events]
    for expected in (
        "job_started",
        "slot_called",
        "routine_started",
        "event_emitted",
        "routine_completed",
    ):
        assert expected in kinds, kinds
    assert (
        kinds.index("job_started") < kinds.index("routine_completed") < kinds.index("job_completed")
    )
    assert all(
        e["job_id"] == job.job_id and e["timestamp"] and isinstance(e["data"], dict) for e in events
    )
    emitted = next(e for e in events if e["type"] == "event_emitted")
    assert emitted["data"]["routine_id"] == "src" and emitted["data"]["event_name"] == "output"
    assert emitted["data"]["data_keys"] == ["n"]
    slot = next(
        e for e in events if e["type"] == "slot_called" and e["data"]["routine_id"] == "sink"
    )
    assert slot["data"]["slot_name"] == "input"
    done = [e for e in events if e["type"] == "routine_completed"]
    assert {e["data"]["routine_id"] for e in done} == {"src", "sink"}
    assert all(e["data"]["status"] == "completed" and e["data"]["duration"] >= 0 for e in done)
    seqs = [e["seq"] for e in events]
    assert len(seqs) == len(set(seqs)), "an event was sent twice"


def test_failures_map_to_routine_failed_and_job_failed(rt: Runtime) -> None:
    gate = threading.Event()
    gate.set()
    job = rt.submit(gated_flow(gate, "ws_fail"), "src", "input", {"n": 1, "fail": True})
    job.wait(10)
    with TestClient(served_app(rt)) as client, client.websocket_connect("/api/v1/websocket") as ws:
        ws.receive_json()
        ws.send_json({"type": "subscribe", "job_id": job.job_id})
        events = until(ws, "job_failed")  # a finished job: its retained events are replayed
    failed = next(e for e in events if e["type"] == "routine_failed")
    assert failed["data"]["routine_id"] == "src" and "bad input" in failed["data"]["error"]
    assert events[-1]["data"]["status"] == "failed" and "bad input" in events[-1]["data"]["error"]


def test_subscription_management_messages(rt: Runtime) -> None:
    gate = threading.Event()
    gate.set()
    job = rt.submit(gated_flow(gate, "ws_manage"), "src", "input", {"n": 2}).wait(10)
    with TestClient(served_app(rt)) as client, client.websocket_connect("/api/v1/websocket") as ws:
        ws.receive_json()
        ws.send_json({"type": "subscribe", "job_id": "job-nope"})
        assert ws.receive_json() == {
            "type": "error",
            "message": "Job 'job-nope' not found",
            "job_id": "job-nope",
        }
        ws.send_json({"type": "subscribe"})
        assert ws.receive_json() == {
            "type": "error",
            "message": "subscribe needs a string 'job_id'",
        }
        ws.send_json({"type": "subscribe", "job_id": job.job_id})
        until(ws, "job_completed")
        ws.send_json({"type": "subscribe", "job_id": job.job_id})
        assert ws.receive_json() == {"type": "already_subscribed", "job_id": job.job_id}
        ws.send_json({"type": "unsubscribe", "job_id": job.job_id})
        assert ws.receive_json() == {"type": "unsubscribed", "job_id": job.job_id}
        ws.send_json({"type": "unsubscribe", "job_id": job.job_id})
        assert ws.receive_json() == {"type": "not_subscribed", "job_id": job.job_id}
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"
        ws.send_text("not json")
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "teleport"})
        assert "unknown message type 'teleport'" in ws.receive_json()["message"]


def test_two_clients_each_get_every_event(rt: Runtime) -> None:
    gate = threading.Event()
    job = rt.submit(gated_flow(gate, "ws_two"), "src", "input", {"n": 3})
    with (
        TestClient(served_app(rt)) as client,
        client.websocket_connect("/api/v1/websocket") as a,
        client.websocket_connect("/api/v1/websocket") as b,
    ):
        for ws in (a, b):
            ws.receive_json()
            ws.send_json({"type": "subscribe", "job_id": job.job_id})
            assert ws.receive_json()["type"] == "subscribed"
        gate.set()
        got_a, got_b = until(a, "job_completed"), until(b, "job_completed")
    assert [m["seq"] for m in got_a] == [m["seq"] for m in got_b]


def test_api_key_is_required_and_wrong_keys_close_with_1008(rt: Runtime) -> None:
    with TestClient(served_app(rt, api_key="s3cret")) as client:
        with client.websocket_connect("/api/v1/websocket") as ws:
            assert "API key" in ws.receive_json()["message"]
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
            assert info.value.code == 1008
        with client.websocket_connect("/api/v1/websocket?api_key=s3cret") as ws:
            assert ws.receive_json()["type"] == "connected"


def test_idle_socket_is_pinged(rt: Runtime) -> None:
    app = served_app(rt)
    app.state.ws_ping_interval = 0.05
    with TestClient(app) as client, client.websocket_connect("/api/v1/websocket") as ws:
        ws.receive_json()
        assert ws.receive_json()["type"] == "ping"


def test_the_overseer_origin_named_with_cors_origin_connects_and_others_are_refused(
    rt: Runtime,
) -> None:
    overseer = "http://localhost:3000"
    with TestClient(served_app(rt, cors_origins=[overseer])) as client:
        with client.websocket_connect("/api/v1/websocket", headers={"Origin": overseer}) as ws:
            assert ws.receive_json()["type"] == "connected"
        with (
            pytest.raises(WebSocketDisconnect) as info,
            client.websocket_connect(
                "/api/v1/websocket", headers={"Origin": "http://evil.example"}
            ) as ws,
        ):
            ws.receive_json()
        assert info.value.code == 4403

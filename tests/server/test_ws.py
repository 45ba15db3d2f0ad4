"""WebSocket monitors and the debug socket, through Starlette's TestClient."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from routilux_nb.core import Runtime

from ._apps import make_app, pipeline

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = Runtime()
    yield runtime
    runtime.shutdown(wait=False)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def client(rt: Runtime) -> TestClient:
    return TestClient(make_app(rt), base_url="http://127.0.0.1")


def receive_until(ws: Any, predicate: Any, limit: int = 20_000) -> list[dict[str, Any]]:
    """Messages up to and including the first one matching ``predicate``."""
    out = []
    for _ in range(limit):
        msg = ws.receive_json()
        out.append(msg)
        if predicate(msg):
            return out
    raise AssertionError(f"no matching message in {limit}: last {out[-3:]}")


def job_end(msg: dict[str, Any]) -> bool:
    return msg["type"] == "event" and msg["data"]["type"] == "job_end"


def events_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "event"]


def test_connection_established_and_message_format(
    rt: Runtime, client: TestClient, gate: threading.Event
) -> None:
    job = rt.submit(pipeline("p", gate), "src", "input", {"count": 2})
    with client.websocket_connect(f"/api/v1/ws/jobs/{job.job_id}/monitor") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "connection_established"
        assert set(hello["data"]) >= {"client_id", "server_time", "connected_clients", "last_seq"}
        assert hello["data"]["connected_clients"] == 1 and hello["timestamp"].endswith("+00:00")
        gate.set()
        messages = receive_until(ws, job_end)
    events = events_of(messages)
    assert [e["data"]["type"] for e in events].count("event_emit") == 2
    for e in events:
        assert set(e) == {"type", "data", "timestamp", "seq"} and e["seq"] == e["data"]["seq"]
        assert e["data"]["job_id"] == job.job_id
    assert job.wait(5).data["got"] == [0, 1]


def test_two_clients_on_one_job_each_get_every_event(
    rt: Runtime, client: TestClient, gate: threading.Event
) -> None:
    job = rt.submit(pipeline("p", gate), "src", "input", {"count": 50})
    path = f"/api/v1/ws/jobs/{job.job_id}/monitor"
    with client.websocket_connect(path) as a, client.websocket_connect(path) as b:
        a.receive_json(), b.receive_json()
        gate.set()
        seqs_a = [m["seq"] for m in events_of(receive_until(a, job_end))]
        seqs_b = [m["seq"] for m in events_of(receive_until(b, job_end))]
    assert seqs_a == seqs_b
    assert seqs_a == sorted(seqs_a) and len(seqs_a) >= 50 + 5
    assert seqs_a == [r[0] for r in job.monitor.trace.records(since=seqs_a[0] - 1)]


def test_the_api_spelling_and_flow_and_worker_monitors(rt: Runtime, client: TestClient) -> None:
    flow = pipeline("p")
    worker = rt.start(flow)
    with (
        client.websocket_connect("/api/ws/flows/p/monitor") as f,
        client.websocket_connect(f"/api/ws/workers/{worker.worker_id}/monitor") as w,
    ):
        f.receive_json(), w.receive_json()
        job = rt.submit(flow, "src", "input", {})
        for ws in (f, w):
            events = events_of(receive_until(ws, job_end))
            assert {e["data"]["job_id"] for e in events} == {job.job_id}


def test_subscribe_unsubscribe_and_get_status(
    rt: Runtime, client: TestClient, gate: threading.Event
) -> None:
    flow = pipeline("p", gate)
    a = rt.submit(flow, "src", "input", {"count": 3})
    b = rt.submit(flow, "src", "input", {"count": 3})
    with client.websocket_connect("/api/v1/ws/events") as ws:
        ws.receive_json()
        ws.send_json({"type": "subscribe", "data": {"job_id": a.job_id}})
        reply = ws.receive_json()
        assert reply["type"] == "subscribed" and reply["data"]["follows"] == {"job_id": [a.job_id]}
        gate.set()
        events = events_of(receive_until(ws, job_end))
        assert {e["data"]["job_id"] for e in events} == {a.job_id}
        b.wait(5)

        ws.send_json({"type": "get_status", "data": {"job_id": b.job_id}})
        status = ws.receive_json()
        assert status["type"] == "status"
        assert status["data"]["jobs"][b.job_id]["status"] == "completed"
        assert status["data"]["jobs"][b.job_id]["routines"]["sink"]["execution_count"] >= 1
        assert status["data"]["connection"]["follows"] == {"job_id": [a.job_id]}

        ws.send_json({"type": "unsubscribe", "data": {"job_id": a.job_id}})
        assert ws.receive_json()["data"]["follows"] == {}
        rt.submit(flow, "src", "input", {}).wait(5)
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"  # no event came in between

        ws.send_json({"type": "subscribe", "data": {"job_id": "nope"}})
        err = ws.receive_json()
        assert err["type"] == "error" and err["data"]["error_code"] == "JOB_NOT_FOUND"
        ws.send_json({"type": "subscribe", "data": {"event_types": ["job_end"]}})
        assert ws.receive_json()["data"]["event_types"] == ["job_end"]
        ws.send_json({"type": "subscribe", "data": {}})
        assert ws.receive_json()["data"]["follows"] == "all"
        done = rt.submit(flow, "src", "input", {})
        msg = ws.receive_json()
        assert msg["data"]["type"] == "job_end" and msg["data"]["job_id"] == done.job_id


def test_get_status_of_scope_and_runtime(rt: Runtime, client: TestClient) -> None:
    flow = pipeline("p")
    job = rt.submit(flow, "src", "input", {}).wait(5)
    with client.websocket_connect(f"/api/v1/ws/flows/{flow.flow_id}/monitor") as ws:
        ws.receive_json()
        ws.send_json({"type": "get_status"})
        data = ws.receive_json()["data"]
        assert data["flows"]["p"]["metrics"]["total_jobs"] == 1
        assert data["flows"]["p"]["workers"][0]["jobs_processed"] == 1
    with client.websocket_connect("/api/v1/ws/events") as ws:
        ws.receive_json()
        ws.send_json({"type": "get_status", "data": {}})
        data = ws.receive_json()["data"]
        assert data["runtime"]["workers"] == {job.worker_id: "running"}


def test_resume_since_replays_retained_events(rt: Runtime, client: TestClient) -> None:
    flow = pipeline("p")
    listener = rt.monitor.subscribe()  # the bus retains events while anyone listens
    job = rt.submit(flow, "src", "input", {"count": 5}).wait(5)
    seqs = [m["seq"] for m in listener.drain() if m["job_id"] == job.job_id]
    listener.close()
    since = seqs[3]
    with client.websocket_connect(f"/api/v1/ws/events?since={since}") as ws:
        hello = ws.receive_json()
        assert hello["data"]["last_seq"] >= seqs[-1]
        resumed = ws.receive_json()
        assert resumed["type"] == "resumed"
        assert resumed["data"] == {"missed": 0, "from_seq": since, "replayed": len(seqs) - 4}
        replayed = [ws.receive_json()["seq"] for _ in range(len(seqs) - 4)]
    assert replayed == seqs[4:]


def test_job_monitor_since_zero_replays_the_job_trace(rt: Runtime, client: TestClient) -> None:
    job = rt.submit(pipeline("p"), "src", "input", {"count": 2}).wait(5)  # nobody listened
    with client.websocket_connect(f"/api/v1/ws/jobs/{job.job_id}/monitor?since=0") as ws:
        ws.receive_json()
        assert ws.receive_json()["data"]["replayed"] == len(job.monitor.trace)
        events = events_of(receive_until(ws, job_end))
    assert [e["seq"] for e in events] == [r[0] for r in job.monitor.trace.records()]
    assert events[0]["data"]["type"] == "job_start" and events[0]["data"]["flow_id"] == "p"


def test_bad_messages_are_errors_not_disconnects(rt: Runtime, client: TestClient) -> None:
    with client.websocket_connect("/api/v1/ws/events") as ws:
        ws.receive_json()
        for raw, code in (
            ("{not json", "INVALID_JSON"),
            ('["a"]', "INVALID_MESSAGE"),
            ('{"type": "subscribe", "data": 3}', "INVALID_MESSAGE"),
            ('{"type": "launch_rockets"}', "UNKNOWN_COMMAND"),
            ('{"type": "subscribe", "data": {"event_types": ["nope"]}}', "INVALID_EVENT_TYPE"),
        ):
            ws.send_text(raw)
            msg = ws.receive_json()
            assert msg["type"] == "error" and msg["data"]["error_code"] == code, raw
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v1/ws/jobs/nope/monitor", "JOB_NOT_FOUND"),
        ("/api/v1/ws/workers/nope/monitor", "WORKER_NOT_FOUND"),
        ("/api/ws/flows/nope/monitor", "FLOW_NOT_FOUND"),
        ("/api/v1/ws/jobs/nope/debug", "JOB_NOT_FOUND"),
    ],
)
def test_unknown_ids_close_with_4404(client: TestClient, path: str, code: str) -> None:
    with client.websocket_connect(path) as ws:
        msg = ws.receive_json()
        assert msg["type"] == "error" and msg["data"]["error_code"] == code
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
    assert info.value.code == 4404


def test_bad_query_parameters_close_with_4400(client: TestClient) -> None:
    for query in ("since=abc", "mode=fast"):
        with client.websocket_connect(f"/api/v1/ws/events?{query}") as ws:
            assert ws.receive_json()["data"]["error_code"] == "INVALID_PARAMETER"
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
        assert info.value.code == 4400


def test_api_key_is_required_on_websockets(rt: Runtime) -> None:
    client = TestClient(make_app(rt, api_key="s3cret"), base_url="http://127.0.0.1")
    for path in ("/api/v1/ws/events", "/api/v1/ws/events?api_key=wrong"):
        with client.websocket_connect(path) as ws:
            assert ws.receive_json()["data"]["error_code"] == "UNAUTHORIZED"
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
        assert info.value.code == 4401
    with client.websocket_connect("/api/v1/ws/events?api_key=s3cret") as ws:
        assert ws.receive_json()["type"] == "connection_established"
    with client.websocket_connect("/api/v1/ws/events", headers={"X-API-Key": "s3cret"}) as ws:
        assert ws.receive_json()["type"] == "connection_established"


def test_idle_connections_get_pings(rt: Runtime) -> None:
    app = make_app(rt)
    app.state.ws_ping_interval = 0.2
    with TestClient(app, base_url="http://127.0.0.1").websocket_connect("/api/v1/ws/events") as ws:
        ws.receive_json()
        t0 = time.monotonic()
        assert ws.receive_json()["type"] == "ping"
        assert time.monotonic() - t0 >= 0.15


def test_snapshot_mode_coalesces_a_busy_job(
    rt: Runtime, client: TestClient, gate: threading.Event
) -> None:
    started = threading.Event()
    job = rt.submit(pipeline("p", gate, started=started), "src", "input", {"count": 3000})
    assert started.wait(5)
    before = job.monitor.trace.total
    with client.websocket_connect(f"/api/v1/ws/jobs/{job.job_id}/monitor?mode=snapshot") as ws:
        ws.receive_json()
        assert ws.receive_json()["data"] == {
            "mode": "snapshot",
            "reason": "requested",
            "pending": 0,
        }
        first = ws.receive_json()
        assert first["type"] == "snapshot" and first["data"]["job_id"] == job.job_id
        t0 = time.monotonic()
        gate.set()
        snaps = receive_until(
            ws, lambda m: m["data"]["snapshot"]["jobs"][job.job_id]["status"] == "completed"
        )
        elapsed = time.monotonic() - t0
    assert all(m["type"] == "snapshot" for m in snaps)
    assert len(snaps) <= elapsed * 10 + 2  # at most 10 a second
    assert snaps[-1]["data"]["dropped_total"] == job.monitor.trace.total - before
    assert snaps[-1]["data"]["snapshot"]["routines"]["sink"]["execution_count"] >= 1


def test_a_backlog_switches_to_snapshots_and_back(rt: Runtime, gate: threading.Event) -> None:
    app = make_app(rt)
    app.state.ws_throttle_threshold = 20
    started = threading.Event()
    job = rt.submit(pipeline("p", gate, started=started), "src", "input", {"count": 2000})
    assert started.wait(5)
    before = job.monitor.trace.total
    with TestClient(app, base_url="http://127.0.0.1").websocket_connect(
        f"/api/v1/ws/jobs/{job.job_id}/monitor"
    ) as ws:
        ws.receive_json()
        gate.set()
        job.wait(10)
        messages = receive_until(
            ws, lambda m: m["type"] == "mode" and m["data"]["mode"] == "events"
        )
    modes = [m["data"]["reason"] for m in messages if m["type"] == "mode"]
    assert modes == ["backlog", "caught_up"]
    snaps = [m for m in messages if m["type"] == "snapshot"]
    assert snaps and len(snaps) < 30
    sent = len(events_of(messages))
    assert sent + snaps[-1]["data"]["dropped_total"] == job.monitor.trace.total - before


def test_debug_socket_state_actions_and_variables(
    rt: Runtime, client: TestClient, gate: threading.Event
) -> None:
    job = rt.submit(pipeline("p", gate), "src", "input", {"count": 1})
    rt.monitor.add_breakpoint("routine", "sink", job=job)
    with client.websocket_connect(f"/api/v1/ws/jobs/{job.job_id}/debug") as ws:
        assert ws.receive_json()["data"]["actions"] == ["resume", "step_over", "step_into", "drop"]
        state = ws.receive_json()
        assert state["type"] == "debug_state" and state["data"]["location"] is None
        ws.send_json({"type": "action", "data": {"action": "resume"}})
        assert ws.receive_json()["data"]["error_code"] == "JOB_NOT_PAUSED"
        gate.set()
        paused = receive_until(ws, lambda m: m["type"] == "debug_state" and m["data"]["location"])[
            -1
        ]
        assert paused["data"]["location"]["routine_id"] == "sink"
        assert paused["data"]["variables"]["payload"] == {"input": [{"x": 0}]}
        ws.send_json({"type": "set_variable", "data": {"name": "payload.input.0.x", "value": 42}})
        assert ws.receive_json()["data"] == {
            "action": "set_variable",
            "name": "payload.input.0.x",
            "ok": True,
            "job_id": job.job_id,
        }
        edited = ws.receive_json()
        assert edited["type"] == "debug_state"
        assert edited["data"]["variables"]["payload"] == {"input": [{"x": 42}]}
        ws.send_json({"type": "set_variable", "data": {"name": "nowhere", "value": 1}})
        assert ws.receive_json()["data"]["error_code"] == "INVALID_REQUEST"
        ws.send_json({"type": "action", "data": {"action": "explode"}})
        assert ws.receive_json()["data"]["error_code"] == "INVALID_ACTION"
        ws.send_json({"type": "action", "data": {"action": "resume"}})
        assert receive_until(ws, lambda m: m["type"] == "action_result")[-1]["data"]["ok"]
        final = receive_until(
            ws, lambda m: m["type"] == "debug_state" and m["data"]["status"] == "completed"
        )
        assert final[-1]["data"]["location"] is None
    assert job.wait(5).data["got"] == [42]


def test_connected_clients_are_counted(rt: Runtime, client: TestClient) -> None:
    with (
        client.websocket_connect("/api/v1/ws/events") as a,
        client.websocket_connect("/api/v1/ws/events") as b,
    ):
        a.receive_json()
        assert b.receive_json()["data"]["connected_clients"] == 2
        assert client.get("/health/status").json()["websocket"]["connected_clients"] == 2
    deadline = time.monotonic() + 5
    while (
        client.get("/health/status").json()["websocket"]["connected_clients"]
        and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    assert client.get("/health/status").json()["websocket"]["connected_clients"] == 0
    assert rt.monitor.bus.subscriber_count == 0

"""DataFrames, arrays and timestamps over HTTP and WebSockets: the documented JSON layout on every
read, a paused frame read and edited through the debug routes, and sockets that never drop."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from routilux_nb.core import Flow, Runtime

from ._apps import make_app

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

WAIT = 10.0


def _frame() -> Any:
    return pd.DataFrame(
        {
            "x": [1.5, float("nan"), 3.0],
            "when": pd.to_datetime(["2026-01-01 10:00", None, "2026-01-03 00:00"]).tz_localize(
                "UTC"
            ),
            "label": ["a", "b", "c"],
        }
    )


def _flow() -> Flow:
    flow = Flow("frames-http")

    @flow.routine(slots=["input"], events=["output"])
    def src(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["arr"] = np.arange(6, dtype="int64").reshape(2, 3)
        ctx.data["at"] = pd.Timestamp("2026-05-01 08:30", tz="Europe/Paris")
        ctx.data["big"] = 10**5000
        ctx.data["half"] = "x\ud800"
        ctx.emit("output", df=input[0]["df"], arr=np.ones(3), big=10**5000, half="y\udfff")

    @flow.routine(slots=["input"], events=[])
    def fit(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["x_sum"] = float(input[0]["df"]["x"].sum())
        ctx.data["labels"] = input[0]["df"]["label"].tolist()
        ctx.data["frame"] = input[0]["df"]

    flow.connect("src.output", "fit.input")
    return flow


def test_job_data_reads_use_the_split_layout(rt: Runtime) -> None:
    client = TestClient(make_app(rt), base_url="http://127.0.0.1")
    flow = _flow()
    rt.register_flow(flow)
    job = rt.start(flow).submit(data={"df": _frame()})
    assert job.wait(WAIT).status == "completed", job.error
    base = f"/api/v1/jobs/{job.job_id}"
    for path in ("", "/data", "/trace", "/monitoring", "/debug", "/logs", "/status"):
        r = client.get(base + path)
        assert r.status_code == 200, (path, r.text[:300])
    data = client.get(base + "/data").json()["data"]
    frame = data["frame"]
    assert frame["__type__"] == "DataFrame" and frame["shape"] == [3, 3]
    assert frame["columns"] == ["x", "when", "label"]
    assert frame["dtypes"] == {"x": "float64", "when": "datetime64[us, UTC]", "label": "str"}
    assert frame["data"] == [
        [1.5, "2026-01-01T10:00:00+00:00", "a"],
        [None, None, "b"],
        [3.0, "2026-01-03T00:00:00+00:00", "c"],
    ]
    assert data["arr"] == [[0, 1, 2], [3, 4, 5]] and data["at"] == "2026-05-01T08:30:00+02:00"
    assert data["big"].startswith("0x") and data["half"] == "x\ufffd" and data["x_sum"] == 4.5
    trace = client.get(base + "/trace").json()
    emits = [e for e in trace["events"] if e["event_type"] == "event_emit"]
    assert emits[0]["data"]["df"]["summary"] == "DataFrame 3×3"
    assert client.get("/api/v1/jobs").status_code == 200


def test_a_paused_frame_is_read_and_edited_over_http(rt: Runtime) -> None:
    client = TestClient(make_app(rt), base_url="http://127.0.0.1")
    flow = _flow()
    rt.register_flow(flow)
    worker = rt.start(flow)
    rt.monitor.add_breakpoint("routine", "fit", worker=worker)
    original = _frame()
    job = worker.submit(data={"df": original})
    assert job.debug.wait_paused(WAIT)
    base = f"/api/v1/jobs/{job.job_id}/debug"
    session = client.get(base)
    assert session.status_code == 200, session.text[:300]
    views = {v["name"]: v for v in session.json()["frames"]}
    assert views["payload.input.0.df"]["summary"] == "DataFrame 3×3"
    variables = client.get(base + "/variables")
    assert variables.status_code == 200, variables.text[:300]
    layout = variables.json()["variables"]["payload"]["input"][0]["df"]
    assert layout["__type__"] == "DataFrame" and layout["data"][1][0] is None
    layout["data"][1][0] = 10.0
    layout["data"][2][2] = "z"
    put = client.put(base + "/variables", json={"name": "payload.input.0.df", "value": layout})
    assert put.status_code == 200, put.text[:300]
    edited = job.debug.variables()["payload"]["input"][0]["df"]
    assert isinstance(edited, pd.DataFrame) and str(edited["when"].dtype) == "datetime64[us, UTC]"
    assert client.post(base + "/resume").status_code == 200
    assert job.wait(WAIT).status == "completed", job.error
    assert job.data["x_sum"] == 14.5 and job.data["labels"] == ["a", "b", "z"]
    assert pd.isna(original["x"].iloc[1]) and original["label"].iloc[2] == "c"


def test_compat_websocket_survives_unsafe_payloads(rt: Runtime) -> None:
    flow = _flow()
    rt.register_flow(flow)
    job = rt.start(flow).submit(data={"df": _frame()})
    assert job.wait(WAIT).status == "completed", job.error
    with (
        TestClient(make_app(rt)) as client,
        client.websocket_connect("/api/v1/websocket") as ws,
    ):
        assert ws.receive_json()["type"] == "connected"
        ws.send_json({"type": "subscribe", "job_id": job.job_id})
        kinds = []
        for _ in range(200):
            msg = ws.receive_json()
            kinds.append(msg["type"])
            if msg["type"] == "job_completed":
                break
        assert "event_emitted" in kinds and kinds[-1] == "job_completed"


def _receive_until(ws: Any, predicate: Any, limit: int = 2_000) -> dict[str, Any]:
    for _ in range(limit):
        msg = ws.receive_json()
        if predicate(msg):
            return msg  # type: ignore[no-any-return]
    raise AssertionError("no matching message")


def test_debug_socket_shows_and_edits_an_unsafe_parked_payload(rt: Runtime) -> None:
    flow = _flow()
    rt.register_flow(flow)
    worker = rt.start(flow)
    rt.monitor.add_breakpoint("routine", "fit", worker=worker)
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    job = worker.submit(data={"df": _frame()}, job_data={"loop": loop, (1, 2): "pair"})
    assert job.debug.wait_paused(WAIT)
    with (
        TestClient(make_app(rt)) as client,
        client.websocket_connect(f"/api/v1/ws/jobs/{job.job_id}/debug") as ws,
    ):
        ws.receive_json()  # connection_established
        state = _receive_until(ws, lambda m: m["type"] == "debug_state")["data"]
        item = state["variables"]["payload"]["input"][0]
        assert item["df"]["summary"] == "DataFrame 3×3" and item["half"] == "y\ufffd"
        assert item["big"].startswith("0x") and state["variables"]["job_data"]["(1, 2)"] == "pair"
        assert state["variables"]["job_data"]["loop"]["self"]["self"]  # cut, never an error
        names = [f["name"] for f in state["frames"]]
        assert names[:2] == ["payload.input.0.df", "payload.input.0.arr"]
        layout = client.get(f"/api/v1/jobs/{job.job_id}/debug/variables").json()["variables"]
        df = layout["payload"]["input"][0]["df"]
        df["data"][0][0] = 100.0
        ws.send_json({"type": "set_variable", "data": {"name": "payload.input.0.df", "value": df}})
        assert _receive_until(ws, lambda m: m["type"] == "action_result")["data"]["ok"]
        ws.send_json({"type": "action", "data": {"action": "resume"}})
        assert _receive_until(ws, lambda m: m["type"] == "action_result")["data"]["ok"]
    assert job.wait(WAIT).status == "completed", job.error
    assert job.data["x_sum"] == 103.0

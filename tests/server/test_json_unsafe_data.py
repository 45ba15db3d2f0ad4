"""Job data JSON cannot carry never breaks a read (HTTP or WebSocket): one documented form."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routilux_nb.core import Flow, Runtime
from routilux_nb.core.jsonsafe import dumps, to_jsonable

from ._apps import make_app


def _unsafe() -> dict[str, Any]:
    circular: dict[str, Any] = {"name": "loop"}
    circular["self"] = circular
    return {
        "tuple_key": {(1, 2): "pair"},
        "big": 10**5000,
        "surrogate": "half \ud800 pair",
        "circular": circular,
        "nan": float("nan"),
        "when": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc),
        "set": {3, 1, 2},
        "raw": b"\xff\x00",
    }


def _flow() -> Flow:
    flow = Flow("unsafe")

    @flow.routine(slots=["input"], events=["output"])
    def src(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data.update(_unsafe())
        ctx.emit("output", **_unsafe())

    @flow.routine(slots=["input"], events=[])
    def sink(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["seen"] = len(input)

    flow.connect("src.output", "sink.input")
    return flow


def test_the_documented_form() -> None:
    out = json.loads(dumps(_unsafe()))
    assert out["tuple_key"] == {"(1, 2)": "pair"}
    assert out["big"].startswith("0x") and int(out["big"], 16) == 10**5000
    assert out["surrogate"] == "half \ufffd pair"
    assert out["circular"] == {"name": "loop", "self": "<circular reference>"}
    assert out["nan"] is None
    assert out["when"] == "2026-01-02T03:04:00+00:00"
    assert out["set"] == [1, 2, 3]
    assert out["raw"] == {"base64": "/wA="}
    assert to_jsonable(2**70) == 2**70  # exact while JSON text can carry it


def test_numpy_and_pandas_values() -> None:
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [1, 2, 3], "t": pd.to_datetime(["2026-01-01"] * 3)})
    out = json.loads(
        dumps({"a": np.arange(3), "f": np.float64("nan"), "df": frame, "s": frame["x"]})
    )
    assert out["a"] == [0, 1, 2] and out["f"] is None
    assert out["df"]["__type__"] == "DataFrame" and out["df"]["shape"] == [3, 2]
    assert out["df"]["columns"] == ["x", "t"] and out["df"]["data"][0][0] == 1
    assert out["df"]["data"][0][1].startswith("2026-01-01")
    assert out["df"]["dtypes"]["x"] == "int64" and "index" not in out["df"]
    assert out["s"]["data"] == [1, 2, 3] and out["s"]["shape"] == [3]
    assert out["s"]["__type__"] == "Series" and out["s"]["name"] == "x"
    assert json.loads(dumps(frame))["__type__"] == "DataFrame"


def test_reads_of_unsafe_job_data_answer_200(rt: Runtime) -> None:
    client = TestClient(make_app(rt), base_url="http://127.0.0.1")
    flow = _flow()
    rt.register_flow(flow)
    job = rt.start(flow).submit(data={"n": 1})
    job.wait(30)
    base = f"/api/v1/jobs/{job.job_id}"
    for path in ("", "/data", "/trace", "/monitoring", "/debug", "/logs", "/status"):
        r = client.get(base + path)
        assert r.status_code == 200, (path, r.text[:300])
    data = client.get(base + "/data").json()["data"]
    assert (
        data["tuple_key"] == {"(1, 2)": "pair"}
        and data["circular"]["self"] == "<circular reference>"
    )
    assert client.get("/api/v1/jobs").status_code == 200


def test_websocket_monitor_survives_unsafe_data(rt: Runtime) -> None:
    client = TestClient(make_app(rt))
    flow = _flow()
    rt.register_flow(flow)
    worker = rt.start(flow)
    job = worker.submit(data={"n": 1})
    job.wait(30)
    with client.websocket_connect(f"/api/v1/ws/jobs/{job.job_id}/monitor?since=0") as ws:
        assert ws.receive_json()["type"] == "connection_established"
        seen = []
        while True:
            msg = ws.receive_json()
            seen.append(msg["type"])
            if msg["type"] == "event" and msg["data"]["type"] == "job_end":
                break
        assert "event" in seen
        ws.send_json({"type": "get_status", "data": {}})
        while (msg := ws.receive_json())["type"] != "status":
            pass
        assert msg["data"]["jobs"][job.job_id]["status"] == "completed"

"""The click path of the widgets: subshell routing, dedup/ack, the loopback endpoint."""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any

import pytest

import routilux_nb as rx
from routilux_nb.notebook.widgets import Debugger
from routilux_nb.notebook.widgets import _endpoint as ep_mod
from routilux_nb.notebook.widgets._clicks import ClickLog, dispatch, route_by_frontend

PAUSED = {
    "job_id": "job-abc",
    "status": "paused",
    "location": {"kind": "routine", "routine_id": "double"},
    "variables": {"payload": {"price": 499.0}, "config": {}},
    "call_stack": [],
}


class FakeComm:
    """ipykernel 7.4's reply routing: the subshell of the comm's last publish wins."""

    def __init__(self) -> None:
        self._reply_subshell_ids: dict[str, Any] = {}
        self._reply_subshell_id = None  # published last from the main shell

    def _reply_subshell_for(self, data: Any, default: Any) -> Any:
        request_id = (data.get("content") or {}).get("id") if isinstance(data, dict) else None
        if request_id in self._reply_subshell_ids:
            return self._reply_subshell_ids.pop(request_id)
        return self._reply_subshell_id


class FakeWidget:
    def __init__(self) -> None:
        self.comm: Any = FakeComm()
        self.observers: list[Any] = []

    def observe(self, handler: Any, names: str) -> None:
        self.observers.append(handler)


def test_route_by_frontend_keeps_the_frontends_subshell():
    widget = FakeWidget()
    comm = widget.comm
    click = {"method": "custom", "content": {"type": "action", "action": "resume"}}
    assert comm._reply_subshell_for(click, "sub-1") is None  # the bug: back to the main shell
    route_by_frontend(widget)
    assert comm._reply_subshell_for(click, "sub-1") == "sub-1"
    assert comm._reply_subshell_for(click, None) is None  # no subshells: main shell as before
    # A reply to a request the kernel sent still goes where the request came from.
    comm._reply_subshell_ids["req-7"] = "sub-waiting"
    reply = {"method": "custom", "content": {"id": "req-7"}}
    assert comm._reply_subshell_for(reply, "sub-1") == "sub-waiting"
    # Installing twice does not wrap twice; a new comm is routed too.
    route_by_frontend(widget)
    new = FakeComm()
    widget.observers[0]({"new": new})
    assert new._reply_subshell_for(click, "sub-2") == "sub-2"
    widget.observers[0]({"new": None})  # a closed comm is ignored


def test_click_log_is_bounded_and_thread_safe():
    log = ClickLog(size=3)
    assert log.first("a") and not log.first("a")
    for key in "bcd":
        assert log.first(key)
    assert log.first("a")  # pushed out of the bounded log
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(log.first("same"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


def test_dispatch_acks_runs_once_and_answers():
    debugger = Debugger(PAUSED)
    sent: list[dict[str, Any]] = []
    debugger.send = lambda message: sent.append(message)  # type: ignore[method-assign]
    calls: list[str] = []
    debugger.on_action(lambda action, job_id: calls.append(action) or f"{action}: ok")
    click = {"type": "action", "action": "resume", "id": "c-1"}
    assert dispatch(debugger, click, via="http") == {"ok": True, "text": "resume: ok"}
    assert dispatch(debugger, click, via="comm") == {"ok": True, "duplicate": True}
    debugger._dispatch_msg(debugger, click, [])  # the queued comm copy arrives later
    assert calls == ["resume"]
    assert sent == [
        {"type": "ack", "id": "c-1", "via": "http"},
        {"type": "done", "id": "c-1", "text": "resume: ok", "via": "http"},
    ]
    outcome = dispatch(debugger, {"type": "nonsense"}, via="http")
    assert not outcome["ok"] and "'nonsense'" in outcome["error"]


def test_debugger_edit_keeps_float_and_reports_bad_json():
    debugger = Debugger(PAUSED)
    assert debugger.state["variables_json"]["payload"] == '{\n  "price": 499.0\n}'
    got: list[Any] = []
    debugger.on_set_variable(lambda name, value, job_id: got.append(value))
    debugger._dispatch_msg(
        debugger, {"type": "set_variable", "name": "payload", "text": "499.0"}, []
    )
    assert got == [499.0] and isinstance(got[0], float)
    assert debugger.message == "set payload: done"
    debugger._dispatch_msg(debugger, {"type": "set_variable", "name": "payload", "text": "{"}, [])
    assert got == [499.0]
    assert (
        debugger.message.startswith("set payload: invalid JSON") and "nothing" in debugger.message
    )


def test_job_wait_while_paused_names_the_remedies():
    rt = rx.runtime()
    flow = rx.Flow("clicks_wait")

    @flow.routine(slots=["input"], events=[])
    def only(input, ctx):
        return None

    try:
        worker = rt.start(flow)
        rt.monitor.add_breakpoint("routine", "only", worker=worker)
        job = worker.submit("only", "input", {"x": 1})
        assert job.debug.wait_paused(10)
        with pytest.raises(rx.JobWaitTimeout) as info:
            job.wait(timeout=0.05)
        text = str(info.value)
        for remedy in ("breakpoint", "Resume", "job.resume()", "await job.wait_async()"):
            assert remedy in text, text
        job.resume()
        assert job.wait(timeout=10).status == "completed"
    finally:
        rt.shutdown()


# ------------------------------------------------------------------ the loopback endpoint


@pytest.fixture
def served(monkeypatch):
    """A Debugger registered on a fresh, started endpoint; stopped afterwards."""
    endpoint = ep_mod.ClickEndpoint()
    monkeypatch.setattr(ep_mod, "_endpoint", endpoint)
    monkeypatch.setattr(ep_mod, "_in_kernel", lambda: True)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    debugger = Debugger(PAUSED)
    try:
        yield debugger, endpoint
    finally:
        endpoint.stop()


def post(
    port: int, body: Any, headers: dict[str, str], method: str = "POST", path: str = ep_mod.PATH
) -> tuple[int, dict[str, str], dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request(method, path, body=data if method == "POST" else None, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), (json.loads(raw) if raw else {})


def test_direct_trait_tells_the_front_end_where_to_post(served):
    debugger, endpoint = served
    info = debugger._direct
    assert info["port"] == endpoint.port and info["token"] == endpoint.token
    assert info["model_id"] == debugger.model_id
    assert info["proxy"] == f"/user/ada/proxy/{endpoint.port}/routilux/click"
    assert endpoint.widget(debugger.model_id) is debugger


def test_endpoint_runs_a_click_with_the_token(served):
    debugger, endpoint = served
    calls: list[str] = []
    debugger.on_action(lambda action, job_id: calls.append(action))
    good = {
        "X-Routilux-Token": endpoint.token,
        "Content-Type": "application/json",
        "Origin": "http://127.0.0.1:8888",
    }
    body = {
        "model_id": debugger.model_id,
        "content": {"type": "action", "action": "resume", "id": "k-1"},
    }
    status, headers, answer = post(endpoint.port, body, good)
    assert (status, answer) == (200, {"ok": True, "text": "resume: done"})
    assert headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8888"
    status, _, answer = post(endpoint.port, body, good)
    assert status == 200 and answer["duplicate"] and calls == ["resume"]


def test_endpoint_refuses_bad_requests_with_reasons(served):
    debugger, endpoint = served
    good = {"X-Routilux-Token": endpoint.token, "Content-Type": "application/json"}
    body = {"model_id": debugger.model_id, "content": {"type": "action", "action": "resume"}}
    cases = [
        ({"Content-Type": "application/json"}, body, 401, "X-Routilux-Token"),
        ({**good, "X-Routilux-Token": "wrong"}, body, 401, "token"),
        (good, b"{not json", 400, "not JSON"),
        (good, {"model_id": 3}, 400, "model_id"),
        (good, {"model_id": "nope", "content": {}}, 404, "no open widget"),
        (good, {"model_id": debugger.model_id, "content": {"type": "x"}}, 400, "'x'"),
    ]
    for headers, payload, want, words in cases:
        status, _, answer = post(endpoint.port, payload, headers)
        assert status == want and words in answer["error"], (payload, status, answer)
    status, _, answer = post(endpoint.port, body, good, path="/other")
    assert status == 404 and ep_mod.PATH in answer["error"]
    status, _, answer = post(endpoint.port, None, good, method="GET")
    assert status == 405 and "POST" in answer["error"]


def test_endpoint_cors_has_no_wildcard(served):
    _debugger, endpoint = served
    asks = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Private-Network": "true",
    }
    status, headers, _ = post(
        endpoint.port, None, {**asks, "Origin": "http://localhost:8888"}, method="OPTIONS"
    )
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "http://localhost:8888"
    assert "X-Routilux-Token" in headers["Access-Control-Allow-Headers"]
    assert headers["Access-Control-Allow-Private-Network"] == "true"
    status, headers, _ = post(
        endpoint.port, None, {**asks, "Origin": "https://evil.example"}, method="OPTIONS"
    )
    assert "Access-Control-Allow-Origin" not in headers
    assert ep_mod.allowed_origin("vscode-webview://abc") and not ep_mod.allowed_origin(None)
    assert not ep_mod.allowed_origin("http://127.0.0.1.evil.example")


def test_endpoint_binds_loopback_and_releases_the_port(served):
    _debugger, endpoint = served
    port = endpoint.port
    assert endpoint._server is not None
    assert endpoint._server.server_address[0] == "127.0.0.1"
    endpoint.stop()
    endpoint.stop()
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=2).connect()


def test_no_endpoint_outside_a_kernel(monkeypatch):
    monkeypatch.setattr(ep_mod, "_in_kernel", lambda: False)
    assert Debugger()._direct == {}
    monkeypatch.setattr(ep_mod, "_in_kernel", lambda: True)
    monkeypatch.setenv("ROUTILUX_NB_DIRECT_CLICKS", "0")
    assert Debugger()._direct == {}


def test_a_click_made_at_an_earlier_stop_is_refused():
    debugger = Debugger(PAUSED)
    calls: list[str] = []
    debugger.on_action(lambda action, job_id: calls.append(action))
    here = {
        "job_id": "job-abc",
        "kind": "routine",
        "routine_id": "double",
        "slot_name": None,
        "event_name": None,
        "breakpoint_id": None,
    }
    debugger._dispatch_msg(debugger, {"type": "action", "action": "step_over", "at": here}, [])
    assert calls == ["step_over"]
    # The job moved on (another job now shown); a late click made at the old stop does nothing.
    debugger.set_state({**PAUSED, "job_id": "job-other"})
    debugger._dispatch_msg(debugger, {"type": "action", "action": "resume", "at": here}, [])
    edit = {"type": "set_variable", "name": "payload", "text": "1", "at": here}
    debugger._dispatch_msg(debugger, edit, [])
    assert calls == ["step_over"]
    assert "moved on" in debugger.message

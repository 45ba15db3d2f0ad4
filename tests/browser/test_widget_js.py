"""The widgets' JavaScript in headless Chromium, without Jupyter: a fake anywidget model.

The page is served from a loopback origin by a tiny static server; the fallback test posts to
a real click endpoint (with CORS and the token) that runs a real Debugger's handler.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from routilux_nb.notebook.widgets import Debugger
from routilux_nb.notebook.widgets import _endpoint as ep_mod
from routilux_nb.notebook.widgets._fork import bundle

pytestmark = pytest.mark.browser

WIDGETS = Path(__file__).resolve().parents[2] / "routilux_nb" / "notebook" / "widgets"

FAKE_MODEL = """
window.makeModel = (state) => {
  const handlers = {};
  const model = {
    sent: [],
    get: (key) => state[key],
    set: (key, value) => { state[key] = value; model.emit(`change:${key}`); },
    on: (event, handler) => { (handlers[event] ||= []).push(handler); },
    off: (event, handler) => {
      handlers[event] = (handlers[event] || []).filter((h) => h !== handler);
    },
    send: (message) => { model.sent.push(message); },
    emit: (event, ...args) => (handlers[event] || []).forEach((h) => h(...args)),
  };
  return model;
};
"""

PAUSED = {
    "job_id": "job-abc",
    "status": "paused",
    "location": {"kind": "routine", "routine_id": "double"},
    "variables": {"payload": 499.0, "config": {}},
    "variables_json": {"payload": "499.0", "config": "{}"},
    "call_stack": [],
}


class _Quiet(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def static_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("jspage")
    (root / "index.html").write_text("<!doctype html><html><body></body></html>")
    # the modules as the widgets ship them (the debugger's is bundled with the fork editor)
    (root / "debugger.js").write_text(bundle(WIDGETS / "debugger.js"), encoding="utf-8")
    (root / "job_progress.js").write_text(
        (WIDGETS / "job_progress.js").read_text(encoding="utf-8"), encoding="utf-8"
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page(browser_page: Any, static_origin: str) -> Any:
    browser_page.goto(static_origin)
    browser_page.add_script_tag(content=FAKE_MODEL)
    return browser_page


def mount_debugger(page: Any, state: dict[str, Any], direct: dict[str, Any] | None = None) -> None:
    page.evaluate(
        """async ([state, direct]) => {
            const mod = await import("/debugger.js");
            const el = document.createElement("div");
            document.body.appendChild(el);
            window.model = makeModel({ state, message: "", _direct: direct || {} });
            window.el = el;
            mod.default.render({ model: window.model, el });
        }""",
        [state, direct],
    )


def test_debugger_edit_sends_the_typed_json_text(page: Any):
    mount_debugger(page, PAUSED)
    textarea = page.locator('[data-variable="payload"] textarea')
    assert textarea.input_value() == "499.0"  # not "499": Python's JSON text is shown
    page.locator('[data-action="apply"]').click()
    sent = page.evaluate("model.sent")
    assert sent[-1]["type"] == "set_variable" and sent[-1]["text"] == "499.0"
    assert "value" not in sent[-1] and sent[-1]["id"]
    # The click names the stop it was made at, so a late delivery cannot act on another one.
    assert sent[-1]["at"] == {
        "job_id": "job-abc",
        "kind": "routine",
        "routine_id": "double",
        "slot_name": None,
        "event_name": None,
        "breakpoint_id": None,
    }


def test_debugger_result_and_stale_message(page: Any):
    mount_debugger(page, PAUSED)
    message = page.locator(".rnb-d-message")
    page.locator('[data-action="apply"]').click()
    click_id = page.evaluate("model.sent[0].id")
    assert message.inner_text() == "set payload…"
    page.evaluate(
        """id => { model.emit("msg:custom", { type: "ack", id });
                   model.set("message", "set payload: done");
                   model.emit("msg:custom", { type: "done", id, text: "set payload: done",
                                              via: "comm" }); }""",
        click_id,
    )
    assert message.inner_text() == "set payload: done"
    assert message.get_attribute("data-via") == "comm"
    # An invalid edit shows its error and clears the earlier "done", which no longer applies.
    page.locator('[data-variable="payload"] textarea').fill("{")
    page.locator('[data-action="apply"]').click()
    assert "Invalid JSON" in page.locator('[data-variable="payload"] .rnb-d-error').inner_text()
    assert message.inner_text() == ""
    assert len(page.evaluate("model.sent")) == 1  # nothing sent for invalid JSON
    # The next successful edit shows its result although the text is the same as before.
    page.locator('[data-variable="payload"] textarea').fill("500.5")
    page.locator('[data-action="apply"]').click()
    second = page.evaluate("model.sent[1].id")
    page.evaluate(
        """id => model.emit("msg:custom", { type: "done", id, text: "set payload: done" })""",
        second,
    )
    assert message.inner_text() == "set payload: done"


def test_unanswered_click_goes_to_the_loopback_endpoint(page: Any, monkeypatch):
    endpoint = ep_mod.ClickEndpoint()
    monkeypatch.setattr(ep_mod, "_endpoint", endpoint)
    monkeypatch.setattr(ep_mod, "_in_kernel", lambda: True)
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    try:
        debugger = Debugger(PAUSED)
        calls: list[str] = []
        debugger.on_action(lambda action, job_id: calls.append(action) or f"{action}d {job_id}")
        mount_debugger(page, PAUSED, debugger._direct)
        page.locator('[data-action="resume"]').click()  # the fake comm never answers
        message = page.locator(".rnb-d-message")
        page.wait_for_function("() => document.querySelector('.rnb-d-message').dataset.via")
        assert message.get_attribute("data-via") == "http"
        assert message.inner_text() == "resumed job-abc"
        assert calls == ["resume"]
        # The comm copy arriving later (after the blocking cell) is not run again.
        late = page.evaluate("model.sent[0]")
        debugger._dispatch_msg(debugger, late, [])
        assert calls == ["resume"]
        # A wrong token is refused with a reason, and nothing runs.
        mount_debugger(page, PAUSED, {**debugger._direct, "token": "wrong"})
        page.locator('[data-action="resume"]').nth(1).click()
        page.wait_for_function(
            "() => document.querySelectorAll('.rnb-d-message')[1].dataset.phase === 'error'"
        )
        assert "X-Routilux-Token" in page.locator(".rnb-d-message").nth(1).inner_text()
        assert calls == ["resume"]
    finally:
        endpoint.stop()


def test_direct_urls(page: Any):
    urls = page.evaluate(
        """async () => {
            const { directUrls } = await import("/debugger.js");
            const direct = { port: 4321, token: "t", model_id: "m" };
            return {
                local: directUrls(direct, { hostname: "127.0.0.1", protocol: "http:" }),
                remote: directUrls(direct, { hostname: "hub.example", protocol: "https:" }),
                hub: directUrls({ ...direct, proxy: "/user/a/proxy/4321/routilux/click" },
                                { hostname: "hub.example", protocol: "https:" }),
                none: directUrls({}, { hostname: "127.0.0.1", protocol: "http:" }),
            };
        }"""
    )
    assert urls["local"] == ["http://127.0.0.1:4321/routilux/click"]
    assert urls["remote"] == []  # never the user's own loopback from a remote page
    assert urls["hub"] == ["/user/a/proxy/4321/routilux/click"]
    assert urls["none"] == []


def test_job_ids_show_their_distinguishing_part(page: Any):
    ids = ["job-3fb9fb4000000001", "job-3fb9fb4000000002", "sentence-0"]
    page.add_style_tag(content=(WIDGETS / "job_progress.css").read_text(encoding="utf-8"))
    shown = page.evaluate(
        """async (ids) => {
            const mod = await import("/job_progress.js");
            const el = document.createElement("div");
            document.body.appendChild(el);
            const jobs = {};
            ids.forEach((id, i) => { jobs[id] = { status: "completed",
                                                  created_at: `2026-01-01T00:00:0${i}` }; });
            mod.default.render({ model: makeModel({ jobs }), el });
            return [...el.querySelectorAll(".rnb-j-id")].map((n) => [n.textContent, n.title,
                n.scrollWidth <= n.clientWidth]);
        }""",
        ids,
    )
    labels = {title: text for text, title, _ in shown}
    assert labels["sentence-0"] == "sentence-0"
    assert labels["job-3fb9fb4000000001"].endswith("0001")
    assert labels["job-3fb9fb4000000002"].endswith("0002")
    assert all(fits for _, _, fits in shown)  # nothing cut off by the column
    assert len({text for text, _, _ in shown}) == 3


def test_a_click_on_a_job_line_selects_it(page: Any):
    result = page.evaluate(
        """async () => {
            const mod = await import("/job_progress.js");
            const el = document.createElement("div");
            document.body.appendChild(el);
            const jobs = { "job-a": { status: "completed", created_at: "2026-01-01T00:00:01" },
                           "job-b": { status: "running", created_at: "2026-01-01T00:00:02" } };
            const model = makeModel({ jobs, selected: "" });
            mod.default.render({ model, el });
            el.querySelector('[data-job-id="job-a"] .rnb-j-badge').click();
            const sent = [...model.sent];
            model.set("selected", "job-a");
            const marked = [...el.querySelectorAll(".rnb-j-selected")].map((n) => n.dataset.jobId);
            model.set("jobs", { ...jobs, "job-c": { status: "pending", created_at: "2026-01-01T00:00:03" } });
            const after = [...el.querySelectorAll(".rnb-j-selected")].map((n) => n.dataset.jobId);
            return { sent, marked, after };
        }"""
    )
    assert result["sent"] == [{"type": "select", "job_id": "job-a"}]
    assert result["marked"] == ["job-a"] and result["after"] == ["job-a"]

"""The debugger's frame table in headless Chromium, without Jupyter: a job parked on a real
breakpoint with a DataFrame in its items, its state shown by ``debugger.js`` through a fake
anywidget model; the user double-clicks a cell, types, presses Enter, and the message the
view sends is handed to the real Debugger widget wired to the engine; the job resumes with
the edited value."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import routilux_nb as rx
from routilux_nb.notebook.widgets import Debugger

pytestmark = pytest.mark.browser
pd = pytest.importorskip("pandas")

WIDGETS = Path(__file__).resolve().parents[2] / "routilux_nb" / "notebook" / "widgets"
WAIT = 10.0

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


class _Quiet(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("framespage")
    (root / "index.html").write_text("<!doctype html><html><body></body></html>")
    (root / "debugger.js").write_text(Debugger._esm, "utf-8")  # as shipped: with the fork editor
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def runtime() -> Iterator[rx.Runtime]:
    rt = rx.Runtime()
    yield rt
    rt.shutdown(wait=False)


def _flow() -> rx.Flow:
    flow = rx.Flow("frames-browser")

    @flow.routine(slots=["input"], events=["output"])
    def src(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.emit("output", df=input[0]["df"])

    @flow.routine(slots=["input"], events=[])
    def fit(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["x"] = input[0]["df"]["x"].tolist()

    flow.connect("src.output", "fit.input")
    return flow


def test_a_cell_edited_in_the_browser_reaches_the_downstream_routine(
    browser_page: Any, origin: str, runtime: rx.Runtime
) -> None:
    worker = runtime.start(_flow())
    bp = runtime.monitor.add_breakpoint("routine", "fit", worker=worker)
    job = worker.submit(data={"df": pd.DataFrame({"x": [1.0, 2.0, 3.0], "k": ["a", "b", "c"]})})
    assert job.debug.wait_paused(WAIT)
    view = Debugger()
    view.on_set_cell(
        lambda name, row, column, value, _job_id: job.debug.set_cell(name, row, column, value)
    )
    view.set_state(job.debug.to_dict())

    page = browser_page
    page.goto(origin)
    page.add_script_tag(content=FAKE_MODEL)
    page.evaluate(
        """async (state) => {
            const mod = await import("/debugger.js");
            const el = document.createElement("div");
            document.body.appendChild(el);
            window.model = makeModel({ state, message: "", _direct: {} });
            mod.default.render({ model: window.model, el });
        }""",
        view.state,
    )
    table = page.locator('[data-frame="payload.input.0.df"]')
    assert "DataFrame 3×2" in table.inner_text()
    cell = table.locator('td[data-row="1"][data-column="0"]')
    assert cell.inner_text() == "2"
    cell.dblclick()
    editor = table.locator("input.rnb-d-cell-input")
    editor.fill("20.5")
    editor.press("Enter")
    sent = page.evaluate("model.sent")
    assert sent[-1]["type"] == "set_cell" and sent[-1]["text"] == "20.5"
    assert sent[-1]["name"] == "payload.input.0.df" and sent[-1]["row"] == 1
    assert sent[-1]["column"] == "x"

    view._handle_custom_msg(sent[-1], [])  # what the comm would deliver to the kernel
    assert view.message == "set payload.input.0.df[1, x]: done"
    view.set_state(job.debug.to_dict())
    page.evaluate("(state) => model.set('state', state)", view.state)
    assert table.locator('td[data-row="1"][data-column="0"]').inner_text() == "20.5"

    runtime.monitor.remove_breakpoint(bp.breakpoint_id)
    job.debug.resume()
    assert job.wait(WAIT).status == "completed", job.error
    assert job.data["x"] == [1.0, 20.5, 3.0]

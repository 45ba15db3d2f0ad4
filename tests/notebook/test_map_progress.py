"""A map run shows its progress: a live bar (widget) that follows the jobs, a static picture
beside it, a text fallback without widgets, and ``await run`` in a real kernel."""

from __future__ import annotations

import base64
import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from routilux_nb.core import Flow, Runtime
from routilux_nb.notebook.reprs import html_for

pytest.importorskip("anywidget")
from routilux_nb.notebook.widgets import MapProgress
from routilux_nb.notebook.widgets.map_progress import live_bundle, map_progress

REPO = Path(__file__).resolve().parents[2]
WIDGET = "application/vnd.jupyter.widget-view+json"


def _gated_flow(gate: threading.Event, fail_on: frozenset[int] = frozenset()) -> Flow:
    flow = Flow("mapped_progress")

    @flow.routine(slots=["input"], events=[])
    def compute(input, ctx):
        x = input[0]["x"]
        assert gate.wait(20), "gate never opened"
        if x in fail_on:
            raise ValueError(f"bad x={x}")
        ctx.data["y"] = x * x

    return flow


@pytest.fixture
def rt():
    runtime = Runtime()
    yield runtime
    runtime.shutdown(wait=False)


def test_the_bar_follows_running_finished_and_failed_items(rt: Runtime, wait_until) -> None:
    gate = threading.Event()
    run = rt.start(_gated_flow(gate, frozenset({3}))).map(
        [{"x": i} for i in range(6)], max_in_flight=2
    )
    view = map_progress(run)
    assert map_progress(run) is view  # one view per run
    # two jobs run (held by the gate), four wait to be fed: the view says so without a signal
    wait_until(lambda: view.state.get("running") == 2, timeout=10)
    assert view.state["total"] == 6 and view.state["finished"] == 0
    assert view.state["counts"].get("pending") == 4
    gate.set()
    run.wait(timeout=30)
    wait_until(lambda: view.state.get("done"), timeout=10)
    state = view.state
    assert state["finished"] == 6 and state["completed"] == 5 and state["failed"] == 1
    assert state["counts"] == {"completed": 5, "failed": 1} and state["running"] == 0
    html, png = view.picture()
    assert "6/6 finished: 5 completed, 1 failed" in html
    assert png is not None
    view.close()


def test_updates_are_rate_limited_whatever_the_job_rate(rt: Runtime, wait_until) -> None:
    flow = Flow("fast_map")

    @flow.routine(slots=["input"], events=[])
    def noop(input, ctx):
        ctx.data["x"] = input[0]["x"]

    worker = rt.start(flow)
    started = time.monotonic()
    run = worker.map([{"x": i} for i in range(2000)], max_in_flight=50)
    view = MapProgress(run, max_rate_hz=10)
    run.wait(timeout=60)
    wait_until(lambda: view.state.get("done"), timeout=10)
    elapsed = time.monotonic() - started
    # 2000 job ends signalled; the view sent at most one update per 1/10 s (+ the first and last)
    assert view.updates <= elapsed * 10 + 3, (view.updates, elapsed)
    assert view.state["completed"] == 2000
    view.close()


def test_retry_after_done_restarts_the_follower(rt: Runtime, wait_until) -> None:
    gate = threading.Event()
    gate.set()
    failing = {1}
    flow = Flow("retry_map")

    @flow.routine(slots=["input"], events=[])
    def compute(input, ctx):
        if input[0]["x"] in failing:
            raise ValueError("bad")

    run = rt.start(flow).map([{"x": 0}, {"x": 1}]).wait(timeout=30)
    view = map_progress(run)
    wait_until(lambda: view.state.get("done") and view.state["failed"] == 1, timeout=10)
    failing.clear()
    run.retry_failed().wait(timeout=30)
    wait_until(lambda: view.state.get("completed") == 2 and view.state["done"], timeout=10)
    assert view.state["failed"] == 0
    view.close()


def test_the_widget_output_carries_a_static_picture(rt: Runtime) -> None:
    gate = threading.Event()
    gate.set()
    run = rt.start(_gated_flow(gate)).map([{"x": i} for i in range(3)]).wait(timeout=30)
    view = map_progress(run)
    data, _ = view._repr_mimebundle_()
    assert WIDGET in data
    assert data["text/plain"] == f"MapProgress(map_id={run.map_id!r}, 3/3 finished)"
    assert data["text/html"].startswith("<div") and "3/3 finished: 3 completed" in data["text/html"]
    assert "<svg" not in data["text/html"] and "<script" not in data["text/html"]
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(base64.b64encode(data["image/png"])))) as image:
        assert image.width >= 100 and image.height >= 40
    view.close()


def test_without_a_kernel_the_run_shows_text_and_html_with_counts(rt: Runtime) -> None:
    gate = threading.Event()
    gate.set()
    run = rt.start(_gated_flow(gate, frozenset({1}))).map([{"x": 0}, {"x": 1}]).wait(30)
    assert run._repr_mimebundle_() is None and live_bundle(run) is None  # not in a kernel
    html = run._repr_html_()
    assert html == html_for(run)
    assert "2/2 finished: 1 completed, 1 failed" in html
    assert repr(run).endswith("2/2 finished (1 completed, 1 failed))")


jupyter_client = pytest.importorskip("jupyter_client")

KERNEL_SETUP = """
import threading
import routilux_nb as rx
gate = threading.Event()
flow = rx.Flow("kernel_map")

@flow.routine(slots=["input"], events=[])
def compute(input, ctx):
    gate.wait(30)
    ctx.data["y"] = input[0]["x"] * 2

rt = rx.Runtime()
results = rt.start(flow).map([{"x": i} for i in range(5)], max_in_flight=2)
"""


FINAL_STATE = """
import time
from routilux_nb.notebook.widgets.map_progress import map_progress
view, deadline = map_progress(results), time.monotonic() + 20
while not view.state.get("done") and time.monotonic() < deadline:
    time.sleep(0.02)
print(view.state["completed"], view.state["done"])
"""


def _kernel(env_extra: dict[str, str]) -> Any:
    env = {**os.environ, "PYTHONPATH": str(REPO), **env_extra}
    return jupyter_client.manager.start_new_kernel(kernel_name="python3", env=env)


def _execute(kc: Any, code: str) -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] in ("execute_result", "display_data", "stream", "error"):
            outputs.append({"type": msg["msg_type"], **msg["content"]})

    reply = kc.execute_interactive(code, timeout=60, output_hook=hook)
    assert reply["content"]["status"] == "ok", (reply["content"], outputs)
    return outputs


@pytest.mark.timeout(120)
def test_in_a_kernel_the_last_line_shows_the_bar_and_await_waits() -> None:
    km, kc = _kernel({})
    try:
        _execute(kc, KERNEL_SETUP)
        [shown] = [o for o in _execute(kc, "results") if o["type"] == "execute_result"]
        data = shown["data"]
        assert WIDGET in data and "image/png" in data
        assert "0/5 finished" in data["text/html"]
        _execute(kc, "gate.set()")
        [done] = _execute(
            kc, "finished = await results\nprint(finished.counts, finished is results)"
        )
        assert done["text"] == "{'completed': 5} True\n"
        [final] = _execute(kc, FINAL_STATE)
        assert final["text"] == "5 True\n"
        _execute(kc, "rt.shutdown()")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.timeout(120)
def test_in_a_kernel_without_widgets_the_run_shows_counts_as_text_and_html() -> None:
    km, kc = _kernel({})
    try:
        _execute(kc, "import sys; sys.modules['anywidget'] = None")  # the extra is missing
        _execute(kc, KERNEL_SETUP + "gate.set()\nresults.wait(30)")
        [shown] = [o for o in _execute(kc, "results") if o["type"] == "execute_result"]
        data = shown["data"]
        assert WIDGET not in data
        assert "5/5 finished: 5 completed" in data["text/html"]
        assert data["text/plain"].endswith("5/5 finished (5 completed))")
        _execute(kc, "rt.shutdown()")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_rx_map_progress_is_listed_and_is_the_widget_function() -> None:
    import routilux_nb as rx

    assert "map_progress" in dir(rx)
    assert rx.map_progress is map_progress

"""The live dashboard and debugger in a real JupyterLab: render, toggle a breakpoint, resume."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from .conftest import (
    ARTIFACTS_DIR,
    KernelExecuteError,
    kernel_execute,
    open_notebook,
    save_screenshot,
    write_notebook,
)

pytestmark = pytest.mark.browser

SETUP = """import routilux_nb as rx

rt = rx.runtime()
flow = rx.Flow("browser_demo")

@flow.routine(slots=["input"], events=["output"])
def source(input, ctx):
    for v in input[0]["values"]:
        ctx.emit("output", value=v)

@flow.routine(slots=["input"], events=["output"])
def double(input, ctx):
    return [{"value": item["value"] * 2} for item in input]

@flow.routine(slots=["input"], events=[])
def sink(input, ctx):
    ctx.data.setdefault("out", []).extend(item["value"] for item in input)

flow.connect("source.output", "double.input")
flow.connect("double.output", "sink.input")
worker = rt.start(flow)
bp = rt.monitor.add_breakpoint("routine", "double", worker=worker)
job = worker.submit("source", "input", {"values": [1, 2, 3]})
assert job.debug.wait_paused(10)
job"""

DASHBOARD = "board = rx.dashboard(worker)\nboard"
DEBUGGER = "dbg = rx.debugger(job)\ndbg"


def poll(lab: Any, kernel_id: str, code: str, expected: str, timeout: float = 20.0) -> str:
    """Evaluate ``code`` in the kernel until it gives ``expected``; return the last value."""
    deadline = time.monotonic() + timeout
    value = ""
    while time.monotonic() < deadline:
        value = kernel_execute(lab, kernel_id, code)
        if value == expected:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{code!r} gave {value!r}, expected {expected!r} within {timeout} s")


def test_dashboard_renders_and_debugger_resumes(browser_page, jupyter_lab, tmp_path):
    started = time.monotonic()
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1500})  # room for the whole dashboard
    nb_path = write_notebook(tmp_path / "dashboard.ipynb", [SETUP, DASHBOARD, DEBUGGER])
    opened = open_notebook(page, jupyter_lab, nb_path)
    kid = opened.kernel_id

    # The static HTML repr of the paused job, then both live widgets, render.
    page.locator(".jp-OutputArea-output", has_text="Job job-").first.wait_for()
    graph = page.locator(".rnb-flowgraph").first
    graph.wait_for(state="visible")
    nodes = graph.locator("svg .rnb-node")
    nodes.nth(2).wait_for()
    assert sorted(nodes.evaluate_all("ns => ns.map(n => n.dataset.routineId)")) == [
        "double",
        "sink",
        "source",
    ]
    # Live state reached the page: double is paused and carries a breakpoint.
    graph.locator('.rnb-node.rnb-has-bp[data-routine-id="double"]').wait_for()
    standalone = page.locator(".jp-Cell").nth(2).locator(".rnb-debugger")
    standalone.wait_for(state="visible")
    page.wait_for_function(
        "el => el.dataset.status === 'paused'", arg=standalone.element_handle(), timeout=20_000
    )
    assert "paused at routine · double" in standalone.locator(".rnb-d-where").inner_text()
    assert standalone.locator('[data-variable="payload"] textarea').input_value()
    board_debugger = page.locator(".jp-Cell").nth(1).locator(".rnb-debugger")
    board_debugger.wait_for(state="visible")  # the paused job brought its tab forward
    page.wait_for_timeout(300)  # let the gauges and trace settle for the picture
    board_output = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output").first
    board_output.scroll_into_view_if_needed()
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    shot = ARTIFACTS_DIR / "dashboard.png"
    board_output.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    save_screenshot(page, "dashboard-page")

    # Click double's breakpoint dot: the breakpoint goes away on the kernel side.
    graph.locator('[data-bp-toggle="double"]').click()
    poll(jupyter_lab, kid, "len(rt.monitor.breakpoints.list())", "0")
    graph.locator('.rnb-node.rnb-has-bp[data-routine-id="double"]').wait_for(state="detached")

    # Resume from the standalone debugger while the kernel is idle.
    resume = standalone.locator('[data-action="resume"]')
    assert resume.is_enabled()
    resume.click()
    poll(jupyter_lab, kid, "job.status", "'completed'")
    assert kernel_execute(jupyter_lab, kid, "sorted(job.data['out'])") == "[2, 4, 6]"
    page.wait_for_function(
        "el => el.dataset.status === 'completed'", arg=standalone.element_handle(), timeout=20_000
    )
    assert resume.is_disabled()
    save_screenshot(page, "dashboard-resumed")

    # Closing the widgets releases their snapshot streams.
    assert kernel_execute(jupyter_lab, kid, "rt.monitor.ticker.stream_count") == "2"
    kernel_execute(jupyter_lab, kid, "board.close(); dbg.close()")
    assert kernel_execute(jupyter_lab, kid, "rt.monitor.ticker.stream_count") == "0"
    print(f"browser dashboard test took {time.monotonic() - started:.1f} s")


def test_debugger_buttons_while_a_cell_waits(browser_page, jupyter_lab, tmp_path):
    """The Debugger's buttons work while a cell waits for the job with ``await job.wait_async()``.

    The kernel dispatches widget messages while an awaiting cell yields, so Resume clicked
    during the wait releases the job and the same wait returns it ``completed``.
    """
    page = browser_page
    nb_path = write_notebook(tmp_path / "blocked.ipynb", [SETUP, DEBUGGER])
    opened = open_notebook(page, jupyter_lab, nb_path)
    kid = opened.kernel_id
    kernel_execute(jupyter_lab, kid, "rt.monitor.breakpoints.clear()")
    standalone = page.locator(".jp-Cell").nth(1).locator(".rnb-debugger")
    standalone.wait_for(state="visible")
    page.wait_for_function(
        "el => el.dataset.status === 'paused'", arg=standalone.element_handle(), timeout=20_000
    )

    outcome: dict[str, Any] = {}

    def blocked_cell() -> None:
        t0 = time.monotonic()
        try:
            outcome["result"] = kernel_execute(
                jupyter_lab, kid, "(await job.wait_async(20)).status", timeout=60
            )
        except KernelExecuteError as exc:
            outcome["error"] = str(exc).splitlines()[0]
        outcome["seconds"] = time.monotonic() - t0

    thread = threading.Thread(target=blocked_cell)
    thread.start()
    time.sleep(1.0)  # the cell is now waiting in job.wait_async()
    assert jupyter_lab.kernel(kid)["execution_state"] == "busy"
    clicked = time.monotonic()
    standalone.locator('[data-action="resume"]').click()
    thread.join(60)
    assert not thread.is_alive()
    # The click was handled during the wait, which then returned the finished job.
    assert outcome.get("result") == "'completed'", outcome
    assert time.monotonic() - clicked < 10, outcome
    poll(jupyter_lab, kid, "job.status", "'completed'")
    page.wait_for_function(
        "el => el.dataset.status === 'completed'", arg=standalone.element_handle(), timeout=20_000
    )

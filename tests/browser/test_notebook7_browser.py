"""The dashboard and the debugger in Jupyter Notebook 7: render, breakpoint toggle, edit, resume.

Screenshots: test-artifacts/notebook7-dashboard.png, notebook7-debugger.png and
notebook7-resumed.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    ARTIFACTS_DIR,
    kernel_execute,
    open_notebook,
    save_screenshot,
    start_lab,
    write_notebook,
)
from .test_dashboard_browser import DASHBOARD, DEBUGGER, SETUP, poll

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = start_lab(tmp_path_factory.mktemp("notebook7"), app="notebook")
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(300)  # a server of its own, Run All and a 60 s wait at worst
def test_notebook7_dashboard_and_debugger(browser_page: Any, notebook7: Any, tmp_path: Path):
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1500})
    nb_path = write_notebook(tmp_path / "nb7.ipynb", [SETUP, DASHBOARD, DEBUGGER])
    opened = open_notebook(page, notebook7, nb_path)
    kid = opened.kernel_id
    assert "/notebooks/" in page.url  # Notebook 7's page, not JupyterLab's

    cells = page.locator(".jp-Cell")
    graph = cells.nth(1).locator(".rnb-flowgraph")
    graph.wait_for(state="visible")
    nodes = graph.locator("svg .rnb-node")
    nodes.nth(2).wait_for()
    box = graph.locator("svg").first.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 50  # a real picture, not a stub
    graph.locator('.rnb-node.rnb-has-bp[data-routine-id="double"]').wait_for()
    board_debugger = cells.nth(1).locator(".rnb-debugger")
    board_debugger.wait_for(state="visible")  # the paused job brought its tab forward
    standalone = cells.nth(2).locator(".rnb-debugger")
    page.wait_for_function(
        "el => el.dataset.status === 'paused'", arg=standalone.element_handle(), timeout=20_000
    )
    assert "paused at routine · double" in standalone.locator(".rnb-d-where").inner_text()
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    board = cells.nth(1).locator(".jp-OutputArea-output").first
    board.scroll_into_view_if_needed()
    board.screenshot(path=str(ARTIFACTS_DIR / "notebook7-dashboard.png"))
    standalone.screenshot(path=str(ARTIFACTS_DIR / "notebook7-debugger.png"))

    # Breakpoint toggle on the graph reaches the kernel.
    graph.locator('[data-bp-toggle="double"]').click()
    poll(notebook7, kid, "len(rt.monitor.breakpoints.list())", "0")
    graph.locator('.rnb-node.rnb-has-bp[data-routine-id="double"]').wait_for(state="detached")

    # Edit the payload: 499.0 stays a float end to end, and the result replaces the message.
    editor = standalone.locator('[data-variable="payload"] textarea')
    editor.fill('{"input": [{"value": 499.0}]}')
    standalone.locator('[data-action="apply"]').click()
    poll(
        notebook7,
        kid,
        "job.debug.to_dict()['variables']['payload']",
        "{'input': [{'value': 499.0}]}",
    )
    message = standalone.locator(".rnb-d-message")
    page.wait_for_function("el => el.dataset.phase === 'done'", arg=message.element_handle())
    assert message.inner_text() == "set payload: done"
    page.wait_for_function("el => el.value.includes('499.0')", arg=editor.element_handle())
    editor.fill("{")  # invalid: its error shows and the earlier "done" goes away
    standalone.locator('[data-action="apply"]').click()
    assert (
        "Invalid JSON" in standalone.locator('[data-variable="payload"] .rnb-d-error').inner_text()
    )
    assert message.inner_text() == ""

    # Resume from the standalone debugger.
    standalone.locator('[data-action="resume"]').click()
    poll(notebook7, kid, "job.status", "'completed'")
    out = kernel_execute(notebook7, kid, "sorted(job.data['out'])")
    assert "998.0" in out and "2," not in out, out  # the edited payload ran, as a float
    page.wait_for_function(
        "el => el.dataset.status === 'completed'", arg=standalone.element_handle(), timeout=20_000
    )
    assert standalone.locator('[data-action="resume"]').is_disabled()
    save_screenshot(page, "notebook7-resumed")
    kernel_execute(notebook7, kid, "board.close(); dbg.close()")

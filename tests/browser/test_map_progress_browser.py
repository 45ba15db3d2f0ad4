"""A map run's progress bar in a real JupyterLab: drawn as the last line of a cell, it follows
the jobs live (running, then finished) while the kernel is idle."""

from __future__ import annotations

import pytest

from .conftest import kernel_execute, open_notebook, save_screenshot, write_notebook

pytestmark = pytest.mark.browser

SETUP = """import threading
import routilux_nb as rx

rt = rx.runtime()
gate = threading.Event()
flow = rx.Flow("browser_map")

@flow.routine(slots=["input"], events=[])
def compute(input, ctx):
    gate.wait(60)
    if input[0]["x"] == 3:
        raise ValueError("bad x")
    ctx.data["y"] = input[0]["x"] * 2

results = rt.worker_for(flow).map([{"x": i} for i in range(6)], max_in_flight=2)"""


def test_the_progress_bar_follows_the_run(browser_page, jupyter_lab, tmp_path):
    page = browser_page
    nb_path = write_notebook(tmp_path / "map_progress.ipynb", [SETUP, "results"])
    opened = open_notebook(page, jupyter_lab, nb_path)
    view = page.locator(".rnb-map").first
    view.wait_for(state="visible")
    text = view.locator(".rnb-m-text")
    # two jobs run (held by the gate), none finished
    page.wait_for_function(
        "el => el.textContent.includes('2 running')", arg=text.element_handle(), timeout=20_000
    )
    assert text.inner_text().startswith("0/6 finished")
    assert view.locator('.rnb-m-seg[data-status="running"]').count() == 1
    save_screenshot(page, "map_progress_running")

    kernel_execute(jupyter_lab, opened.kernel_id, "gate.set()")
    page.wait_for_function(
        "el => el.textContent.startsWith('6/6 finished')",
        arg=text.element_handle(),
        timeout=30_000,
    )
    assert text.inner_text() == "6/6 finished: 5 completed, 1 failed"
    assert view.locator(".rnb-m-title").inner_text() == "Map map-1 of flow browser_map"
    widths = view.locator(".rnb-m-seg").evaluate_all(
        "segs => segs.map(s => [s.dataset.status, s.getBoundingClientRect().width])"
    )
    assert [status for status, _ in widths] == ["completed", "failed"]
    done, failed = widths[0][1], widths[1][1]
    assert done > 0 and failed > 0 and abs(done / failed - 5) < 0.5  # 5 completed : 1 failed
    save_screenshot(page, "map_progress_done")
    kernel_execute(jupyter_lab, opened.kernel_id, "rt.shutdown()")

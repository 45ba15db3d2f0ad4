"""Smoke test: JupyterLab + ipywidgets in a real browser, end to end."""

from __future__ import annotations

import time

import pytest

from .conftest import kernel_execute, open_notebook, save_screenshot, write_notebook

pytestmark = pytest.mark.browser


def test_lab_runs_notebook_and_widget_round_trip(browser_page, jupyter_lab, tmp_path):
    nb_path = write_notebook(
        tmp_path / "smoke.ipynb",
        [
            "value = 21 * 2\nvalue",
            "import ipywidgets\n"
            "clicks = []\n"
            'button = ipywidgets.Button(description="hello")\n'
            "button.on_click(lambda _b: clicks.append(1))\n"
            "button",
        ],
    )
    page = browser_page

    opened = open_notebook(page, jupyter_lab, nb_path)

    # The first cell's result is rendered, and the widget view appears in the page.
    page.locator(".jp-OutputArea-output", has_text="42").first.wait_for(state="visible")
    button = page.get_by_role("button", name="hello")
    button.wait_for(state="visible", timeout=30_000)
    button.click()

    # The click travels page -> comm -> kernel: the handler has run.
    deadline = time.monotonic() + 20
    while kernel_execute(jupyter_lab, opened.kernel_id, "len(clicks)") != "1":
        assert time.monotonic() < deadline, "button click never reached the kernel"
        time.sleep(0.2)

    # The kernel is alive and holds the notebook's state.
    assert kernel_execute(jupyter_lab, opened.kernel_id, "value") == "42"
    assert kernel_execute(jupyter_lab, opened.kernel_id, "print('alive')") == "alive\n"
    kernel = jupyter_lab.kernel(opened.kernel_id)
    assert kernel["execution_state"] == "idle"

    shot = save_screenshot(page, "lab_smoke")
    assert shot.stat().st_size > 0

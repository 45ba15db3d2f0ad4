"""Pictures wherever a notebook is opened, seen in a real JupyterLab with Chromium.

- first open of a committed notebook, nothing run (untrusted): every widget output and every
  flow shows a picture of real size (the static fallback), no run-on SVG text, no bare repr;
- Run All, save, kernel restart, page reload: no "Error displaying widget: model not found";
  the saved file keeps each widget output's static picture, and the JupyterLab setting the
  package ships (save widget state) lets the reloaded page draw the views' last state.

The JupyterLab here gets the package's shipped settings (``lab-overrides.json``) as its user
settings, so nothing outside the test's folders is touched. Screenshots go to
``test-artifacts/static_*.png``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    REPO_ROOT,
    LabServer,
    open_notebook,
    save_screenshot,
    start_lab,
    wait_kernel_ready,
)

pytestmark = pytest.mark.browser

NOTEBOOKS = REPO_ROOT / "notebooks"
OVERRIDES = REPO_ROOT / "routilux_nb" / "notebook" / "lab-overrides.json"
WIDGET = "application/vnd.jupyter.widget-view+json"
MODEL_NOT_FOUND = "model not found"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    base = tmp_path_factory.mktemp("lab-static")
    for plugin, values in json.loads(OVERRIDES.read_text()).items():
        package, name = plugin.split(":")
        folder = base / "config" / "lab" / "user-settings" / package
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    server = start_lab(base)
    try:
        yield server
    finally:
        server.stop()


def widget_cells(path: Path) -> list[int]:
    nb = json.loads(path.read_text())
    return [
        i
        for i, cell in enumerate(nb["cells"])
        if any(WIDGET in o.get("data", {}) for o in cell.get("outputs", []))
    ]


def widget_html(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    return [
        "".join(o["data"]["text/html"])
        for cell in nb["cells"]
        for o in cell.get("outputs", [])
        if WIDGET in o.get("data", {})
    ]


def pictures(page: Any) -> list[dict[str, float]]:
    """Boxes of the visible images and canvases/SVGs of real size in output areas."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
                '.jp-OutputArea-output img, .jp-OutputArea-output svg, .jp-OutputArea-output canvas')]
            .map(e => e.getBoundingClientRect())
            .filter(r => r.width >= 80 && r.height >= 30)
            .map(r => ({width: r.width, height: r.height}))"""
    )


def scroll_through(page: Any) -> None:
    """JupyterLab renders cells lazily: scroll the whole notebook once."""
    page.evaluate(
        """async () => {
            const nb = document.querySelector('.jp-WindowedPanel-outer') ||
                       document.querySelector('.jp-NotebookPanel-notebook');
            for (let y = 0; y <= nb.scrollHeight; y += 400) {
                nb.scrollTop = y; await new Promise(r => setTimeout(r, 60));
            }
        }"""
    )


def reveal(page: Any, selector: str) -> None:
    """Scroll from the top until an element matching ``selector`` is drawn (cells render lazily)."""
    found = page.evaluate(
        """async (selector) => {
            const nb = document.querySelector('.jp-WindowedPanel-outer') ||
                       document.querySelector('.jp-NotebookPanel-notebook');
            for (let y = 0; y <= nb.scrollHeight; y += 300) {
                nb.scrollTop = y; await new Promise(r => setTimeout(r, 80));
                const el = document.querySelector(selector);
                if (el && el.getBoundingClientRect().height > 0) { el.scrollIntoView(); return true; }
            }
            return false;
        }""",
        selector,
    )
    assert found, f"nothing matches {selector}"


def output_text(page: Any) -> str:
    return "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())


@pytest.mark.parametrize(
    "name",
    [
        "01_quickstart.ipynb",
        "02_flows_and_dsl.ipynb",
        "03_debugging.ipynb",
        "06_backpressure_and_workers.ipynb",
    ],
)
def test_first_open_of_a_committed_notebook_shows_pictures(browser_page, lab, name):
    page = browser_page
    path = NOTEBOOKS / name
    open_notebook(page, lab, path, run=False)
    page.locator(".jp-OutputArea-output").first.wait_for(state="visible")
    scroll_through(page)
    text = output_text(page)
    assert MODEL_NOT_FOUND not in text and "Error displaying widget" not in text
    assert "Dashboard(flow_id=" not in text and "Debugger(job_id=" not in text
    assert "→" not in text, "an SVG was stripped to run-on text"
    # every drawing committed (flows; graphs of widget outputs) shows as an image of real size
    committed = json.dumps(json.loads(path.read_text()))
    expected = committed.count("data:image/svg+xml;base64,") + sum(
        html.count("<img ") for html in widget_html(path)
    )
    assert len(pictures(page)) >= expected, (len(pictures(page)), expected)
    if name.startswith("03"):
        debugger = page.locator(".jp-OutputArea-output").filter(has_text="Debugger: job").first
        debugger.scroll_into_view_if_needed()
        shown = debugger.text_content() or ""
        assert "paused" in shown and "add_tax" in shown and "499.0" in shown
        assert debugger.bounding_box()["height"] >= 80
    elif name.startswith("01"):
        board = page.locator(".jp-OutputArea-output").filter(has_text="Jobs (").first
        board.scroll_into_view_if_needed()
        assert board.locator("img").first.bounding_box()["width"] >= 300
    elif name.startswith("02"):
        reveal(page, "img[alt='flow graph']")
    else:
        gauges = page.locator(".jp-OutputArea-output").filter(has_text="Queues (").first
        gauges.scroll_into_view_if_needed()
        assert "ingest.input" in (gauges.text_content() or "")
    save_screenshot(page, f"static_first_open_{name[:2]}")


def wait_saved(path: Path, predicate: Any, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            nb = json.loads(path.read_text())
            if predicate(nb):
                return nb
        except (OSError, ValueError):
            pass
        assert time.monotonic() < deadline, f"{path.name} was not saved as expected"
        time.sleep(0.2)


def test_restart_and_reload_shows_the_last_state_not_model_not_found(browser_page, lab):
    page = browser_page
    opened = open_notebook(page, lab, NOTEBOOKS / "01_quickstart.ipynb")
    page.locator(".jp-OutputArea-output .lm-TabBar-tab").first.wait_for(state="visible")
    saved_path = lab.root_dir / opened.path
    before = saved_path.stat().st_mtime_ns
    page.locator(".jp-NotebookPanel .jp-Notebook").first.click()
    page.keyboard.press("Control+s")
    saved = wait_saved(saved_path, lambda nb: saved_path.stat().st_mtime_ns != before)
    # the saved file keeps each widget output's static picture, and the widget state
    outputs = [
        o["data"]
        for c in saved["cells"]
        for o in c.get("outputs", [])
        if WIDGET in o.get("data", {})
    ]
    assert outputs and all("image/png" in d and "text/html" in d for d in outputs)
    assert saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]

    lab.api("POST", f"/api/kernels/{opened.kernel_id}/restart")
    page.reload()
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(state="visible")
    wait_kernel_ready(lab, opened.path)
    # the dashboard is drawn again from the saved state: its tabs and graph are back
    page.locator(".jp-OutputArea-output .lm-TabBar-tab", has_text="Jobs").first.wait_for(
        state="visible", timeout=30_000
    )
    scroll_through(page)
    text = output_text(page)
    assert MODEL_NOT_FOUND not in text and "Error displaying widget" not in text
    assert len(pictures(page)) >= 2  # the flow drawing and the dashboard's graph
    page.locator(
        ".jp-OutputArea-output .lm-TabBar-tab", has_text="Jobs"
    ).first.scroll_into_view_if_needed()
    save_screenshot(page, "static_restart_reload_01")


@pytest.mark.parametrize("name", ["01_quickstart.ipynb", "03_debugging.ipynb"])
def test_nbconvert_html_shows_the_pictures_in_a_browser_offline(browser_page, tmp_path, name):
    """``jupyter nbconvert --to html`` output, opened with every network request refused."""
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_filename(str(NOTEBOOKS / name))
    page_path = tmp_path / f"{Path(name).stem}.html"
    page_path.write_text(html, encoding="utf-8")
    page = browser_page
    refused: list[str] = []

    def offline(route: Any) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    shown = page.evaluate(
        """() => [...document.images].filter(i => i.complete && i.naturalWidth > 0)
            .map(i => i.getBoundingClientRect()).filter(r => r.width >= 80 && r.height >= 30).length"""
    )
    expected = sum(h.count("<img ") for h in widget_html(NOTEBOOKS / name)) + html.count(
        'src="data:image/svg+xml;base64,'
    )
    assert shown >= expected, (shown, expected)
    body = page.inner_text("body")
    assert "Dashboard(flow_id=" not in body and "Debugger(job_id=" not in body
    if name.startswith("03"):
        card = page.locator(".jp-OutputArea-output").filter(has_text="Debugger: job").first
        card.scroll_into_view_if_needed()
        assert "paused" in (card.text_content() or "")
    else:
        page.locator("img[alt='Flow words']").first.scroll_into_view_if_needed()
    save_screenshot(page, f"static_nbconvert_{name[:2]}")

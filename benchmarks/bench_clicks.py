"""Click -> effect while a cell blocks in ``job.wait()``: ``python benchmarks/bench_clicks.py``.

Real JupyterLab, real Chromium (/usr/bin/chromium). For each path, one server and one
notebook whose last cell submits ``--clicks`` jobs one after another, each stopping at a
breakpoint, and blocks in a plain ``job.wait()`` for each. The page clicks Resume in the
dashboard while the cell waits and measures (``performance.now()``) the time from the click
to the cell printing the job's ``completed`` status. Prints min/median/max per path:

- subshell: ``commsOverSubshells: perCommTarget``, loopback endpoint off (comm only);
- fallback: ``commsOverSubshells: disabled`` (the loopback click endpoint).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    open_notebook,
    start_lab,
    write_notebook,
)

SETUP = """import routilux_nb as rx
rt = rx.runtime()
flow = rx.Flow("bench_clicks")

@flow.routine(slots=["input"], events=[])
def only(input, ctx):
    return None

worker = rt.start(flow)
bp = rt.monitor.add_breakpoint("routine", "only", worker=worker)
board = rx.dashboard(worker)
board"""

LOOP = """for i in range({n}):
    job = worker.submit("only", "input", {{"i": i}})
    assert job.debug.wait_paused(10)
    print("WAITING", i, flush=True)
    print("DONE", i, job.wait(timeout=60).status, flush=True)"""

PROBE = """([button, cell, i]) => {
  const probe = { clicked: null, done: null };
  window.__probe = probe;
  button.addEventListener("click", () => { probe.clicked = performance.now(); },
                          { capture: true, once: true });
  const observer = new MutationObserver(() => {
    const text = cell.querySelector(".jp-OutputArea")?.textContent || "";
    if (probe.clicked !== null && text.includes(`DONE ${i} completed`)) {
      probe.done = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(cell, { subtree: true, childList: true, characterData: true });
}"""

KERNELS = "@jupyterlab/apputils-extension:kernels-settings"
PATHS = {
    "subshell": (
        {KERNELS: {"commsOverSubshells": "perCommTarget"}},
        {"ROUTILUX_NB_DIRECT_CLICKS": "0"},
    ),
    "fallback": ({KERNELS: {"commsOverSubshells": "disabled"}}, {}),
}


def measure(browser, name: str, clicks: int) -> list[float]:
    settings, env = PATHS[name]
    base = Path(tempfile.mkdtemp(prefix=f"bench-clicks-{name}-"))
    lab = start_lab(base, settings=settings, extra_env=env)
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        nb = write_notebook(base / "clicks.ipynb", [SETUP, LOOP.format(n=clicks)])
        open_notebook(page, lab, nb, run=True, wait=False)
        cells = page.locator(".jp-Cell")
        times = []
        for i in range(clicks):
            page.wait_for_function(
                "([cell, i]) => (cell.querySelector('.jp-OutputArea')?.textContent || '')"
                ".includes(`WAITING ${i}`)",
                arg=[cells.nth(1).element_handle(), i],
            )
            resume = cells.nth(0).locator('.rnb-debugger [data-action="resume"]')
            page.wait_for_function(
                "el => el.dataset.status === 'paused'",
                arg=cells.nth(0).locator(".rnb-debugger").element_handle(),
            )
            time.sleep(0.5)  # well inside job.wait()
            page.evaluate(PROBE, [resume.element_handle(), cells.nth(1).element_handle(), i])
            resume.click()
            page.wait_for_function("window.__probe.done !== null")
            probe = page.evaluate("window.__probe")
            times.append((probe["done"] - probe["clicked"]) / 1000)
        return times
    finally:
        context.close()
        lab.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for name in PATHS:
                t = measure(browser, name, args.clicks)
                print(
                    f"click->completed during job.wait() [{name}], {len(t)} clicks: "
                    f"min {min(t):.3f} s  median {statistics.median(t):.3f} s  max {max(t):.3f} s"
                )
        finally:
            browser.close()


if __name__ == "__main__":
    main()

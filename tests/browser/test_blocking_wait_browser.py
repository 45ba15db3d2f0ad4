"""A click on Resume during a plain, synchronous ``job.wait()`` in a cell resumes the job.

Three frontends/settings, each with its own server and private settings folder:

- ``subshell``: JupyterLab with ``commsOverSubshells: perCommTarget`` (the default) and the
  loopback click endpoint turned off, so only the comm on a kernel subshell can deliver.
- ``fallback``: JupyterLab with ``commsOverSubshells: disabled``: the comm waits behind the
  blocked cell and the click goes through the kernel's loopback click endpoint.
- ``proxied``: as ``fallback``, with ``JUPYTERHUB_SERVICE_PREFIX=/`` so the click goes the
  JupyterHub/Binder way: same origin, through jupyter-server-proxy (``/proxy/{port}/``).
- ``notebook7``: Jupyter Notebook 7 with its defaults.

The page measures click -> "completed" printed by the waiting cell (``performance.now()``);
the figures are printed and written to ``test-artifacts/click_timings.txt``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    ARTIFACTS_DIR,
    capture_kernel_messages,
    open_notebook,
    run_all,
    save_screenshot,
    start_lab,
    write_notebook,
)

pytestmark = pytest.mark.browser

SETUP = """import routilux_nb as rx

rt = rx.runtime()
flow = rx.Flow("blocking_wait")

@flow.routine(slots=["input"], events=["output"])
def source(input, ctx):
    for v in input[0]["values"]:
        ctx.emit("output", value=v)

@flow.routine(slots=["input"], events=[])
def sink(input, ctx):
    ctx.data.setdefault("out", []).extend(item["value"] for item in input)

flow.connect("source.output", "sink.input")
worker = rt.start(flow)
bp = rt.monitor.add_breakpoint("routine", "source", worker=worker)
job = worker.submit("source", "input", {"values": [1, 2, 3]})
assert job.debug.wait_paused(10)"""

DASHBOARD = "board = rx.dashboard(worker)\nboard"

WAIT = """import time
t0 = time.monotonic()
try:
    result = job.wait(timeout=60).status
except Exception as exc:
    result = f"{type(exc).__name__}: {exc}"
print("WAIT-RESULT", result, f"after {time.monotonic() - t0:.2f} s")"""

KERNELS = "@jupyterlab/apputils-extension:kernels-settings"
CASES = {
    "subshell": dict(
        settings={KERNELS: {"commsOverSubshells": "perCommTarget"}},
        extra_env={"ROUTILUX_NB_DIRECT_CLICKS": "0"},
        via="comm",
    ),
    "fallback": dict(settings={KERNELS: {"commsOverSubshells": "disabled"}}, via="http"),
    "proxied": dict(
        settings={KERNELS: {"commsOverSubshells": "disabled"}},
        extra_env={"JUPYTERHUB_SERVICE_PREFIX": "/"},
        via="http",
    ),
    "notebook7": dict(app="notebook", via=None),
}

MEASURE = """([button, cell]) => {
  const probe = { clicked: null, done: null };
  window.__rnbProbe = probe;
  button.addEventListener("click", () => { probe.clicked = performance.now(); },
                          { capture: true, once: true });
  const check = () => {
    if (probe.done === null && probe.clicked !== null
        && (cell.querySelector(".jp-OutputArea")?.textContent || "").includes("WAIT-RESULT")) {
      probe.done = performance.now();
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(cell, { subtree: true, childList: true, characterData: true });
}"""


def record(line: str) -> None:
    print(line)
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    with open(ARTIFACTS_DIR / "click_timings.txt", "a", encoding="utf-8") as out:
        out.write(line + "\n")


def wait_for_blocked_cell(page: Any, cells: Any, timeout_s: float = 90.0) -> None:
    """Wait until cell 2's debugger shows the paused job and cell 3 is running.

    Run All can be dropped by a page that just connected: if cell 1 never starts, run again.
    """
    deadline = time.monotonic() + timeout_s
    retried = False
    debugger = cells.nth(1).locator(".rnb-debugger")
    while time.monotonic() < deadline:
        if debugger.count() and debugger.first.get_attribute("data-status") == "paused":
            if "*" in cells.nth(2).locator(".jp-InputPrompt").first.inner_text():
                return
        started = "[ ]" not in cells.nth(0).locator(".jp-InputPrompt").first.inner_text()
        if not started and not retried and time.monotonic() > deadline - timeout_s + 15:
            run_all(page)
            retried = True
        time.sleep(0.2)
    raise AssertionError("the dashboard never showed the paused job with the wait cell running")


@pytest.mark.timeout(300)  # a server of its own, Run All and a 60 s wait at worst
@pytest.mark.parametrize("case", list(CASES))
def test_resume_click_during_a_synchronous_wait(case: str, browser_page: Any, tmp_path: Path):
    spec = CASES[case]
    lab = start_lab(
        tmp_path / "server",
        settings=spec.get("settings"),
        app=spec.get("app", "lab"),
        extra_env=spec.get("extra_env"),
    )
    page = browser_page
    try:
        messages = capture_kernel_messages(page)
        posts: list[str] = []
        page.on(
            "request",
            lambda r: (
                posts.append(r.url) if r.method == "POST" and "/routilux/click" in r.url else None
            ),
        )
        nb_path = write_notebook(tmp_path / "wait.ipynb", [SETUP, DASHBOARD, WAIT])
        open_notebook(page, lab, nb_path, run=True, wait=False)
        cells = page.locator(".jp-Cell")
        wait_for_blocked_cell(page, cells)
        time.sleep(1.0)  # the cell is now well inside job.wait()
        assert "WAIT-RESULT" not in cells.nth(2).locator(".jp-OutputArea").inner_text()

        resume = cells.nth(1).locator('.rnb-debugger [data-action="resume"]')
        assert resume.is_enabled()
        page.evaluate(MEASURE, [resume.element_handle(), cells.nth(2).element_handle()])
        resume.click()
        page.wait_for_function("window.__rnbProbe.done !== null", timeout=90_000)
        probe = page.evaluate("window.__rnbProbe")
        seconds = (probe["done"] - probe["clicked"]) / 1000
        output = cells.nth(2).locator(".jp-OutputArea").inner_text()
        # Handled during the wait: the same wait returned the finished job (no timeout).
        assert "WAIT-RESULT completed" in output, output
        message = cells.nth(1).locator(".rnb-debugger .rnb-d-message")
        message.wait_for(state="attached")
        page.wait_for_function(
            "el => el.dataset.phase === 'done' || el.dataset.phase === 'kernel'",
            arg=message.element_handle(),
        )
        via = message.get_attribute("data-via")
        if spec["via"] is not None:
            assert via == spec["via"], (via, message.inner_text())

        # The kernel said it has subshells; the click's comm_msg carried a subshell id
        # exactly when the frontend sends comms over subshells.
        infos = [m for m in messages if m["header"].get("msg_type") == "kernel_info_reply"]
        assert infos and all(
            "kernel subshells" in m["content"].get("supported_features", []) for m in infos
        )
        clicks = [
            m
            for m in messages
            if m["direction"] == "sent"
            and m["header"].get("msg_type") == "comm_msg"
            and (m["content"].get("data") or {}).get("content", {}).get("action") == "resume"
        ]
        assert len(clicks) == 1, clicks
        subshell_id = clicks[0]["header"].get("subshell_id")
        if case in ("fallback", "proxied"):
            assert subshell_id is None
        else:
            assert subshell_id, clicks[0]["header"]
        if case == "proxied":
            assert posts and all(url.startswith(f"{lab.url}proxy/") for url in posts), posts
        elif case == "fallback":
            assert posts and all(url.startswith("http://127.0.0.1:") for url in posts), posts
            assert not any("/proxy/" in url for url in posts), posts
        page.wait_for_function(  # the dashboard's debugger shows the job's end
            "el => el.dataset.status === 'completed'",
            arg=cells.nth(1).locator(".rnb-debugger").element_handle(),
            timeout=30_000,
        )
        shot = save_screenshot(page, f"blocking-wait-{case}")
        record(
            f"click->completed during a synchronous job.wait() [{case}]: {seconds:.3f} s "
            f"(delivered via {via} {posts[0] if posts else ''}; comm subshell_id={subshell_id}; "
            f"screenshot {shot.name})"
        )
    finally:
        lab.stop()

""" "Fork from here" in a real JupyterLab: a failed step is forked from the trace table with
edited JSON, the new job completes with the edited value and the job list links it."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from .conftest import kernel_execute, open_notebook, save_screenshot, write_notebook

pytestmark = pytest.mark.browser

SETUP = """import routilux_nb as rx

rt = rx.runtime()  # records steps
flow = rx.Flow("fork_demo")

@flow.routine(slots=["input"], events=["output"])
def source(input, ctx):
    return [{"x": item["x"]} for item in input]

@flow.routine(slots=["input"], events=["output"])
def scale(input, ctx):
    for item in input:
        if item["x"] < 0:
            raise ValueError(f"negative x: {item['x']}")
    return [{"x": item["x"] * ctx.data.get("factor", 10)} for item in input]

@flow.routine(slots=["input"], events=[])
def sink(input, ctx):
    ctx.data.setdefault("out", []).extend(item["x"] for item in input)

flow.connect("source.output", "scale.input")
flow.connect("scale.output", "sink.input")
worker = rt.start(flow)
job = worker.submit({"x": -2}).wait(10)
assert job.status == "failed", job.status
job.status"""

DASHBOARD = "board = rx.dashboard(worker)\nboard"

FORKS = "[j for j in rt.jobs() if j.metadata.get('forked_from') == job.job_id]"


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


def test_fork_from_a_failed_step_in_the_trace_table(browser_page, jupyter_lab, tmp_path):
    started = time.monotonic()
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1600})
    nb_path = write_notebook(tmp_path / "fork.ipynb", [SETUP, DASHBOARD])
    opened = open_notebook(page, jupyter_lab, nb_path)
    kid = opened.kernel_id
    job_id = json.loads(
        kernel_execute(jupyter_lab, kid, "import json; print(json.dumps(job.job_id))")
    )
    failed_step = kernel_execute(jupyter_lab, kid, "print(job.step().step)").strip()

    board = page.locator(".jp-Cell").nth(1)
    board.locator(".lm-TabBar-tab", has_text="Trace").first.click()
    table = board.locator(".rnb-trace")
    table.wait_for(state="visible")
    page.wait_for_function("el => el.dataset.fork === 'on'", arg=table.element_handle())
    # The failed row of scale: its routine_end, status error.
    failed_row = table.locator('tr[data-routine="scale"][data-event-type="routine_end"]')
    failed_row.wait_for()
    assert failed_row.get_attribute("data-status") == "error"
    assert table.locator('tr[data-event-type="slot_call"] [data-action="fork-open"]').count() == 0
    failed_row.locator('[data-action="fork-open"]').click()

    editor = table.locator(".rnb-fork")
    editor.wait_for(state="visible")
    title = editor.locator(".rnb-fork-title")
    page.wait_for_function(
        "el => el.textContent.includes('from step')", arg=title.element_handle(), timeout=20_000
    )
    assert f"Fork job {job_id} from step {failed_step} (scale" in title.inner_text()
    inputs = editor.locator('textarea[data-fork="inputs"]')
    data = editor.locator('textarea[data-fork="data"]')
    assert json.loads(inputs.input_value()) == {"input": [{"x": -2}]}
    assert json.loads(data.input_value()) == {}
    fork_btn = editor.locator('[data-action="fork"]')

    # Invalid JSON is caught in the browser: the Fork button is disabled, the error shown.
    data.fill('{"factor": 3')
    assert fork_btn.is_disabled()
    assert "Invalid JSON in data" in editor.locator(".rnb-fork-error").nth(1).inner_text()
    # Valid JSON of the wrong shape is refused by Python, which says why in the widget.
    data.fill('{"factor": 3}')
    inputs.fill('{"nope": [{"x": 4}]}')
    assert fork_btn.is_enabled()
    fork_btn.click()
    status = editor.locator(".rnb-fork-status")
    page.wait_for_function(
        "el => el.dataset.phase === 'invalid'", arg=status.element_handle(), timeout=20_000
    )
    assert "routine 'scale' has no slot 'nope'; its slots: input" in status.inner_text()
    assert kernel_execute(jupyter_lab, kid, f"len({FORKS})") == "0"

    # The edited step forks: the new job completes with the edited values.
    inputs.fill('{"input": [{"x": 4}]}')
    fork_btn.dblclick()  # an impatient double click starts one job
    page.wait_for_function(
        "el => el.dataset.phase === 'started'", arg=status.element_handle(), timeout=20_000
    )
    assert f"forked from {job_id} at step {failed_step}" in status.inner_text()
    poll(jupyter_lab, kid, f"len({FORKS})", "1")
    poll(jupyter_lab, kid, f"{FORKS}[0].wait(10).status", "'completed'")
    fork = json.loads(
        kernel_execute(
            jupyter_lab,
            kid,
            f"f = {FORKS}[0]\nprint(json.dumps({{'id': f.job_id, 'data': f.data, "
            "'step': f.metadata['forked_step'], 'routines': list(f.steps.routine)}))",
        )
    )
    assert kernel_execute(jupyter_lab, kid, f"len({FORKS})") == "1"
    assert fork["data"] == {"factor": 3, "out": [12]}
    assert str(fork["step"]) == failed_step
    assert fork["routines"] == ["scale", "sink"]  # the source did not run again
    assert fork["id"] in status.inner_text()
    save_screenshot(page, "fork-trace-editor")

    # The job list shows the new job linked to its origin.
    board.locator(".lm-TabBar-tab", has_text="Jobs").first.click()
    line = board.locator(f'.rnb-j-line[data-job-id="{fork["id"]}"]')
    line.wait_for(state="visible", timeout=20_000)
    lineage = line.locator(".rnb-j-fork")
    lineage.wait_for()
    assert lineage.inner_text() == f"↳ forked from {job_id} at step {failed_step}"
    origin_line = board.locator(f'.rnb-j-line[data-job-id="{job_id}"]')
    assert origin_line.locator(".rnb-j-fork").count() == 0
    lineage.locator("a.rnb-j-origin").click()
    page.wait_for_function(
        "el => el.classList.contains('rnb-j-flash')", arg=origin_line.element_handle()
    )
    save_screenshot(page, "fork-job-list")
    print(f"browser fork test took {time.monotonic() - started:.1f} s")


PARKED = """bp = rt.monitor.add_breakpoint("routine", "scale", condition="x > 100", worker=worker)
held = worker.submit({"x": 500})
assert held.debug.wait_paused(10)
dbg = rx.debugger(held)
dbg"""


def test_fork_from_the_parked_activation_in_the_debugger(browser_page, jupyter_lab, tmp_path):
    """The debugger's "Fork from here" starts a job from the activation parked at a
    breakpoint, with edited inputs; the parked job is left as it was."""
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1400})
    nb_path = write_notebook(tmp_path / "fork-debugger.ipynb", [SETUP, PARKED])
    opened = open_notebook(page, jupyter_lab, nb_path)
    kid = opened.kernel_id
    debugger = page.locator(".jp-Cell").nth(1).locator(".rnb-debugger")
    debugger.wait_for(state="visible")
    page.wait_for_function(
        "el => el.dataset.status === 'paused'", arg=debugger.element_handle(), timeout=20_000
    )
    opener = debugger.locator('[data-action="fork-open"]')
    page.wait_for_function("el => !el.disabled", arg=opener.element_handle(), timeout=20_000)
    opener.click()
    editor = debugger.locator(".rnb-fork")
    editor.wait_for(state="visible")
    title = editor.locator(".rnb-fork-title")
    page.wait_for_function(
        "el => el.textContent.includes('parked')", arg=title.element_handle(), timeout=20_000
    )
    assert "(scale" in title.inner_text()
    inputs = editor.locator('textarea[data-fork="inputs"]')
    assert json.loads(inputs.input_value()) == {"input": [{"x": 500}]}
    inputs.fill('{"input": [{"x": 7}]}')
    editor.locator('textarea[data-fork="data"]').fill('{"factor": 2}')
    editor.locator('[data-action="fork"]').click()
    status = editor.locator(".rnb-fork-status")
    page.wait_for_function(
        "el => el.dataset.phase === 'started'", arg=status.element_handle(), timeout=20_000
    )
    forks = "[j for j in rt.jobs() if j.metadata.get('forked_from') == held.job_id]"
    poll(jupyter_lab, kid, f"len({forks})", "1")
    poll(jupyter_lab, kid, f"{forks}[0].wait(10).status", "'completed'")
    assert kernel_execute(jupyter_lab, kid, f"{forks}[0].data") == "{'factor': 2, 'out': [14]}"
    assert kernel_execute(jupyter_lab, kid, "held.status") == "'paused'"  # left as it was
    save_screenshot(page, "fork-debugger")
    kernel_execute(jupyter_lab, kid, "held.debug.resume()")
    assert kernel_execute(jupyter_lab, kid, "held.wait(10).data") == "{'out': [5000]}"


WAIT_FOR_FORK = """import time
deadline = time.monotonic() + 40
found = []
while not found and time.monotonic() < deadline:
    found = [j for j in rt.jobs() if j.metadata.get('forked_from') == job.job_id]
    time.sleep(0.05)
print(bool(found))"""


def test_fork_from_here_works_while_a_cell_blocks(browser_page, jupyter_lab, tmp_path):
    """Open the editor and fork while another cell holds the kernel's main shell: the cell
    waits for the fork to exist, so it ends early (True) only if the clicks were handled."""
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 1600})
    nb_path = write_notebook(tmp_path / "fork-blocked.ipynb", [SETUP, DASHBOARD])
    opened = open_notebook(page, jupyter_lab, nb_path)
    kid = opened.kernel_id
    board = page.locator(".jp-Cell").nth(1)
    board.locator(".lm-TabBar-tab", has_text="Trace").first.click()
    table = board.locator(".rnb-trace")
    table.wait_for(state="visible")
    row = table.locator('tr[data-routine="scale"][data-event-type="routine_end"]')
    row.wait_for()

    outcome: dict[str, str] = {}
    thread = threading.Thread(
        target=lambda: outcome.update(
            printed=kernel_execute(jupyter_lab, kid, WAIT_FOR_FORK, timeout=90)
        )
    )
    thread.start()
    deadline = time.monotonic() + 20
    while jupyter_lab.kernel(kid)["execution_state"] != "busy":
        assert time.monotonic() < deadline, "the waiting cell did not start"
        time.sleep(0.05)
    row.locator('[data-action="fork-open"]').click()
    editor = table.locator(".rnb-fork")
    inputs = editor.locator('textarea[data-fork="inputs"]')
    page.wait_for_function(
        "el => el.value.includes('-2')", arg=inputs.element_handle(), timeout=30_000
    )
    inputs.fill('{"input": [{"x": 6}]}')
    editor.locator('[data-action="fork"]').click()
    thread.join(120)
    assert not thread.is_alive()
    assert outcome.get("printed") == "True\n", outcome  # the fork happened during the wait
    poll(jupyter_lab, kid, f"{FORKS}[0].wait(10).data", "{'out': [60]}")
    status = editor.locator(".rnb-fork-status")
    page.wait_for_function(
        "el => el.dataset.phase === 'started'", arg=status.element_handle(), timeout=20_000
    )

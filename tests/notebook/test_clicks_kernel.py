"""A real ipykernel, no browser: a widget click sent on a subshell while a cell blocks.

This is what JupyterLab does with ``commsOverSubshells: perCommTarget``: the click's
``comm_msg`` carries the ``subshell_id`` of a subshell it created, while the main shell runs
a cell blocked in ``job.wait()``. The handler must run on the subshell's thread and the wait
must return ``completed``.
"""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

REPO = Path(__file__).resolve().parents[2]

SETUP = """import threading
import routilux_nb as rx
rt = rx.runtime()
flow = rx.Flow("kernel_clicks")

@flow.routine(slots=["input"], events=[])
def only(input, ctx):
    return None

worker = rt.start(flow)
rt.monitor.add_breakpoint("routine", "only", worker=worker)
job = worker.submit("only", "input", {"x": 1})
assert job.debug.wait_paused(10)
dbg = rx.debugger(job)
handled_on = []
dbg.on_action(lambda action, job_id: handled_on.append(threading.current_thread().name))
deadline = __import__("time").monotonic() + 10
while not dbg.paused and __import__("time").monotonic() < deadline:
    __import__("time").sleep(0.05)
print("COMM", dbg.comm.comm_id, dbg.paused)"""

WAIT = """t0 = time.monotonic()
try:
    result = job.wait(timeout=30).status
except Exception as exc:
    result = type(exc).__name__
t1 = time.monotonic()
while result == "completed" and not handled_on and time.monotonic() < t1 + 10:
    time.sleep(0.01)  # the recording callback runs just after the one that resumed the job
print("WAIT", result, handled_on)"""


@pytest.fixture
def kernel() -> Any:
    env = {**os.environ, "PYTHONPATH": str(REPO), "ROUTILUX_NB_DIRECT_CLICKS": "0"}
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", env=env)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def run(kc: Any, code: str) -> str:
    out: list[str] = []
    reply = kc.execute_interactive(
        code,
        timeout=60,
        output_hook=lambda m: (
            out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None
        ),
    )
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(out)


@pytest.mark.timeout(120)
def test_click_on_a_subshell_runs_while_the_main_shell_waits(kernel):
    kc = kernel
    info = kc.kernel_info(reply=True, timeout=30)["content"]
    if "kernel subshells" not in info.get("supported_features", []):
        pytest.skip("this ipykernel has no subshells")
    run(kc, "import time")
    comm_id = run(kc, SETUP).split("COMM ", 1)[1].split()[0]

    request = kc.session.msg("create_subshell_request", {})
    kc.control_channel.send(request)
    subshell_id = kc.control_channel.get_msg(timeout=30)["content"]["subshell_id"]

    wait_id = kc.execute(WAIT)
    # Wait until the cell runs (its execute_input is published), then a bit more.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=30)
        if msg["msg_type"] == "execute_input" and msg["parent_header"]["msg_id"] == wait_id:
            break
    time.sleep(1.0)

    click = kc.session.msg(
        "comm_msg",
        {
            "comm_id": comm_id,
            "data": {
                "method": "custom",
                "content": {"type": "action", "action": "resume", "id": "k-1"},
            },
        },
    )
    click["header"]["subshell_id"] = subshell_id
    sent = time.monotonic()
    kc.shell_channel.send(click)

    text = ""
    while "WAIT" not in text or not text.endswith("\n"):  # a print may arrive in pieces
        try:
            msg = kc.get_iopub_msg(timeout=45)
        except queue.Empty:
            pytest.fail("the blocked cell never printed its result")
        if msg["msg_type"] == "stream" and msg["parent_header"].get("msg_id") == wait_id:
            text += msg["content"]["text"]
    seconds = time.monotonic() - sent
    assert "WAIT completed" in text, text  # not JobWaitTimeout: handled during the wait
    assert f"subshell-{subshell_id}" in text  # the handler ran on the subshell's thread
    print(f"kernel-level click -> completed on a subshell: {seconds:.3f} s")

"""``print()`` inside routines is captured per job; everything else prints as usual."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from routilux_nb import Flow, Runtime
from routilux_nb.monitor import Monitor

WAIT = 2.0


def talker_flow(barrier: threading.Barrier, lines: int) -> Flow:
    flow = Flow("talk")

    @flow.routine(slots=["input"], events=[])
    def talk(input, ctx):
        tag = input[0]["tag"]
        barrier.wait(0.5)  # both jobs print at the same time
        for i in range(lines):
            print(f"{tag} line {i}")

    return flow


def test_print_in_routines_goes_to_the_job_not_to_stdout(rt, chain, capsys):
    c = chain()
    job = rt.submit(c.flow, data={"value": 1, "lines": ["hello from source", "second line"]}).wait(
        WAIT
    )
    assert job.status == "completed"
    assert job.output() == "hello from source\nsecond line\n"
    captured = capsys.readouterr()
    assert "hello from source" not in captured.out
    assert "second line" not in captured.out
    assert "hello from source" not in captured.err


def test_print_outside_routines_still_reaches_stdout(rt, chain, capsys):
    c = chain()
    rt.submit(c.flow, data={"value": 1, "lines": ["inside"]}).wait(WAIT)
    # the router is installed now; the test's own prints are untouched
    print("outside the flow")
    print("to stderr", file=sys.stderr)
    captured = capsys.readouterr()
    assert "outside the flow" in captured.out
    assert "to stderr" in captured.err
    assert "inside" not in captured.out


def test_stderr_in_routines_is_captured_too(rt, capsys):
    flow = Flow("err")

    @flow.routine(slots=["input"], events=[])
    def warn(input):
        print("warning: odd input", file=sys.stderr)
        sys.stdout.write("raw write\n")

    job = rt.submit(flow, data={}).wait(WAIT)
    assert "warning: odd input\n" in job.output()
    assert "raw write\n" in job.output()
    captured = capsys.readouterr()
    assert "odd input" not in captured.err
    assert "raw write" not in captured.out


def test_concurrent_jobs_never_mix_output(rt, capsys):
    barrier = threading.Barrier(2)
    flow = talker_flow(barrier, 200)
    w = rt.start(flow)
    w.pause()  # both jobs become ready together, so two pool threads run them at once
    a = w.submit(data={"tag": "A"})
    b = w.submit(data={"tag": "B"})
    w.resume()
    assert a.wait(WAIT).status == "completed"
    assert b.wait(WAIT).status == "completed"
    assert not barrier.broken, "the two jobs ran concurrently"
    for job, tag in ((a, "A"), (b, "B")):
        lines = job.output().splitlines()
        assert lines == [f"{tag} line {i}" for i in range(200)]
    out = capsys.readouterr().out
    assert "A line" not in out and "B line" not in out


def test_incremental_reads_return_only_new_text(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "double", worker=w)
    job = w.submit(data={"value": 1, "lines": ["first"]})
    assert job.debug.wait_paused(WAIT)
    assert job.output(incremental=True) == "first\n"
    assert job.output(incremental=True) == ""
    assert job.output() == "first\n", "a full read is not affected by the cursor"
    rt.monitor.remove_breakpoint(bp.breakpoint_id)

    @c.flow.routine(slots=["input"], events=[])
    def sink(input, ctx):  # replaces the sink: now it talks
        print("second")
        ctx.data["out"] = [i["value"] for i in input]

    job.debug.resume()
    assert job.wait(WAIT).status == "completed"
    assert job.output(incremental=True) == "second\n"
    assert job.output(incremental=True) == ""
    assert job.output() == "first\nsecond\n"


def test_output_is_bounded(make_runtime, chain):
    rt = make_runtime(monitor=Monitor(output_limit=100))
    c = chain()
    lines = [f"line {i:03d}" for i in range(50)]  # 450 characters
    job = rt.submit(c.flow, data={"value": 1, "lines": lines}).wait(WAIT)
    text = job.output()
    assert len(text) <= 100
    assert text.endswith("line 049\n"), "the newest text is kept"
    assert "line 000" not in text
    assert job.monitor.output.truncated
    assert job.monitor.output.dropped == 450 - len(text)


def test_no_capture_when_disabled(make_runtime, chain, capsys):
    rt = make_runtime(monitor=Monitor(capture_output=False))
    c = chain()
    job = rt.submit(c.flow, data={"value": 1, "lines": ["not captured"]}).wait(WAIT)
    assert job.status == "completed"
    assert job.output() == ""


class SlowStartPool(ThreadPoolExecutor):
    """A pool whose tasks start 30 ms after submission (a busy machine, a remote executor)."""

    def submit(self, fn, /, *args, **kwargs):
        def late():
            time.sleep(0.03)
            return fn(*args, **kwargs)

        return super().submit(late)


def test_jobs_submitted_back_to_back_run_concurrently():
    pool = SlowStartPool(8)
    rt = Runtime(executor=pool)
    try:
        barrier = threading.Barrier(2)
        flow = talker_flow(barrier, 1)
        w = rt.start(flow)
        a = w.submit(data={"tag": "A"})
        b = w.submit(data={"tag": "B"})
        assert a.wait(WAIT).status == "completed", a.error
        assert b.wait(WAIT).status == "completed", b.error
        assert a.output() == "A line 0\n"
    finally:
        rt.shutdown()
        pool.shutdown(wait=True, cancel_futures=True)

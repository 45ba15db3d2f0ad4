"""The life of a job: states, user operations, timeouts, logs and traces."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest

from routilux_nb.core import (
    Flow,
    FlowError,
    JobStateError,
    JobWaitTimeout,
    Runtime,
    UnknownRoutineError,
    UnknownSlotError,
    policies,
)
from routilux_nb.monitor import Monitor


def _gated_flow(flow_id, gate, source_done, *, items=10):
    """``source -> sink``: the source emits one item, waits until the sink runs, then emits the
    other ``items - 1``; the sink's activations block on ``gate``, so those stay queued."""
    flow = Flow(flow_id)
    sink_running = threading.Event()

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        count = input[0].get("n", items)
        for i in range(count):
            ctx.emit("output", i=i)
            if i == 0 and count > 1:
                sink_running.wait(2)
        source_done.set()

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        sink_running.set()
        gate.wait(2)
        ctx.data.setdefault("out", []).extend(x["i"] for x in input)

    flow.connect("source.output", "sink.input")
    return flow


def _iso_aware(text):
    dt = datetime.fromisoformat(text)
    assert dt.tzinfo is not None, text
    return dt


# -- states ---------------------------------------------------------------------------------


def test_states_and_timestamps(rt, finished):
    started = threading.Event()
    release = threading.Event()
    flow = Flow("states")

    @flow.routine(slots=["input"], events=[])
    def work(input, ctx):
        started.set()
        release.wait(2)
        ctx.data["done"] = True

    worker = rt.start(flow)
    worker.pause()
    job = worker.submit(data={"x": 1}, metadata={"who": "test"}, job_data={"seed": 1})
    assert job.status == "pending" and job.started_at is None and not job.is_finished
    worker.resume()
    assert started.wait(2)
    assert job.status == "running" and job.started_at is not None
    assert job.duration is not None and job.duration >= 0
    release.set()
    finished(job)
    assert job.is_finished and job.completed_at >= job.started_at >= job.created_at
    assert job.duration == pytest.approx(job.completed_at - job.created_at)
    assert job.data == {"seed": 1, "done": True}
    assert job.metadata == {"who": "test"}
    d = job.to_dict()
    assert {
        "job_id",
        "worker_id",
        "flow_id",
        "status",
        "created_at",
        "started_at",
        "completed_at",
        "metadata",
        "error",
        "data",
    } <= set(d)
    for key in ("created_at", "started_at", "completed_at"):
        _iso_aware(d[key])
    assert "data" not in job.to_dict(include_data=False)
    assert "cancelled_at" not in d and "error_traceback" not in d
    assert "status='completed'" in repr(job)


def test_wait_returns_the_job_and_timeout_message(rt):
    gate = threading.Event()
    flow = _gated_flow("wait", gate, threading.Event(), items=1)
    job = rt.submit(flow, "source", data={})
    with pytest.raises(JobWaitTimeout, match=rf"job '{job.job_id}' is still running after 0.05 s"):
        job.wait(0.05)
    gate.set()
    assert job.wait(2) is job


# -- user operations ------------------------------------------------------------------------


def test_pause_and_resume_a_running_job(rt, finished):
    go_on = threading.Event()
    first_done = threading.Event()
    flow = Flow("job_pause")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        ctx.emit("output", i=0)
        go_on.wait(2)
        for i in range(1, 5):
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data.setdefault("out", []).extend(x["i"] for x in input)
        first_done.set()

    flow.connect("source.output", "sink.input")
    job = rt.submit(flow, "source", data={})
    assert first_done.wait(2)
    job.pause()
    assert job.status == "paused"
    go_on.set()
    with pytest.raises(JobWaitTimeout):
        job.wait(0.2)
    assert job.data["out"] == [0], "nothing ran while paused"
    assert job.status == "paused"
    job.resume()
    assert finished(job).data["out"] == [0, 1, 2, 3, 4]


def test_resume_of_a_job_that_is_not_paused_warns_and_returns_it(rt):
    gate = threading.Event()
    job = rt.submit(_gated_flow("resume_req", gate, threading.Event(), items=1), "source", data={})
    with pytest.warns(
        UserWarning, match=r"job '.+' is (pending|running), not paused: nothing to resume"
    ):
        assert job.resume() is job
    gate.set()
    job.wait(2)
    with pytest.warns(
        UserWarning, match=f"job '{job.job_id}' is completed, not paused: nothing to resume"
    ):
        assert job.resume() is job
    with pytest.warns(
        UserWarning, match=f"job '{job.job_id}' is completed, not running: nothing to pause"
    ):
        assert job.pause() is job
    assert job.status == "completed"


def test_cancel_discards_queued_items_and_records_reason(rt):
    gate, source_done = threading.Event(), threading.Event()
    flow = _gated_flow("cancel", gate, source_done, items=10)
    job = rt.submit(flow, "source", data={})
    assert source_done.wait(2)
    job.cancel("enough")
    assert job.status == "cancelled"
    assert job.discarded == 9
    assert job.cancel_reason == "enough" and job.cancelled_at is not None
    d = job.to_dict()
    assert d["cancel_reason"] == "enough"
    _iso_aware(d["cancelled_at"])
    gate.set()
    assert job.wait(1) is job
    time.sleep(0.05)
    assert job.status == "cancelled"
    assert job.data.get("out", []) in ([], [0]), "no queued item ran after the cancel"
    discard_logs = [e for e in job.logs if e["action"] == "discarded"]
    assert discard_logs and discard_logs[0]["details"]["reason"] == "cancelled"
    assert job.worker.queue_status()["sink"][0]["unconsumed_count"] == 0


def test_cancel_default_reason(rt):
    gate = threading.Event()
    job = rt.submit(
        _gated_flow("cancel_default", gate, threading.Event(), items=1), "source", data={}
    )
    job.cancel()
    gate.set()
    assert job.cancel_reason == "cancelled by user"


def test_complete_now_discards_pending_work(rt):
    gate, source_done = threading.Event(), threading.Event()
    job = rt.submit(_gated_flow("complete_now", gate, source_done, items=5), "source", data={})
    assert source_done.wait(2)
    job.complete()
    gate.set()
    assert job.status == "completed" and job.error is None
    assert job.discarded == 4


def test_fail_with_message(rt):
    gate = threading.Event()
    job = rt.submit(_gated_flow("fail_now", gate, threading.Event(), items=1), "source", data={})
    job.fail("operator said no")
    gate.set()
    assert job.status == "failed" and job.error == "operator said no"
    assert job.worker.jobs_failed == 1


@pytest.mark.parametrize("op", ["cancel", "complete", "fail"])
def test_operations_on_finished_jobs_raise(rt, op, finished):
    flow = Flow(f"finished_{op}")

    @flow.routine(slots=["input"], events=[])
    def noop(input):
        return None

    job = finished(rt.submit(flow, data={}))
    with pytest.raises(JobStateError, match=job.job_id):
        getattr(job, op)(*(["why"] if op == "fail" else []))
    assert job.status == "completed"


# -- timeouts -------------------------------------------------------------------------------


def _loop_flow(flow_id, **flow_kw):
    """A routine feeding itself forever (a cycle)."""
    flow = Flow(flow_id, **flow_kw)

    @flow.routine(slots=["input"], events=["output"])
    def spin(input, ctx):
        ctx.data["spins"] = ctx.data.get("spins", 0) + 1
        time.sleep(0.002)
        return {"n": input[-1].get("n", 0) + 1}

    @flow.routine(slots=["input"], events=["output"])
    def start(input):
        return {"n": 0}

    flow.connect("start.output", "spin.input")
    flow.connect("spin.output", "spin.input")
    return flow


def test_job_timeout_fails_a_looping_job_and_spares_others(rt, finished):
    flow = _loop_flow("looping")
    quick_flow = Flow("quick")

    @quick_flow.routine(slots=["input"], events=[])
    def ok(input, ctx):
        ctx.data["ok"] = True

    worker = rt.start(flow)
    rt.start(quick_flow)
    t0 = time.monotonic()
    looping = worker.submit("start", data={}, timeout=0.4)
    others = [rt.submit(quick_flow, data={}) for _ in range(5)]
    looping.wait(3)
    elapsed = time.monotonic() - t0
    assert looping.status == "failed"
    assert looping.error == f"job '{looping.job_id}' exceeded its timeout of 0.4 s"
    assert looping.error_type == "JobTimeoutError"
    assert 0.39 <= elapsed < 1.5
    assert looping.data.get("spins", 0) >= 1
    for job in others:
        assert finished(job).data["ok"]
    assert worker.status == "running"
    spins = looping.data.get("spins", 0)
    time.sleep(0.05)
    assert looping.data.get("spins", 0) <= spins + 1, "the loop stopped with its job"


def test_flow_execution_timeout_is_the_default(rt):
    flow = _loop_flow("flow_timeout", execution_timeout=0.2)
    job = rt.submit(flow, "start", data={})
    assert job.timeout == 0.2
    job.wait(2)
    assert job.status == "failed" and "exceeded its timeout of 0.2 s" in job.error
    explicit = rt.submit(flow, "start", data={}, timeout=0.1)
    assert explicit.timeout == 0.1
    assert explicit.wait(2).status == "failed"


def test_time_interval_loop_times_out(rt):
    flow = Flow("interval_loop")

    @flow.routine(slots=["input"], events=["output"], policy=policies.time_interval(0.05))
    def tick(input, ctx):
        ctx.data["ticks"] = ctx.data.get("ticks", 0) + 1
        return {"t": 1}

    @flow.routine(slots=["input"], events=["output"])
    def start(input):
        return {"t": 0}

    flow.connect("start.output", "tick.input")
    flow.connect("tick.output", "tick.input")
    job = rt.submit(flow, "start", data={}, timeout=0.4)
    job.wait(2)
    assert job.status == "failed" and job.error_type == "JobTimeoutError"
    assert 3 <= job.data["ticks"] <= 12


def test_completed_job_cancels_its_timeout(rt, finished):
    flow = Flow("no_timeout_after_done")

    @flow.routine(slots=["input"], events=[])
    def ok(input):
        return None

    job = finished(rt.submit(flow, data={}, timeout=5.0))
    assert job.status == "completed" and job.error is None
    assert rt.scheduler.pending() == 0  # the job's timeout timer is gone, not merely not yet due


# -- bad input ------------------------------------------------------------------------------


def test_submit_unknown_routine_or_slot_names_what_exists(rt):
    flow = Flow("bad_submit")

    @flow.routine(slots=["a", "b"], events=[])
    def two(a, b):
        return None

    with pytest.raises(
        UnknownRoutineError, match=r"unknown routine 'nope' .*existing routines: 'two'"
    ):
        rt.submit(flow, "nope", "a", {})
    with pytest.raises(
        UnknownSlotError, match=r"routine 'two' has no slot 'c'; its slots: 'a', 'b'"
    ):
        rt.submit(flow, "two", "c", {})
    with pytest.raises(UnknownSlotError, match="its slots: 'a', 'b'"):
        rt.submit(flow, "two", None, {})
    assert rt.jobs() == []


def test_submit_data_must_be_a_dict(rt):
    flow = Flow("bad_data")

    @flow.routine(slots=["input"], events=[])
    def x(input):
        return None

    for bad in ([1, 2], "text", 5):
        with pytest.raises(TypeError, match="job data must be a mapping"):
            rt.submit(flow, data=bad)
    assert rt.jobs() == []


def test_duplicate_job_id_is_refused(rt, finished):
    flow = Flow("dup")

    @flow.routine(slots=["input"], events=[])
    def x(input):
        return None

    finished(rt.submit(flow, data={}, job_id="job-1"))
    with pytest.raises(JobStateError, match="a job 'job-1' already exists"):
        rt.submit(flow, data={}, job_id="job-1")
    assert len(rt.jobs()) == 1


def test_submit_to_flow_with_no_single_entry(rt):
    flow = Flow("cycle_only")

    @flow.routine(slots=["input"], events=["output"])
    def a(input):
        return None

    flow.connect("a.output", "a.input")
    with pytest.raises(FlowError, match="entry routines"):
        rt.submit(flow, data={})
    job = rt.submit(flow, "a", data={})  # naming the routine works
    assert job.wait(2).status == "completed"


# -- logs and traces ------------------------------------------------------------------------


def test_logs_are_bounded():
    with Runtime(log_size=5) as runtime:
        flow = Flow("logs")

        @flow.routine(slots=["input"], events=[])
        def chatty(input, ctx):
            for i in range(20):
                ctx.log(f"line {i}")

        job = runtime.submit(flow, data={}).wait(5)
        assert len(job.logs) == 5
        assert [e["details"]["message"] for e in job.logs] == [f"line {i}" for i in range(15, 20)]
        assert all(isinstance(e["timestamp"], float) for e in job.logs)


def test_trace_ring_is_bounded_and_total_counts_everything():
    with Runtime(monitor=Monitor(trace_size=25)) as runtime:
        flow = Flow("trace_bound")

        @flow.routine(slots=["input"], events=["output"])
        def src(input, ctx):
            for i in range(100):
                ctx.emit("output", i=i)

        @flow.routine(slots=["input"], events=[])
        def sink(input):
            return None

        flow.connect("src.output", "sink.input")
        job = runtime.submit(flow, "src", data={}).wait(5)
        assert job.status == "completed"
        assert len(job.trace) <= 25 and job.trace.maxlen == 25
        assert job.trace.total > 100
        assert len(job.trace.to_list()) == len(job.trace)
        rows = job.trace.to_list()
        assert rows[-1]["event_type"] == "job_end" and rows[-1]["status"] == "completed"
        seqs = [r["seq"] for r in rows]
        assert seqs == sorted(seqs), "the newest events are kept, oldest first"


def test_trace_records_the_run(rt, finished):
    flow = Flow("traced")

    @flow.routine(slots=["input"], events=["output"])
    def a(input):
        return {"x": 1}

    @flow.routine(slots=["input"], events=[])
    def b(input):
        return None

    flow.connect("a.output", "b.input")
    job = finished(rt.submit(flow, "a", data={}))
    assert len(job.trace) == job.trace.total >= 6
    assert job.trace_log == job.trace.to_list()


def test_job_without_monitoring_says_so():
    with Runtime(monitor=False) as runtime:
        flow = Flow("unmonitored")

        @flow.routine(slots=["input"], events=[])
        def x(input, ctx):
            ctx.data["ran"] = True

        job = runtime.submit(flow, data={}).wait(5)
        assert job.status == "completed" and job.data["ran"]
        with pytest.raises(RuntimeError, match="needs monitoring"):
            _ = job.trace
        assert job.trace_log == []


def test_wait_async_returns_the_finished_job_and_times_out_clearly(rt):
    import asyncio

    gate = threading.Event()
    flow = Flow("wait_async")

    @flow.routine(slots=["input"], events=[])
    def slow(input, ctx):
        gate.wait(2)
        ctx.data["done"] = True

    job = rt.submit(flow, data={})

    async def scenario():
        with pytest.raises(JobWaitTimeout, match="still running"):
            await job.wait_async(0.05)
        gate.set()
        return await job.wait_async(2)

    # a thread of its own: the browser tests' sync Playwright leaves a loop running on this one
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(scenario())))
    thread.start()
    thread.join(10)
    assert result == [job]
    assert job.status == "completed" and job.data == {"done": True}

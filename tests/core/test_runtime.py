"""The runtime: flows, workers, jobs, the thread pool, bounded memory, shutdown."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import routilux_nb
from routilux_nb.core import Flow, Runtime, StateError


def _tiny_flow(flow_id="tiny"):
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"])
    def src(input):
        return [{"v": input[0].get("v", 0)}, {"v": input[0].get("v", 0) + 1}]

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data.setdefault("out", []).extend(i["v"] for i in input)

    flow.connect("src.output", "sink.input")
    return flow


# -- flows and workers ----------------------------------------------------------------------


def test_register_get_remove_flow(rt):
    flow = _tiny_flow("reg")
    assert rt.register_flow(flow) is flow
    assert rt.flows == {"reg": flow} and rt.get_flow("reg") is flow
    with pytest.raises(KeyError, match=r"no flow 'zz'; known flows: \['reg'\]"):
        rt.get_flow("zz")
    worker = rt.start("reg")
    other = _tiny_flow("reg")
    with pytest.raises(StateError, match="already registered and has running workers"):
        rt.register_flow(other)
    rt.register_flow(other, replace=True)
    assert rt.get_flow("reg") is other
    rt.remove_flow("reg")
    assert rt.flows == {}
    assert worker.status == "running", "the old flow's worker is not the removed flow's"
    rt.register_flow(flow)
    rt.remove_flow("reg")
    assert worker.status == "stopped"


def test_start_get_worker_and_worker_for(rt, finished):
    flow = _tiny_flow("workers")
    w = rt.start(flow, worker_id="w1")
    assert rt.workers == {"w1": w} and rt.get_worker("w1") is w
    assert rt.worker_for(flow) is w and rt.worker_for("workers") is w
    assert rt.start(flow, worker_id="w1") is w, (
        "starting the same flow again returns the running worker"
    )
    with pytest.raises(KeyError, match=r"no worker 'w9'; known workers: \['w1'\]"):
        rt.get_worker("w9")
    w2 = rt.start(flow, worker_id="w2")
    job = finished(rt.submit(flow, "src", data={"v": 5}, worker_id="w2"))
    assert job.worker_id == "w2" and job.data["out"] == [5, 6]
    other = rt.start(_tiny_flow("other"), worker_id="w3")
    with pytest.raises(StateError, match="worker 'w3' runs flow 'other'"):
        rt.submit(flow, "src", data={}, worker_id="w3")
    assert w2.jobs_processed == 1 and w.jobs_processed == 0 and other.jobs_processed == 0


def test_submit_by_flow_id(rt, finished):
    rt.register_flow(_tiny_flow("by_id"))
    job = finished(rt.submit("by_id", "src", data={"v": 1}))
    assert job.flow_id == "by_id" and job.data["out"] == [1, 2]


def test_get_job_list_jobs_and_filters(rt, finished):
    a, b = _tiny_flow("fa"), _tiny_flow("fb")
    jobs_a = [finished(rt.submit(a, "src", data={}, job_id=f"a{i}")) for i in range(3)]
    failing = Flow("fc")

    @failing.routine(slots=["input"], events=[])
    def boom(input):
        raise ValueError("x")

    jobs_b = [finished(rt.submit(b, "src", data={}, job_id=f"b{i}")) for i in range(2)]
    bad = rt.submit(failing, data={}, job_id="c0").wait(5)
    assert rt.get_job("a1") is jobs_a[1]
    with pytest.raises(KeyError, match="no job 'zz'"):
        rt.get_job("zz")
    page, total = rt.list_jobs(limit=2)
    assert total == 6 and [j.job_id for j in page] == ["c0", "b1"], "newest first"
    page, total = rt.list_jobs(limit=2, offset=2)
    assert [j.job_id for j in page] == ["b0", "a2"]
    page, total = rt.list_jobs(flow_id="fa")
    assert total == 3 and [j.job_id for j in page] == ["a2", "a1", "a0"]
    page, total = rt.list_jobs(status="failed")
    assert total == 1 and page == [bad]
    assert [j.job_id for j in rt.jobs(worker_id=jobs_b[0].worker_id)] == ["b1", "b0"]
    assert len(rt.jobs(status=["completed", "failed"])) == 6


def test_wait_all(rt):
    flow = Flow("wait_all")

    @flow.routine(slots=["input"], events=[])
    def nap(input):
        time.sleep(0.05)

    jobs = [rt.submit(flow, data={}) for _ in range(5)]
    rt.wait_all(timeout=2)
    assert all(j.status == "completed" for j in jobs)


def test_max_threads_must_be_positive():
    with pytest.raises(ValueError, match="max_threads must be >= 1"):
        Runtime(max_threads=0)


def test_a_monitor_that_is_not_one_is_refused_with_the_choices():
    with pytest.raises(TypeError, match=r"True \(the default monitor\), False .* got dict"):
        Runtime(monitor={"trace_size": 10})
    from routilux_nb.core.hooks import NullMonitor

    with Runtime(monitor=NullMonitor()) as rt:  # anything with the hooks is accepted
        assert isinstance(rt.monitor, NullMonitor)


def test_default_runtime_is_one_object():
    first = routilux_nb.runtime()
    assert routilux_nb.runtime() is first
    assert isinstance(first, Runtime) and not first.closed


# -- threads, memory and executors ----------------------------------------------------------


def test_idle_runtime_starts_no_thread():
    before = threading.active_count()
    runtime = Runtime()
    try:
        runtime.start(_tiny_flow("idle"))
        assert threading.active_count() == before, "an idle runtime and worker cost no thread"
    finally:
        runtime.shutdown()


def test_no_thread_leak_over_1000_jobs_and_back_to_baseline_after_shutdown(thread_count_settles):
    baseline = threading.active_count()
    runtime = Runtime(max_threads=4)
    try:
        flow = _tiny_flow("leak")
        worker = runtime.start(flow)
        peak = 0
        jobs = []
        for i in range(1000):
            jobs.append(worker.submit("src", data={"v": i}))
            if i % 50 == 0:
                peak = max(peak, threading.active_count())
        for job in jobs:
            job.wait(10)
        peak = max(peak, threading.active_count())
        assert all(j.status == "completed" for j in jobs)
        assert peak <= baseline + runtime.max_threads + 2, (baseline, peak)
    finally:
        runtime.shutdown()
    assert thread_count_settles(baseline, timeout=2) <= baseline


def test_timer_thread_exits_at_shutdown(thread_count_settles):
    baseline = threading.active_count()
    runtime = Runtime()
    flow = Flow("timers")

    @flow.routine(
        slots=["input"],
        events=[],
        error_handler={"strategy": "retry", "max_retries": 1, "retry_delay": 0.01},
    )
    def flaky(input, ctx):
        if ctx.attempt == 0:
            raise RuntimeError("once")

    assert runtime.submit(flow, data={}).wait(2).status == "completed"
    assert any(t.name == "routilux-timer" for t in threading.enumerate())
    runtime.shutdown()
    assert thread_count_settles(baseline) <= baseline
    assert not any(t.name == "routilux-timer" for t in threading.enumerate())


def test_finished_jobs_are_evicted_beyond_the_limit(finished):
    with Runtime(max_finished_jobs=100) as runtime:
        flow = _tiny_flow("evict")
        worker = runtime.start(flow)
        jobs = [worker.submit("src", data={"v": i}) for i in range(1000)]
        for job in jobs:
            job.wait(10)
        assert all(j.status == "completed" for j in jobs)
        kept = runtime.jobs()
        assert len(kept) == 100
        kept_ids = {j.job_id for j in kept}
        evicted = [j for j in jobs if j.job_id not in kept_ids]
        assert len(evicted) == 900
        assert min(j.completed_at for j in kept) >= max(j.completed_at for j in evicted), (
            "the oldest finished jobs are the ones evicted"
        )
        assert runtime.list_jobs(limit=1000)[1] == 100
        for job in evicted[:10]:
            with pytest.raises(KeyError):
                runtime.get_job(job.job_id)
        assert runtime.get_job(kept[0].job_id) is kept[0]


def test_unfinished_jobs_are_never_evicted():
    gate = threading.Event()
    with Runtime(max_finished_jobs=2) as runtime:
        flow = Flow("keep_running")

        @flow.routine(slots=["input"], events=[])
        def maybe_block(input):
            if input[0].get("block"):
                gate.wait(2)

        blocked = runtime.submit(flow, data={"block": True})
        deadline = time.monotonic() + 2
        while blocked.status != "running" and time.monotonic() < deadline:
            time.sleep(0.005)
        done = [runtime.submit(flow, data={}).wait(2) for _ in range(5)]
        assert runtime.get_job(blocked.job_id) is blocked
        assert len(runtime.jobs()) == 3
        gate.set()
        blocked.wait(2)
        assert {j.job_id for j in runtime.jobs()} <= {blocked.job_id, *(j.job_id for j in done)}
        assert len(runtime.jobs()) == 2


def test_pluggable_executor_runs_flows(finished):
    executor = ThreadPoolExecutor(4, thread_name_prefix="mine")
    names = set()
    try:
        runtime = Runtime(executor=executor)
        flow = _tiny_flow("exec")

        @flow.routine(slots=["input"], events=[], routine_id="sink")
        def sink(input, ctx):
            names.add(threading.current_thread().name)
            ctx.data.setdefault("out", []).extend(i["v"] for i in input)

        jobs = [runtime.submit(flow, "src", data={"v": i}) for i in range(20)]
        for i, job in enumerate(jobs):
            assert finished(job).data["out"] == [i, i + 1]
        assert names and all(n.startswith("mine") for n in names)
        runtime.shutdown()
        # the runtime does not shut down an executor it does not own
        assert executor.submit(lambda: 42).result(timeout=2) == 42
    finally:
        executor.shutdown()


# -- lifecycle ------------------------------------------------------------------------------


def test_shutdown_is_idempotent_and_final():
    runtime = Runtime()
    flow = _tiny_flow("final")
    worker = runtime.start(flow)
    runtime.shutdown()
    runtime.shutdown()
    assert runtime.closed and worker.status == "stopped"
    with pytest.raises(StateError, match="shut down"):
        runtime.start(flow)


def test_shutdown_cancels_running_jobs():
    release = threading.Event()
    runtime = Runtime()
    flow = Flow("cancel_at_shutdown")

    @flow.routine(slots=["input"], events=[])
    def blocked(input):
        release.wait(2)

    job = runtime.submit(flow, data={})
    time.sleep(0.02)
    release.set()
    runtime.shutdown()
    assert job.status in ("cancelled", "completed")
    assert job.is_finished


def test_context_manager_and_repr():
    with Runtime() as runtime:
        flow = _tiny_flow("ctx")
        runtime.submit(flow, "src", data={}).wait(2)
        assert repr(runtime) == "Runtime(flows=1, workers=1, active_jobs=0, jobs_kept=1)"
    assert runtime.closed

"""Workers: scheduling, job isolation, backpressure, pause/resume and stop."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest

from routilux_nb.core import BackpressureTimeout, Flow, JobWaitTimeout, WorkerNotRunningError

# -- isolation and scheduling ---------------------------------------------------------------


def _tagged_flow(flow_id, activations, *, per_job=10, middle_sleep=0.0):
    """``source -> middle -> sink``; every item carries its job's tag; ``middle`` records
    ``(job_id, tags, values)`` for every activation."""
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        tag = input[0]["tag"]
        for i in range(per_job):
            ctx.emit("output", tag=tag, i=i)
            if i % 3 == 0:
                time.sleep(0)  # let other jobs' items interleave in the queues

    @flow.routine(slots=["input"], events=["output"])
    def middle(input, ctx):
        activations.add(
            (ctx.job_id, ctx.data["tag"], [x["tag"] for x in input], [x["i"] for x in input])
        )
        if middle_sleep:
            time.sleep(middle_sleep)
        return [dict(x) for x in input]

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data.setdefault("seen", []).extend((x["tag"], x["i"]) for x in input)

    flow.connect("source.output", "middle.input")
    flow.connect("middle.output", "sink.input")
    return flow


def test_twenty_concurrent_jobs_are_isolated(rt, recorder, finished):
    activations = recorder()
    flow = _tagged_flow("isolation", activations, per_job=10, middle_sleep=0.001)
    worker = rt.start(flow)
    jobs = [worker.submit("source", data={"tag": k}, job_data={"tag": k}) for k in range(20)]
    for k, job in enumerate(jobs):
        finished(job)
        assert job.data["seen"] == [(k, i) for i in range(10)], "own items only, in order"
    rows = activations.snapshot()
    by_job = {job.job_id: k for k, job in enumerate(jobs)}
    for job_id, own_tag, tags, values in rows:
        assert set(tags) == {own_tag} == {by_job[job_id]}, "an activation mixed jobs"
        assert values == sorted(values)
    assert sum(len(t) for _, _, t, _ in rows) == 200
    assert worker.jobs_processed == 20 and worker.active_jobs == []


def test_one_job_routine_never_runs_twice_at_once_but_jobs_run_in_parallel(rt, finished):
    barrier = threading.Barrier(4, timeout=2)
    in_flight: dict[str, int] = {}
    max_seen: dict[str, int] = {}
    lock = threading.Lock()
    flow = Flow("parallel")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        barrier.wait()  # four jobs can only pass together: they run in parallel
        for i in range(30):
            ctx.emit("output", i=i)
            if i % 5 == 0:
                time.sleep(0.001)

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        with lock:
            in_flight[ctx.job_id] = in_flight.get(ctx.job_id, 0) + 1
            max_seen[ctx.job_id] = max(max_seen.get(ctx.job_id, 0), in_flight[ctx.job_id])
        time.sleep(0.001)
        ctx.data.setdefault("got", []).extend(x["i"] for x in input)
        with lock:
            in_flight[ctx.job_id] -= 1

    flow.connect("source.output", "sink.input")
    worker = rt.start(flow, max_concurrency=8)
    worker.pause()
    jobs = [worker.submit("source", data={}) for _ in range(4)]
    worker.resume()
    for job in jobs:
        assert finished(job).data["got"] == list(range(30))
    assert len(max_seen) == 4 and all(v == 1 for v in max_seen.values()), max_seen


def test_jobs_submitted_back_to_back_run_in_parallel(rt, finished):
    flow = Flow("back_to_back")
    barrier = threading.Barrier(2, timeout=0.5)

    @flow.routine(slots=["input"], events=[])
    def work(input, ctx):
        if input[0].get("meet"):
            barrier.wait()  # passes only if both jobs run at the same time

    worker = rt.start(flow, max_concurrency=8)
    for _ in range(3):  # warm the pool: idle threads are waiting for work
        finished(worker.submit(data={}))
    a = worker.submit(data={"meet": True})
    b = worker.submit(data={"meet": True})
    a.wait(2)
    b.wait(2)
    assert (a.status, b.status) == ("completed", "completed"), (a.error, b.error)


def test_max_concurrency_one_runs_one_activation_at_a_time(rt, finished):
    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    flow = Flow("serial")

    @flow.routine(slots=["input"], events=[])
    def work(input, ctx):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.002)
        with lock:
            state["now"] -= 1

    worker = rt.start(flow, max_concurrency=1)
    jobs = [worker.submit(data={}) for _ in range(15)]
    for job in jobs:
        finished(job)
    assert state["max"] == 1


# -- backpressure ---------------------------------------------------------------------------


def test_backpressure_nothing_dropped_and_queue_bounded(rt, finished):
    flow = Flow("backpressure")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for i in range(200):
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def slow(input, ctx):
        ctx.data.setdefault("sizes", []).append(len(input))
        time.sleep(0.002)
        ctx.data.setdefault("got", []).extend(x["i"] for x in input)

    flow.routines["slow"].define_slot("input", max_length=5)
    flow.connect("source.output", "slow.input")
    worker = rt.start(flow)
    samples: list[int] = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            st = worker.queue_status()["slow"][0]
            samples.append(st["unconsumed_count"])
            time.sleep(0.0005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        job = finished(worker.submit("source", data={}))
    finally:
        stop.set()
        sampler.join()
    assert job.data["got"] == list(range(200)), "all 200 arrived, in order"
    assert samples and max(samples) <= 5, max(samples)
    # a slow consumer behind an unbounded queue would take ~all items in its second activation
    assert max(job.data["sizes"]) <= 5 and len(job.data["sizes"]) >= 40
    status = worker.queue_status()["slow"][0]
    assert status["total_count"] == 200 and status["unconsumed_count"] == 0
    assert job.discarded == 0


def test_backpressure_timeout_fails_the_job_clearly(rt):
    release = threading.Event()
    stuck_running = threading.Event()
    flow = Flow("stuck")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        ctx.emit("output", i=0)
        stuck_running.wait(2)  # the consumer is busy on its own thread from here on
        for i in range(1, 10):
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def stuck(input, ctx):
        stuck_running.set()
        release.wait(2)

    flow.routines["stuck"].define_slot("input", max_length=2, put_timeout=0.2)
    flow.connect("source.output", "stuck.input")
    job = rt.submit(flow, "source", data={})
    try:
        assert stuck_running.wait(2)
        t0 = time.monotonic()
        job.wait(2)
        elapsed = time.monotonic() - t0
    finally:
        release.set()
    assert job.status == "failed"
    assert job.error_type == "BackpressureTimeout"
    assert "slot stuck.input stayed full (2/2 items) for 0.2 s" in job.error
    assert "Raise max_length or put_timeout" in job.error
    assert "BackpressureTimeout" in job.error_traceback
    assert 0.15 <= elapsed < 1.0
    assert issubclass(BackpressureTimeout, TimeoutError)


def test_emitter_running_the_full_slot_consumer_inline_is_progress_not_timeout(rt):
    """put_timeout bounds idle waiting for room; time the emitter spends running the full
    slot's consumer itself (backpressure's caller-runs path) is progress, so nothing fails
    and nothing is lost even though that consumer run outlasts put_timeout."""
    first = threading.Event()
    flow = Flow("stuck_inline")
    received = []

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for i in range(10):
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def slow(input, ctx):
        received.extend(item["i"] for item in input)
        if not first.is_set():
            first.set()
            time.sleep(0.6)  # longer than put_timeout

    flow.routines["slow"].define_slot("input", max_length=2, put_timeout=0.2)
    flow.connect("source.output", "slow.input")
    worker = rt.start(
        flow, max_concurrency=1
    )  # the consumer's key stays ready: the emitter runs it
    job = worker.submit("source", data={})
    job.wait(5)
    assert job.status == "completed", job.error
    assert sorted(received) == list(range(10))


def test_backpressure_many_jobs_single_drainer_no_deadlock(rt, finished):
    flow = Flow("no_deadlock")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for i in range(40):
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=["output"])
    def middle(input):
        return [dict(x) for x in input]

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data.setdefault("got", []).extend(x["i"] for x in input)

    flow.routines["middle"].define_slot("input", max_length=3, put_timeout=5)
    flow.routines["sink"].define_slot("input", max_length=2, put_timeout=5)
    flow.connect("source.output", "middle.input")
    flow.connect("middle.output", "sink.input")
    worker = rt.start(flow, max_concurrency=1)
    jobs = [worker.submit("source", data={}) for _ in range(25)]
    for job in jobs:
        assert finished(job, timeout=5).data["got"] == list(range(40))


def test_backpressure_across_jobs_on_a_small_thread_pool(finished):
    from routilux_nb.core import Runtime

    with Runtime(max_threads=2) as runtime:
        flow = Flow("tiny_pool")

        @flow.routine(slots=["input"], events=["output"])
        def source(input, ctx):
            for i in range(30):
                ctx.emit("output", i=i)

        @flow.routine(slots=["input"], events=[])
        def sink(input, ctx):
            ctx.data.setdefault("got", []).extend(x["i"] for x in input)

        flow.routines["sink"].define_slot("input", max_length=2, put_timeout=5)
        flow.connect("source.output", "sink.input")
        jobs = [runtime.submit(flow, "source", data={}) for _ in range(20)]
        for job in jobs:
            assert finished(job, timeout=5).data["got"] == list(range(30))


# -- pause / resume / stop ------------------------------------------------------------------


def test_worker_pause_holds_jobs_and_resume_runs_them_all(rt, finished, source_flow):
    flow = source_flow("paused", n=5)
    worker = rt.start(flow)
    worker.pause()
    assert worker.status == "paused"
    jobs = [worker.submit("source", data={"n": 5}) for _ in range(6)]
    with pytest.raises(JobWaitTimeout):
        jobs[0].wait(0.15)
    assert all(j.status == "pending" for j in jobs)
    assert all("out" not in j.data for j in jobs)
    assert worker.to_dict()["pending_tasks"] == 6
    worker.resume()
    assert worker.status == "running"
    for job in jobs:
        assert finished(job).data["out"] == [0, 1, 2, 3, 4]


def test_worker_pause_mid_job_loses_nothing(rt, finished):
    emitted_first = threading.Event()
    go_on = threading.Event()
    flow = Flow("pause_mid")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        ctx.emit("output", i=0)
        emitted_first.set()
        go_on.wait(2)
        for i in range(1, 20):
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data.setdefault("got", []).extend(x["i"] for x in input)

    flow.connect("source.output", "sink.input")
    worker = rt.start(flow)
    job = worker.submit("source", data={})
    assert emitted_first.wait(2)
    time.sleep(0.02)
    worker.pause()
    go_on.set()
    time.sleep(0.15)
    got_while_paused = list(job.data.get("got", []))
    assert got_while_paused in ([], [0])
    assert not job.is_finished
    worker.resume()
    assert finished(job).data["got"] == list(range(20))


def test_stop_cancels_unfinished_jobs_and_refuses_new_ones(rt):
    release = threading.Event()
    flow = Flow("stopping")

    @flow.routine(slots=["input"], events=[])
    def blocked(input):
        release.wait(2)

    worker = rt.start(flow, worker_id="w-stop")
    jobs = [worker.submit(data={}) for _ in range(3)]
    worker.stop()
    release.set()
    assert worker.status == "stopped"
    for job in jobs:
        assert job.wait(1).status == "cancelled"
        assert job.cancel_reason == "worker w-stop stopped"
    with pytest.raises(WorkerNotRunningError, match="worker 'w-stop' is stopped"):
        worker.submit(data={})
    with pytest.raises(WorkerNotRunningError, match="w-stop"):
        rt.submit(flow, data={}, worker_id="w-stop")
    with pytest.raises(WorkerNotRunningError, match="cannot pause worker 'w-stop'"):
        worker.pause()
    with pytest.raises(WorkerNotRunningError):
        worker.resume()
    assert worker.stop() is worker  # idempotent
    d = worker.to_dict()
    assert d["status"] == "stopped" and d["completed_at"] is not None


def test_stop_with_drain_waits_for_jobs(rt):
    flow = Flow("drain")

    @flow.routine(slots=["input"], events=[])
    def slowish(input, ctx):
        time.sleep(0.1)
        ctx.data["done"] = True

    worker = rt.start(flow)
    jobs = [worker.submit(data={}) for _ in range(3)]
    worker.stop(drain=True, timeout=2)
    assert [j.status for j in jobs] == ["completed"] * 3
    assert all(j.data["done"] for j in jobs)


def test_a_new_worker_runs_after_the_old_one_stopped(rt, source_flow, finished):
    flow = source_flow("restart", n=2)
    old = rt.start(flow)
    old.stop()
    job = rt.submit(flow, "source", data={})  # a running worker is started for the flow
    assert job.worker_id != old.worker_id
    assert finished(job).data["out"] == [0, 1]


# -- introspection --------------------------------------------------------------------------


def test_worker_to_dict_and_statistics(rt, source_flow, finished):
    flow = source_flow("stats", n=3)
    worker = rt.start(flow, worker_id="w-stats")
    for _ in range(4):
        finished(worker.submit("source", data={}))
    d = worker.to_dict()
    assert d["worker_id"] == "w-stats" and d["flow_id"] == "stats" and d["status"] == "running"
    assert d["jobs_processed"] == 4 and d["jobs_failed"] == 0 and d["active_jobs"] == 0
    for key in ("created_at", "started_at"):
        assert datetime.fromisoformat(d[key]).tzinfo is not None
    assert d["completed_at"] is None and d["pause_points"] == [] and d["pending_tasks"] == 0
    stats = worker.statistics()
    assert stats["jobs_processed"] == 4 and stats["success_rate"] == 1.0
    assert stats["routine_statistics"]["sink"]["execution_count"] >= 4
    assert worker.connection_counts == {0: 12}
    assert len(worker.history) >= 12
    assert "jobs_processed=4" in repr(worker)


def test_queue_status_fields_and_pressure(rt):
    started = threading.Event()
    release = threading.Event()
    flow = Flow("pressure")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        ctx.emit("output", i=-1)
        started.wait(2)
        for i in range(input[0]["n"]):
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def sink(input):
        started.set()
        release.wait(2)

    flow.routines["sink"].define_slot("input", max_length=10, watermark=0.8)
    flow.connect("source.output", "sink.input")
    worker = rt.start(flow)
    try:
        job = worker.submit("source", data={"n": 7})
        st = None
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            st = worker.queue_status()["sink"][0]
            if st["unconsumed_count"] == 7:
                break
            time.sleep(0.005)
        assert st == {
            "slot_name": "input",
            "routine_id": "sink",
            "unconsumed_count": 7,
            "total_count": 8,
            "max_length": 10,
            "watermark_threshold": 8,
            "usage_percentage": 0.7,
            "pressure_level": "medium",
            "is_full": False,
            "is_near_full": False,
        }
        assert worker.queue_status(job.job_id)["sink"][0]["unconsumed_count"] == 7
        assert worker.queue_status("job-other")["sink"][0]["unconsumed_count"] == 0
    finally:
        release.set()
    assert job.wait(2).status == "completed"


def test_a_submission_refused_by_backpressure_is_failed_not_completed(rt):
    flow = Flow("refused")

    @flow.routine(slots=["input"], events=[])
    def sink(input):
        pass

    flow.routines["sink"].define_slot("input", max_length=2, put_timeout=0.1)
    worker = rt.start(flow)
    worker.pause()
    worker.submit(data={})
    worker.submit(data={})
    with pytest.raises(BackpressureTimeout):
        worker.submit(data={}, job_id="refused-job")
    job = rt.get_job("refused-job")
    assert job.status == "failed" and "submission refused: BackpressureTimeout" in job.error
    worker.resume()
    rt.wait_all(5)
    assert worker.jobs_failed == 1 and worker.jobs_processed == 3

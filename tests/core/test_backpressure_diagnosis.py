"""When a slot stays full, the error names the real cause and the remedy; the time a
producer waits for room is blocked time, never run time."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest

from routilux_nb.core import BackpressureTimeout, Flow, Runtime, policies


def test_a_stuck_consumer_is_named_with_its_job_and_the_remedy(rt: Runtime) -> None:
    release, running = threading.Event(), threading.Event()
    flow = Flow("diag_stuck")

    @flow.routine(slots=["input"], events=["output"])
    def source(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.emit("output", i=0)
        running.wait(5)  # the consumer runs on a thread of its own: nothing to run inline
        for i in range(1, 10):
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def stuck(input: list[dict[str, Any]], ctx: Any) -> None:
        running.set()
        release.wait(5)

    flow.routines["stuck"].define_slot("input", max_length=2, put_timeout=0.2)
    flow.connect("source.output", "stuck.input")
    job = rt.start(flow).submit(data={})
    try:
        job.wait(5)
    finally:
        release.set()
    assert job.status == "failed" and job.error_type == "BackpressureTimeout"
    jid = job.job_id
    assert "slot stuck.input stayed full (2/2 items) for 0.2 s" in job.error
    assert f"job {jid!r} holds 2 items there (the bound is per job" in job.error
    assert f"routine stuck of job {jid!r} is running and has not taken its 2 items" in job.error
    assert "too slow or stuck" in job.error
    assert "Raise max_length or put_timeout with define_slot(), or make stuck faster" in job.error


def test_a_join_waiting_for_its_other_slot_is_named(rt: Runtime) -> None:
    flow = Flow("diag_join")

    @flow.routine(slots=["input"], events=["left", "right"])
    def source(input: list[dict[str, Any]], ctx: Any) -> None:
        for i in range(10):
            ctx.emit("left", i=i)  # the right side never comes

    @flow.routine(slots=["a", "b"], events=[], policy=policies.all_slots_ready())
    def join(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
        pass

    flow.routines["join"].define_slot("a", max_length=3, put_timeout=0.2)
    flow.connect("source.left", "join.a")
    flow.connect("source.right", "join.b")
    job = rt.start(flow).submit(data={})
    job.wait(5)
    assert job.status == "failed" and job.error_type == "BackpressureTimeout"
    assert f"routine join of job {job.job_id!r} holds 3 items waiting for its activation " in (
        job.error
    )
    assert "policy to fire (activate when every slot has at least one item" in job.error
    assert "; slots with no items of the job: b." in job.error
    assert "or feed what the policy waits for" in job.error


def test_a_submitter_is_told_which_jobs_hold_the_entry_slot(rt: Runtime) -> None:
    """One thread, one job's entry routine stuck on it: the next jobs' items wait in the
    entry slot, and a new submission names them, why they wait, and the remedies."""
    release, running = threading.Event(), threading.Event()
    flow = Flow("diag_entry")

    @flow.routine(slots=["input"], events=[])
    def entry(input: list[dict[str, Any]], ctx: Any) -> None:
        running.set()
        release.wait(5)

    flow.routines["entry"].define_slot("input", max_length=2, put_timeout=0.2)
    worker = rt.start(flow, max_concurrency=1)
    try:
        worker.submit(data={})
        assert running.wait(5)
        held = [worker.submit(data={}), worker.submit(data={})]
        with pytest.raises(BackpressureTimeout) as refused:
            worker.submit(data={}, job_id="refused")
        message = str(refused.value)
    finally:
        release.set()
    assert message.startswith("slot entry.input stayed full (2/2 items) for 0.2 s")
    assert "before this new job could put its first item" in message
    for job in held:
        assert f"job {job.job_id!r} (1)" in message
    assert re.search(
        r"routine entry of job \S+ is ready but waits for a thread: all 1 drainers", message
    )
    assert "Raise max_concurrency or put_timeout" in message
    assert "lower the worker's max_active_jobs (now 256)" in message
    assert rt.get_job("refused").status == "failed"


def test_a_paused_worker_is_named_as_the_cause(rt: Runtime) -> None:
    flow = Flow("diag_paused")

    @flow.routine(slots=["input"], events=[])
    def sink(input: list[dict[str, Any]]) -> None:
        pass

    flow.routines["sink"].define_slot("input", max_length=1, put_timeout=0.1)
    worker = rt.start(flow)
    worker.pause()
    worker.submit(data={})
    with pytest.raises(BackpressureTimeout) as refused:
        worker.submit(data={})
    message = str(refused.value)
    worker.resume()
    assert message == (
        "slot sink.input stayed full (1/1 items) for 0.1 s; the worker is paused: nothing runs "
        "until worker.resume(). Resume the worker, or raise put_timeout with define_slot()"
    )


def test_blocked_time_is_recorded_apart_from_run_time(rt: Runtime, wait_until) -> None:
    """The producer waits for room while its consumer is stuck on another thread: that wait
    is its blocked time, not its duration; the consumer is charged nothing of it."""
    release, running = threading.Event(), threading.Event()
    flow = Flow("blocked_time")

    @flow.routine(slots=["input"], events=["output"])
    def producer(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.emit("output", i=0)
        running.wait(5)
        for i in range(1, 4):
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def consumer(input: list[dict[str, Any]], ctx: Any) -> None:
        if not running.is_set():
            running.set()
            release.wait(5)

    flow.routines["consumer"].define_slot("input", max_length=2, put_timeout=10)
    flow.connect("producer.output", "consumer.input")
    worker = rt.start(flow)
    job = worker.submit(data={})
    try:
        wait_until(lambda: worker.queue_status(job.job_id)["consumer"][0]["is_full"])
        held = 1.0
        time.sleep(held)  # the producer is waiting for room all along
    finally:
        release.set()
    assert job.wait(5).status == "completed", job.error
    producer_m = job.metrics.routine_metrics["producer"]
    consumer_m = job.metrics.routine_metrics["consumer"]
    assert producer_m.total_blocked_time >= held
    assert producer_m.total_duration < producer_m.total_blocked_time, (
        "a few emits' own work is charged as run time; the wait is not"
    )
    assert consumer_m.total_blocked_time == 0.0
    frame = rt.metrics_frame(per="routine", flow_id="blocked_time").set_index("routine_id")
    assert frame.loc["producer", "total_blocked_time"] == producer_m.total_blocked_time
    assert frame.loc["consumer", "total_blocked_time"] == 0.0
    stats = worker.statistics()["routine_statistics"]["producer"]
    assert stats["total_blocked_time"] == producer_m.total_blocked_time
    assert job.metrics.routine_metrics["producer"].to_dict()["total_blocked_time"] >= held


def test_items_an_aggregator_holds_for_its_upstream_are_named_as_such(rt: Runtime) -> None:
    """An aggregator's items never make their own job wait; a submitter that finds such a
    slot full is told they wait for that job's upstream, and what to change."""
    from routilux_nb.builtins import Aggregator
    from routilux_nb.core._fullness import explain_full, must_wait

    release, emitted = threading.Event(), threading.Event()
    flow = Flow("diag_held")

    @flow.routine(slots=["input"], events=["output"])
    def source(input: list[dict[str, Any]], ctx: Any) -> None:
        for i in range(5):
            ctx.emit("output", i=i)
        emitted.set()
        release.wait(5)  # the job's upstream is not done yet

    flow.add_routine(Aggregator(), "agg")
    flow.routines["agg"].define_slot("input", max_length=3, put_timeout=5)
    flow.connect("source.output", "agg.input")
    worker = rt.start(flow)
    job = worker.submit(data={})
    try:
        assert emitted.wait(5), "the source was not held up by its own aggregator's items"
        sched = worker._sched
        with sched.lock:
            q = sched.queue("agg", "input")
            assert q.job_count(job.job_id) == 5 > q.max_length
            assert not must_wait(sched, q, job, submitting=False)
            message = explain_full(sched, q, job, submitting=True)
    finally:
        release.set()
    assert job.wait(5).status == "completed", job.error
    assert f"items held by job {job.job_id!r} (5)" in message
    assert f"aggregator agg of job {job.job_id!r} holds 5 items waiting for its upstream" in (
        message
    )
    assert "lower max_active_jobs so that fewer jobs hold items at once" in message

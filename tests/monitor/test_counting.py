"""Counters counted from trace entries: the same whether read live, cached, from a packed
job, with a listener on the bus or not, and exact for activations that end after their job."""

from __future__ import annotations

import threading
from typing import Any

from conftest import WAIT, wait_until

from routilux_nb import Flow, policies
from routilux_nb.monitor import Monitor


def _numbers(routines: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        rid: (m.execution_count, m.items_in, m.items_out, m.events, m.error_count, m.emits)
        for rid, m in sorted(routines.items())
    }


def test_live_reads_count_only_new_entries_and_match_a_count_from_scratch(make_runtime):
    rt = make_runtime(monitor=Monitor(trace_size=8))  # the ring drops entries as it runs
    flow = Flow("live")
    go, stop = threading.Event(), threading.Event()

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for i in range(input[0]["n"]):
            ctx.emit("output", value=i)

    @flow.routine(slots=["input"], events=[], policy=policies.batch_size(10))
    def sink(input, ctx):
        ctx.data["n"] = ctx.data.get("n", 0) + len(input)
        if ctx.data["n"] == 50:
            go.set()
            stop.wait(WAIT)  # hold the job while the test reads it

    flow.connect("source.output", "sink.input")
    job = rt.submit(flow, data={"n": 100})
    assert go.wait(WAIT)
    jm = job.monitor
    first = _numbers(jm.routines)
    assert jm._counted is not None
    again = _numbers(jm.routines)  # from what was counted, plus nothing new
    jm._counted = None
    assert _numbers(jm.routines) == again == first  # the same counted from scratch
    assert first["source"][:3] == (1, 1, 100)
    assert first["sink"][:3] == (4, 40, 0)  # the fifth activation still runs
    assert jm.routines["sink"].running
    stop.set()
    assert job.wait(WAIT).status == "completed"
    assert _numbers(job.monitor.routines)["sink"][:3] == (10, 100, 0)
    assert job.trace.truncated and job.metrics.total_events == job.trace.total


def test_an_activation_that_ends_after_its_job_is_counted_once(rt):
    flow = Flow("late")
    release, started = threading.Event(), threading.Event()

    @flow.routine(slots=["input"], events=["a", "b"])
    def split(input, ctx):
        ctx.emit("a", value=1)
        ctx.emit("b", value=2)

    @flow.routine(slots=["input"], events=["output"])
    def slow(input, ctx):
        started.set()
        release.wait(WAIT)
        ctx.emit("output", value=3)

    @flow.routine(slots=["input"], events=[])
    def boom(input, ctx):
        assert started.wait(WAIT)
        raise ValueError("fails the job while slow still runs")

    flow.connect("split.a", "slow.input")
    flow.connect("split.b", "boom.input")
    worker = rt.start(flow)
    job = worker.submit(data={})
    assert job.wait(WAIT).status == "failed"
    release.set()
    stats = wait_until(
        lambda: (
            (s := worker.statistics()["routine_statistics"]).get("slow", {}).get("execution_count")
            and s
        )
    )
    # its emit came after the job failed: discarded, so not counted as emitted
    assert stats["slow"]["execution_count"] == 1 and stats["slow"]["items_out"] == 0
    assert stats["slow"]["items_in"] == 1
    late = job.metrics.routine_metrics["slow"]
    assert (late.execution_count, late.items_in) == (1, 1)
    assert stats["boom"]["error_count"] == 1 and stats["split"]["items_out"] == 2


def test_a_listener_on_the_bus_changes_no_count(rt, chain):
    quiet = rt.submit(chain("quiet").flow, data={"values": [1, 2, 3]}).wait(WAIT)
    sub = rt.monitor.subscribe()
    loud = rt.submit(chain("loud").flow, data={"values": [1, 2, 3]}).wait(WAIT)
    assert sub.drain(10_000)
    numbers = _numbers(quiet.monitor.routines)
    assert _numbers(loud.monitor.routines) == numbers
    assert loud.trace.total == quiet.trace.total
    for job in (quiet, loud):
        for m in job.metrics.routine_metrics.values():
            assert m.total_duration > 0 and m.min_duration is not None

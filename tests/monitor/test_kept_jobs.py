"""A finished job the runtime keeps costs the garbage collector little: its monitor state is
compacted into forms the collector does not track, and reads see the same trace and counters."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from routilux_nb import Flow, Runtime
from routilux_nb.monitor import Monitor

WAIT = 5.0


class Opaque:
    """A payload marshal cannot write: kept as recorded (the same object)."""

    def __init__(self, n: int) -> None:
        self.n = n


def _chain(name: str, payload: Any = None) -> Flow:
    flow = Flow(name)

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for item in input:
            ctx.emit("output", value=item["n"], nested={"xs": [1, 2.5, None], "t": (1, "a")})

    @flow.routine(slots=["input"], events=["output"])
    def middle(input, ctx):
        for item in input:
            ctx.emit("output", value=item["value"] * 2, extra=payload)

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data["got"] = [i["value"] for i in input]

    flow.connect("source.output", "middle.input")
    flow.connect("middle.output", "sink.input")
    return flow


def _tracked_per_job(monitor: bool, n: int = 300) -> float:
    # a worker's emit history (bounded, all jobs together) keeps entries as recorded: kept short
    mon = Monitor(history_size=10) if monitor else False
    with Runtime(monitor=mon, max_finished_jobs=n + 100) as rt:
        worker = rt.start(_chain(f"kept-{monitor}"))
        for _ in range(20):
            assert worker.submit(data={"n": 1}).wait(WAIT).status == "completed"
        gc.collect()
        before = len(gc.get_objects())
        jobs = [worker.submit(data={"n": 1}).wait(WAIT) for _ in range(n)]
        assert all(j.status == "completed" for j in jobs)
        gc.collect()
        return (len(gc.get_objects()) - before) / n


def test_a_kept_finished_job_holds_few_tracked_monitor_objects() -> None:
    extra = _tracked_per_job(True) - _tracked_per_job(False)
    # recorded as is, the monitor kept 15 tracked objects per job (entries, payload containers)
    assert extra < 10, f"{extra:.1f} tracked monitor objects per kept job"


def test_a_finished_jobs_trace_reads_the_recorded_payloads() -> None:
    with Runtime() as rt:
        job = rt.submit(_chain("reads"), data={"n": 3}).wait(WAIT)
        assert job.status == "completed"
        gc.collect()
        events = job.trace.records()
        emits = [e for e in events if e.event_type == "event_emit"]
        assert [e.payload for e in emits] == [
            {"value": 3, "nested": {"xs": [1, 2.5, None], "t": (1, "a")}},
            {"value": 6, "extra": None},
        ]
        calls = [e for e in events if e.event_type == "slot_call"]
        assert [c.payload for c in calls] == [
            [{"n": 3}],
            [{"value": 3, "nested": {"xs": [1, 2.5, None], "t": (1, "a")}}],
            [{"value": 6, "extra": None}],
        ]
        seqs = [e.seq for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert job.trace.total == len(events)


def test_a_payload_marshal_cannot_write_is_kept_as_the_same_object() -> None:
    thing = Opaque(7)
    with Runtime() as rt:
        job = rt.submit(_chain("opaque", thing), data={"n": 1}).wait(WAIT)
        assert job.status == "completed"
        gc.collect()
        emitted = [r.payload for r in job.trace.records() if r.event_type == "event_emit"]
        assert emitted[1]["extra"] is thing


def test_a_finished_jobs_counters_read_the_same_before_and_after_packing() -> None:
    with Runtime() as rt:
        flow = _chain("counters")
        job = rt.submit(flow, data={"n": 2}).wait(WAIT)
        assert job.status == "completed"
        jm = job.monitor
        assert jm._blob is not None  # the completed job's trace: one blob
        metrics = job.metrics.to_dict()
        assert jm._blob is not None  # counted from the blob as it is
        total = job.trace.total
        assert jm._blob is None  # the trace came out of it, and is kept as objects
        assert job.metrics.to_dict() == metrics
        by_routine = metrics["routine_metrics"]
        assert by_routine["source"]["execution_count"] == 1
        assert by_routine["middle"]["items_in"] == 1
        assert jm.routines["source"].emits == {"output": 1}
        assert jm.routines["sink"].emits is None
        assert total == len(job.trace.records())


def test_a_completed_job_keeps_one_object_the_collector_walks_and_reads_the_same() -> None:
    with Runtime() as rt:
        job = rt.submit(_chain("blob"), data={"n": 3}).wait(WAIT)
        assert job.status == "completed"
        jm = job.monitor
        assert jm._blob is not None
        with pytest.raises(AttributeError):  # not held as objects while packed
            object.__getattribute__(jm, "trace")
        gc.collect()
        shared = (type(jm), jm.lock)  # the same for every job
        walked = [r for r in gc.get_referents(jm) if gc.is_tracked(r) and r not in shared]
        assert walked == [job]  # nothing the monitor keeps for the job is walked
        records = job.trace.records()  # unpacks the trace
        assert records[0].event_type == "job_start" and records[-1].event_type == "job_end"
        emitted = [r.payload for r in records if r.event_type == "event_emit"]
        assert emitted[0] == {"value": 3, "nested": {"xs": [1, 2.5, None], "t": (1, "a")}}
        assert job.metrics.to_dict()["routine_metrics"]["sink"]["items_in"] == 1


def test_a_failed_job_is_packed_entry_by_entry_so_a_late_writer_loses_nothing() -> None:
    flow = Flow("late")

    @flow.routine(slots=["input"], events=[])
    def boom(input, ctx):
        raise ValueError("no")

    with Runtime() as rt:
        job = rt.submit(flow, data={"n": 1}).wait(WAIT)
        assert job.status == "failed"
        jm = job.monitor
        assert jm._blob is None  # a late writer may still come: packed in place
        rt.monitor.note(job, "artifact_created", "boom", detail="late")
        assert job.trace.records()[-1].detail == "late"

"""Metrics for activations, jobs, queues and backpressure; ids in the pandas frames."""

from __future__ import annotations

import threading

from routilux_nb import Flow, Slot
from routilux_nb.monitor.frames import jobs_frame
from routilux_nb.monitor.otel import recorder_of, with_trace_ids


def _chain() -> Flow:
    flow = Flow("m")

    @flow.routine(slots=["input"], events=["output"])
    def split(input, ctx):
        for item in input:
            for i in range(item["n"]):
                ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data["seen"] = ctx.data.get("seen", 0) + len(input)

    flow.connect("split.output", "sink.input")
    return flow


def _value(points, **attrs):
    return sum(
        getattr(p, "value", None) if hasattr(p, "value") else p.count
        for p in points
        if all(p.attributes.get(f"routilux.{k}") == v for k, v in attrs.items())
    )


def test_activation_job_and_error_metrics(rt, tel):
    flow = _chain()
    for n in (1, 2, 3):
        rt.submit(flow, data={"n": n}).wait(10)
    bad = Flow("bad")

    @bad.routine(slots=["input"], events=[])
    def boom(input):
        raise KeyError("nope")

    rt.submit(bad, data={}).wait(10)
    m = tel.metrics()
    assert _value(m["routilux.activations"], routine_id="split", status="ok") == 3
    assert _value(m["routilux.activations"], routine_id="sink") >= 3
    assert _value(m["routilux.activations"], routine_id="boom", status="error") == 1
    assert _value(m["routilux.activation.duration"], routine_id="split") == 3  # histogram count
    assert _value(m["routilux.jobs"], flow_id="m", status="completed") == 3
    assert _value(m["routilux.jobs"], flow_id="bad", status="failed") == 1
    assert _value(m["routilux.job.duration"], flow_id="m") == 3
    assert _value(m["routilux.routine.errors"], routine_id="boom", strategy="stop") == 1


def test_queue_depth_gauge(rt, tel):
    flow = _chain()
    worker = rt.start(flow).pause()  # queued items wait
    job = rt.submit(flow, data={"n": 1})
    points = tel.metrics()["routilux.queue.depth"]
    assert _value(points, routine_id="split", slot="input") == 1
    assert _value(points, routine_id="sink", slot="input") == 0
    worker.resume()
    assert job.wait(10).status == "completed"
    assert _value(tel.metrics()["routilux.queue.depth"], routine_id="split") == 0


def _wait_for(predicate, timeout=30.0):
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return True
        done.wait(0.01)
    return False


def test_backpressure_waits_are_counted(rt, tel):
    flow = Flow("bp")
    gate = threading.Event()

    @flow.routine(slots=["input"], events=["output"])
    def produce(input, ctx):
        for i in range(4):
            ctx.emit("output", i=i)

    @flow.routine(slots=[Slot("input", max_length=1, put_timeout=30)], events=[])
    def consume(input, ctx):
        gate.wait(30)
        ctx.data["n"] = ctx.data.get("n", 0) + len(input)

    flow.connect("produce.output", "consume.input")
    job = rt.submit(flow, data={})

    def waits():
        return _value(tel.metrics().get("routilux.backpressure.waits", []), routine_id="consume")

    assert _wait_for(waits)  # an emit found the consumer's slot full while it was busy
    gate.set()
    assert job.wait(30).data["n"] == 4


def test_trace_jobs_and_metrics_frames_join_on_span_ids(rt, tel):
    flow = _chain()
    job = rt.submit(flow, data={"n": 2}).wait(10)
    spans = recorder_of(rt).spans_frame()
    acts = spans[(spans["kind"] == "activation") & (spans["job_id"] == job.job_id)]
    assert set(acts["routine_id"]) == {"split", "sink"}
    assert (acts["trace_id"] == job.trace_id).all()
    finished = {format(s.context.span_id, "016x"): s for s in tel.finished()}
    assert set(acts["span_id"]) <= set(finished)

    trace = with_trace_ids(job.trace.to_pandas(), rt)
    assert (trace["trace_id"] == job.trace_id).all()
    job_level = trace["event_type"].str.startswith("job_")
    assert (
        job_level.sum() >= 2
        and (trace.loc[job_level, "span_id"] == job.metadata["otel.span_id"]).all()
    )
    for row in trace[~job_level].itertuples():
        span = finished[row.span_id]
        assert span.attributes["routilux.routine_id"] == row.routine_id, row
    starts = trace[trace["event_type"] == "routine_start"]
    for row in starts.itertuples():
        assert finished[row.span_id].attributes["routilux.seq"] == row.seq

    jobs = with_trace_ids(jobs_frame(rt.jobs()), rt)
    assert jobs.loc[jobs["job_id"] == job.job_id, "trace_id"].item() == job.trace_id
    metrics = with_trace_ids(job.metrics.to_pandas(), rt, job=job)
    assert list(metrics["trace_id"].unique()) == [job.trace_id]

"""Spans of jobs and activations, ids on the job, context propagation."""

from __future__ import annotations

import re
import subprocess
import sys

from opentelemetry.trace import StatusCode

from routilux_nb import ErrorHandler, Flow, Runtime
from routilux_nb.monitor.otel import TeeMonitor, instrument, recorder_of

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")


def _chain(flow_id: str = "chain") -> Flow:
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"])
    def double(input, ctx):
        for item in input:
            ctx.emit("output", value=item["value"] * 2)

    @flow.routine(slots=["input"], events=[])
    def keep(input, ctx):
        ctx.data["out"] = [i["value"] for i in input]

    flow.connect("double.output", "keep.input")
    return flow


def _by_name(spans):
    return {s.name: s for s in spans}


def test_one_root_span_per_job_and_one_child_per_activation(rt, tel):
    job = rt.submit(_chain(), data={"value": 4}).wait(10)
    assert job.status == "completed" and job.data["out"] == [8]
    spans = _by_name(tel.finished())
    assert set(spans) == {
        "routilux.job chain",
        "routilux.activation double",
        "routilux.activation keep",
    }
    root = spans["routilux.job chain"]
    assert root.parent is None
    assert HEX32.match(job.trace_id) and job.trace_id == format(root.context.trace_id, "032x")
    assert job.metadata["otel.span_id"] == format(root.context.span_id, "016x")
    assert root.attributes["routilux.job_id"] == job.job_id
    assert root.attributes["routilux.flow_id"] == "chain"
    assert root.attributes["routilux.status"] == "completed"
    seqs = {e.seq for e in job.trace.events() if e.event_type == "routine_start"}
    for rid in ("double", "keep"):
        act = spans[f"routilux.activation {rid}"]
        assert act.parent.span_id == root.context.span_id
        assert act.context.trace_id == root.context.trace_id
        a = act.attributes
        assert (a["routilux.job_id"], a["routilux.flow_id"], a["routilux.routine_id"]) == (
            job.job_id,
            "chain",
            rid,
        )
        assert (
            a["routilux.items"] == 1 and a["routilux.attempt"] == 0 and a["routilux.status"] == "ok"
        )
        assert isinstance(a["routilux.activation_id"], int)
        assert a["routilux.seq"] in seqs
        assert act.status.status_code is not StatusCode.ERROR


def test_seq_points_at_routine_start_while_events_are_published_live(rt, tel):
    # with a subscriber every record is written (and takes its seq) as it happens
    with rt.monitor.subscribe():
        job = rt.submit(_chain("live"), data={"value": 3}).wait(10)
    assert job.status == "completed"
    starts = {e.routine_id: e.seq for e in job.trace.events() if e.event_type == "routine_start"}
    spans = _by_name(tel.finished())
    for rid in ("double", "keep"):
        assert spans[f"routilux.activation {rid}"].attributes["routilux.seq"] == starts[rid]


def test_failures_and_retries_are_recorded_per_attempt(rt, tel):
    flow = Flow("flaky")

    @flow.routine(
        slots=["input"],
        events=[],
        error_handler=ErrorHandler("retry", max_retries=1, retry_delay=0.01),
    )
    def flaky(input, ctx):
        raise ValueError(f"attempt {ctx.attempt} failed")

    job = rt.submit(flow, data={}).wait(10)
    assert job.status == "failed"
    spans = tel.finished()
    acts = sorted(
        (s for s in spans if s.name == "routilux.activation flaky"),
        key=lambda s: s.attributes["routilux.attempt"],
    )
    assert [s.attributes["routilux.attempt"] for s in acts] == [0, 1]
    for s in acts:
        assert (
            s.status.status_code is StatusCode.ERROR and s.attributes["routilux.status"] == "error"
        )
        assert any(
            e.name == "exception" and "ValueError" in e.attributes["exception.type"]
            for e in s.events
        )
    root = _by_name(spans)["routilux.job flaky"]
    assert (
        root.status.status_code is StatusCode.ERROR
        and "attempt 1 failed" in root.status.description
    )
    assert root.attributes["error.type"] == "ValueError"


def test_a_job_submitted_inside_an_active_span_is_its_child(rt, tel):
    tracer = tel.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("web request") as parent:
        job = rt.submit(_chain("nested"), data={"value": 1})
    job.wait(10)
    root = _by_name(tel.finished())["routilux.job nested"]
    assert root.parent.span_id == parent.get_span_context().span_id
    assert job.trace_id == format(parent.get_span_context().trace_id, "032x")


def test_spans_made_by_local_logic_are_children_of_the_activation(rt, tel):
    tracer = tel.tracer_provider.get_tracer("user")
    flow = Flow("user-spans")

    @flow.routine(slots=["input"], events=[])
    def work(input, ctx):
        with tracer.start_as_current_span("user work"):
            pass

    rt.submit(flow, data={}).wait(10)
    spans = _by_name(tel.finished())
    assert spans["user work"].parent.span_id == spans["routilux.activation work"].context.span_id


def test_breakpoints_and_cancel_show_on_the_job_span(rt, tel):
    flow = rt.register_flow(_chain("bp"))
    rt.monitor.add_breakpoint("routine", "keep", flow=flow)
    job = rt.submit(flow, data={"value": 1})
    assert job.debug.wait_paused(10)
    job.cancel("enough")
    root = _by_name(tel.finished())["routilux.job bp"]
    names = [e.name for e in root.events]
    assert "breakpoint_hit" in names and "paused" in names
    assert root.attributes["routilux.status"] == "cancelled"
    assert root.attributes["routilux.cancel_reason"] == "enough"


def test_the_tee_keeps_the_monitor_api_and_instrumenting_twice_is_a_no_op(rt):
    assert isinstance(rt.monitor, TeeMonitor)
    assert recorder_of(rt) is instrument(rt)
    job = rt.submit(_chain("api"), data={"value": 2}).wait(10)
    assert job.metrics.to_pandas()["execution_count"].sum() == 2  # the monitor's own metrics
    assert not rt.monitor.armed


def test_instrument_after_a_worker_started_reaches_that_worker(tel):
    rt = Runtime()
    try:
        flow = _chain("late")
        rt.start(flow)
        instrument(rt, tracer_provider=tel.tracer_provider, meter_provider=tel.meter_provider)
        job = rt.submit(flow, data={"value": 1}).wait(10)
        spans = _by_name(tel.finished())
        assert {
            "routilux.job late",
            "routilux.activation double",
            "routilux.activation keep",
        } <= set(spans)
        assert (
            spans["routilux.activation keep"].parent.span_id
            == spans["routilux.job late"].context.span_id
        )
        assert job.trace_id == format(spans["routilux.job late"].context.trace_id, "032x")
    finally:
        rt.shutdown()


def test_without_otel_nothing_of_opentelemetry_is_imported_or_installed():
    code = (
        "import sys, routilux_nb as rx\n"
        "rt = rx.Runtime()\n"
        "f = rx.Flow('f')\n"
        "@f.routine(slots=['input'], events=[])\n"
        "def a(input, ctx): ctx.data['ok'] = True\n"
        "job = rt.submit(f, data={}).wait(10)\n"
        "assert job.data == {'ok': True} and job.trace_id is None, job.data\n"
        "assert type(rt.monitor).__name__ == 'Monitor', type(rt.monitor)\n"
        "mods = [m for m in sys.modules if m.startswith('opentelemetry') or m.endswith('.otel')]\n"
        "assert not mods, mods\n"
        "rt.shutdown()\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_bad_otel_values_are_refused_clearly():
    import pytest

    with pytest.raises(TypeError, match="otel= takes True, an OTLP/HTTP URL"):
        Runtime(otel=42)
    with pytest.raises(ValueError, match="must be an http"):
        Runtime(otel="localhost:4318")


def test_unsampled_spans_and_a_failing_exporter_hook_never_break_a_job(tel, monkeypatch):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    rt = Runtime(
        otel={
            "tracer_provider": TracerProvider(sampler=ALWAYS_OFF),
            "meter_provider": tel.meter_provider,
        }
    )
    try:
        assert rt.submit(_chain("unsampled"), data={"value": 1}).wait(10).data["out"] == [2]
        rec = recorder_of(rt)

        def broken(*args):
            raise RuntimeError("exporter bug")

        monkeypatch.setattr(rec, "activation_start", broken)
        monkeypatch.setattr(rec, "emit", broken)
        job = rt.submit(_chain("broken"), data={"value": 3}).wait(10)
        assert job.status == "completed" and job.data["out"] == [6]
    finally:
        rt.shutdown()

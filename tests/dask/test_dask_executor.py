"""Routine logic on a Dask cluster: results, output, errors, breakpoints, cancel, failures."""

from __future__ import annotations

import contextlib
import os
import threading

import dask_routines as mod
import pytest

from routilux_nb import ErrorHandler, Flow
from routilux_nb.core.offload import call_offloaded


def _chain(flow_id: str = "chain") -> Flow:
    flow = Flow(flow_id)
    flow.routine(mod.triple, slots=["input"], events=["output"])
    flow.add_routine(mod.Square(), "square")
    flow.routine(mod.collect, slots=["input"], events=[])
    flow.connect("triple.output", "square.input")
    flow.connect("square.output", "collect.input")
    return flow


def _single(fn, flow_id: str, events=(), handler: ErrorHandler | None = None) -> Flow:
    flow = Flow(flow_id)
    flow.routine(fn, slots=["input"], events=list(events), error_handler=handler)
    return flow


def _idle(client) -> bool:
    return not any(client.processing().values())


def test_logic_runs_on_dask_workers_and_results_come_back(rt, client):
    jobs = [rt.submit(_chain(), data={"value": i}) for i in (1, 2, 3)]
    for job in jobs:
        job.wait(60)
    assert [j.status for j in jobs] == ["completed"] * 3
    assert sorted(v for j in jobs for v in j.data["out"]) == [9, 36, 81]
    dask_pids = set(client.run(os.getpid).values())
    ran_in = {p for j in jobs for p in j.data["pids"]}
    assert ran_in <= dask_pids and os.getpid() not in ran_in
    assert "tripling 1" in jobs[0].output()
    assert [e.event_type for e in jobs[0].trace.events()].count("event_emit") == 2


class _FakeAct:
    """A local activation stand-in that records, in one list, what is applied to it."""

    def __init__(self, routine, seen):
        self.routine = routine
        self.seen = seen
        self.attempt = 0
        self.act_id = 1
        self.worker_id = "w"
        self.worker = self
        self.status = "running"
        self.job = self
        self.job_id = "job-fake"
        self.data = {"keep": 1, "drop": 2}

    def emit(self, event, **payload):
        self.seen.append(("emit", event, payload["value"]))

    def log(self, message, **details):
        self.seen.append(("log", message))


class _Out:
    def __init__(self, seen):
        self.seen = seen

    def write(self, text):
        if text.strip():
            self.seen.append(("print", text.strip()))

    def flush(self):
        pass


def test_prints_logs_and_emits_come_back_in_the_order_the_logic_made_them(client):
    flow = _single(mod.chatty, "chatty", events=["output"])
    seen: list = []
    act = _FakeAct(flow.routines["chatty"], seen)
    with contextlib.redirect_stdout(_Out(seen)):
        call_offloaded(client.get_executor(), act, act.routine, {"input": [{"value": 0}]})
    assert seen == [
        ("print", "first print"),
        ("log", "first log"),
        ("emit", "output", 1),
        ("print", "second print"),
        ("emit", "output", 2),
        ("log", "second log"),
        ("print", "third print"),
    ]


def test_prints_logs_and_emits_reach_the_job(rt):
    flow = _single(mod.chatty, "chatty2", events=["output"])
    flow.routine(mod.collect, slots=["input"], events=[])
    flow.connect("chatty.output", "collect.input")
    job = rt.submit(flow, data={}).wait(60)
    assert job.status == "completed"
    assert job.output() == "first print\nsecond print\nthird print\n"
    assert [e["details"]["message"] for e in job.logs if e["action"] == "log"] == [
        "first log",
        "second log",
    ]
    assert job.data["out"] == [1, 2]


def test_remote_error_fails_the_job_with_the_remote_traceback(rt):
    job = rt.submit(_single(mod.explode, "boom"), data={}).wait(60)
    assert job.status == "failed"
    assert "ValueError: remote failure in explode" in job.error
    assert (
        "explode" in job.error_traceback
        and 'raise ValueError("remote failure' in job.error_traceback
    )


def test_retry_strategy_reruns_the_remote_logic(rt):
    flow = _single(
        mod.flaky,
        "flaky",
        events=["output"],
        handler=ErrorHandler("retry", max_retries=2, retry_delay=0.01),
    )
    flow.routine(mod.collect, slots=["input"], events=[])
    flow.connect("flaky.output", "collect.input")
    job = rt.submit(flow, data={"value": 5}).wait(60)
    assert job.status == "completed", job.error
    assert job.data == {"succeeded_on_attempt": 1, "out": [5]}
    assert [e["action"] for e in job.logs].count("retry_scheduled") == 1


def test_a_breakpoint_parks_without_holding_a_dask_worker(rt, client, wait_until):
    flow = rt.register_flow(_chain("parked"))
    bp = rt.monitor.add_breakpoint("routine", "square", flow=flow)
    job = rt.submit(flow, data={"value": 2})
    wait_until(lambda: job.status == "paused")
    assert _idle(client)  # nothing of the parked job runs or waits on the cluster
    others = [rt.submit(_chain("other"), data={"value": v}) for v in (1, 3)]
    assert sorted(o.wait(60).data["out"][0] for o in others) == [9, 81]  # both Dask workers free
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    job.resume().wait(60)
    assert job.status == "completed" and job.data["out"] == [36]


@pytest.mark.parametrize("how", ["cancel", "timeout"])
def test_cancel_and_timeout_stop_waiting_on_remote_work(rt, client, tmp_path, wait_until, how):
    stop = tmp_path / "stop"
    try:
        flow = _single(mod.wait_for_file, f"slow-{how}")
        job = rt.submit(
            flow, data={"stop_file": str(stop)}, timeout=3.0 if how == "timeout" else None
        )
        started = tmp_path / "stop.started"
        wait_until(lambda: started.exists() or job.is_finished)
        assert started.exists(), "the remote call never started"  # it runs now
        if how == "cancel":
            job.cancel("enough")
        job.wait(30)
        assert job.status == ("cancelled" if how == "cancel" else "failed")
        # the waiting thread let go although the remote call still runs
        wait_until(lambda: any(e["action"] == "remote_abandoned" for e in job.logs))
        done = tmp_path / "stop.done"
        assert not done.exists()  # ... while the remote call still runs
        stop.write_text("stop")
        wait_until(done.exists)
        assert "finished" not in job.data  # what the abandoned call did is not applied
        quick = rt.submit(_chain(f"after-{how}"), data={"value": 1}).wait(60)
        assert quick.data["out"] == [9]
    finally:
        stop.write_text("stop")


def test_an_unpicklable_input_fails_with_an_error_naming_the_routine(rt):
    job = rt.submit(
        _single(mod.identity, "unpicklable", events=["output"]), data={"lock": threading.Lock()}
    ).wait(60)
    assert job.status == "failed"
    assert job.error_type == "RemotePayloadError"
    assert "routine 'identity'" in job.error
    assert "input[0]['lock']" in job.error and "lock" in job.error


def test_an_unpicklable_emit_fails_with_an_error_naming_the_routine_and_event(rt):
    job = rt.submit(_single(mod.emit_lock, "emits-lock", events=["output"]), data={}).wait(60)
    assert job.status == "failed"
    assert "routine 'emit_lock'" in job.error and "emit 'output' payload['lock']" in job.error


def _killer(flow_id: str, handler: ErrorHandler | None = None) -> Flow:
    flow = _single(mod.kill_times, flow_id, events=["output"], handler=handler)
    flow.routine(mod.collect, slots=["input"], events=[])
    flow.connect("kill_times.output", "collect.input")
    return flow


def test_a_worker_killed_mid_task_reruns_the_activation_and_loses_nothing_else(rt, tmp_path):
    job = rt.submit(
        _killer("killer"), data={"marker": str(tmp_path / "marker"), "kills": 1, "value": 7}
    )
    siblings = [rt.submit(_chain("siblings"), data={"value": v}) for v in range(1, 5)]
    assert job.wait(90).status == "completed", job.error
    assert job.data["out"] == [7]
    assert (tmp_path / "marker").read_text() == "1"  # it really died once
    assert [s.wait(90).status for s in siblings] == ["completed"] * 4, [s.error for s in siblings]
    assert sorted(s.data["out"][0] for s in siblings) == [9, 36, 81, 144]


@pytest.mark.parametrize("strategy", ["stop", "retry"])
def test_a_task_that_keeps_killing_workers_follows_the_error_strategy(
    rt, client, tmp_path, strategy
):
    handler = ErrorHandler(strategy, max_retries=1, retry_delay=0.05)
    job = rt.submit(
        _killer(f"killer-{strategy}", handler),
        data={"marker": str(tmp_path / "marker"), "kills": 2, "value": 7},
    ).wait(90)
    if strategy == "stop":
        assert job.status == "failed"
        assert job.error_type == "KilledWorker" and "routilux-kill_times" in job.error
    else:
        assert job.status == "completed", job.error
        assert job.data["out"] == [7]
        retries = [e for e in job.logs if e["action"] == "retry_scheduled"]
        assert len(retries) == 1 and "KilledWorker" in retries[0]["details"]["error"]
    client.wait_for_workers(2, timeout=60)
    assert rt.submit(_chain("after-kills"), data={"value": 2}).wait(60).data["out"] == [36]


def test_opentelemetry_spans_cover_activations_run_on_the_cluster(client):
    sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from routilux_nb import Runtime

    spans = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    rt = Runtime(executor=client.get_executor(), otel={"tracer_provider": provider})
    try:
        job = rt.submit(_chain("traced"), data={"value": 2}).wait(60)
    finally:
        rt.shutdown()
    assert job.data["out"] == [36]
    names = sorted(
        s.name for s in spans.get_finished_spans() if s.context.trace_id == int(job.trace_id, 16)
    )
    assert names == [
        "routilux.activation collect",
        "routilux.activation square",
        "routilux.activation triple",
        "routilux.job traced",
    ]

"""Engine semantics at the edges: paused workers, payload keys, BaseException, timeouts."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from routilux_nb.builtins import (
    Aggregator,
    Batcher,
    Collector,
    ConditionalRouter,
    DataSource,
    Debouncer,
    Filter,
    Mapper,
    RetryHandler,
    Splitter,
)
from routilux_nb.core import Flow, FunctionRoutine, Routine, Runtime

# the keys that once collided with emit's own parameters
ODD = {"event": "click", "self": "me", "payload": 1}


# -- a paused worker starts nothing, not even through caller-runs ---------------------------


def test_a_paused_worker_runs_no_consumer_for_a_producer_blocked_on_a_full_slot(rt, wait_until):
    first_three, go = threading.Event(), threading.Event()
    consumed: list[int] = []
    ran_while_paused = threading.Event()
    flow = Flow("paused_caller_runs")

    @flow.routine(slots=["input"], events=["output"])
    def producer(input, ctx):
        for i in range(10):
            if i == 3:
                first_three.set()
                go.wait(10)
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def consumer(input, ctx):
        if worker.status == "paused":
            ran_while_paused.set()
        consumed.extend(item["i"] for item in input)

    flow.routines["consumer"].define_slot("input", max_length=2, put_timeout=30)
    flow.connect("producer.output", "consumer.input")
    worker = rt.start(flow)
    job = worker.submit(data={})
    assert first_three.wait(5)
    wait_until(lambda: len(consumed) == 3, 5)
    worker.pause()
    go.set()
    wait_until(lambda: worker.queue_status()["consumer"][0]["unconsumed_count"] == 2, 5)
    assert not ran_while_paused.wait(0.3), "a paused worker ran the consumer inline"
    assert worker.status == "paused" and consumed == [0, 1, 2]
    worker.resume()
    assert job.wait(10).status == "completed", job.error
    assert sorted(consumed) == list(range(10))
    assert not ran_while_paused.is_set()


# -- payload keys are ordinary data --------------------------------------------------------


def test_emit_takes_a_mapping_and_any_key(rt, finished):
    flow = Flow("odd_keys")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        ctx.emit("output", input[0])
        ctx.emit("output", event="kw", self="kw")
        ctx.emit("output", {"event": "both"}, self="merged")

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data.setdefault("got", []).extend(input)

    flow.connect("source.output", "sink.input")
    job = finished(rt.submit(flow, data=ODD))
    assert job.data["got"] == [
        ODD,
        {"event": "kw", "self": "kw"},
        {"event": "both", "self": "merged"},
    ]


def test_routine_emit_takes_a_mapping_and_any_key(rt, finished):
    class Echo(Routine):
        slots = ["input"]
        events = ["output"]

        def logic(self, input):
            for item in input:
                self.emit("output", item)
                self.emit("output", event=item["event"], self="again")

    flow = Flow("odd_keys_class")
    flow.add_routine(Echo(), "echo")
    flow.add_routine(Collector(), "sink")
    flow.connect("echo.output", "sink.input")
    job = finished(rt.submit(flow, data=ODD))
    assert job.data["collected"] == [ODD, {"event": "click", "self": "again"}]


def _through(
    routine: Routine, *, event: str = "output", items: list[dict[str, Any]] | None = None
) -> Flow:
    """``source -> routine -> sink`` (``event`` of the routine feeds the sink)."""
    flow = Flow(f"odd_{type(routine).__name__.lower()}")
    flow.add_routine(DataSource(items=items) if items is not None else DataSource(), "source")
    flow.add_routine(routine, "under_test")
    flow.add_routine(Collector(), "sink")
    flow.connect("source.output", f"under_test.{next(iter(routine.slot_specs))}")
    flow.connect(f"under_test.{event}", "sink.input")
    return flow


@pytest.mark.parametrize(
    ("routine", "event", "expected"),
    [
        (DataSource(), "output", [ODD]),
        (Mapper(), "output", [ODD]),
        (Mapper(set={"extra": 1}), "output", [{**ODD, "extra": 1}]),
        (Filter(condition={"event": "click"}), "output", [ODD]),
        (Filter(condition={"event": "other"}), "rejected", [ODD]),
        (ConditionalRouter(routes={"clicks": {"event": "click"}}), "clicks", [ODD]),
        (Splitter(field="rows"), "output", [ODD, ODD]),
        (Batcher(batch_size=1), "output", [{"items": [ODD], "count": 1}]),
        (Aggregator(), "output", None),
        (Debouncer(interval=0.01), "output", [ODD]),
        (RetryHandler(), "output", [ODD]),
        (RetryHandler(fn=lambda item: item), "output", [ODD]),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Routine) else None,
)
def test_every_builtin_carries_items_with_keys_event_and_self(
    rt, finished, routine, event, expected
):
    data = {**ODD, "rows": [ODD, ODD]} if isinstance(routine, Splitter) else ODD
    if isinstance(routine, DataSource):
        flow = Flow("odd_datasource")
        flow.add_routine(routine, "source")
        flow.add_routine(Collector(), "sink")
        flow.connect("source.output", "sink.input")
    else:
        flow = _through(routine, event=event)
    job = finished(rt.submit(flow, "source", data=data))
    got = job.data["collected"]
    if expected is None:  # the aggregate: one item summarising what came in
        assert len(got) == 1 and got[0]["count"] == 1
    else:
        assert got == expected


def test_data_source_items_with_odd_keys(rt, finished):
    flow = Flow("odd_items")
    flow.add_routine(DataSource(items=[ODD, {"self": 2}]), "source")
    flow.add_routine(Collector(), "sink")
    flow.connect("source.output", "sink.input")
    assert finished(rt.submit(flow, "source", data={})).data["collected"] == [ODD, {"self": 2}]


# -- whatever a routine raises concerns its job only ----------------------------------------


def _raising_flow(flow_id: str, exc: BaseException, **options: Any) -> Flow:
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=[], **options)
    def work(input, ctx):
        if input[0].get("fail"):
            raise exc
        ctx.data["ok"] = True

    return flow


@pytest.mark.parametrize(
    "exc",
    [SystemExit(3), asyncio.CancelledError("cancelled"), GeneratorExit()],
    ids=["SystemExit", "CancelledError", "GeneratorExit"],
)
def test_base_exception_fails_the_job_and_the_worker_keeps_serving(rt, finished, exc):
    worker = rt.start(_raising_flow(f"raises_{type(exc).__name__}", exc))
    bad = worker.submit(data={"fail": True}).wait(5)
    assert bad.status == "failed", (bad.status, bad.error)
    assert type(exc).__name__ in (bad.error or "") and bad.error_type == type(exc).__name__
    for _ in range(3):  # drainers are counted right: later jobs run
        assert finished(worker.submit(data={})).data == {"ok": True}
    assert worker.jobs_failed == 1 and worker.status == "running"


def test_base_exception_is_retried_per_the_strategy(rt, finished):
    calls: list[int] = []
    flow = Flow("retry_system_exit")

    @flow.routine(
        slots=["input"],
        events=[],
        error_handler={"strategy": "retry", "max_retries": 2, "retry_delay": 0.01},
    )
    def flaky(input, ctx):
        calls.append(1)
        if len(calls) < 3:
            raise SystemExit("not yet")
        ctx.data["calls"] = len(calls)

    assert finished(rt.submit(flow, data={})).data == {"calls": 3}


def test_keyboard_interrupt_cancels_only_that_job(rt, finished):
    worker = rt.start(_raising_flow("interrupted", KeyboardInterrupt()))
    job = worker.submit(data={"fail": True}).wait(5)
    assert job.status == "cancelled" and "KeyboardInterrupt" in (job.cancel_reason or "")
    assert finished(worker.submit(data={})).data == {"ok": True}
    assert worker.status == "running"


# -- a timed-out activation does not starve other workers -----------------------------------


def test_a_stuck_timed_out_activation_does_not_starve_another_worker(finished, caplog, wait_until):
    release = threading.Event()
    stuck_started = threading.Event()
    stuck = Flow("stuck", execution_timeout=0.2)

    @stuck.routine(slots=["input"], events=[])
    def hang(input):
        stuck_started.set()
        release.wait(30)

    quick = Flow("quick")

    @quick.routine(slots=["input"], events=[])
    def fast(input, ctx):
        ctx.data["done"] = True

    runtime = Runtime(max_threads=1)
    try:
        caplog.set_level("WARNING", logger="routilux_nb.core.worker")
        job = runtime.submit(stuck, data={})
        assert stuck_started.wait(5)
        assert job.wait(5).status == "failed" and job.error_type == "JobTimeoutError"
        wait_until(lambda: "replacement thread" in caplog.text, 5)
        assert finished(runtime.submit(quick, data={}), 5).data == {"done": True}
    finally:
        release.set()
        runtime.shutdown()


def test_threads_lent_for_a_timed_out_activation_are_given_back(wait_until):
    release = threading.Event()
    started = threading.Event()
    flow = Flow("stuck_then_free", execution_timeout=0.1)

    @flow.routine(slots=["input"], events=[])
    def hang(input):
        started.set()
        release.wait(30)

    runtime = Runtime(max_threads=2)
    try:
        job = runtime.submit(flow, data={})
        assert started.wait(5) and job.wait(5).status == "failed"
        pool = runtime._executor
        wait_until(lambda: pool.lent == 1, 5)
        release.set()
        wait_until(lambda: pool.lent == 0, 5)
    finally:
        release.set()
        runtime.shutdown()


def test_function_routine_emit_with_positional_payload_in_logic(rt, finished):
    flow = Flow("positional")
    flow.add_routine(
        FunctionRoutine(lambda input, ctx: ctx.emit("output", {"self": 1}), routine_id="src")
    )
    flow.add_routine(Collector(), "sink")
    flow.connect("src.output", "sink.input")
    assert finished(rt.submit(flow, data={})).data["collected"] == [{"self": 1}]

"""Error strategies act, per failing activation, in real running flows."""

from __future__ import annotations

import threading
import time

import pytest

from routilux_nb.core import ErrorHandler, Flow, Routine


class Sink(Routine):
    slots = ["input"]

    def logic(self, input, ctx):
        ctx.data.setdefault("out", []).extend(i["v"] for i in input)


def _flow_with(fn, *, flow_id="errors", handler=None, flow_handler=None, **options):
    """``fan -> work -> sink``; ``fan`` emits one item per value of ``data["values"]`` so that
    ``work`` runs once per item; ``work`` calls ``fn(item)`` and emits its result."""
    flow = Flow(flow_id, error_handler=flow_handler)

    @flow.routine(slots=["input"], events=["output"])
    def fan(input, ctx):
        for v in input[0]["values"]:
            ctx.emit("output", v=v)

    @flow.routine(slots=["input"], events=["output"], error_handler=handler, **options)
    def work(input, ctx):
        out = []
        for item in input:
            out.append({"v": fn(item["v"], ctx)})
        return out

    flow.add_routine(Sink(), "sink")
    flow.connect("fan.output", "work.input")
    flow.connect("work.output", "sink.input")
    return flow


# -- the handler itself ---------------------------------------------------------------------


def test_error_handler_delays_and_spec():
    h = ErrorHandler("retry", max_retries=4, retry_delay=0.1, backoff=3)
    assert [h.delay(n) for n in (1, 2, 3)] == [0.1, 0.3, 0.9]
    assert ErrorHandler().to_dict() == {
        "strategy": "stop",
        "max_retries": 3,
        "retry_delay": 0.1,
        "backoff": 2.0,
    }
    assert ErrorHandler.from_spec("skip") == ErrorHandler("skip")
    assert ErrorHandler.from_spec({"strategy": "retry", "max_retries": 1}).max_retries == 1
    assert ErrorHandler.from_spec(None) is None
    assert ErrorHandler.from_spec(h) is h


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("explode",),
            "unknown error strategy 'explode'; choose one of stop, continue, retry, skip",
        ),
        (({"strategy": "retry", "tries": 2},), r"unknown error_handler keys \['tries'\]"),
        ((3,), "must be a strategy name or a mapping"),
    ],
)
def test_error_handler_spec_errors(args, message):
    with pytest.raises(ValueError, match=message):
        ErrorHandler.from_spec(*args)


def test_error_handler_rejects_bad_numbers():
    for kw in ({"max_retries": -1}, {"retry_delay": -0.1}, {"backoff": 0.5}):
        with pytest.raises(ValueError, match="retry needs"):
            ErrorHandler("retry", **kw)


# -- stop -----------------------------------------------------------------------------------


def _boom_on(bad):
    def fn(v, ctx):
        if v == bad:
            raise ValueError(f"bad value {v}")
        return v

    return fn


def test_stop_fails_the_job_with_error_and_traceback(rt):
    flow = _flow_with(_boom_on(2), handler="stop")
    job = rt.submit(flow, "fan", data={"values": [1, 2, 3]}).wait(5)
    assert job.status == "failed"
    assert job.error == "routine 'work' failed: ValueError: bad value 2"
    assert job.error_type == "ValueError"
    assert "Traceback" in job.error_traceback and "ValueError: bad value 2" in job.error_traceback
    assert "in fn" in job.error_traceback
    d = job.to_dict()
    assert d["status"] == "failed" and d["error_traceback"] == job.error_traceback


def test_stop_is_the_default_and_worker_keeps_serving(rt, finished):
    flow = _flow_with(_boom_on(2))
    worker = rt.start(flow)
    bad = worker.submit("fan", data={"values": [2]}).wait(5)
    assert bad.status == "failed"
    assert worker.status == "running"
    good = [worker.submit("fan", data={"values": [5, 6]}) for _ in range(5)]
    for job in good:
        assert finished(job).data["out"] == [5, 6]
    assert worker.jobs_failed == 1 and worker.jobs_processed == 6


def test_stop_in_entry_routine_fails_job(rt):
    flow = Flow("entry_fails")

    @flow.routine(slots=["input"], events=[])
    def entry(input):
        raise KeyError("missing")

    job = rt.submit(flow, data={}).wait(5)
    assert job.status == "failed" and "KeyError" in job.error and "'missing'" in job.error


# -- continue and skip ----------------------------------------------------------------------


def test_continue_records_error_and_job_completes(rt, finished):
    flow = _flow_with(_boom_on(2), handler="continue")
    job = finished(rt.submit(flow, "fan", data={"values": [2]}))
    assert "out" not in job.data, "the failed activation emitted nothing"
    errors = list(job.metrics.errors)
    assert len(errors) == 1
    assert errors[0].to_dict()["routine_id"] == "work"
    assert "bad value 2" in str(errors[0].to_dict())
    logged = [e for e in job.logs if e["action"] == "error_continued"]
    assert len(logged) == 1 and logged[0]["details"]["error"] == "bad value 2"
    assert job.error is None


def test_continue_is_per_invocation(rt, finished):
    """Each failing activation is handled on its own: items of other activations go on."""
    gate = threading.Event()

    def fn(v, ctx):
        if v % 2:
            raise RuntimeError(f"odd {v}")
        return v

    flow = Flow("per_invocation")

    @flow.routine(slots=["input"], events=["output"])
    def fan(input, ctx):
        for v in range(6):
            ctx.emit("output", v=v)
            gate.wait(0.01)  # separate the items so that they arrive one activation each

    @flow.routine(slots=["input"], events=["output"], error_handler="continue")
    def work(input, ctx):
        ctx.data.setdefault("calls", []).append([i["v"] for i in input])
        return [{"v": fn(i["v"], ctx)} for i in input]

    flow.add_routine(Sink(), "sink")
    flow.connect("fan.output", "work.input")
    flow.connect("work.output", "sink.input")
    job = finished(rt.submit(flow, "fan", data={}))
    calls = job.data["calls"]
    failed_calls = [c for c in calls if any(v % 2 for v in c)]
    good_items = [v for c in calls if not any(v % 2 for v in c) for v in c]
    assert job.data.get("out", []) == good_items
    assert len(job.metrics.errors) == len(failed_calls) >= 1


def test_skip_abandons_activation_and_job_completes(rt, finished):
    flow = _flow_with(_boom_on(2), handler="skip")
    job = finished(rt.submit(flow, "fan", data={"values": [2]}))
    assert "out" not in job.data
    skipped = [e for e in job.logs if e["action"] == "skipped"]
    assert len(skipped) == 1 and skipped[0]["routine_id"] == "work"
    assert skipped[0]["details"]["error_type"] == "ValueError"
    assert job.error is None


# -- retry ----------------------------------------------------------------------------------


def test_retry_re_executes_until_success(rt, finished):
    calls = []

    def flaky(v, ctx):
        calls.append((v, ctx.attempt, time.monotonic()))
        if len(calls) < 3:
            raise ConnectionError(f"attempt {len(calls)}")
        return v * 10

    flow = _flow_with(
        flaky, handler={"strategy": "retry", "max_retries": 3, "retry_delay": 0.1, "backoff": 2}
    )
    job = finished(rt.submit(flow, "fan", data={"values": [4]}))
    assert [(v, a) for v, a, _ in calls] == [(4, 0), (4, 1), (4, 2)], "same item, each attempt"
    assert job.data["out"] == [40], "the downstream routine got the result once"
    gaps = [b[2] - a[2] for a, b in zip(calls, calls[1:], strict=False)]
    assert 0.1 - 0.01 <= gaps[0] < 0.1 + 0.25, gaps
    assert 0.2 - 0.01 <= gaps[1] < 0.2 + 0.25, gaps
    scheduled = [e["details"] for e in job.logs if e["action"] == "retry_scheduled"]
    assert [(d["attempt"], d["delay"]) for d in scheduled] == [(1, 0.1), (2, 0.2)]


def test_retry_exhausted_fails_with_after_n_retries(rt):
    calls = []

    def always(v, ctx):
        calls.append(ctx.attempt)
        raise OSError("down")

    flow = _flow_with(always, handler={"strategy": "retry", "max_retries": 2, "retry_delay": 0.01})
    job = rt.submit(flow, "fan", data={"values": [1]}).wait(5)
    assert job.status == "failed"
    assert calls == [0, 1, 2]
    assert job.error == "routine 'work' failed: OSError: down (after 2 retries)"
    assert "OSError: down" in job.error_traceback


def test_retry_delay_does_not_hold_a_worker_thread(rt, finished):
    """While a retry waits 0.5 s, another job on the same single-drainer worker runs at once."""
    first_call = threading.Event()

    def fails_first(v, ctx):
        if v == "slow" and ctx.attempt == 0:
            first_call.set()
            raise RuntimeError("try again later")
        return v

    flow = _flow_with(
        fails_first, handler={"strategy": "retry", "max_retries": 1, "retry_delay": 0.5}
    )
    worker = rt.start(flow, max_concurrency=1)
    slow = worker.submit("fan", data={"values": ["slow"]})
    assert first_call.wait(2)
    t0 = time.monotonic()
    quick = finished(worker.submit("fan", data={"values": ["quick"]}), timeout=2)
    elapsed = time.monotonic() - t0
    assert elapsed < 0.45, f"the quick job waited {elapsed:.2f} s behind a pending retry"
    assert quick.data["out"] == ["quick"]
    assert slow.status == "running", "the retry is still pending"
    assert finished(slow).data["out"] == ["slow"]


def test_retry_in_the_entry_routine(rt, finished):
    attempts = []
    flow = Flow("retry_entry")

    @flow.routine(
        slots=["input"],
        events=[],
        error_handler=ErrorHandler("retry", max_retries=3, retry_delay=0.01),
    )
    def entry(input, ctx):
        attempts.append(ctx.attempt)
        if ctx.attempt < 1:
            raise ValueError("first time")
        ctx.data["payload"] = input

    job = finished(rt.submit(flow, data={"k": 1}))
    assert attempts == [0, 1]
    assert job.data["payload"] == [{"k": 1}]


def test_cancelled_job_is_not_retried(rt, wait_until):
    calls = []

    def always(v, ctx):
        calls.append(ctx.attempt)
        raise OSError("down")

    flow = _flow_with(always, handler={"strategy": "retry", "max_retries": 5, "retry_delay": 30})
    job = rt.submit(flow, "fan", data={"values": [1]})
    wait_until(lambda: any(e["action"] == "retry_scheduled" for e in list(job.logs)), 5)
    assert rt.scheduler.pending() == 1, "the retry waits on the timer"
    job.cancel("stop retrying")
    assert job.status == "cancelled"
    assert rt.scheduler.pending() == 0, "cancelling the job cancelled its retry"
    assert calls == [0]


# -- flow-level handler ---------------------------------------------------------------------


def test_flow_error_handler_applies_when_routine_has_none(rt, finished):
    flow = _flow_with(_boom_on(1), flow_handler="continue")
    job = finished(rt.submit(flow, "fan", data={"values": [1, 2]}))
    assert [e for e in job.logs if e["action"] == "error_continued"]


def test_routine_error_handler_overrides_the_flow_one(rt):
    flow = _flow_with(_boom_on(1), handler="stop", flow_handler="continue")
    job = rt.submit(flow, "fan", data={"values": [1]}).wait(5)
    assert job.status == "failed"


def test_flow_level_retry(rt, finished):
    calls = []

    def flaky(v, ctx):
        calls.append(ctx.attempt)
        if ctx.attempt == 0:
            raise TimeoutError("once")
        return v

    flow = _flow_with(
        flaky, flow_handler={"strategy": "retry", "max_retries": 1, "retry_delay": 0.01}
    )
    job = finished(rt.submit(flow, "fan", data={"values": [7]}))
    assert calls == [0, 1] and job.data["out"] == [7]


def test_skip_counts_no_error(rt, finished):
    flow = _flow_with(_boom_on(2), handler="skip")
    job = finished(rt.submit(flow, "fan", data={"values": [2]}))
    assert [e for e in job.logs if e["action"] == "skipped"]
    assert len(job.metrics.errors) == 0
    assert job.metrics.to_dict()["routine_metrics"]["work"]["error_count"] == 0


@pytest.mark.parametrize("paused", ["job", "worker"])
def test_pending_retry_waits_while_paused(rt, paused, finished):
    calls = []
    failed_once = threading.Event()
    flow = Flow(f"retry_paused_{paused}")

    @flow.routine(
        slots=["input"],
        events=[],
        error_handler={"strategy": "retry", "max_retries": 2, "retry_delay": 0.15},
    )
    def work(input, ctx):
        calls.append(ctx.attempt)
        if ctx.attempt == 0:
            failed_once.set()
            raise ValueError("first attempt fails")

    worker = rt.start(flow)
    job = worker.submit(data={})
    assert failed_once.wait(2)
    target = job if paused == "job" else worker
    target.pause()
    time.sleep(0.35)  # the retry fell due 0.2 s ago
    assert calls == [0], "no new activation starts while paused"
    assert not job.is_finished
    target.resume()
    assert finished(job).status == "completed"
    assert calls == [0, 1]

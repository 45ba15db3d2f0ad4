"""Activation policies, decided in isolation and run with real timers in real flows."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from routilux_nb.core import Flow, JobWaitTimeout, policies
from routilux_nb.core.policies import Decision, policy_from_spec

# -- decisions and descriptions -------------------------------------------------------------


def test_describe_of_every_policy():
    assert policies.immediate().describe() == {
        "type": "immediate",
        "config": {},
        "description": "Activate immediately when any slot receives data",
    }
    assert policies.batch_size(3).describe() == {
        "type": "batch_size",
        "config": {"batch_size": 3},
        "description": "Activate when a slot holds 3 items, taking 3",
    }
    d = policies.batch_size(3, timeout=0.5).describe()
    assert d["config"] == {"batch_size": 3, "timeout": 0.5} and "after 0.5 s" in d["description"]
    assert policies.all_slots_ready().describe()["type"] == "all_slots_ready"
    assert policies.time_interval(2).describe() == {
        "type": "time_interval",
        "config": {"min_interval": 2.0},
        "description": "Activate at most once every 2 s, taking everything waiting",
    }

    def enough(counts):
        return True

    c = policies.custom(enough).describe()
    assert (
        c["type"] == "custom"
        and c["config"] == {"check": "enough"}
        and "enough(counts)" in c["description"]
    )
    for p in (
        policies.immediate(),
        policies.batch_size(2),
        policies.all_slots_ready(),
        policies.time_interval(1),
        policies.custom(enough),
    ):
        assert set(p.describe()) == {"type", "config", "description"}
        assert isinstance(p.describe()["description"], str) and p.describe()["description"]


def test_decide_semantics():
    assert policies.immediate().decide({"a": 0, "b": 2}, now=0, last=None, since=None) == Decision(
        {"b": None}
    )
    assert policies.immediate().decide({"a": 0}, now=0, last=None, since=None).take is None
    b = policies.batch_size(3)
    assert b.decide({"input": 2}, now=0, last=None, since=0).take is None
    assert b.decide({"input": 7}, now=0, last=None, since=0).take == {"input": 3}
    assert b.flush({"input": 2}).take == {"input": None}
    bt = policies.batch_size(3, timeout=1.0)
    assert bt.decide({"input": 1}, now=10.4, last=None, since=10.0) == Decision(wake_at=11.0)
    assert bt.decide({"input": 1}, now=11.0, last=None, since=10.0).take == {"input": None}
    j = policies.all_slots_ready()
    assert j.decide({"a": 2, "b": 0}, now=0, last=None, since=None).take is None
    assert j.decide({"a": 2, "b": 3}, now=0, last=None, since=None).take == {"a": 1, "b": 1}
    assert j.flush({"a": 2, "b": 0}).take is None  # a join never flushes half a pair
    t = policies.time_interval(1.0)
    assert t.decide({"x": 1}, now=5.0, last=None, since=None).take == {"x": None}
    assert t.decide({"x": 1}, now=5.5, last=5.0, since=None) == Decision(wake_at=6.0)
    assert t.decide({"x": 1}, now=6.0, last=5.0, since=None).take == {"x": None}
    assert t.decide({"x": 0}, now=9.0, last=5.0, since=None).take is None


def test_equality_hash_and_repr():
    assert policies.batch_size(3) == policies.batch_size(3)
    assert policies.batch_size(3) != policies.batch_size(4)
    assert policies.batch_size(3) != policies.batch_size(3, timeout=1)
    assert hash(policies.time_interval(1)) == hash(policies.time_interval(2))
    assert policies.immediate() is policies.immediate()
    assert repr(policies.batch_size(3, 0.5)) == "batch_size(batch_size=3, timeout=0.5)"


@pytest.mark.parametrize(
    "policy",
    [
        policies.immediate(),
        policies.batch_size(4),
        policies.batch_size(2, timeout=0.25),
        policies.all_slots_ready(),
        policies.time_interval(1.5),
    ],
    ids=lambda p: repr(p),
)
def test_policy_from_spec_round_trip(policy):
    spec = {"type": policy.describe()["type"], "config": policy.describe()["config"]}
    again = policy_from_spec(spec)
    assert again == policy and again.describe() == policy.describe()
    assert policy_from_spec(policy) is policy


def test_policy_from_spec_shorthands():
    assert policy_from_spec(None) is policies.immediate()
    assert policy_from_spec("immediate") is policies.immediate()
    assert policy_from_spec("all_slots_ready") is policies.all_slots_ready()
    assert policy_from_spec(
        {"type": "batch_size", "config": {"min_batch_size": 5}}
    ) == policies.batch_size(5)
    assert policy_from_spec(
        {"type": "time_interval", "config": {"seconds": 3}}
    ) == policies.time_interval(3)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sometimes", "unknown activation policy 'sometimes'; known: immediate"),
        ({"type": "custom"}, "custom policies need a Python callable"),
        ({"config": {}}, "mapping with 'type'"),
        (42, "must be a name or a mapping"),
        ({"type": "batch_size"}, "needs config.batch_size"),
        ({"type": "time_interval", "config": {}}, "needs config.min_interval"),
        ({"type": "batch_size", "config": {"batch_size": 0}}, "n must be >= 1"),
        ({"type": "batch_size", "config": {"batch_size": 2, "timeout": 0}}, "timeout must be > 0"),
        ({"type": "time_interval", "config": {"min_interval": -1}}, "seconds must be > 0"),
    ],
)
def test_policy_from_spec_errors(spec, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        policy_from_spec(spec)


def test_custom_needs_callable():
    with pytest.raises(TypeError, match="needs a callable"):
        policies.custom("counts > 3")


# -- real flows -----------------------------------------------------------------------------


def _batch_flow(flow_id, policy, record, *, emit_plan):
    """``source -> sink``; ``emit_plan`` is a list of (count, sleep_after) steps of the source."""
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        i = 0
        for count, pause in emit_plan:
            for _ in range(count):
                ctx.emit("output", i=i)
                i += 1
            record.add(("emitted", i, time.monotonic()))
            if pause:
                time.sleep(pause)

    @flow.routine(slots=["input"], events=[], policy=policy)
    def sink(input, ctx):
        record.add(("batch", [x["i"] for x in input], time.monotonic()))

    flow.connect("source.output", "sink.input")
    return flow


def _batches(record):
    return [b for kind, b, _ in record.snapshot() if kind == "batch"]


def test_batch_size_exact_batches_and_leftover_flushed_at_idle(rt, recorder, finished):
    record = recorder()
    flow = _batch_flow("batches", policies.batch_size(3), record, emit_plan=[(10, 0)])
    finished(rt.submit(flow, "source", data={}))
    assert _batches(record) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


def test_batch_size_many_jobs_each_get_their_own_batches(rt, recorder, finished):
    flow = Flow("batches_jobs")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for i in range(7):
            ctx.emit("output", i=i, job=input[0]["job"])

    @flow.routine(slots=["input"], events=[], policy=policies.batch_size(2))
    def sink(input, ctx):
        assert {x["job"] for x in input} == {ctx.data["me"]}
        ctx.data.setdefault("sizes", []).append(len(input))

    flow.connect("source.output", "sink.input")
    jobs = [rt.submit(flow, "source", data={"job": k}, job_data={"me": k}) for k in range(10)]
    for job in jobs:
        assert finished(job).data["sizes"] == [2, 2, 2, 1]


def test_batch_size_timeout_fires_partial_batch_without_new_data(rt, recorder, finished):
    record = recorder()
    # 2 items, then the source keeps the job busy for 0.6 s without sending anything
    flow = _batch_flow(
        "batch_timeout", policies.batch_size(5, timeout=0.25), record, emit_plan=[(2, 0.6), (5, 0)]
    )
    finished(rt.submit(flow, "source", data={}))
    rows = record.snapshot()
    assert _batches(record) == [[0, 1], [2, 3, 4, 5, 6]]
    first_emit = next(t for kind, n, t in rows if kind == "emitted" and n == 2)
    first_batch = next(t for kind, _, t in rows if kind == "batch")
    assert 0.25 - 0.01 <= first_batch - first_emit <= 0.25 + 0.5


def test_batch_size_timeout_when_the_source_is_done(rt, recorder, finished):
    record = recorder()
    flow = _batch_flow(
        "batch_timeout_idle", policies.batch_size(5, timeout=0.3), record, emit_plan=[(2, 0)]
    )
    t0 = time.monotonic()
    job = finished(rt.submit(flow, "source", data={}))
    assert _batches(record) == [[0, 1]]
    assert job.status == "completed"
    assert time.monotonic() - t0 < 1.5


def test_all_slots_ready_joins_pairs_and_reports_leftovers(rt, finished):
    flow = Flow("join")

    @flow.routine(slots=["input"], events=["left", "right"])
    def feed(input, ctx):
        for i in range(3):
            ctx.emit("left", i=i)
        for i in range(2):
            ctx.emit("right", i=i)

    @flow.routine(slots=["left", "right"], events=[], policy=policies.all_slots_ready())
    def join(left, right, ctx):
        ctx.data.setdefault("pairs", []).append(([x["i"] for x in left], [x["i"] for x in right]))

    flow.connect("feed.left", "join.left")
    flow.connect("feed.right", "join.right")
    job = finished(rt.submit(flow, "feed", data={}))
    assert job.data["pairs"] == [([0], [0]), ([1], [1])]
    unconsumed = [e for e in job.logs if e["action"] == "unconsumed"]
    assert len(unconsumed) == 1
    assert unconsumed[0]["details"]["count"] == 1
    assert unconsumed[0]["details"]["where"] == {"join": {"left": 1}}
    assert job.discarded >= 1


def test_time_interval_limits_activations(rt, recorder, finished):
    record = recorder()
    # 20 items over ~0.5 s into a routine allowed to run every 0.2 s
    flow = _batch_flow(
        "interval_limit", policies.time_interval(0.2), record, emit_plan=[(1, 0.025)] * 20
    )
    finished(rt.submit(flow, "source", data={}))
    rows = [(b, t) for kind, b, t in record.snapshot() if kind == "batch"]
    assert [i for b, _ in rows for i in b] == list(range(20)), "nothing lost, order kept"
    assert 2 <= len(rows) <= 5
    gaps = [b[1] - a[1] for a, b in zip(rows, rows[1:], strict=False)]
    assert all(g >= 0.2 - 0.01 for g in gaps), gaps


def test_time_interval_fires_without_new_data(rt, recorder, finished):
    record = recorder()
    flow = _batch_flow(
        "interval_timer", policies.time_interval(0.3), record, emit_plan=[(1, 0.05), (3, 0)]
    )
    finished(rt.submit(flow, "source", data={}))
    rows = record.snapshot()
    batches = [(b, t) for kind, b, t in rows if kind == "batch"]
    source_done = max(t for kind, _, t in rows if kind == "emitted")
    assert [i for b, _ in batches for i in b] == [0, 1, 2, 3]
    assert len(batches) == 2
    assert batches[1][1] - batches[0][1] >= 0.3 - 0.01
    # the second activation came from the timer: no data arrived for > 0.15 s before it
    assert batches[1][1] - source_done > 0.15
    assert batches[1][1] - batches[0][1] <= 0.3 + 0.5


def test_custom_policy_check_decides(rt, finished):
    seen_counts = []
    lock = threading.Lock()

    def at_least_four(counts):
        with lock:
            seen_counts.append(dict(counts))
        return counts["input"] >= 4

    flow = Flow("custom")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for i in range(10):
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[], policy=policies.custom(at_least_four))
    def sink(input, ctx):
        ctx.data.setdefault("batches", []).append([x["i"] for x in input])

    flow.connect("source.output", "sink.input")
    job = finished(rt.submit(flow, "source", data={}))
    batches = job.data["batches"]
    assert batches and all(len(b) >= 4 for b in batches)
    consumed = [i for b in batches for i in b]
    assert consumed == list(range(len(consumed)))
    assert seen_counts and all(set(c) == {"input"} for c in seen_counts)
    leftover = sum(e["details"]["count"] for e in job.logs if e["action"] == "unconsumed")
    assert len(consumed) + leftover == 10


def test_a_failing_custom_check_fails_the_job_and_spares_the_worker(rt):
    calls = {"n": 0}

    def fragile(counts):
        calls["n"] += 1
        if calls["n"] == 2:  # the first call comes from the delivery, the second from the drainer
            raise ValueError("check broke")
        return True

    flow = Flow("fragile_check")

    @flow.routine(slots=["input"], events=[], policy=policies.custom(fragile))
    def sink(input, ctx):
        ctx.data["ran"] = True

    worker = rt.start(flow)
    first = worker.submit(data={})
    with contextlib.suppress(JobWaitTimeout):
        first.wait(0.5)
    second = worker.submit(data={})
    with contextlib.suppress(JobWaitTimeout):
        second.wait(0.5)
    assert first.status == "failed" and "check broke" in (first.error or "")
    assert second.status == "completed" and second.data.get("ran")

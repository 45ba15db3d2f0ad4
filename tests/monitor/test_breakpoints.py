"""Breakpoints park real work of real running jobs; other work keeps running."""

from __future__ import annotations

import pytest

from routilux_nb import ExpressionError, JobWaitTimeout

WAIT = 2.0


def trace_types(job, etype):
    return [e for e in job.trace.to_list() if e["event_type"] == etype]


def source_done(job):
    return any(e["routine_id"] == "source" for e in trace_types(job, "routine_end"))


# -- every type, on a real running flow ----------------------------------------------------
def test_routine_breakpoint_parks_before_logic_runs(rt, chain, until):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "double", worker=w)
    job = w.submit(data={"value": 4})
    assert job.debug.wait_paused(WAIT)
    assert job.status == "paused"
    assert c.count("source") == 1
    assert c.count("double") == 0, "the routine's logic has not run"
    assert c.count("sink") == 0
    loc = job.debug.location()
    assert (loc["kind"], loc["routine_id"], loc["breakpoint_id"]) == (
        "routine",
        "double",
        bp.breakpoint_id,
    )
    assert job.debug.variables()["payload"] == {"input": [{"value": 4}]}
    assert bp.hit_count == 1
    hits = until(lambda: trace_types(job, "breakpoint_hit"))
    assert (
        len(hits) == 1
        and hits[0]["routine_id"] == "double"
        and hits[0]["status"] == bp.breakpoint_id
    )
    with pytest.raises(JobWaitTimeout, match="paused"):
        job.wait(0.05)
    job.resume()
    assert job.wait(WAIT).status == "completed"
    assert job.data["out"] == [8]
    assert c.count("double") == 1
    assert [e["status"] for e in trace_types(job, "breakpoint_release")] == ["resume"]


def test_slot_breakpoint_parks_the_arriving_item(rt, chain, until):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("slot", "sink", slot_name="input", worker=w)
    job = w.submit(data={"value": 5})
    assert job.debug.wait_paused(WAIT)
    assert c.count("double") == 1
    assert c.count("sink") == 0
    loc = job.debug.location()
    assert (loc["kind"], loc["routine_id"], loc["slot_name"]) == ("slot", "sink", "input")
    assert job.debug.variables()["payload"] == {"value": 10}
    # parked before queueing: the slot holds nothing
    assert w.queue_status(job.job_id)["sink"][0]["unconsumed_count"] == 0
    assert bp.hit_count == 1
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"
    assert job.data["out"] == [10]


def test_event_breakpoint_parks_the_emit(rt, chain, until):
    c = chain()
    w = rt.start(c.flow)
    rt.monitor.add_breakpoint("event", "double", event_name="output", worker=w)
    job = w.submit(data={"value": 3})
    assert job.debug.wait_paused(WAIT)
    assert c.count("double") == 1, "the emitting routine ran"
    assert "out" not in job.data
    assert c.count("sink") == 0, "downstream has not received it"
    assert w.queue_status(job.job_id)["sink"][0]["total_count"] == 0
    loc = job.debug.location()
    assert (loc["kind"], loc["routine_id"], loc["event_name"]) == ("event", "double", "output")
    assert job.debug.variables()["payload"] == {"value": 6}
    # the emitting activation itself finishes while its emit is parked
    until(lambda: any(e["routine_id"] == "double" for e in trace_types(job, "routine_end")))
    assert job.status == "paused"
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"
    assert job.data["out"] == [6]


def test_connection_breakpoint_parks_one_branch_of_a_fanout(rt, chain, until):
    c = chain(fanout=True)
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint(
        "connection", "double", event_name="output", target_routine="audit", worker=w
    )
    job = w.submit(data={"value": 7})
    assert job.debug.wait_paused(WAIT)
    queues = w.queue_status(job.job_id)
    assert queues["sink"][0]["total_count"] == 1, "the other connection delivered"
    assert queues["audit"][0]["total_count"] == 0
    assert c.count("audit") == 0
    assert "audited" not in job.data
    assert job.status == "paused"
    loc = job.debug.location()
    assert loc["kind"] == "connection"
    assert loc["routine_id"] == "audit"
    assert loc["connection_index"] == 2
    assert w.connection_counts == {0: 1, 1: 1, 2: 1}
    assert bp.hit_count == 1
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"
    assert job.data["audited"] == [14]
    assert c.count("audit") == 1


def test_connection_breakpoint_by_target_slot(rt, chain, until):
    c = chain(fanout=True)
    w = rt.start(c.flow)
    rt.monitor.add_breakpoint("connection", target_routine="sink", slot_name="input", worker=w)
    job = w.submit(data={"value": 1})
    assert job.debug.wait_paused(WAIT)
    until(lambda: w.queue_status()["audit"][0]["total_count"] == 1)
    assert w.queue_status()["sink"][0]["total_count"] == 0
    assert c.count("sink") == 0
    assert job.debug.location()["connection_index"] == 1
    job.debug.resume()
    assert job.wait(WAIT).data["out"] == [2]


# -- scope ---------------------------------------------------------------------------------
def test_per_job_breakpoint_pauses_only_that_job(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    w.pause()
    first = w.submit(data={"value": 1})
    second = w.submit(data={"value": 2})
    bp = rt.monitor.add_breakpoint("routine", "double", job=first)
    assert bp.job_id == first.job_id
    w.resume()
    assert second.wait(WAIT).status == "completed"
    assert second.data["out"] == [4]
    assert first.debug.wait_paused(WAIT)
    assert first.status == "paused"
    assert rt.monitor.paused_jobs() == [first]
    assert bp.hit_count == 1
    first.resume()
    assert first.wait(WAIT).data["out"] == [2]
    assert bp.hit_count == 1


def test_per_job_breakpoint_by_id(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    w.pause()
    job = w.submit(data={"value": 1}, job_id="job-by-id")
    rt.monitor.add_breakpoint("routine", "sink", job="job-by-id")
    w.resume()
    assert job.debug.wait_paused(WAIT)
    assert job.debug.location()["routine_id"] == "sink"
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"


def test_per_worker_breakpoint(rt, chain):
    c = chain()
    w1, w2 = rt.start(c.flow), rt.start(c.flow)
    rt.monitor.add_breakpoint("routine", "double", worker=w1.worker_id)
    free = w2.submit(data={"value": 1})
    held = w1.submit(data={"value": 1})
    assert free.wait(WAIT).status == "completed"
    assert held.debug.wait_paused(WAIT)
    assert held.worker is w1
    held.resume()
    assert held.wait(WAIT).status == "completed"


def test_per_flow_breakpoint(rt, chain):
    a, b = chain("flow-a"), chain("flow-b")
    rt.register_flow(a.flow)
    rt.monitor.add_breakpoint("routine", "sink", flow="flow-a")
    free = rt.submit(b.flow, data={"value": 1})
    held = rt.submit(a.flow, data={"value": 1})
    held2 = rt.submit(a.flow, data={"value": 2})  # another worker-independent job of the flow
    assert free.wait(WAIT).status == "completed"
    assert held.debug.wait_paused(WAIT)
    assert held2.debug.wait_paused(WAIT)
    assert a.count("sink") == 0
    held.resume()
    held2.resume()
    assert held.wait(WAIT).data["out"] == [2]
    assert held2.wait(WAIT).data["out"] == [4]


def test_global_breakpoint_applies_to_every_flow(rt, chain):
    a, b = chain("ga"), chain("gb")
    bp = rt.monitor.add_breakpoint("routine", "double")
    ja, jb = rt.submit(a.flow, data={"value": 1}), rt.submit(b.flow, data={"value": 1})
    assert ja.debug.wait_paused(WAIT) and jb.debug.wait_paused(WAIT)
    assert bp.hit_count == 2
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    ja.resume()
    jb.resume()
    assert ja.wait(WAIT).status == jb.wait(WAIT).status == "completed"


# -- enabled, hit count, listing -----------------------------------------------------------
def test_disabled_breakpoint_does_not_pause(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "double", worker=w, enabled=False)
    job = w.submit(data={"value": 1}).wait(WAIT)
    assert job.status == "completed"
    assert bp.hit_count == 0
    assert trace_types(job, "breakpoint_hit") == []
    rt.monitor.set_breakpoint_enabled(bp.breakpoint_id, True)
    assert bp.enabled and bp.to_dict()["enabled"] is True
    job = w.submit(data={"value": 1})
    assert job.debug.wait_paused(WAIT)
    assert bp.hit_count == 1
    rt.monitor.set_breakpoint_enabled(bp.breakpoint_id, False)
    job.resume()
    assert job.wait(WAIT).status == "completed"
    assert w.submit(data={"value": 1}).wait(WAIT).status == "completed"
    assert bp.hit_count == 1


def test_removed_breakpoint_no_longer_pauses(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "double", worker=w)
    assert rt.monitor.remove_breakpoint(bp.breakpoint_id) is bp
    assert w.submit(data={"value": 1}).wait(WAIT).status == "completed"
    with pytest.raises(KeyError, match=bp.breakpoint_id):
        rt.monitor.remove_breakpoint(bp.breakpoint_id)
    with pytest.raises(KeyError):
        rt.monitor.breakpoints.get(bp.breakpoint_id)


def test_hit_count_counts_every_parked_item(rt, chain, until):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("slot", "double", slot_name="input", worker=w)
    job = w.submit(data={"values": [1, 2, 3]})
    until(lambda: source_done(job))
    assert bp.hit_count == 3
    assert len(job.parked) == 3
    assert [p.payload["value"] for p in job.parked] == [1, 2, 3]
    assert c.count("double") == 0
    assert len(w.pause_points()) == 3
    job.resume()
    assert job.wait(WAIT).status == "completed"
    assert sorted(job.data["out"]) == [2, 4, 6]
    assert bp.to_dict()["hit_count"] == 3


def test_breakpoint_to_dict_and_list(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint(
        "slot", "sink", slot_name="input", condition="value > 5", worker=w
    )
    other = rt.monitor.add_breakpoint("routine", "double", flow=c.flow)
    d = bp.to_dict()
    assert {
        "breakpoint_id",
        "job_id",
        "type",
        "routine_id",
        "slot_name",
        "event_name",
        "condition",
        "enabled",
        "hit_count",
    } <= set(d)
    assert (d["type"], d["routine_id"], d["slot_name"], d["condition"]) == (
        "slot",
        "sink",
        "input",
        "value > 5",
    )
    assert d["worker_id"] == w.worker_id and d["job_id"] is None
    assert rt.monitor.breakpoints.list(worker_id=w.worker_id) == [bp, other]
    assert rt.monitor.breakpoints.list(worker_id="someone-else") == [other]
    assert rt.monitor.breakpoints.get(bp.breakpoint_id) is bp
    cb = rt.monitor.add_breakpoint("routine", "sink", condition=lambda value: value > 1, worker=w)
    assert cb.to_dict()["condition"].startswith("<callable")


# -- conditions ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "condition",
    [
        "value > 5",
        "data.get('value') > 5",
        "data['value'] > 5 and job_id is not None",
        lambda value: value > 5,
        lambda data, slot_name: slot_name == "input" and data["value"] > 5,
    ],
    ids=["str-name", "str-get", "str-subscript", "callable-name", "callable-data"],
)
def test_condition_selects_which_item_pauses(rt, chain, until, condition):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint(
        "slot", "double", slot_name="input", condition=condition, worker=w
    )
    job = w.submit(data={"values": [1, 7, 3]})
    assert job.debug.wait_paused(WAIT)
    until(lambda: source_done(job))
    assert [p.payload for p in job.parked] == [{"value": 7}]
    assert bp.hit_count == 1
    assert bp.condition_errors == 0
    job.resume()
    assert job.wait(WAIT).status == "completed"
    assert sorted(job.data["out"]) == [2, 6, 14]


def test_condition_on_routine_breakpoint_sees_job_data(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    rt.monitor.add_breakpoint(
        "routine", "double", condition="job_data.get('debug') == True", worker=w
    )
    assert w.submit(data={"value": 1}, job_data={"debug": False}).wait(WAIT).status == "completed"
    held = w.submit(data={"value": 1}, job_data={"debug": True})
    assert held.debug.wait_paused(WAIT)
    held.resume()
    assert held.wait(WAIT).status == "completed"


@pytest.mark.parametrize(
    "condition",
    [
        "missing_name > 1",
        "value / 0 > 1",
        lambda value: 1 / 0,
    ],
    ids=["unknown-name", "zero-division", "callable-raises"],
)
def test_condition_error_is_counted_and_does_not_pause(rt, chain, condition):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint(
        "slot", "double", slot_name="input", condition=condition, worker=w
    )
    job = w.submit(data={"values": [1, 2]}).wait(WAIT)
    assert job.status == "completed"
    assert sorted(job.data["out"]) == [2, 4]
    assert bp.hit_count == 0
    assert bp.condition_errors == 2
    assert bp.last_condition_error
    assert bp.to_dict()["condition_errors"] == 2


@pytest.mark.parametrize(
    "condition",
    [
        "__import__('os').system('echo pwned')",
        "value.__class__",
        "().__class__.__bases__[0].__subclasses__()",
        "open('/etc/passwd').read()",
        "data._private",
        "exec('1')",
        "lambda: 1",
        "value >",
    ],
)
def test_unsafe_or_invalid_string_conditions_are_refused_at_creation(rt, chain, condition):
    c = chain()
    w = rt.start(c.flow)
    with pytest.raises(ValueError) as info:
        rt.monitor.add_breakpoint("routine", "double", condition=condition, worker=w)
    assert isinstance(info.value, ExpressionError)
    assert rt.monitor.breakpoints.list() == []
    assert w.submit(data={"value": 1}).wait(WAIT).status == "completed"


def test_unknown_type_and_missing_fields_are_refused(rt, chain):
    c = chain()
    rt.register_flow(c.flow)
    with pytest.raises(ValueError, match="routine, slot, event, connection"):
        rt.monitor.add_breakpoint("line", "double", flow=c.flow)
    with pytest.raises(ValueError, match="slot_name"):
        rt.monitor.add_breakpoint("slot", "double", flow=c.flow)
    with pytest.raises(ValueError, match="event_name"):
        rt.monitor.add_breakpoint("event", "double", flow=c.flow)
    with pytest.raises(ValueError, match="connection"):
        rt.monitor.add_breakpoint("connection", flow=c.flow)
    assert rt.monitor.breakpoints.list() == []


@pytest.mark.parametrize(
    ("kwargs", "bad", "known"),
    [
        ({"type": "routine", "routine_id": "nope"}, "nope", ["source", "double", "sink"]),
        ({"type": "slot", "routine_id": "double", "slot_name": "nope"}, "nope", ["input"]),
        ({"type": "event", "routine_id": "double", "event_name": "nope"}, "nope", ["output"]),
        ({"type": "connection", "target_routine": "nope"}, "nope", ["source", "double", "sink"]),
        ({"type": "connection", "target_routine": "sink", "slot_name": "nope"}, "nope", ["input"]),
    ],
)
@pytest.mark.parametrize("scope", ["job", "worker", "flow"])
def test_unknown_names_are_refused_naming_what_exists(rt, chain, kwargs, bad, known, scope):
    c = chain()
    w = rt.start(c.flow)
    w.pause()
    job = w.submit(data={"value": 1})
    target = {"job": job, "worker": w, "flow": c.flow}[scope]
    kwargs = dict(kwargs)
    with pytest.raises(KeyError) as info:
        rt.monitor.add_breakpoint(
            kwargs.pop("type"), kwargs.pop("routine_id", None), **kwargs, **{scope: target}
        )
    message = str(info.value)
    assert bad in message
    for name in known:
        assert name in message
    assert rt.monitor.breakpoints.list() == []
    w.resume()
    assert job.wait(WAIT).status == "completed"


def test_unknown_scope_is_refused(rt):
    with pytest.raises(KeyError, match="no-such-job"):
        rt.monitor.add_breakpoint("routine", "double", job="no-such-job")
    with pytest.raises(KeyError, match="no-such-worker"):
        rt.monitor.add_breakpoint("routine", "double", worker="no-such-worker")
    with pytest.raises(KeyError, match="no-such-flow"):
        rt.monitor.add_breakpoint("routine", "double", flow="no-such-flow")


# -- parked work blocks nothing ------------------------------------------------------------
def test_one_job_parked_the_other_completes_on_the_same_worker(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    w.pause()
    held = w.submit(data={"value": 1})
    rt.monitor.add_breakpoint("routine", "double", job=held)
    w.resume()
    assert held.debug.wait_paused(WAIT)
    runner = w.submit(data={"value": 2})
    assert runner.wait(WAIT).status == "completed"
    assert runner.data["out"] == [4]
    assert held.status == "paused"
    assert held.parked and c.count("double") == 1  # only the runner's
    assert w.active_jobs == [held]
    held.resume()
    assert held.wait(WAIT).status == "completed"
    assert held.data["out"] == [2]
    assert w.jobs_processed == 2


def test_parked_jobs_hold_no_pool_thread(make_runtime, chain):
    rt = make_runtime(max_threads=2)
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "double", condition="value < 0", worker=w)
    parked = [w.submit(data={"value": -1 - i}) for i in range(5)]
    for job in parked:
        assert job.debug.wait_paused(WAIT)
    others = [w.submit(data={"value": i}) for i in range(10)]
    for job in others:
        assert job.wait(WAIT).status == "completed"
    assert sorted(j.data["out"][0] for j in others) == [2 * i for i in range(10)]
    assert all(j.status == "paused" for j in parked)
    assert sorted(j.job_id for j in rt.monitor.paused_jobs()) == sorted(j.job_id for j in parked)
    assert bp.hit_count == 5
    for job in parked:
        job.resume()
    for i, job in enumerate(parked):
        assert job.wait(WAIT).data["out"] == [2 * (-1 - i)]
    assert w.jobs_processed == 15 and w.jobs_failed == 0


def test_breakpoint_repr_is_deterministic():
    from routilux_nb.monitor import Breakpoint

    def negative(value):
        return value < 0

    bp = Breakpoint("slot", "double", slot_name="input", condition=negative)
    text = repr(bp)
    assert "0x" not in text and "created_at" not in text
    assert text.startswith(
        f"Breakpoint(breakpoint_id={bp.breakpoint_id!r}, type='slot', routine_id='double'"
    )
    assert "<callable negative>" in text

"""Debug sessions on real paused jobs: inspect, edit, step, drop, resume."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest

from routilux_nb import Flow, JobStateError
from routilux_nb.monitor import DEBUG_ACTIONS

WAIT = 2.0


def releases(job):
    return [e["status"] for e in job.trace.to_list() if e["event_type"] == "breakpoint_release"]


@pytest.fixture
def paused(rt, chain):
    """A job of ``source -> double -> sink`` parked before ``double`` runs."""
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "double", worker=w)
    job = w.submit(data={"value": 3}, job_data={"tenant": "acme"}, metadata={"who": "test"})
    assert job.debug.wait_paused(WAIT)
    return rt, c, w, bp, job


def test_paused_session_location_and_variables(paused):
    rt, c, w, bp, job = paused
    s = job.debug
    assert job.status == "paused"
    assert s.is_paused and s.status == "paused" and s.job_id == job.job_id
    loc = s.location()
    assert loc["job_id"] == job.job_id
    assert loc["kind"] == "routine"
    assert loc["routine_id"] == "double"
    assert loc["slot_name"] == "input"
    assert loc["breakpoint_id"] == bp.breakpoint_id
    assert datetime.fromisoformat(loc["parked_at"]).tzinfo is not None
    v = s.variables()
    assert v["payload"] == {"input": [{"value": 3}]}
    assert v["config"] == {"factor": 2}
    assert v["job_data"] == {"tenant": "acme"}
    assert v["metadata"] == {"who": "test"}
    d = s.to_dict()
    assert d["status"] == "paused" and d["parked_count"] == 1
    assert d["location"]["routine_id"] == "double"
    assert d["variables"]["payload"] == {"input": [{"value": 3}]}
    assert rt.monitor.debug_session(job) is s
    assert w.to_dict()["pause_points"][0]["routine_id"] == "double"
    s.resume()
    assert job.wait(WAIT).data["out"] == [6]


def test_call_stack_is_the_chain_of_hops(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    rt.monitor.add_breakpoint("routine", "sink", worker=w)
    job = w.submit(data={"value": 1})
    assert job.debug.wait_paused(WAIT)
    stack = job.debug.call_stack()
    assert [
        (f["routine_id"], f["event_name"], f["target_routine"], f["target_slot"]) for f in stack
    ] == [
        ("source", "output", "double", "input"),
        ("double", "output", "sink", "input"),
    ]
    ids = [f["activation_id"] for f in stack]
    assert all(isinstance(i, int) for i in ids) and ids[0] < ids[1]
    assert job.debug.to_dict()["call_stack"] == stack
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"


def test_call_stack_of_an_entry_activation_is_empty(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    rt.monitor.add_breakpoint("routine", "source", worker=w)
    job = w.submit(data={"value": 1})
    assert job.debug.wait_paused(WAIT)
    assert job.debug.call_stack() == []
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"


def test_set_variable_edits_what_runs_downstream(paused):
    rt, c, w, bp, job = paused
    job.debug.set_variable("payload.input.0.value", 100)
    assert job.debug.variables()["payload"] == {"input": [{"value": 100}]}
    job.debug.set_variable("job_data.tenant", "other")
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"
    assert job.data["out"] == [200]
    assert job.data["tenant"] == "other"


def test_set_variable_on_a_parked_emit(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    rt.monitor.add_breakpoint("event", "double", event_name="output", worker=w)
    job = w.submit(data={"value": 1})
    assert job.debug.wait_paused(WAIT)
    job.debug.set_variable("payload", {"value": -5})
    job.debug.resume()
    assert job.wait(WAIT).data["out"] == [-5]


def test_set_variable_refuses_bad_names_and_shapes(paused):
    rt, c, w, bp, job = paused
    with pytest.raises(KeyError, match="payload"):
        job.debug.set_variable("config.factor", 3)
    with pytest.raises(ValueError, match="slot"):
        job.debug.set_variable("payload", {"input": {"value": 1}})
    with pytest.raises(ValueError):
        job.debug.set_variable("job_data", ["not", "a", "dict"])
    assert job.debug.variables()["payload"] == {"input": [{"value": 3}]}
    job.debug.set_variable("payload", {"input": [{"value": 1}, {"value": 2}]})
    job.debug.resume()
    assert job.wait(WAIT).data["out"] == [2, 4]


def test_resume_continues_and_is_traced(paused):
    rt, c, w, bp, job = paused
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"
    assert releases(job) == ["resume"]
    assert not job.debug.is_paused
    assert job.debug.location() is None
    assert job.debug.to_dict()["location"] is None


def test_step_over_pauses_at_each_next_activation(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "source", worker=w)
    job = w.submit(data={"value": 2})
    assert job.debug.wait_paused(WAIT)
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    job.debug.step_over()
    assert job.debug.wait_paused(WAIT)
    loc = job.debug.location()
    assert (loc["kind"], loc["routine_id"]) == ("step", "double")
    assert (c.count("source"), c.count("double")) == (1, 0)
    assert job.debug.variables()["payload"] == {"input": [{"value": 2}]}
    job.debug.step_over()
    assert job.debug.wait_paused(WAIT)
    assert job.debug.location()["routine_id"] == "sink"
    assert (c.count("double"), c.count("sink")) == (1, 0)
    job.debug.resume()
    assert job.wait(WAIT).data["out"] == [4]
    assert releases(job) == ["step_over", "step_over", "resume"]


def test_step_over_at_the_last_routine_lets_the_job_complete(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "sink", worker=w)
    job = w.submit(data={"value": 1})
    assert job.debug.wait_paused(WAIT)
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    job.debug.step_over()
    assert job.wait(WAIT).status == "completed"
    assert job.data["out"] == [2]


def side_flow(bp_routine_runs: threading.Event | None = None) -> Flow:
    """``source`` feeds ``slow`` (0.2 s, then -> ``sink``) and, once ``slow`` is parked, ``other``.

    After releasing the parked ``slow``, ``other`` (not fed by ``slow``) is the job's next
    activation; ``sink`` (fed by ``slow``) comes 0.2 s later.
    """
    flow = Flow("steps")

    @flow.routine(slots=["input"], events=["output", "side"])
    def source(input, ctx):
        ctx.emit("output", value=1)
        deadline = time.monotonic() + WAIT
        while not ctx.job.parked and time.monotonic() < deadline:
            time.sleep(0.002)
        ctx.emit("side", value=2)

    @flow.routine(slots=["input"], events=["output"])
    def slow(input):
        time.sleep(0.2)
        return [{"value": i["value"] * 10} for i in input]

    @flow.routine(slots=["input"], events=[])
    def other(input, ctx):
        ctx.data["other"] = [i["value"] for i in input]

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data["sink"] = [i["value"] for i in input]

    flow.connect("source.output", "slow.input")
    flow.connect("source.side", "other.input")
    flow.connect("slow.output", "sink.input")
    return flow


def _park_at_slow(rt):
    flow = side_flow()
    w = rt.start(flow)
    bp = rt.monitor.add_breakpoint("routine", "slow", worker=w)
    job = w.submit(data={})
    assert job.debug.wait_paused(WAIT)
    assert job.debug.location()["routine_id"] == "slow"
    deadline = time.monotonic() + WAIT
    while w.queue_status(job.job_id)["other"][0]["unconsumed_count"] != 1:
        assert time.monotonic() < deadline, "the side item never arrived"
        time.sleep(0.002)
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    return job


def test_step_over_pauses_at_the_next_activation_of_the_job(rt):
    job = _park_at_slow(rt)
    job.debug.step_over()
    assert job.debug.wait_paused(WAIT)
    loc = job.debug.location()
    assert (loc["kind"], loc["routine_id"]) == ("step", "other")
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"
    assert job.data == {"other": [2], "sink": [10]}


def test_step_into_pauses_at_the_activation_fed_by_the_parked_one(rt):
    job = _park_at_slow(rt)
    job.debug.step_into()
    assert job.debug.wait_paused(WAIT)
    loc = job.debug.location()
    assert (loc["kind"], loc["routine_id"]) == ("step", "sink")
    assert job.data.get("other") == [2], "the unrelated activation ran without pausing"
    assert job.debug.variables()["payload"] == {"input": [{"value": 10}]}
    job.debug.resume()
    assert job.wait(WAIT).data["sink"] == [10]


def test_step_into_on_a_chain(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("routine", "double", worker=w)
    job = w.submit(data={"value": 1})
    assert job.debug.wait_paused(WAIT)
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    job.debug.step_into()
    assert job.debug.wait_paused(WAIT)
    assert job.debug.location()["routine_id"] == "sink"
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"


def test_step_into_from_a_parked_emit_pauses_at_its_consumer(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    bp = rt.monitor.add_breakpoint("event", "source", event_name="output", worker=w)
    job = w.submit(data={"value": 4})
    assert job.debug.wait_paused(WAIT)
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    job.debug.step_into()
    assert job.debug.wait_paused(WAIT)
    loc = job.debug.location()
    assert (loc["kind"], loc["routine_id"]) == ("step", "double")
    assert c.count("double") == 0
    assert job.debug.variables()["payload"] == {"input": [{"value": 4}]}
    job.debug.resume()
    assert job.wait(WAIT).data["out"] == [8]
    assert releases(job) == ["step_into", "resume"]


def test_drop_discards_the_parked_item_and_the_job_completes(paused):
    rt, c, w, bp, job = paused
    job.debug.drop()
    assert job.wait(WAIT).status == "completed"
    assert job.discarded == 1
    assert c.count("double") == 0 and c.count("sink") == 0
    assert "out" not in job.data
    rel = [e for e in job.trace.to_list() if e["event_type"] == "breakpoint_release"]
    assert len(rel) == 1
    assert rel[0]["status"] == "drop"
    assert rel[0]["routine_id"] == "double"
    assert rel[0]["data"] == {"input": [{"value": 3}]}
    assert any(entry["action"] == "dropped" for entry in job.logs)


def test_drop_one_of_several_parked_items(rt, chain, until):
    c = chain()
    w = rt.start(c.flow)
    rt.monitor.add_breakpoint("slot", "double", slot_name="input", worker=w)
    job = w.submit(data={"values": [1, 2]})
    until(lambda: len(job.parked) == 2)
    job.debug.drop()  # drops the first; the job stays paused at the second
    assert job.status == "paused"
    assert [p.payload for p in job.parked] == [{"value": 2}]
    job.debug.act("resume")
    assert job.wait(WAIT).data["out"] == [4]
    assert job.discarded == 1


def test_explicit_pause_and_resume(rt, chain, until):
    c = chain(gated=True)
    w = rt.start(c.flow)
    job = w.submit(data={"values": [1, 2]})
    until(lambda: c.count("source") == 1)
    job.pause()
    assert job.status == "paused"
    assert not job.debug.is_paused, "paused by the user, nothing parked at a breakpoint"
    with pytest.raises(JobStateError):
        job.debug.resume()
    c.gate.set()
    until(lambda: w.queue_status(job.job_id)["double"][0]["unconsumed_count"] == 2)
    time.sleep(0.05)
    assert c.count("double") == 0, "nothing new starts while the job is paused"
    assert job.status == "paused"
    job.resume()
    assert job.wait(WAIT).status == "completed"
    assert sorted(job.data["out"]) == [2, 4]
    with pytest.warns(UserWarning, match="completed, not paused: nothing to resume"):
        job.resume()
    with pytest.warns(UserWarning, match="completed, not running: nothing to pause"):
        job.pause()


def test_cancel_a_parked_job(paused):
    rt, c, w, bp, job = paused
    job.cancel("enough")
    assert job.status == "cancelled"
    assert job.wait(0.1) is job
    assert job.to_dict()["cancel_reason"] == "enough"
    discarded = [e for e in job.trace.to_list() if e["event_type"] == "items_discarded"]
    assert [e["data"] for e in discarded] == [1]
    assert not job.parked
    assert c.count("double") == 0
    assert [e["event_type"] for e in job.trace.to_list()][-1] in ("job_end", "items_discarded")
    with pytest.raises(JobStateError):
        job.cancel()
    with pytest.raises(JobStateError):
        job.debug.resume()
    assert w.active_jobs == []


def test_cancel_counts_the_parked_item_as_discarded(paused):
    rt, c, w, bp, job = paused
    job.cancel()
    assert job.discarded == 1


@pytest.mark.parametrize("action", [*DEBUG_ACTIONS, "variables", "call_stack"])
def test_actions_on_a_finished_job_raise(rt, chain, action):
    c = chain()
    job = rt.submit(c.flow, data={"value": 1}).wait(WAIT)
    s = job.debug
    assert not s.is_paused
    assert s.location() is None
    with pytest.raises(JobStateError, match="not stopped at a breakpoint"):
        getattr(s, action)()
    with pytest.raises(JobStateError):
        s.set_variable("payload.value", 1)


def test_actions_on_a_running_job_raise(rt, chain, until):
    c = chain(gated=True)
    job = rt.submit(c.flow, data={"value": 1})
    until(lambda: c.count("source") == 1)
    assert job.status == "running"
    for action in DEBUG_ACTIONS:
        with pytest.raises(JobStateError):
            job.debug.act(action)
    with pytest.raises(ValueError, match="resume"):
        job.debug.act("jump")
    c.gate.set()
    assert job.wait(WAIT).status == "completed"


def test_wait_paused(rt, chain):
    c = chain(gated=True)
    job = rt.submit(c.flow, data={"value": 1})
    t0 = time.monotonic()
    assert job.debug.wait_paused(0.15) is False
    assert 0.14 <= time.monotonic() - t0 < 1.0
    c.gate.set()
    job.wait(WAIT)
    t0 = time.monotonic()
    assert job.debug.wait_paused(5) is False, "a finished job returns at once"
    assert time.monotonic() - t0 < 0.5


def test_wait_paused_wakes_when_the_job_parks(rt, chain):
    c = chain(gated=True)
    w = rt.start(c.flow)
    rt.monitor.add_breakpoint("routine", "sink", worker=w)
    job = w.submit(data={"value": 1})
    threading.Timer(0.1, c.gate.set).start()
    t0 = time.monotonic()
    assert job.debug.wait_paused(WAIT) is True
    assert 0.09 <= time.monotonic() - t0 < 1.0
    job.debug.resume()
    assert job.wait(WAIT).status == "completed"

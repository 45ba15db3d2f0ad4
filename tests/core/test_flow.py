"""Flows: building, wiring errors, validation, graphs, and jobs completing by themselves."""

from __future__ import annotations

import time

import pytest

from routilux_nb.core import (
    Connection,
    Flow,
    FlowError,
    JobWaitTimeout,
    RoutiluxError,
    Routine,
    UnknownEventError,
    UnknownRoutineError,
    UnknownSlotError,
)


class Pass(Routine):
    slots = ["input"]
    events = ["output"]

    def logic(self, input):
        for item in input:
            self.emit("output", **item)


def _collect(flow: Flow, rid: str = "sink", key: str = "out") -> None:
    @flow.routine(slots=["input"], events=[], routine_id=rid)
    def _sink(input, ctx):
        ctx.data.setdefault(key, []).extend(input)


# -- jobs complete by themselves ------------------------------------------------------------


def test_chain_completes_by_itself(rt, chain_flow, finished):
    job = finished(rt.submit(chain_flow("chain", 4), data={"v": 0}))
    assert job.data["out"] == [{"v": 4, "path": ["r0", "r1", "r2", "r3"]}]
    assert job.completed_at is not None and job.completed_at >= job.created_at


def test_fan_out_completes_and_every_branch_receives(rt, finished):
    flow = Flow("fan_out")
    flow.add_routine(Pass(), "src")
    for k in range(3):
        _collect(flow, f"sink{k}", f"out{k}")
        flow.connect("src.output", f"sink{k}.input")
    job = finished(rt.submit(flow, "src", data={"x": 1}))
    for k in range(3):
        assert job.data[f"out{k}"] == [{"x": 1}]


def test_fan_in_completes_with_items_from_every_source(rt, finished):
    flow = Flow("fan_in")

    @flow.routine(slots=["input"], events=["a", "b", "c"])
    def start(input, ctx):
        for e in ("a", "b", "c"):
            ctx.emit(e, origin=e)

    for e in ("a", "b", "c"):
        flow.add_routine(Pass(), f"p{e}")
        flow.connect(f"start.{e}", f"p{e}.input")
    _collect(flow)
    for e in ("a", "b", "c"):
        flow.connect(f"p{e}.output", "sink.input")
    job = finished(rt.submit(flow, "start", data={}))
    assert sorted(i["origin"] for i in job.data["out"]) == ["a", "b", "c"]


def test_diamond_completes(rt, finished):
    flow = Flow("diamond")
    flow.add_routine(Pass(), "top")

    @flow.routine(routine_id="left")
    def left(input):
        return [{**i, "via": "left"} for i in input]

    @flow.routine(routine_id="right")
    def right(input):
        return [{**i, "via": "right"} for i in input]

    _collect(flow, "bottom")
    flow.connect("top.output", "left.input")
    flow.connect("top.output", "right.input")
    flow.connect("left.output", "bottom.input")
    flow.connect("right.output", "bottom.input")
    jobs = [rt.submit(flow, "top", data={"n": n}) for n in range(5)]
    for n, job in enumerate(jobs):
        finished(job)
        assert sorted((i["n"], i["via"]) for i in job.data["out"]) == [(n, "left"), (n, "right")]


def test_routine_with_unconnected_event_completes(rt, finished):
    flow = Flow("dangling")
    flow.add_routine(Pass(), "alone")  # emits on "output", which goes nowhere
    job = finished(rt.submit(flow, data={"x": 1}))
    assert job.status == "completed"
    assert rt.get_worker(job.worker_id).connection_counts == {}


def test_wait_timeout_raises_job_wait_timeout(rt):
    flow = Flow("slow")

    @flow.routine(slots=["input"], events=[])
    def sleepy(input):
        time.sleep(0.4)

    job = rt.submit(flow, data={})
    t0 = time.monotonic()
    with pytest.raises(JobWaitTimeout, match="still running after 0.1 s") as info:
        job.wait(0.1)
    assert 0.09 <= time.monotonic() - t0 < 0.39
    assert isinstance(info.value, TimeoutError)
    assert job.wait(2).status == "completed"


def test_connections_can_change_while_a_worker_runs(rt, finished):
    flow = Flow("live_edit")
    flow.add_routine(Pass(), "src")
    _collect(flow)
    worker = rt.start(flow)
    first = finished(worker.submit("src", data={"x": 1}))
    assert "out" not in first.data
    flow.connect("src.output", "sink.input")
    second = finished(worker.submit("src", data={"x": 2}))
    assert second.data["out"] == [{"x": 2}]


# -- building and wiring errors -------------------------------------------------------------


def test_connect_to_unknown_routine_event_or_slot_names_what_exists():
    flow = Flow("wiring")
    flow.add_routine(Pass(), "a")
    flow.add_routine(Pass(), "b")
    with pytest.raises(
        UnknownRoutineError,
        match=r"unknown routine 'zz' in flow 'wiring'; existing routines: 'a', 'b'",
    ):
        flow.connect("zz.output", "b.input")
    with pytest.raises(UnknownRoutineError, match="'zz'"):
        flow.connect("a.output", "zz.input")
    with pytest.raises(
        UnknownEventError, match=r"routine 'a' has no event 'out'; its events: 'output'"
    ):
        flow.connect("a.out", "b.input")
    with pytest.raises(UnknownSlotError, match=r"routine 'b' has no slot 'in'; its slots: 'input'"):
        flow.connect("a.output", "b.in")
    with pytest.raises(ValueError, match="routine.event"):
        flow.connect("a", "b")
    assert flow.connections == []
    for exc in (UnknownRoutineError, UnknownEventError, UnknownSlotError):
        assert issubclass(exc, FlowError) and issubclass(exc, KeyError)


def test_connect_with_routine_objects_and_explicit_names():
    flow = Flow("objects")
    a = flow.add_routine(Pass(), "a")
    b = flow.add_routine(Pass(), "b")
    conn = flow.connect(a, b, "output", "input")
    assert conn == Connection("a", "output", "b", "input")
    assert str(conn) == "a.output -> b.input"
    assert flow.routes("a", "output") == (("b", "input", 0),)


def test_disconnect_by_index_and_object():
    flow = Flow("disc")
    flow.add_routine(Pass(), "a")
    flow.add_routine(Pass(), "b")
    c0 = flow.connect("a.output", "b.input")
    c1 = flow.connect("b.output", "a.input")
    assert flow.disconnect(0) == c0
    assert flow.connections == [c1]
    assert flow.disconnect(c1) == c1
    assert flow.routes("a", "output") == ()
    with pytest.raises(FlowError, match="has no connection 3"):
        flow.disconnect(3)
    with pytest.raises(FlowError, match="has no connection"):
        flow.disconnect(c0)


def test_add_routine_rules():
    flow = Flow("add")
    r = flow.add_routine(Pass())
    assert r.routine_id == "pass" and flow.get_routine("pass") is r
    flow.add_routine(r, "pass")  # the same object again is fine
    with pytest.raises(FlowError, match="already has a routine 'pass'"):
        flow.add_routine(Pass(), "pass")
    with pytest.raises(FlowError, match="must not contain '.'"):
        flow.add_routine(Pass(), "a.b")
    with pytest.raises(TypeError, match="needs a Routine"):
        flow.add_routine(object())


def test_remove_routine_drops_its_connections():
    flow = Flow("remove")
    for rid in ("a", "b", "c"):
        flow.add_routine(Pass(), rid)
    flow.connect("a.output", "b.input")
    flow.connect("b.output", "c.input")
    flow.connect("a.output", "c.input")
    flow.remove_routine("b")
    assert [str(c) for c in flow.connections] == ["a.output -> c.input"]
    assert flow.routes("a", "output") == (("c", "input", 0),)
    with pytest.raises(UnknownRoutineError, match="existing routines: 'a', 'c'"):
        flow.remove_routine("b")


def test_entry_routines_and_ambiguous_submit(rt):
    flow = Flow("entries")
    for rid in ("a", "b", "c"):
        flow.add_routine(Pass(), rid)
    flow.connect("a.output", "c.input")
    assert flow.entry_routines() == ["a", "b"]
    with pytest.raises(FlowError, match=r"has entry routines \['a', 'b'\]: say which one"):
        rt.submit(flow, data={})


# -- validation -----------------------------------------------------------------------------


def test_validate_reports_unknown_references_as_errors(rt):
    flow = Flow("broken")
    flow.add_routine(Pass(), "a")
    flow.connections.append(Connection("a", "output", "ghost", "input"))
    flow.connections.append(Connection("a", "nope", "a", "input"))
    report = flow.validate()
    assert not report.valid
    assert len(report.errors) == 2
    assert "conn_0" in report.errors[0] and "'ghost'" in report.errors[0]
    assert "conn_1" in report.errors[1] and "no event 'nope'" in report.errors[1]
    d = report.to_dict()
    assert (
        d["valid"] is False
        and d["errors"] == report.errors
        and set(report.errors) <= set(d["issues"])
    )
    with pytest.raises(RoutiluxError, match="'broken' is not valid"):
        rt.start(flow)


def test_validate_warns_duplicates_cycles_and_unreachable_but_not_entries():
    flow = Flow("warned")
    for rid in ("entry", "mid", "loop1", "loop2", "island"):
        flow.add_routine(Pass(), rid)
    flow.connect("entry.output", "mid.input")
    flow.connect("entry.output", "mid.input")  # duplicate
    flow.connect("loop1.output", "loop2.input")
    flow.connect("loop2.output", "loop1.input")  # a cycle nothing enters
    report = flow.validate()
    assert report.valid, report.errors
    text = "\n".join(report.warnings)
    assert "conn_1" in text and "duplicates" in text
    assert any(w.startswith("cycle:") and "loop1" in w and "loop2" in w for w in report.warnings)
    unreachable = [w for w in report.warnings if "unreachable" in w]
    assert sorted(w.split("'")[1] for w in unreachable) == ["loop1", "loop2"]
    others = [w for w in report.warnings if "did you forget" not in w]
    assert not any("'entry'" in w or "'island'" in w or "'mid'" in w for w in others)
    # 'island' is a second entry that nothing feeds while 'mid' feeds nothing: a forgotten connect
    assert [w for w in report.warnings if "did you forget" in w] == [
        "routine 'island' is an entry routine (nothing feeds it) besides 'entry': did you "
        "forget `flow.connect('mid.output', 'island.input')`? (if it is meant as an entry, "
        "submit with routine_id='island')"
    ]


def test_validate_clean_flow_and_empty_flow():
    flow = Flow("clean")
    flow.add_routine(Pass(), "a")
    flow.add_routine(Pass(), "b")
    flow.connect("a.output", "b.input")
    report = flow.validate()
    assert report.valid and report.issues == []
    empty = Flow("empty").validate()
    assert empty.valid and empty.warnings == ["flow 'empty' has no routines"]


def test_self_loop_is_a_cycle_warning():
    flow = Flow("self_loop")
    flow.add_routine(Pass(), "a")
    flow.add_routine(Pass(), "b")
    flow.connect("a.output", "b.input")
    flow.connect("b.output", "b.input")
    report = flow.validate()
    assert report.valid
    assert "cycle: b -> b" in report.warnings
    assert not any("unreachable" in w for w in report.warnings)


# -- graphs and descriptions ----------------------------------------------------------------


def test_to_networkx_nodes_and_edges():
    flow = Flow("graph")
    flow.add_routine(Pass(), "a")
    flow.add_routine(Pass(), "b")
    _collect(flow, "c")
    flow.connect("a.output", "b.input")
    flow.connect("a.output", "c.input")
    flow.connect("b.output", "c.input")
    g = flow.to_networkx()
    assert g.graph["flow_id"] == "graph"
    assert set(g.nodes) == {"a", "b", "c"}
    assert g.nodes["a"]["class_name"] == "Pass"
    assert g.nodes["c"]["slots"] == ["input"] and g.nodes["c"]["events"] == []
    edges = sorted((u, v, k, d["event"], d["slot"]) for u, v, k, d in g.edges(keys=True, data=True))
    assert edges == [
        ("a", "b", "conn_0", "output", "input"),
        ("a", "c", "conn_1", "output", "input"),
        ("b", "c", "conn_2", "output", "input"),
    ]


def test_describe_shape():
    flow = Flow("desc", execution_timeout=12, error_handler="continue")
    flow.add_routine(Pass(), "a")
    flow.add_routine(Pass(), "b")
    flow.connect("a.output", "b.input")
    d = flow.describe()
    assert d["flow_id"] == "desc" and d["execution_timeout"] == 12
    assert d["error_handler"]["strategy"] == "continue"
    assert d["routines"]["a"]["class_name"] == "Pass"
    assert d["routines"]["a"]["activation_policy"]["type"] == "immediate"
    assert d["connections"] == [
        {
            "connection_id": "conn_0",
            "source_routine": "a",
            "source_event": "output",
            "target_routine": "b",
            "target_slot": "input",
        }
    ]
    assert repr(flow) == "Flow(flow_id='desc', routines=['a', 'b'], connections=1)"


def test_flow_version_changes_on_edit():
    flow = Flow("ver")
    v0 = flow.version
    flow.add_routine(Pass(), "a")
    flow.add_routine(Pass(), "b")
    flow.connect("a.output", "b.input")
    assert flow.version == v0 + 3

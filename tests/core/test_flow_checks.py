"""Wiring checks: an event connected to nothing, and entry routines that look like a forgotten
``connect`` — warned by ``flow.validate()`` and named by the submit-time error."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from routilux_nb.core import Flow, Runtime, policies
from routilux_nb.core.errors import FlowError
from routilux_nb.core.flow_checks import entry_hint, forgotten_connects

HINT = "did you forget `flow.connect('a.output', 'b.input')`?"


def _forgot() -> Flow:
    flow = Flow("forgot")

    @flow.routine(slots=["input"], events=["output"])
    def a(input):
        return input

    @flow.routine(slots=["input"], events=[])
    def b(input, ctx):
        ctx.data["n"] = len(input)

    return flow


def test_a_forgotten_connect_is_warned_by_validate_with_the_call_to_make() -> None:
    report = _forgot().validate()
    assert report.valid
    assert report.warnings == [
        f"routine 'b' is an entry routine (nothing feeds it) besides 'a': {HINT} "
        "(if it is meant as an entry, submit with routine_id='b')"
    ]


def test_the_submit_error_names_the_entries_and_the_forgotten_connect(rt: Runtime) -> None:
    flow = _forgot()
    with pytest.raises(FlowError) as info:
        rt.submit(flow, {"x": 1})
    message = str(info.value)
    assert "has entry routines ['a', 'b']: say which one with routine_id; " + HINT in message
    flow.connect("a.output", "b.input")  # the remedy the message names
    assert flow.validate().warnings == []
    assert rt.submit(flow, {"x": 1}).wait(10).data == {"n": 1}


def test_the_http_submit_error_has_the_same_hint(rt: Runtime) -> None:
    from routilux_nb.server import create_app

    rt.register_flow(_forgot())

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.post("/api/v1/jobs", json={"flow_id": "forgot", "data": {"x": 1}})

    r = asyncio.run(go())
    assert r.status_code == 409
    assert HINT in r.json()["error"]["message"]
    assert r.json()["error"]["details"]["entry_routines"] == ["a", "b"]


def test_an_unconnected_event_beside_connected_ones_is_warned_and_its_emits_counted(
    rt: Runtime,
) -> None:
    flow = Flow("filtering")

    @flow.routine(slots=["input"], events=["output", "rejected"])
    def check(input, ctx):
        for row in input[0]["rows"]:
            ctx.emit("output" if row >= 0 else "rejected", value=row)

    @flow.routine(slots=["input"], events=[])
    def keep(input, ctx):
        ctx.data.setdefault("kept", []).extend(i["value"] for i in input)

    flow.connect("check.output", "keep.input")
    [warning] = flow.validate().warnings
    assert warning.startswith("event 'check.rejected' is connected to nothing")
    assert "job.metrics.unrouted" in warning
    job = rt.submit(flow, {"rows": [3, -1, 4, -1, -5, 9]}).wait(10)
    assert sorted(job.data["kept"]) == [3, 4, 9]
    assert job.metrics.unrouted == {"check.rejected": 3}
    # the frames say it too: per job, across jobs, and in the exact per-routine totals
    assert job.metrics.to_pandas().set_index("routine_id")["unrouted"].to_dict() == {
        "check": 3,
        "keep": 0,
    }
    rt.submit(flow, {"rows": [-2, 8]}).wait(10)
    per_job = rt.monitor.metrics_frame(flow_id="filtering")
    assert per_job.groupby("routine_id")["unrouted"].sum().to_dict() == {"check": 4, "keep": 0}
    totals = rt.monitor.metrics_frame(per="routine", flow_id="filtering")
    assert totals.set_index("routine_id").loc["check", "unrouted"] == 4


def test_ends_of_flows_and_real_joins_are_not_warned() -> None:
    chain = Flow("chain")
    for rid in ("a", "b"):
        chain.routine(slots=["input"], events=["output"], routine_id=rid)(lambda input: input)
    chain.connect("a.output", "b.input")  # b's output is the flow's result: no warning
    assert chain.validate().issues == []

    join = Flow("join")
    for rid in ("left", "right"):
        join.routine(slots=["input"], events=["output"], routine_id=rid)(lambda input: input)

    @join.routine(slots=["l", "r"], events=["output"])
    def both(l, r):  # noqa: E741
        return l + r

    join.routines["both"].set_activation_policy(policies.all_slots_ready())
    join.connect("left.output", "both.l")
    join.connect("right.output", "both.r")
    assert forgotten_connects(join) == [] and entry_hint(join) == ""
    assert join.validate().issues == []


def test_no_connect_is_suggested_that_would_make_a_cycle() -> None:
    flow = Flow("cyclic")
    for rid in ("a", "b", "c"):
        flow.routine(slots=["input"], events=["output"], routine_id=rid)(lambda input: input)
    flow.connect("b.output", "c.input")  # b is a second entry; c (after b) leads nowhere
    assert forgotten_connects(flow) == [("a.output", "b.input")]
    flow2 = Flow("cyclic2")
    for rid in ("b", "c", "a"):
        flow2.routine(slots=["input"], events=["output"], routine_id=rid)(lambda input: input)
    flow2.connect("b.output", "c.input")
    # entries b, a: a comes after c, whose output is loose; c is not downstream of a
    assert forgotten_connects(flow2) == [("c.output", "a.input")]

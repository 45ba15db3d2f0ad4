"""Concurrent jobs never block each other through a shared queue bound.

The shape that used to deadlock: a source emits rows one by one, a router sends each row to
one of two aggregators (which hold a job's items until the job's upstream is done), and a fit
routine takes both aggregates. With many jobs in flight the aggregators' queues filled with
rows of many jobs, every router blocked, and no job could finish.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from routilux_nb.builtins import Aggregator, ConditionalRouter, Debouncer
from routilux_nb.core import Flow, Runtime, policies

ROWS = 180


def split_flow(flow_id: str, *, max_length: int | None = None, put_timeout: float = 3.0) -> Flow:
    """``source -> router -> {train_rows, test_rows} (aggregators) -> fit``, and
    ``source.progress -> progress`` (a debouncer: it keeps each job busy for a moment after
    its rows are out, so that many jobs' rows are held in the aggregators at once)."""
    flow = Flow(flow_id)

    @flow.routine(slots=["input"], events=["output", "progress"])
    def source(input: list[dict[str, Any]], ctx: Any) -> None:
        for i in range(input[0]["rows"]):
            ctx.emit("output", i=i, split="test" if i % 3 == 0 else "train")
        ctx.emit("progress", rows=input[0]["rows"])

    flow.add_routine(ConditionalRouter(routes={"train": "split == 'train'"}), "router")
    flow.add_routine(Aggregator(), "train_rows")
    flow.add_routine(Aggregator(), "test_rows")

    @flow.routine(slots=["train", "test"], events=[], policy=policies.all_slots_ready())
    def fit(train: list[dict[str, Any]], test: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["train"] = train[0]["count"]
        ctx.data["test"] = test[0]["count"]
        ctx.data["own"] = all(item["i"] < ROWS for agg in (train, test) for item in agg[0]["items"])

    for rid in ("train_rows", "test_rows"):
        slot = flow.routines[rid].slot("input")
        flow.routines[rid].define_slot(
            "input",
            max_length=max_length or slot.max_length,
            put_timeout=put_timeout,
        )
    flow.add_routine(Debouncer(interval=0.3), "progress")
    flow.connect("source.progress", "progress.input")
    flow.connect("source.output", "router.input")
    flow.connect("router.train", "train_rows.input")
    flow.connect("router.default", "test_rows.input")
    flow.connect("train_rows.output", "fit.train")
    flow.connect("test_rows.output", "fit.test")
    return flow


@pytest.mark.parametrize(
    ("jobs", "max_length"),
    [(60, None), (60, 50)],
    ids=["default-slots", "slots-smaller-than-one-job"],
)
def test_router_into_two_aggregators_many_concurrent_jobs_all_complete(
    rt: Runtime, jobs: int, max_length: int | None
) -> None:
    flow = split_flow(f"split-{max_length}", max_length=max_length)
    worker = rt.start(flow)
    submitted = [worker.submit(data={"rows": ROWS}) for _ in range(jobs)]
    for job in submitted:
        job.wait(30)
    failed = [(j.job_id, j.status, j.error) for j in submitted if j.status != "completed"]
    assert not failed, failed[:3]
    for job in submitted:
        assert (job.data["train"], job.data["test"]) == (120, 60)
        assert job.discarded == 0


def routine_totals(rt: Runtime, flow_id: str) -> dict[str, dict[str, Any]]:
    """Per routine, the flow's metrics summed over every job (``rt.metrics_frame``)."""
    frame = rt.metrics_frame(per="routine", flow_id=flow_id)
    return {row["routine_id"]: row for row in frame.to_dict("records")}


def test_no_job_of_the_split_flow_waits_for_room(rt: Runtime) -> None:
    """Nothing in the shape waits at all: no router is charged blocked time, and the
    aggregators took every job's rows although each job's rows exceed ``max_length``."""
    flow = split_flow("split-nowait", max_length=50)
    worker = rt.start(flow)
    jobs = [worker.submit(data={"rows": ROWS}) for _ in range(60)]
    for job in jobs:
        assert job.wait(30).status == "completed", job.error
    totals = routine_totals(rt, flow.flow_id)
    assert totals["router"]["total_blocked_time"] == 0.0
    assert totals["source"]["total_blocked_time"] == 0.0
    assert totals["train_rows"]["items_in"] == 60 * 120
    assert totals["test_rows"]["items_in"] == 60 * 60
    assert totals["fit"]["execution_count"] == 60


def test_one_job_may_hold_more_than_max_length_for_an_aggregator(rt: Runtime, finished) -> None:
    """Items an aggregator holds until its job's upstream is done never make that upstream
    wait: even one job alone used to wait for its own held items until ``put_timeout``."""
    flow = Flow("one-big-job")

    @flow.routine(slots=["input"], events=["output"])
    def source(input: list[dict[str, Any]], ctx: Any) -> None:
        for i in range(500):
            ctx.emit("output", v=i)

    flow.add_routine(Aggregator(field="v"), "agg")

    @flow.routine(slots=["input"], events=[])
    def sink(input: list[dict[str, Any]], ctx: Any) -> None:
        ctx.data["count"], ctx.data["sum"] = input[0]["count"], input[0]["sum"]

    flow.routines["agg"].define_slot("input", max_length=20, put_timeout=2)
    flow.connect("source.output", "agg.input")
    flow.connect("agg.output", "sink.input")
    job = finished(rt.start(flow).submit(data={}), timeout=10)
    assert (job.data["count"], job.data["sum"]) == (500, sum(range(500)))


def test_a_stuck_job_does_not_hold_up_another_job_in_the_same_slot(rt: Runtime, wait_until) -> None:
    """Job A's consumer is stuck and A's items fill the slot, so A's producer waits; job B
    goes through the same slot meanwhile: other jobs' items never make a job wait."""
    release, stuck = threading.Event(), threading.Event()
    flow = Flow("stuck-and-free")

    @flow.routine(slots=["input"], events=["output"])
    def source(input: list[dict[str, Any]], ctx: Any) -> None:
        for i in range(20):
            ctx.emit("output", i=i, stuck=input[0]["stuck"])
            if i == 0 and input[0]["stuck"]:
                stuck.wait(5)  # the consumer runs (stuck) on a thread of its own

    @flow.routine(slots=["input"], events=[])
    def sink(input: list[dict[str, Any]], ctx: Any) -> None:
        if input[0]["stuck"]:
            stuck.set()
            release.wait(10)
        ctx.data.setdefault("got", []).extend(x["i"] for x in input)

    flow.routines["sink"].define_slot("input", max_length=5, put_timeout=10)
    flow.connect("source.output", "sink.input")
    worker = rt.start(flow)
    a = worker.submit(data={"stuck": True})
    try:
        assert stuck.wait(5)
        wait_until(lambda: worker.queue_status(a.job_id)["sink"][0]["is_full"])
        b = worker.submit(data={"stuck": False})
        assert b.wait(10).status == "completed", b.error
        assert b.data["got"] == list(range(20))
        assert not a.is_finished, "A still waits for its own stuck consumer"
    finally:
        release.set()
    assert a.wait(10).status == "completed", a.error
    assert sorted(a.data["got"]) == list(range(20))

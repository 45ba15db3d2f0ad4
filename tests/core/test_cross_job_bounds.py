"""Concurrent jobs never block each other through a shared queue bound.

The shape that used to deadlock: a source emits rows one by one, a router sends each row to
one of two aggregators (which hold a job's items until the job's upstream is done), and a fit
routine takes both aggregates. With many jobs in flight the aggregators' queues filled with
rows of many jobs, every router blocked, and no job could finish.
"""

from __future__ import annotations

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

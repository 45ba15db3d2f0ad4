"""worker.map: many jobs from parameter sets, bounded in flight, read back as one DataFrame."""

from __future__ import annotations

import asyncio
import threading

import pandas as pd
import pytest

from routilux_nb.core import Flow, Runtime
from routilux_nb.core.errors import JobWaitTimeout


def _gated_flow(gate: threading.Event, started: list[int], fail_on: set[int] | None = None) -> Flow:
    flow = Flow("mapped")
    lock = threading.Lock()

    @flow.routine(slots=["input"], events=["output"])
    def compute(input, ctx):
        x = input[0]["x"]
        with lock:
            started.append(x)
        assert gate.wait(10), "gate never opened"
        if fail_on and x in fail_on:
            raise ValueError(f"bad x={x}")
        return [{"y": x * x}]

    @flow.routine(slots=["input"], events=[])
    def store(input, ctx):
        ctx.data["y"] = input[0]["y"]
        ctx.data["note"] = [input[0]["y"]]  # not a scalar: left out of the default columns

    flow.connect("compute.output", "store.input")
    return flow


def test_map_keeps_at_most_max_in_flight_jobs_unfinished(rt: Runtime, wait_until) -> None:
    gate, started = threading.Event(), []
    worker = rt.start(_gated_flow(gate, started))
    run = worker.map([{"x": i} for i in range(20)], max_in_flight=5)
    wait_until(lambda: len(started) == 5)
    # none can finish while the gate is closed, so the feeder cannot have submitted more
    assert sum(job is not None for job in run.jobs) == 5
    assert run.progress == (0, 20) and not run.done
    gate.set()
    run.wait(timeout=30)
    assert run.done and run.counts == {"completed": 20}
    assert sorted(started) == list(range(20))
    frame = run.to_pandas()
    assert list(frame.columns) == [
        "x",
        "job_id",
        "status",
        "duration",
        "error",
        "attempts",
        "data.y",
    ]
    assert frame["data.y"].tolist() == [i * i for i in range(20)]
    assert frame["duration"].dtype.kind == "f" and (frame["duration"] >= 0).all()
    assert {job.metadata["map_id"] for job in run.jobs} == {run.map_id}


def test_map_over_dataframe_rows_keeps_its_index(rt: Runtime) -> None:
    gate, started = threading.Event(), []
    gate.set()
    df = pd.DataFrame({"x": [3, 4, 5], "label": ["a", "b", "c"]}, index=["r1", "r2", "r3"])
    run = rt.map(_gated_flow(gate, started), df).wait(timeout=30)
    frame = run.to_pandas(data=["y", "missing"])
    assert list(frame.index) == ["r1", "r2", "r3"]
    assert frame.loc["r2", "data.y"] == 16 and frame.loc["r2", "label"] == "b"
    assert frame["data.missing"].isna().all()
    assert "data.y" not in run.to_pandas(data=False).columns


def test_failed_items_are_reported_and_retried_from_their_failed_step(rt: Runtime) -> None:
    gate, started = threading.Event(), []
    gate.set()
    failing = {2, 4}
    worker = rt.start(_gated_flow(gate, started, fail_on=failing))
    run = worker.map([{"x": i} for i in range(6)], max_in_flight=2).wait(timeout=30)
    frame = run.to_pandas()
    assert frame["status"].tolist() == [
        "completed",
        "completed",
        "failed",
        "completed",
        "failed",
        "completed",
    ]
    assert frame.loc[2, "error"] and "bad x=2" in frame.loc[2, "error"]
    first_failed = run.jobs[2]
    failing.clear()  # the user fixes the cause
    run.retry_failed().wait(timeout=30)
    frame = run.to_pandas()
    assert run.counts == {"completed": 6}
    assert frame["attempts"].tolist() == [1, 1, 2, 1, 2, 1]
    assert frame.loc[2, "data.y"] == 4 and run.jobs[2] is not first_failed
    assert run.retry_failed() is run  # nothing left to retry


def test_wait_times_out_with_progress_and_async_wait_completes(rt: Runtime, wait_until) -> None:
    gate, started = threading.Event(), []
    run = rt.map(_gated_flow(gate, started), [{"x": 1}, {"x": 2}], max_in_flight=None)
    with pytest.raises(JobWaitTimeout, match=r"0/2 finished"):
        run.wait(timeout=0.05)
    wait_until(lambda: len(started) == 2)
    gate.set()
    assert asyncio.run(run.wait_async(timeout=30)) is run
    assert "2/2 finished (2 completed)" in repr(run)


def test_items_left_when_the_worker_stops_are_reported_not_lost(rt: Runtime, wait_until) -> None:
    gate, started = threading.Event(), []
    worker = rt.start(_gated_flow(gate, started))
    run = worker.map([{"x": i} for i in range(4)], max_in_flight=1)
    wait_until(lambda: len(started) == 1)
    worker.stop(timeout=0.1)
    gate.set()
    run.wait(timeout=30)
    statuses = run.statuses()
    assert statuses[0] in ("cancelled", "completed", "failed")
    assert statuses[1:] == ["not_submitted"] * 3
    assert all("WorkerNotRunningError" in e for e in run.errors[1:])
    assert run.to_pandas()["error"].iloc[1].startswith("WorkerNotRunningError")


def test_cancel_stops_feeding_and_cancels_unfinished_jobs(rt: Runtime, wait_until) -> None:
    gate, started = threading.Event(), []
    run = rt.map(_gated_flow(gate, started), [{"x": i} for i in range(10)], max_in_flight=2)
    wait_until(lambda: len(started) == 2)
    run.cancel()
    gate.set()
    run.wait(timeout=30)
    counts = run.counts
    assert counts.get("completed", 0) == 0
    assert counts["cancelled"] == 2 and counts["not_submitted"] == 8


def test_bad_arguments_are_refused_clearly(rt: Runtime) -> None:
    gate, started = threading.Event(), []
    worker = rt.start(_gated_flow(gate, started))
    with pytest.raises(TypeError, match="iterable of dicts or a pandas DataFrame"):
        worker.map({"x": 1})
    with pytest.raises(TypeError, match="item 1 is a int"):
        worker.map([{"x": 1}, 2])
    with pytest.raises(ValueError, match="max_in_flight must be a positive int"):
        worker.map([{"x": 1}], max_in_flight=0)
    empty = worker.map([])
    assert empty.done and empty.wait(0) is empty and empty.to_pandas().empty


def test_done_callbacks_run_once_and_a_failing_one_does_not_break_the_worker(
    rt: Runtime, caplog
) -> None:
    flow = Flow("cb")

    @flow.routine(slots=["input"], events=[])
    def noop(input, ctx):
        ctx.data["ok"] = True

    seen: list[str] = []
    job = rt.submit(flow, data={})

    def boom(_job):
        raise RuntimeError("callback bug")

    job.add_done_callback(boom)
    job.add_done_callback(lambda j: seen.append(j.status))
    job.wait(10)
    job.add_done_callback(
        lambda j: seen.append("late:" + j.status)
    )  # already finished: called at once
    assert seen == ["completed", "late:completed"]
    assert rt.submit(flow, data={}).wait(10).status == "completed"

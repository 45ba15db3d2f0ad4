"""Admission control: at most ``max_active_jobs`` jobs of a worker run at once; the others
wait ``pending`` and start in the order they were submitted."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from routilux_nb.core import Flow, Runtime
from routilux_nb.core.admission import DEFAULT_MAX_ACTIVE_JOBS


def gated_flow(flow_id: str, gate: threading.Event, started: list[int], lock: Any) -> Flow:
    """``work`` records the job's ``n`` when it starts, then waits for ``gate``."""
    flow = Flow(flow_id)
    running = [0]

    @flow.routine(slots=["input"], events=[])
    def work(input: list[dict[str, Any]], ctx: Any) -> None:
        with lock:
            started.append(input[0]["n"])
            running[0] += 1
            ctx.data["running_with"] = running[0]
        gate.wait(10)
        with lock:
            running[0] -= 1

    return flow


def test_jobs_past_max_active_jobs_stay_pending_and_start_in_order(rt: Runtime, wait_until) -> None:
    gate, lock, started = threading.Event(), threading.Lock(), []
    worker = rt.start(gated_flow("admit", gate, started, lock), max_active_jobs=2)
    assert worker.max_active_jobs == 2
    jobs = [worker.submit(data={"n": n}) for n in range(6)]
    try:
        wait_until(lambda: len(started) == 2)
        assert sorted(started) == [0, 1]
        assert [j.status for j in jobs[2:]] == ["pending"] * 4
        assert worker.pending_jobs == jobs[2:]
        assert all(j in worker.active_jobs for j in jobs), "pending jobs are listed"
    finally:
        gate.set()
    for job in jobs:
        assert job.wait(10).status == "completed", job.error
    assert started[2:] == [2, 3, 4, 5], "pending jobs start in submission order"
    assert max(j.data["running_with"] for j in jobs) <= 2
    assert worker.pending_jobs == []


def test_a_cancelled_pending_job_never_runs_and_the_next_one_takes_its_turn(
    rt: Runtime, wait_until
) -> None:
    gate, lock, started = threading.Event(), threading.Lock(), []
    worker = rt.start(gated_flow("admit_cancel", gate, started, lock), max_active_jobs=1)
    first, second, third = (worker.submit(data={"n": n}) for n in range(3))
    wait_until(lambda: started == [0])
    second.cancel("not needed")
    assert second.status == "cancelled" and worker.pending_jobs == [third]
    gate.set()
    assert first.wait(10).status == "completed"
    assert third.wait(10).status == "completed"
    assert started == [0, 2]


def test_raising_max_active_jobs_admits_pending_jobs_at_once(rt: Runtime, wait_until) -> None:
    gate, lock, started = threading.Event(), threading.Lock(), []
    worker = rt.start(gated_flow("admit_raise", gate, started, lock), max_active_jobs=1)
    jobs = [worker.submit(data={"n": n}) for n in range(3)]
    try:
        wait_until(lambda: started == [0])
        worker.max_active_jobs = None
        wait_until(lambda: sorted(started) == [0, 1, 2])
    finally:
        gate.set()
    assert all(j.wait(10).status == "completed" for j in jobs)


def test_a_pending_jobs_timeout_counts_from_its_admission(rt: Runtime, wait_until) -> None:
    gate, lock, started = threading.Event(), threading.Lock(), []
    worker = rt.start(gated_flow("admit_timeout", gate, started, lock), max_active_jobs=1)
    first = worker.submit(data={"n": 0})
    later = worker.submit(data={"n": 1}, timeout=1.0)
    wait_until(lambda: started == [0])
    time.sleep(1.5)  # pending longer than its timeout
    assert later.status == "pending"
    gate.set()
    assert first.wait(10).status == "completed"
    assert later.wait(10).status == "completed", later.error


def test_stopping_a_worker_cancels_its_pending_jobs(rt: Runtime, wait_until) -> None:
    gate, lock, started = threading.Event(), threading.Lock(), []
    worker = rt.start(gated_flow("admit_stop", gate, started, lock), max_active_jobs=1)
    jobs = [worker.submit(data={"n": n}) for n in range(4)]
    wait_until(lambda: started == [0])
    try:
        worker.stop()
    finally:
        gate.set()
    assert all(j.is_finished for j in jobs)
    assert [j.status for j in jobs] == ["cancelled"] * 4
    assert started == [0], "nothing was admitted while the worker stopped"


def test_map_with_more_in_flight_than_the_worker_admits(rt: Runtime) -> None:
    gate, lock, started = threading.Event(), threading.Lock(), []
    gate.set()
    worker = rt.start(gated_flow("admit_map", gate, started, lock), max_active_jobs=3)
    run = worker.map([{"n": n} for n in range(40)], max_in_flight=10).wait(30)
    assert run.counts == {"completed": 40}
    assert max(job.data["running_with"] for job in run.jobs if job is not None) <= 3


def test_max_active_jobs_is_checked_and_has_a_documented_default(rt: Runtime) -> None:
    flow = Flow("admit_check")

    @flow.routine(slots=["input"], events=[])
    def noop(input: list[dict[str, Any]]) -> None:
        pass

    assert rt.start(flow).max_active_jobs == DEFAULT_MAX_ACTIVE_JOBS == 256
    assert "max_active_jobs" in (rt.start.__doc__ or "")
    for bad in (0, -1, 2.5, "8", True):
        with pytest.raises(ValueError, match="max_active_jobs must be a positive int or None"):
            rt.start(flow, max_active_jobs=bad)
    worker = rt.start(flow, worker_id="unbounded", max_active_jobs=None)
    assert worker.max_active_jobs is None
    jobs = worker.submit_many({"i": i} for i in range(300))
    assert all(job.wait(10).status == "completed" for job in jobs)
    with pytest.raises(ValueError, match="max_active_jobs"):
        worker.max_active_jobs = 0


def test_a_pending_jobs_first_item_meets_slot_breakpoints_when_admitted(rt: Runtime) -> None:
    gate, lock, started = threading.Event(), threading.Lock(), []
    worker = rt.start(gated_flow("admit_bp", gate, started, lock), max_active_jobs=1)
    rt.monitor.add_breakpoint("slot", "work", slot_name="input", worker=worker)
    first, later = worker.submit(data={"n": 0}), worker.submit(data={"n": 1})
    assert first.debug.wait_paused(5)
    assert later.status == "pending" and worker.pending_jobs == [later]
    first.debug.resume()
    gate.set()
    assert first.wait(10).status == "completed"
    assert later.debug.wait_paused(5), "the admitted job's first item stopped at the breakpoint"
    assert later.debug.variables()["payload"] == {"n": 1}
    later.debug.resume()
    assert later.wait(10).status == "completed"
    assert started == [0, 1]


def test_the_worker_state_and_the_http_api_show_admission(rt: Runtime, wait_until) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from routilux_nb.server import create_app

    gate, lock, started = threading.Event(), threading.Lock(), []
    worker = rt.start(gated_flow("admit-http", gate, started, lock), max_active_jobs=1)
    jobs = [worker.submit(data={"n": n}) for n in range(3)]
    try:
        wait_until(lambda: len(started) == 1)
        state = worker.to_dict()
        assert (state["max_active_jobs"], state["pending_jobs"]) == (1, 2)
        with TestClient(create_app(rt), base_url="http://127.0.0.1") as client:
            body = client.get(f"/api/v1/workers/{worker.worker_id}").json()
        assert (body["max_active_jobs"], body["pending_jobs"]) == (1, 2)
    finally:
        gate.set()
    for job in jobs:
        job.wait(10)
    assert worker.to_dict()["pending_jobs"] == 0

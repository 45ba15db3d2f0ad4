"""MapRun's feeding options: fixed job ids, everything fed by its thread, listeners, cancel
while items are still being submitted."""

from __future__ import annotations

import threading

import pytest

from routilux_nb.core import Flow, Runtime
from routilux_nb.core.mapping import MapRun


def _flow(gate: threading.Event) -> Flow:
    flow = Flow("feed")

    @flow.routine(slots=["input"], events=[])
    def work(input, ctx):
        assert gate.wait(20)
        ctx.data["x"] = input[0]["x"]

    return flow


def test_fixed_job_ids_are_used_in_order(rt: Runtime) -> None:
    gate = threading.Event()
    gate.set()
    worker = rt.start(_flow(gate))
    ids = [f"fixed-{i}" for i in range(5)]
    run = MapRun(worker, [{"x": i} for i in range(5)], max_in_flight=2, job_ids=ids).wait(30)
    assert [job.job_id for job in run.jobs] == ids
    assert [rt.get_job(i).data["x"] for i in ids] == list(range(5))
    with pytest.raises(ValueError, match="2 ids for 3 items"):
        MapRun(worker, [{"x": 1}] * 3, job_ids=["a", "b"])


def test_background_returns_at_once_and_its_thread_feeds_everything(
    rt: Runtime, wait_until
) -> None:
    gate = threading.Event()
    worker = rt.start(_flow(gate))
    seen: list[int] = []

    def listener(run: MapRun) -> None:
        seen.append(run.handled)
        raise RuntimeError("a failing listener changes nothing")

    run = MapRun(worker, [{"x": i} for i in range(4)], max_in_flight=None, background=True)
    run.add_listener(listener)
    wait_until(lambda: run.handled == 4)
    gate.set()
    run.wait(30)
    assert run.counts == {"completed": 4} and seen  # told of submissions and ends
    run.remove_listener(listener)
    count = len(seen)
    run.retry_failed()  # nothing to retry: no signal
    assert len(seen) == count


def test_cancel_while_feeding_leaves_nothing_running(rt: Runtime, wait_until) -> None:
    gate = threading.Event()
    worker = rt.start(_flow(gate))
    run = MapRun(worker, [{"x": i} for i in range(6)], max_in_flight=2, background=True)
    wait_until(lambda: run.handled == 2)
    run.cancel("stop")
    gate.set()
    run.wait(30)
    assert run.counts == {"cancelled": 2, "not_submitted": 4}
    assert all(e == "not submitted: stop" for e in run.errors[2:])


def test_cancel_reaches_a_job_whose_first_item_waits_for_room(rt: Runtime, wait_until) -> None:
    """With fixed ids the run finds the job being submitted (its entry slot full) and cancels
    it at once, so it cannot run once room appears."""
    gate = threading.Event()
    flow = _flow(gate)
    flow.routines["work"].define_slot("input", max_length=1, put_timeout=30)
    worker = rt.start(flow)
    worker.pause()
    worker.submit(data={"x": -1})  # fills the entry slot; nothing consumes while paused
    run = MapRun(worker, [{"x": 1}, {"x": 2}], job_ids=["wait-1", "wait-2"], background=True)

    def waiting() -> bool:
        try:
            return rt.get_job("wait-1") is not None
        except KeyError:
            return False

    wait_until(waiting)  # created, its item waiting for room
    run.cancel("refused")
    assert rt.get_job("wait-1").status == "cancelled"
    worker.resume()
    gate.set()
    run.wait(60)
    assert rt.get_job("wait-1").status == "cancelled"
    assert run.statuses()[1] == "not_submitted"

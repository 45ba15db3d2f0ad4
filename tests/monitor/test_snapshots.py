"""Snapshot streams: rate-limited, change-only views of a worker fed by real busy jobs."""

from __future__ import annotations

import threading
import time

import pytest

from routilux_nb import Flow

WAIT = 5.0
EVENTS = 50_000


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[float, dict]] = []
        self.lock = threading.Lock()

    def __call__(self, snapshot: dict) -> None:
        with self.lock:
            self.calls.append((time.monotonic(), snapshot))

    def __len__(self) -> int:
        with self.lock:
            return len(self.calls)

    @property
    def last(self) -> dict:
        with self.lock:
            return self.calls[-1][1]

    def times(self) -> list[float]:
        with self.lock:
            return [t for t, _ in self.calls]


def burst_flow() -> Flow:
    """``burst`` emits ``n`` items in 5 spurts 0.05 s apart; ``count`` counts them."""
    flow = Flow("burst")

    @flow.routine(slots=["input"], events=["output"])
    def burst(input, ctx):
        n = input[0]["n"]
        spurt = n // 5 if n >= 1000 else 0
        for i in range(n):
            if spurt and i % spurt == 0:
                time.sleep(0.05)
            ctx.emit("output", i=i)

    @flow.routine(slots=["input"], events=[])
    def count(input, ctx):
        ctx.data["n"] = ctx.data.get("n", 0) + len(input)

    flow.connect("burst.output", "count.input")
    return flow


def snapshot_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "routilux-snapshots"}


def test_stream_is_rate_limited_and_ends_with_the_final_state(rt, until):
    w = rt.start(burst_flow())
    rec = Recorder()
    before = snapshot_threads()
    t0 = time.monotonic()
    stream = rt.monitor.stream(rec, worker=w, max_rate_hz=10)
    (ticker,) = snapshot_threads() - before
    job = w.submit(data={"n": EVENTS}).wait(WAIT)
    assert job.status == "completed"
    assert job.data["n"] == EVENTS
    assert job.trace.total >= EVENTS
    until(lambda: len(rec) and rec.last["worker"]["jobs_processed"] == 1, timeout=1.0)
    elapsed = time.monotonic() - t0
    assert len(rec) <= 10 * elapsed + 2, (len(rec), elapsed)
    assert len(rec) >= 2, "the view saw the job while it ran"
    gaps = [b - a for a, b in zip(rec.times(), rec.times()[1:], strict=False)]
    assert all(g >= 0.08 for g in gaps), gaps
    final = rec.last
    assert final["worker"]["active_jobs"] == 0
    assert final["jobs"][job.job_id]["status"] == "completed"
    assert final["jobs"][job.job_id]["routine_counts"]["burst"] == 1
    assert (
        final["routines"]["count"]["execution_count"]
        == job.metrics.routine_metrics["count"].execution_count
    )
    assert final["connections"]["conn_0"]["count"] == EVENTS
    assert final["queues"]["count"]["input"]["unconsumed_count"] == 0
    assert stream.sent == len(rec)
    # nothing changes: nothing is sent
    sent = len(rec)
    time.sleep(0.2)
    assert len(rec) == sent
    stream.force()
    time.sleep(0.05)
    assert len(rec) == sent, "forcing an unchanged snapshot sends nothing"
    # a change that is not an event (a new breakpoint) is sent
    bp = rt.monitor.add_breakpoint("routine", "count", worker=w)
    until(lambda: len(rec) == sent + 1, timeout=1.0)
    assert [b["breakpoint_id"] for b in rec.last["breakpoints"]] == [bp.breakpoint_id]
    # closed: no more calls, and the ticker thread ends with its last stream
    stream.close()
    assert stream.closed
    rt.monitor.remove_breakpoint(bp.breakpoint_id)
    w.submit(data={"n": 10}).wait(WAIT)
    time.sleep(0.15)
    assert len(rec) == sent + 1
    ticker.join(1.0)
    assert not ticker.is_alive()
    assert rt.monitor.ticker.stream_count == 0


def test_a_job_stream_shows_only_that_job_and_its_pause(rt, chain, until):
    c = chain()
    w = rt.start(c.flow)
    w.pause()
    job = w.submit(data={"value": 1})
    other = w.submit(data={"value": 2})
    rt.monitor.add_breakpoint("routine", "double", job=job)
    rec = Recorder()
    stream = rt.monitor.stream(rec, worker=w, job=job, max_rate_hz=50)
    w.resume()
    assert other.wait(WAIT).status == "completed"
    assert job.debug.wait_paused(WAIT)
    until(lambda: len(rec) and rec.last["paused"], timeout=1.0)
    snap = rec.last
    assert list(snap["jobs"]) == [job.job_id]
    assert snap["jobs"][job.job_id]["status"] == "paused"
    assert snap["paused"] == [
        {
            "job_id": job.job_id,
            "routine_id": "double",
            "kind": "routine",
            "slot_name": "input",
            "event_name": None,
        }
    ]
    assert snap["routines"]["double"]["status"] == "paused"
    assert [b["job_id"] for b in snap["breakpoints"]] == [job.job_id]
    job.resume()
    job.wait(WAIT)
    until(lambda: rec.last["jobs"][job.job_id]["status"] == "completed", timeout=1.0)
    assert rec.last["paused"] == []
    stream.close()


def test_a_failing_callback_is_closed_and_others_keep_streaming(rt, chain, until, caplog):
    c = chain()
    w = rt.start(c.flow)
    good = Recorder()
    bad_calls = []

    def bad(snapshot):
        bad_calls.append(snapshot)
        raise RuntimeError("view broke")

    s_bad = rt.monitor.stream(bad, worker=w, max_rate_hz=50)
    s_good = rt.monitor.stream(good, worker=w, max_rate_hz=50)
    until(lambda: s_bad.closed, timeout=1.0)
    assert len(bad_calls) == 1
    assert "snapshot stream failed" in caplog.text
    before = len(good)
    rt.submit(c.flow, data={"value": 1}).wait(WAIT)
    until(lambda: len(good) and good.last["worker"]["jobs_processed"] == 1, timeout=1.0)
    assert len(good) > before
    assert len(bad_calls) == 1
    s_good.close()


@pytest.mark.parametrize("rate", [2.0, 20.0])
def test_rate_sets_the_minimum_interval(rt, chain, rate):
    c = chain(gated=True)
    w = rt.start(c.flow)
    rec = Recorder()
    stream = rt.monitor.stream(rec, worker=w, max_rate_hz=rate)
    job = w.submit(data={"value": 1})  # running: its elapsed time changes every tick
    time.sleep(0.5)
    c.gate.set()
    job.wait(WAIT)
    stream.close()
    n = len(rec)
    assert n <= rate * 0.5 + 3
    assert n >= min(rate * 0.5, 2) - 1
    gaps = [b - a for a, b in zip(rec.times(), rec.times()[1:], strict=False)]
    assert all(g >= 0.8 / rate for g in gaps), gaps

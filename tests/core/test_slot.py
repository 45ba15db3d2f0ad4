"""Slots: declarations, pressure levels, and the per-job queues behind them."""

from __future__ import annotations

import threading
import time
from collections import deque

import pytest

from routilux_nb.core import Flow, Slot, pressure_level
from routilux_nb.core.slot import DEFAULT_MAX_LENGTH, SlotQueue


def test_slot_defaults_and_validation():
    s = Slot("input")
    assert (s.max_length, s.watermark, s.put_timeout) == (DEFAULT_MAX_LENGTH, 0.8, 30.0)
    with pytest.raises(ValueError, match="non-empty string"):
        Slot("")
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        Slot("x", max_length=0)
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=r"watermark must be in \(0, 1\]"):
            Slot("x", watermark=bad)


@pytest.mark.parametrize(
    ("unconsumed", "expected"),
    [
        (0, "low"),
        (5, "low"),
        (59, "low"),
        (60, "medium"),
        (79, "medium"),
        (80, "high"),
        (99, "high"),
        (100, "critical"),
        (150, "critical"),
    ],
)
def test_pressure_levels(unconsumed, expected):
    assert pressure_level(unconsumed, 100, 0.8) == expected


def test_pressure_level_follows_the_watermark():
    assert pressure_level(70, 100, 0.7) == "high"
    assert pressure_level(65, 100, 0.9) == "medium"
    assert pressure_level(95, 100, 0.9) == "high"
    assert pressure_level(0, 1, 1.0) == "low" and pressure_level(1, 1, 1.0) == "critical"


def test_slot_queue_keeps_items_per_job():
    q = SlotQueue("r", Slot("input", max_length=10))
    for job, n in (("j1", 3), ("j2", 2)):
        for i in range(n):
            q.by_job.setdefault(job, deque()).append(({"i": i, "job": job}, None))
            q.count += 1
            q.total_count += 1
    assert q.job_count("j1") == 3 and q.job_count("j2") == 2 and q.job_count("j3") == 0
    taken = q.take("j1", 2)
    assert [p["i"] for p, _ in taken] == [0, 1] and all(p["job"] == "j1" for p, _ in taken)
    assert q.count == 3 and q.job_count("j1") == 1
    rest = q.take("j1")
    assert [p["i"] for p, _ in rest] == [2] and "j1" not in q.by_job
    assert q.take("j1") == []
    st = q.status()
    assert st["unconsumed_count"] == 2 and st["total_count"] == 5
    assert q.status("j2")["unconsumed_count"] == 2 and q.status("j1")["unconsumed_count"] == 0


def test_queue_status_of_a_full_slot_in_a_running_worker(rt):
    running = threading.Event()
    release = threading.Event()
    flow = Flow("full_slot")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        ctx.emit("output", i=0)
        running.wait(2)
        for i in range(1, 5):
            ctx.emit("output", i=i)
        ctx.data["source_done"] = True

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        running.set()
        release.wait(2)
        ctx.data.setdefault("got", []).extend(x["i"] for x in input)

    flow.routines["sink"].define_slot("input", max_length=4, watermark=0.5, put_timeout=5)
    flow.connect("source.output", "sink.input")
    worker = rt.start(flow)
    job = worker.submit("source", data={})
    try:
        deadline = time.monotonic() + 2
        st = worker.queue_status()["sink"][0]
        while st["unconsumed_count"] < 4 and time.monotonic() < deadline:
            time.sleep(0.005)
            st = worker.queue_status()["sink"][0]
        assert st["unconsumed_count"] == 4 and st["max_length"] == 4
        assert st["is_full"] and st["is_near_full"] and st["pressure_level"] == "critical"
        assert st["usage_percentage"] == 1.0 and st["watermark_threshold"] == 2
        assert "source_done" in job.data, "items 1-4 fill the slot exactly"
    finally:
        release.set()
    job.wait(2)
    assert job.status == "completed" and job.data["got"] == [0, 1, 2, 3, 4]
    st = worker.queue_status()["sink"][0]
    assert st["unconsumed_count"] == 0 and st["pressure_level"] == "low" and st["total_count"] == 5


def test_define_slot_replaces_the_declaration():
    flow = Flow("define")

    @flow.routine(slots=["input"], events=[])
    def r(input):
        return None

    slot = flow.routines["r"].define_slot("input", max_length=7, watermark=0.5, put_timeout=1)
    assert flow.routines["r"].slot("input") is slot
    assert (slot.max_length, slot.watermark, slot.put_timeout) == (7, 0.5, 1.0)

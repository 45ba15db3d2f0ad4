"""The event bus: every subscriber gets every event it subscribed to, with seq numbers."""

from __future__ import annotations

import sys
import threading
from datetime import datetime

from routilux_nb.monitor import EventBus, Monitor

WAIT = 2.0
MESSAGE_FIELDS = {
    "seq",
    "type",
    "timestamp",
    "job_id",
    "worker_id",
    "flow_id",
    "routine_id",
    "detail",
    "data",
    "duration",
    "status",
}


def seqs(messages):
    return [m["seq"] for m in messages]


def test_two_subscribers_both_receive_every_event_of_a_job(rt, chain):
    c = chain()
    a = rt.monitor.subscribe()
    b = rt.monitor.subscribe()
    job = rt.submit(c.flow, data={"values": [1, 2, 3]}, job_id="job-fanout").wait(WAIT)
    got_a, got_b = a.drain(10_000), b.drain(10_000)
    job_a = [m for m in got_a if m["job_id"] == job.job_id]
    job_b = [m for m in got_b if m["job_id"] == job.job_id]
    trace = [e.seq for e in job.trace.events()]
    assert sorted(seqs(job_a)) == sorted(seqs(job_b)) == trace
    assert len(set(seqs(got_a))) == len(got_a), "no duplicates"
    assert sorted(seqs(got_a)) == sorted(seqs(got_b))
    assert a.missed == b.missed == 0
    assert a.pending() == b.pending() == 0
    m = job_a[0]
    assert set(m) == MESSAGE_FIELDS
    assert all(datetime.fromisoformat(x["timestamp"]).tzinfo is not None for x in got_a)
    assert m["type"] == "job_start"
    assert m["worker_id"] == job.worker_id and m["flow_id"] == "chain"
    assert {x["type"] for x in job_a} >= {
        "job_start",
        "slot_call",
        "routine_start",
        "event_emit",
        "routine_end",
        "job_end",
    }
    assert any(x["type"] == "worker_status" for x in got_a), (
        "worker events reach unfiltered subscribers"
    )
    assert rt.monitor.bus.subscriber_count == 2
    a.close()
    b.close()
    assert rt.monitor.bus.subscriber_count == 0


def test_filtered_subscription_gets_only_its_job(rt, chain):
    c = chain()
    mine = rt.monitor.subscribe(job_id="job-mine")
    by_type = rt.monitor.subscribe(job_id="job-mine", event_types=["event_emit"])
    by_flow = rt.monitor.subscribe(flow_id="elsewhere")
    other = rt.submit(c.flow, data={"values": [1, 2]}, job_id="job-other")
    job = rt.submit(c.flow, data={"values": [5]}, job_id="job-mine")
    other.wait(WAIT)
    job.wait(WAIT)
    got = mine.drain(10_000)
    assert got, "the job's events arrived"
    assert {m["job_id"] for m in got} == {"job-mine"}
    assert sorted(seqs(got)) == [e.seq for e in job.trace.events()]
    emits = by_type.drain(10_000)
    assert [m["routine_id"] for m in sorted(emits, key=lambda m: m["seq"])] == ["source", "double"]
    assert [m["data"] for m in sorted(emits, key=lambda m: m["seq"])] == [
        {"value": 5},
        {"value": 10},
    ]
    assert by_flow.drain() == []


def test_update_filter_switches_jobs(rt, chain):
    c = chain()
    sub = rt.monitor.subscribe(job_id="job-first")
    rt.submit(c.flow, data={"value": 1}, job_id="job-first").wait(WAIT)
    first = sub.drain(10_000)
    assert first and {m["job_id"] for m in first} == {"job-first"}
    sub.update_filter(job_id="job-second", event_types=["job_end"])
    rt.submit(c.flow, data={"value": 1}, job_id="job-first-again").wait(WAIT)
    second = rt.submit(c.flow, data={"value": 1}, job_id="job-second").wait(WAIT)
    got = sub.drain(10_000)
    assert [(m["job_id"], m["type"], m["status"]) for m in got] == [
        ("job-second", "job_end", "completed")
    ]
    assert got[0]["seq"] == second.trace.events()[-1].seq
    sub.update_filter(job_id=None, event_types=None)
    third = rt.submit(c.flow, data={"value": 1}).wait(WAIT)
    assert {m["job_id"] for m in sub.drain(10_000)} == {third.job_id}


def test_slow_subscriber_loses_the_oldest_and_counts_them(rt, chain):
    c = chain()
    sub = rt.monitor.subscribe(job_id="job-slow", maxsize=10)
    fast = rt.monitor.subscribe(job_id="job-slow")
    job = rt.submit(c.flow, data={"values": list(range(20))}, job_id="job-slow").wait(WAIT)
    total = job.trace.total
    assert total > 10
    assert sub.pending() == 10
    assert sub.missed == total - 10
    kept = sub.drain(10_000)
    everything = fast.drain(10_000)
    assert len(everything) == total and fast.missed == 0
    assert kept == everything[-10:], "the newest are kept, in arrival order"
    assert kept[-1]["type"] == "job_end"
    assert sub.delivered == 10
    assert sub.last_seq == kept[-1]["seq"]


def test_get_waits_and_returns_none_on_timeout_or_close(rt, chain):
    c = chain(gated=True)
    sub = rt.monitor.subscribe(job_id="job-get", event_types=["job_end"])
    assert sub.get(timeout=0.05) is None
    job = rt.submit(c.flow, data={"value": 1}, job_id="job-get")
    threading.Timer(0.05, c.gate.set).start()
    msg = sub.get(timeout=WAIT)
    assert msg is not None and msg["type"] == "job_end"
    job.wait(WAIT)
    threading.Timer(0.05, sub.close).start()
    assert sub.get(timeout=WAIT) is None
    assert sub.closed
    assert list(sub) == []


def test_since_replays_retained_events_after_a_seq(make_runtime, chain):
    rt = make_runtime(monitor=Monitor(bus_retain=100))
    c = chain()
    live = rt.monitor.subscribe()
    first = rt.submit(c.flow, data={"value": 1}).wait(WAIT)
    mark = first.trace.events()[-1].seq  # the client saw everything up to here
    second = rt.submit(c.flow, data={"values": [1, 2]}).wait(WAIT)
    after_mark = [m for m in live.drain(10_000) if m["seq"] > mark]
    assert len(after_mark) < 100
    resumed = rt.monitor.subscribe(since=mark)
    replay = resumed.drain(10_000)
    assert sorted(seqs(replay)) == sorted(seqs(after_mark))
    assert {m["job_id"] for m in replay} == {second.job_id}
    assert resumed.missed == 0
    filtered = rt.monitor.subscribe(since=mark, event_types=["job_end"])
    assert [m["job_id"] for m in filtered.drain()] == [second.job_id]
    # the replay is followed by live events
    third = rt.submit(c.flow, data={"value": 1}).wait(WAIT)
    assert {m["job_id"] for m in resumed.drain(10_000)} == {third.job_id}


def test_since_reports_a_gap_when_the_ring_no_longer_has_them(make_runtime, chain):
    rt = make_runtime(monitor=Monitor(bus_retain=100))
    c = chain()
    live = rt.monitor.subscribe()
    first = rt.submit(c.flow, data={"value": 1}).wait(WAIT)
    mark = first.trace.events()[-1].seq
    rt.submit(c.flow, data={"values": list(range(100))}).wait(WAIT)  # far more than 100 events
    published = [m for m in live.drain(100_000) if m["seq"] > mark]
    assert len(published) > 150
    resumed = rt.monitor.subscribe(since=mark)
    replay = resumed.drain(100_000)
    assert len(replay) == 100, "all the ring still retains"
    assert sorted(seqs(replay)) == sorted(seqs(published))[-100:]
    oldest = min(seqs(replay))
    lost = [m for m in published if m["seq"] < oldest]
    assert resumed.missed == len(lost) == oldest - mark - 1


def test_event_bus_directly():
    bus = EventBus(retain=5)
    assert not bus.active
    a, b = bus.subscribe(), bus.subscribe(job_id="j1")
    assert bus.active
    for seq in range(1, 9):
        bus.publish({"seq": seq, "type": "x", "job_id": "j1" if seq % 2 else "j2"})
    assert seqs(a.drain()) == list(range(1, 9))
    assert seqs(b.drain()) == [1, 3, 5, 7]
    late = bus.subscribe(since=2)
    assert seqs(late.drain()) == [4, 5, 6, 7, 8]
    assert late.missed == 1  # seq 3 is gone from the ring of 5
    assert bus.subscribe(since=8).drain() == []
    assert bus.subscribe(since=8).missed == 0
    assert bus.published == 8


def test_a_subscriber_receives_events_in_seq_order(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    old = sys.getswitchinterval()
    try:
        for _ in range(5):
            sub = rt.monitor.subscribe()
            sys.setswitchinterval(1e-6)
            try:
                w.pause()
                jobs = [w.submit(data={"values": list(range(100))}) for _ in range(8)]
                w.resume()
                for job in jobs:
                    job.wait(WAIT)
            finally:
                sys.setswitchinterval(old)
            got = seqs(sub.drain(100_000))
            sub.close()
            assert got == sorted(got)
    finally:
        sys.setswitchinterval(old)

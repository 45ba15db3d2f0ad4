"""Monitoring you can trust: exact counters, frames that say when they are cut, CPU time and
queue wait, frames spanning jobs, unrouted emits, and breakpoints that say which item matched."""

from __future__ import annotations

import time
import warnings

import pytest

from routilux_nb import Flow, Slot, policies
from routilux_nb.monitor import Monitor

WAIT = 5.0


def _counts(metrics):
    return {rid: (m.items_in, m.items_out) for rid, m in metrics.routine_metrics.items()}


def test_counters_are_exact_whatever_the_ring_sizes(make_runtime, chain):
    rt = make_runtime(monitor=Monitor(trace_size=10, history_size=5))
    c = chain()
    w = rt.start(c.flow)
    values = list(range(300))
    job = w.submit(data={"values": values}).wait(WAIT)
    assert job.status == "completed" and sorted(job.data["out"]) == [2 * v for v in values]
    assert _counts(job.metrics) == {"source": (1, 300), "double": (300, 300), "sink": (300, 0)}
    assert job.metrics.total_slot_calls == 601 and job.metrics.total_event_emits == 600
    assert len(job.trace) == 10 and job.trace.total > 600 and job.trace.truncated
    assert job.metrics.total_events == job.trace.total
    stats = w.statistics()["routine_statistics"]
    assert {r: (s["items_in"], s["items_out"]) for r, s in stats.items()} == _counts(job.metrics)
    assert sum(s["execution_count"] for s in stats.values()) == sum(
        m.execution_count for m in job.metrics.routine_metrics.values()
    )
    assert len(w.history) == 5 and w.history.total == 600


def test_trace_total_matches_the_events_when_nothing_is_cut(rt, chain):
    job = rt.submit(chain().flow, data={"values": list(range(50))}).wait(WAIT)
    events = job.trace.records()
    assert len(events) == job.trace.total and not job.trace.truncated
    calls = sum(len(r.payload) for r in events if r.event_type == "slot_call")
    assert calls == job.metrics.total_slot_calls
    assert sum(r.event_type == "event_emit" for r in events) == job.metrics.total_event_emits == 100


def test_one_activation_emitting_far_more_than_the_rings_keep(make_runtime):
    rt = make_runtime(monitor=Monitor(trace_size=20, history_size=20))
    flow = Flow("flood")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for i in range(input[0]["n"]):
            ctx.emit("output", value=i)

    @flow.routine(slots=["input"], events=[])
    def sink(input, ctx):
        ctx.data["n"] = ctx.data.get("n", 0) + len(input)

    flow.connect("source.output", "sink.input")
    job = rt.submit(flow, data={"n": 10_000}).wait(30)
    assert job.data["n"] == 10_000
    assert job.metrics.routine_metrics["source"].items_out == 10_000
    assert job.metrics.routine_metrics["sink"].items_in == 10_000
    assert job.metrics.routine_metrics["source"].emits == {"output": 10_000}
    assert len(job.trace) == 20 and job.trace.total >= 10_000 + 4
    kept = job.trace.records()
    assert [r.seq for r in kept] == sorted(r.seq for r in kept) and kept[-1].event_type == "job_end"


def test_concurrent_jobs_count_exactly_per_worker(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    jobs = [w.submit(data={"values": list(range(100))}) for _ in range(20)]
    for j in jobs:
        assert j.wait(WAIT).status == "completed"
    stats = w.statistics()["routine_statistics"]
    assert (
        stats["source"]["items_out"]
        == stats["double"]["items_in"]
        == stats["sink"]["items_in"]
        == 2000
    )
    assert stats["source"]["execution_count"] == 20


def test_cut_frames_say_so_and_name_the_setting(make_runtime, chain):
    rt = make_runtime(monitor=Monitor(trace_size=10, history_size=5))
    w = rt.start(chain().flow)
    job = w.submit(data={"values": list(range(20))}).wait(WAIT)
    with pytest.warns(UserWarning, match=r"trace_size"):
        df = job.trace.to_pandas()
    assert df.attrs["truncated"] is True and len(df) == 10
    with pytest.warns(UserWarning, match=r"history_size"):
        hist = w.history.to_pandas()
    assert hist.attrs["truncated"] is True and len(hist) == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert job.metrics.to_pandas().attrs["truncated"] is False


def test_uncut_frames_do_not_warn(rt, chain):
    job = rt.submit(chain().flow, data={"values": [1, 2]}).wait(WAIT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert job.trace.to_pandas().attrs["truncated"] is False
        assert job.worker.history.to_pandas().attrs["truncated"] is False


def test_trace_frame_columns_each_hold_one_kind_of_thing(rt):
    flow = Flow("kinds")

    @flow.routine(slots=["input"], events=["output"], error_handler="continue")
    def first(input, ctx):
        ctx.emit("output", value=1)
        raise ValueError("after emitting")

    @flow.routine(slots=["input"], events=[])
    def last(input):
        pass

    flow.connect("first.output", "last.input")
    job = rt.submit(flow, data={"x": 1}).wait(WAIT)
    df = job.trace.to_pandas()
    by_type = {t: g for t, g in df.groupby("event_type")}
    assert set(by_type["slot_call"]["slot_name"]) == {"input"}
    assert set(by_type["event_emit"]["event_name"]) == {"output"}
    assert set(by_type["routine_error"]["error_type"]) == {"ValueError"}
    assert set(by_type["job_end"]["previous_status"]) == {"running"}
    assert df.loc[df["event_type"] != "slot_call", "slot_name"].isna().all()
    assert df.loc[df["event_type"] != "event_emit", "event_name"].isna().all()
    ends = by_type["routine_end"]
    assert ends["cpu_time"].notna().all() and ends["queue_wait"].notna().all()
    assert df.loc[df["event_type"] != "routine_end", "cpu_time"].isna().all()


def test_cpu_time_is_apart_from_wall_time(rt):
    flow = Flow("cpu")

    @flow.routine(slots=["input"], events=["output"])
    def sleeper(input, ctx):
        time.sleep(0.05)  # waits without using CPU
        ctx.emit("output", n=1)

    @flow.routine(slots=["input"], events=[])
    def burner(input, ctx):
        deadline = time.thread_time() + 0.02
        while time.thread_time() < deadline:  # uses CPU
            pass

    flow.connect("sleeper.output", "burner.input")
    job = rt.submit(flow, data={"x": 1}).wait(WAIT)
    sleeper_m, burner_m = (job.metrics.routine_metrics[r] for r in ("sleeper", "burner"))
    assert sleeper_m.total_duration >= 0.05
    assert sleeper_m.total_cpu_time < sleeper_m.total_duration / 2
    assert burner_m.total_cpu_time >= 0.02
    frame = rt.monitor.metrics_frame()
    assert set(frame["routine_id"]) == {"sleeper", "burner"}
    assert (frame["total_cpu_time"] >= 0).all()


def test_a_producer_is_not_charged_the_cpu_of_the_consumer_it_runs_inline(make_runtime):
    rt = make_runtime(
        max_threads=1
    )  # one thread: a producer blocked on a full slot runs the consumer
    flow = Flow("inline")

    @flow.routine(slots=["input"], events=["output"])
    def producer(input, ctx):
        for i in range(6):
            ctx.emit("output", value=i)

    @flow.routine(slots=[Slot("input", max_length=1)], events=[])
    def consumer(input, ctx):
        deadline = time.thread_time() + 0.01
        while time.thread_time() < deadline:
            pass

    flow.connect("producer.output", "consumer.input")
    job = rt.submit(flow, data={"x": 1}).wait(WAIT)
    assert job.status == "completed"
    prod, cons = (job.metrics.routine_metrics[r] for r in ("producer", "consumer"))
    assert cons.items_in == 6 and cons.total_cpu_time >= 0.05
    assert prod.total_cpu_time < cons.total_cpu_time / 2


def test_queue_wait_counts_the_time_items_waited(rt, chain):
    w = rt.start(chain().flow)
    w.pause()
    job = w.submit(data={"value": 1})
    submitted = time.time()
    time.sleep(0.05)
    resumed = time.time()
    w.resume()
    assert job.wait(WAIT).status == "completed"
    source = job.metrics.routine_metrics["source"]
    assert source.total_queue_wait >= resumed - submitted
    assert source.avg_queue_wait == source.total_queue_wait
    for rid in ("double", "sink"):
        assert 0 <= job.metrics.routine_metrics[rid].total_queue_wait


def test_runtime_frames_span_jobs(rt, chain):
    c = chain()
    w = rt.start(c.flow)
    jobs = [w.submit(data={"values": [1, 2, 3]}).wait(WAIT) for _ in range(3)]
    per_job = rt.monitor.metrics_frame()
    assert list(per_job.columns[:3]) == ["job_id", "worker_id", "flow_id"]
    assert set(per_job["job_id"]) == {j.job_id for j in jobs} and len(per_job) == 9
    assert per_job.groupby("routine_id")["items_in"].sum().to_dict() == {
        "source": 3,
        "double": 9,
        "sink": 9,
    }
    per_routine = rt.monitor.metrics_frame(per="routine")
    assert per_routine.set_index("routine_id")["items_in"].to_dict() == {
        "source": 3,
        "double": 9,
        "sink": 9,
    }
    trace = rt.monitor.trace_frame()
    assert list(trace.columns[:2]) == ["worker_id", "flow_id"]
    assert set(trace["job_id"]) == {j.job_id for j in jobs}
    assert trace["seq"].is_monotonic_increasing and trace.attrs["truncated"] is False
    assert len(trace) == sum(j.trace.total for j in jobs)
    with pytest.raises(ValueError, match="per must be"):
        rt.monitor.metrics_frame(per="flow")


def test_runtime_frames_say_when_jobs_were_evicted(make_runtime, chain):
    rt = make_runtime(max_finished_jobs=1)
    w = rt.start(chain().flow)
    for _ in range(3):
        w.submit(data={"values": [1, 2]}).wait(WAIT)
    with pytest.warns(UserWarning, match="max_finished_jobs"):
        frame = rt.monitor.metrics_frame()
    assert frame.attrs["truncated"] is True and frame["job_id"].nunique() == len(rt.jobs()) < 3
    exact = rt.monitor.metrics_frame(per="routine").set_index("routine_id")
    assert exact.loc["double", "items_in"] == 6 and exact.loc["source", "execution_count"] == 3


def test_emits_nobody_takes_are_counted_as_unrouted(rt):
    flow = Flow("filtering")

    @flow.routine(slots=["input"], events=["kept", "rejected"])
    def check(input, ctx):
        for item in input:
            for v in item["values"]:
                ctx.emit("kept" if v >= 0 else "rejected", value=v)

    @flow.routine(slots=["input"], events=[])
    def store(input, ctx):
        ctx.data.setdefault("kept", []).extend(i["value"] for i in input)

    flow.connect("check.kept", "store.input")
    w = rt.start(flow)
    job = w.submit(data={"values": [1, -1, 2, -2, -3]}).wait(WAIT)
    assert sorted(job.data["kept"]) == [1, 2]
    assert job.metrics.unrouted == {"check.rejected": 3}
    assert job.metrics.to_dict()["unrouted_emits"] == {"check.rejected": 3}
    assert w.statistics()["unrouted_emits"] == {"check.rejected": 3}


def test_a_routine_breakpoint_on_a_batch_says_which_items_matched(rt):
    flow = Flow("batch_bp")

    @flow.routine(slots=["input"], events=["output"])
    def source(input, ctx):
        for v in input[0]["values"]:
            ctx.emit("output", value=v)

    @flow.routine(slots=["input"], events=[])
    def check(input, ctx):
        ctx.data["seen"] = [i["value"] for i in input]

    check.set_activation_policy(policies.batch_size(4))
    flow.connect("source.output", "check.input")
    w = rt.start(flow)
    rt.monitor.add_breakpoint("routine", "check", condition="value > 2", worker=w)
    job = w.submit(data={"values": [1, 5, 2, 7]})
    session = job.debug
    assert session.wait_paused(WAIT)
    where = session.location()
    assert where["routine_id"] == "check"
    assert where["matched"] == [
        {"slot_name": "input", "index": 1, "item": {"value": 5}},
        {"slot_name": "input", "index": 3, "item": {"value": 7}},
    ]
    parked = session.variables()["payload"]["input"]
    assert [parked[m["index"]] for m in where["matched"]] == [{"value": 5}, {"value": 7}]
    assert session.to_dict()["location"]["matched"][0]["index"] == 1
    session.resume()
    assert job.wait(WAIT).status == "completed" and job.data["seen"] == [1, 5, 2, 7]
    assert not job.monitor.matched


def test_an_activation_ending_after_its_job_was_cancelled_still_counts_for_the_worker(
    rt, chain, until
):
    c = chain(gated=True)
    w = rt.start(c.flow)
    job = w.submit(data={"values": [1, 2]})
    until(lambda: c.count("source") == 1)
    job.cancel("test")
    assert job.wait(WAIT).status == "cancelled"
    c.gate.set()  # the source's activation ends after its job finished
    until(lambda: job.metrics.routine_metrics["source"].execution_count == 1)
    until(
        lambda: w.statistics()["routine_statistics"].get("source", {}).get("execution_count") == 1
    )
    assert w.statistics()["routine_statistics"]["source"]["items_in"] == 1


def test_seq_blocks_are_contiguous_and_unique_across_threads():
    import threading

    from routilux_nb.monitor.trace import next_seq, take_seqs

    blocks: list[list[int]] = []

    def grab() -> None:
        mine = []
        for i in range(2000):
            n = 1 + i % 5
            first = take_seqs(n) if n > 1 else next_seq()
            mine.append(list(range(first, first + n)))
        blocks.extend(mine)

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [s for b in blocks for s in b]
    assert len(seqs) == len(set(seqs)) == 4 * sum(1 + i % 5 for i in range(2000))


def test_cpu_time_can_be_turned_off(make_runtime, chain):
    rt = make_runtime(monitor=Monitor(cpu_time=False))
    job = rt.submit(chain().flow, data={"values": [1, 2]}).wait(WAIT)
    assert job.status == "completed"
    assert all(m.total_cpu_time == 0.0 for m in job.metrics.routine_metrics.values())
    assert job.metrics.routine_metrics["sink"].items_in == 2
